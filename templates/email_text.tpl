{{! The text/plain part of the sign-in email. Lines end in LF; the mailer
    makes them CRLF. Each value is forced onto one line; the link stands on
    its own line, so no mail program takes the words after it for part of it. }}
{{format text}}
{{params site_name link code email ttl_minutes}}
{{t mail_heading site=site_name}}

{{if email}}
{{t mail_intro_email site=site_name}}
{{else}}
{{t mail_intro site=site_name}}
{{end}}

{{t mail_open_link}}

{{link}}

{{t mail_code_intro}}

    {{code}}

{{if ttl_minutes}}
{{t mail_expiry minutes=ttl_minutes}}
{{else}}
{{t mail_expiry_soon}}
{{end}}

{{t mail_ignore}}
