{{params name}}
<p>{{Name}}</p>
