{{params name site}}
<a href="{{t greet}}">x</a>
