{{params a}}
{{if a}}
{{params b}}
{{end}}
