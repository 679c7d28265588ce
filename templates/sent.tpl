{{! "Check your email". The same words whether or not the address may sign
    in, so the page does not tell who has an account. It shows the number a
    second device asks for, and reloads itself (refresh_url, the wait route)
    until the sign-in is approved there; "Continue" is for browsers that do
    not reload, and "Stop reloading" (stop_url) turns the reload off.
    "Send again" (again_url) appears after a short wait. }}
{{layout layout}}
{{params site_name email code_action_url csrf_token pending error code_wrong tries_left number refresh_url stop_url check_url login_url again_url again_email return_to}}
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
{{if number}}
<p>{{t sent_match_intro}}</p>
<p class="number" dir="ltr">{{number}}</p>
{{if refresh_url}}
<p class="muted">{{t sent_auto}}</p>
{{end}}
{{end}}
{{if check_url}}
<div class="actions">
<a class="button secondary" href="{{check_url}}">{{t continue_button}}</a>
{{if stop_url}}
<a class="button secondary" href="{{stop_url}}">{{t sent_stop}}</a>
{{end}}
</div>
{{end}}
<hr>
<form method="post" action="{{code_action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="pending" value="{{pending}}">
<label for="code">{{t code_label}}</label>
<input id="code" class="big" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" dir="ltr" required>
<button type="submit">{{t code_button}}</button>
</form>
<p class="muted">{{t sent_hint}}</p>
<div class="actions">
{{if again_url}}
<form method="post" action="{{again_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="email" value="{{again_email}}">
<input type="hidden" name="return" value="{{return_to}}">
<button type="submit" class="secondary">{{t sent_again}}</button>
</form>
{{end}}
{{if login_url}}
<a class="button secondary" href="{{login_url}}">{{t sent_other_address}}</a>
{{end}}
</div>
{{end}}
