{{layout nosuch}}
{{block body}}x{{end}}
