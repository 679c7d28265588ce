{{params a}}
<p class="{{a}}
