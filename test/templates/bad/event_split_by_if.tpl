{{params a v}}
<b {{if a}}on{{end}}click="{{v}}">x</b>
