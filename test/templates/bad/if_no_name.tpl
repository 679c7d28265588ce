{{if}}x{{end}}
