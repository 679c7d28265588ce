{{layout _layout}}
{{block title}}T{{end}}
{{block body}}B{{end}}
{{block footer}}F{{end}}
