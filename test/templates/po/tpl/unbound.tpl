{{params site n}}
<p>{{t greet}}</p>
