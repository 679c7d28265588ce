{{! For clients that do not follow the 303 after signing in. }}
{{layout layout}}
{{params site_name email continue_url}}
{{block title}}Signed in{{end}}
{{block body}}
<h1>Signed in</h1>
<p>You are signed in{{if email}} as <strong>{{email}}</strong>{{end}}.</p>
<p><a class="button" href="{{continue_url}}">Continue</a></p>
{{end}}
