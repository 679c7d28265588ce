{{! The text/plain part of the sign-in email. Lines end in LF; the mailer
    makes them CRLF. Each value is forced onto one line. }}
{{format text}}
{{params site_name link code email ttl_minutes}}
Sign in to {{site_name}}

Someone, hopefully you, asked to sign in to {{site_name}}{{if email}} as {{email}}{{end}}.

Open this link to sign in:

{{link}}

Or, if you opened this email on another device, enter this code on the page
where you asked for the link:

    {{code}}

{{if ttl_minutes}}
The link and the code work once and expire in {{ttl_minutes}} minutes.
{{else}}
The link and the code work once and expire soon.
{{end}}

If you didn't ask for this, ignore this email: no one can sign in without it.
