{{params a}}
<p>{{if a}}<span title="{{end}}</p>
