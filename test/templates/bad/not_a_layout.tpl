{{layout _plain}}
{{block body}}x{{end}}
