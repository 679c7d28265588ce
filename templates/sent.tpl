{{! "Check your email". The same words whether or not the address may sign
    in, so the page does not tell who has an account. }}
{{layout layout}}
{{params site_name email code_action_url csrf_token pending error}}
{{block title}}Check your email{{end}}
{{block body}}
<h1>Check your email</h1>
{{if error}}
<div class="alert" role="alert">{{error}}</div>
{{end}}
<p role="status">If {{if email}}<strong>{{email}}</strong>{{else}}that address{{end}} may sign in, we have sent it a sign-in link. Open the link in this browser.</p>
<hr>
<form method="post" action="{{code_action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="pending" value="{{pending}}">
<label for="code">Opened the email on another device? Enter its code here</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>
<button type="submit">Sign in with the code</button>
</form>
<p class="muted">Nothing arrived? Check your spam folder, or wait a minute and try again.</p>
{{end}}
