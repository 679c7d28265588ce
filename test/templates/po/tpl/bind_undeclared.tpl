{{params name}}
<p>{{t greet site=nosuch}}</p>
