{{params name site}}
<p>{{t greet name=name name=site}}</p>
