{{! Sign-in form. The CSRF token goes both in the form and, through the
    layout, in <meta name="csrf-token"> for scripts that send X-CSRF-Token.
    A browser that is signed in gets "Signed in as", Continue and its two
    sign-out buttons instead of the form: a sign-out is a POST with this
    token, which only this page and the sign-out page can give.
    `languages` is the language picker: language.tpl once per language the
    site offers, rendered by the module (so it is trusted markup). }}
{{layout layout}}
{{params site_name action_url csrf_token return_to email error signed_in_as logout_url languages}}
{{block title}}{{if signed_in_as}}{{t signed_in_title}}{{else}}{{t login_title}}{{end}}{{end}}
{{block body}}
{{if signed_in_as}}
<h1>{{t signed_in_title}}</h1>
<p role="status">{{t login_signed_in_as email=signed_in_as}}</p>
<p><a class="button" href="{{return_to}}">{{t continue_button}}</a></p>
<hr>
<div class="actions">
<form method="post" action="{{logout_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="scope" value="browser">
<button type="submit" class="secondary">{{t sign_out_button}}</button>
</form>
<form method="post" action="{{logout_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="scope" value="everywhere">
<button type="submit" class="secondary">{{t sign_out_everywhere_button}}</button>
</form>
</div>
<p class="muted">{{t sign_out_everywhere_hint}}</p>
{{else}}
<h1>{{t login_title}}</h1>
{{if error}}
<div class="alert" role="alert">{{error}}</div>
{{end}}
<form method="post" action="{{action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="return" value="{{return_to}}">
<label for="email">{{t email_label}}</label>
<input id="email" name="email" type="email" autocomplete="email" dir="ltr" required autofocus value="{{email}}">
<button type="submit">{{t login_button}}</button>
</form>
<p class="muted">{{t login_hint}}</p>
{{end}}
{{if languages}}
<nav class="languages" aria-label="{{t language_label}}">
<ul>
{{raw languages}}</ul>
</nav>
{{end}}
{{end}}
