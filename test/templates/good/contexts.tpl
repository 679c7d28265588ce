{{! Each value's escaper, as the compiler must choose it. }}
{{params a b c d e f g h i}}
<p title='{{a}}'>{{b}}</p>
<a href="{{c}}">x</a>
<a href="/x?r={{d}}">y</a>
<textarea>{{e}}</textarea>
<script>var f = {{raw f}};</script>
<FORM ACTION="{{g}}"></FORM>
<input value={{raw h}}>
<img alt="" src="{{i}}">
<p>{{"{{"}}literal{{! comment }} text</p>
