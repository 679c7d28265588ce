{{block body}}x{{end}}
