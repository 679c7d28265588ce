{{! Landing page of the emailed link. Mail scanners fetch links, so only the
    button's POST signs in; no script, so nothing submits by itself. }}
{{layout layout}}
{{params site_name action_url csrf_token email}}
{{block title}}{{t confirm_title}}{{end}}
{{block body}}
<h1>{{t confirm_title}}</h1>
<p>{{if email}}{{t confirm_question_email site=site_name}}{{else}}{{t confirm_question site=site_name}}{{end}}</p>
<form method="post" action="{{action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<button type="submit">{{t confirm_button}}</button>
</form>
{{end}}
