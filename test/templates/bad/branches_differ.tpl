{{params a b}}
<p>{{if a}}<a href="{{end}}{{b}}">x</a></p>
