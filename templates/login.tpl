{{! Sign-in form. The CSRF token goes both in the form and, through the
    layout, in <meta name="csrf-token"> for scripts that send X-CSRF-Token.
    A browser that is signed in also gets its sign-out button here: a
    sign-out is a POST with this token, which only this page can give. }}
{{layout layout}}
{{params site_name action_url csrf_token return_to email error signed_in_as logout_url}}
{{block title}}Sign in{{end}}
{{block body}}
<h1>Sign in</h1>
{{if signed_in_as}}
<div class="signed-in" role="status">
<p>This browser is signed in as <strong>{{signed_in_as}}</strong>.</p>
<form method="post" action="{{logout_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<button type="submit">Sign out</button>
</form>
</div>
<hr>
{{end}}
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
