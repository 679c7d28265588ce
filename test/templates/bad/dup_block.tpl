{{layout _layout}}
{{block title}}T{{end}}
{{block title}}U{{end}}
{{block body}}B{{end}}
