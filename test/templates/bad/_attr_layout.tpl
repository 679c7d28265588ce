<p class="{{slot cls}}">x</p>
