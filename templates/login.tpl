{{! Sign-in form. The CSRF token goes both in the form and, through the
    layout, in <meta name="csrf-token"> for scripts that send X-CSRF-Token. }}
{{layout layout}}
{{params site_name action_url csrf_token return_to email error}}
{{block title}}Sign in{{end}}
{{block body}}
<h1>Sign in</h1>
{{if error}}
<div class="alert" role="alert">{{error}}</div>
{{end}}
<form method="post" action="{{action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="return" value="{{return_to}}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required autofocus value="{{email}}">
<button type="submit">Email me a sign-in link</button>
</form>
<p class="muted">No password needed: we email you a link and a code.</p>
{{end}}
