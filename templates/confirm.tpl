{{! Landing page of the emailed link. Mail scanners fetch links, so only the
    button's POST signs in; no script, so nothing submits by itself. }}
{{layout layout}}
{{params site_name action_url csrf_token email}}
{{block title}}Confirm sign-in{{end}}
{{block body}}
<h1>Confirm sign-in</h1>
<p>{{if email}}Sign in to {{site_name}} as <strong>{{email}}</strong>?{{else}}Sign in to {{site_name}}?{{end}}</p>
<form method="post" action="{{action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<button type="submit">Sign in</button>
</form>
{{end}}
