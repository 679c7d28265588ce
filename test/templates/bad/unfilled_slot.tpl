{{layout _layout}}
{{params site_name}}
{{block body}}
<p>x</p>
{{end}}
