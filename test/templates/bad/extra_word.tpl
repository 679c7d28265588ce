{{params a b}}
<p>{{a b}}</p>
