{{! For clients that do not follow the 303 after signing in. }}
{{layout layout}}
{{params site_name email continue_url}}
{{block title}}{{t signed_in_title}}{{end}}
{{block body}}
<h1>{{t signed_in_title}}</h1>
<p>{{if email}}{{t signed_in_as}}{{else}}{{t signed_in_text}}{{end}}</p>
<p><a class="button" href="{{continue_url}}">{{t continue_button}}</a></p>
{{end}}
