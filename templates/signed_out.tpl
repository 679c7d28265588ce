{{layout layout}}
{{params site_name login_url}}
{{block title}}{{t signed_out_title}}{{end}}
{{block body}}
<h1>{{t signed_out_title}}</h1>
<p>{{t signed_out_text site=site_name}}</p>
{{if login_url}}
<p><a class="button" href="{{login_url}}">{{t sign_in_again}}</a></p>
{{end}}
{{end}}
