{{params a}}
<p>{{if a}}<{{end}}{{a}}</p>
