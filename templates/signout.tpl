{{! The sign-out page an application can link to (GET logout): two buttons,
    each a POST with this browser's CSRF token, which only this page (and
    the sign-in page) can give. "Sign out" ends this browser's session;
    "Sign out everywhere" every session of the address. }}
{{layout layout}}
{{params site_name csrf_token logout_url email}}
{{block title}}{{t signout_title site=site_name}}{{end}}
{{block body}}
<h1>{{t signout_title site=site_name}}</h1>
<p>{{t login_signed_in_as email=email}}</p>
<div class="actions">
<form method="post" action="{{logout_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="scope" value="browser">
<button type="submit">{{t sign_out_button}}</button>
</form>
<form method="post" action="{{logout_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<input type="hidden" name="scope" value="everywhere">
<button type="submit" class="secondary">{{t sign_out_everywhere_button}}</button>
</form>
</div>
<p class="muted">{{t sign_out_everywhere_hint}}</p>
{{end}}
