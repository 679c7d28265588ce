{{! The text/html part of the sign-in email. Mail clients drop <style> and
    external CSS, so every style is inline; the layout is not used. }}
{{params site_name link code email ttl_minutes}}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {{site_name}}</title>
</head>
<body style="margin:0;padding:0;background:#f6f8fa;color:#1b1f24;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f8fa">
<tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:480px;background:#ffffff;border:1px solid #d0d7de;border-radius:8px">
<tr><td style="padding:28px">
<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3">Sign in to {{site_name}}</h1>
<p style="margin:0 0 20px">Someone, hopefully you, asked to sign in to {{site_name}}{{if email}} as <strong>{{email}}</strong>{{end}}.</p>
<p style="margin:0 0 24px"><a href="{{link}}" style="display:inline-block;padding:12px 24px;background:#0b5cad;color:#ffffff;font-weight:600;text-decoration:none;border-radius:6px">Sign in</a></p>
<p style="margin:0 0 8px">Or, if you opened this email on another device, enter this code on the page where you asked for the link:</p>
<p style="margin:0 0 24px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:28px;font-weight:700;letter-spacing:4px">{{code}}</p>
<p style="margin:0 0 16px;color:#57606a;font-size:14px">{{if ttl_minutes}}The link and the code work once and expire in {{ttl_minutes}} minutes.{{else}}The link and the code work once and expire soon.{{end}}</p>
<p style="margin:0;color:#57606a;font-size:14px">If you didn't ask for this, ignore this email: no one can sign in without it.</p>
</td></tr>
</table>
<p style="margin:16px 0 0;color:#57606a;font-size:12px">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all">{{link}}</span></p>
</td></tr>
</table>
</body>
</html>
