{{params name}}
<p>{{name</p>
