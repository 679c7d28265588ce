{{layout _layout}}
{{block title}}T{{end}}
<p>stray</p>
{{block body}}B{{end}}
