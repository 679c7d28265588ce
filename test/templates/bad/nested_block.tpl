{{layout _layout}}
{{block title}}{{block body}}x{{end}}{{end}}
