{{! "Check your email". The same words whether or not the address may sign
    in, so the page does not tell who has an account. }}
{{layout layout}}
{{params site_name email code_action_url csrf_token pending error code_wrong tries_left}}
{{block title}}{{t sent_title}}{{end}}
{{block body}}
<h1>{{t sent_title}}</h1>
{{if error}}
<div class="alert" role="alert">{{error}}</div>
{{end}}
{{if code_wrong}}
<div class="alert" role="alert">{{if tries_left}}{{t code_wrong_tries tries=tries_left}}{{else}}{{t code_wrong}}{{end}}</div>
{{end}}
<p role="status">{{if email}}{{t sent_status_email}}{{else}}{{t sent_status}}{{end}}</p>
<hr>
<form method="post" action="{{code_action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="pending" value="{{pending}}">
<label for="code">{{t code_label}}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" dir="ltr" required>
<button type="submit">{{t code_button}}</button>
</form>
<p class="muted">{{t sent_hint}}</p>
{{end}}
