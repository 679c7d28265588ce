{{! The text/html part of the sign-in email. Mail clients drop <style> and
    external CSS, so every style is inline; the layout is not used. }}
{{params site_name link code email ttl_minutes}}
<!doctype html>
<html lang="{{t lang}}" dir="{{t dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{t mail_heading site=site_name}}</title>
</head>
<body dir="{{t dir}}" style="margin:0;padding:0;background:#f6f8fa;color:#1b1f24;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f8fa">
<tr><td align="center" dir="{{t dir}}" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:480px;background:#ffffff;border:1px solid #d0d7de;border-radius:8px">
<tr><td dir="{{t dir}}" style="padding:28px">
<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3">{{t mail_heading site=site_name}}</h1>
<p style="margin:0 0 20px">{{if email}}{{t mail_intro_email site=site_name}}{{else}}{{t mail_intro site=site_name}}{{end}}</p>
<p style="margin:0 0 24px"><a href="{{link}}" style="display:inline-block;padding:12px 24px;background:#0b5cad;color:#ffffff;font-weight:600;text-decoration:none;border-radius:6px">{{t mail_button}}</a></p>
<p style="margin:0 0 8px">{{t mail_code_intro}}</p>
<p dir="ltr" style="margin:0 0 24px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:28px;font-weight:700;letter-spacing:4px">{{code}}</p>
<p style="margin:0 0 16px;color:#57606a;font-size:14px">{{if ttl_minutes}}{{t mail_expiry minutes=ttl_minutes}}{{else}}{{t mail_expiry_soon}}{{end}}</p>
<p style="margin:0;color:#57606a;font-size:14px">{{t mail_ignore}}</p>
</td></tr>
</table>
<p style="margin:16px 0 0;color:#57606a;font-size:12px">{{t mail_copy_link}}<br><span dir="ltr" style="word-break:break-all">{{link}}</span></p>
</td></tr>
</table>
</body>
</html>
