{{! A link opened in a browser other than the one that asked for it: the
    person approves the sign-in of that browser by typing the number it
    shows (typed, not picked: approving blindly succeeds 1 time in 100), or
    refuses it. Either ends the link here; only a POST acts. }}
{{layout layout}}
{{params site_name action_url csrf_token device_browser device_os minutes}}
{{block title}}{{t approve_title}}{{end}}
{{block body}}
<h1>{{t approve_title}}</h1>
<p>{{t approve_intro}}</p>
<p><strong>{{if device_browser}}{{t approve_device browser=device_browser os=device_os minutes=minutes}}{{else}}{{t approve_device_unknown minutes=minutes}}{{end}}</strong></p>
<p>{{t approve_warning}}</p>
<form method="post" action="{{action_url}}">
<input type="hidden" name="csrf_token" value="{{csrf_token}}">
<label for="number">{{t approve_number_label}}</label>
<input id="number" class="big" name="number" type="text" inputmode="numeric" autocomplete="off" maxlength="2" dir="ltr" required>
<div class="actions">
<button type="submit" name="decision" value="approve">{{t approve_button}}</button>
<button type="submit" name="decision" value="deny" class="secondary" formnovalidate>{{t approve_deny_button}}</button>
</div>
</form>
<p class="muted">{{t approve_code_hint}}</p>
{{end}}
