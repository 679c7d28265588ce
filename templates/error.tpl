{{! Every failure page: expired, used, another browser, invalid, throttled,
    unavailable. The handler supplies the words (ml_msg_text, in the page's
    language). }}
{{layout layout}}
{{params site_name title message retry_url retry_label}}
{{block title}}{{title}}{{end}}
{{block body}}
<h1>{{title}}</h1>
<div role="alert">
<p>{{message}}</p>
</div>
{{if retry_url}}
<p><a class="button" href="{{retry_url}}">{{if retry_label}}{{retry_label}}{{else}}{{t error_retry}}{{end}}</a></p>
{{end}}
{{end}}
