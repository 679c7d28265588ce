{{layout _layout}}
{{params site_name}}
{{block title}}T{{end}}
{{block body}}<a href="{{nope}}">x</a>{{end}}
