{{params name site n}}
<p>{{t nope}}</p>
