{{params name site}}
<p>{{t greet name}}</p>
