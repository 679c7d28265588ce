{{params name site}}
<p>{{t greet foo=name}}</p>
