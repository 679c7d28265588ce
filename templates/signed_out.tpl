{{layout layout}}
{{params site_name login_url}}
{{block title}}Signed out{{end}}
{{block body}}
<h1>Signed out</h1>
<p>You are signed out of {{site_name}}.</p>
{{if login_url}}
<p><a href="{{login_url}}">Sign in again</a></p>
{{end}}
{{end}}
