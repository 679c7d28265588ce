{{! The subject of the sign-in email, one line (the module drops the final
    newline; values are made one line anyway). }}
{{format text}}
{{params site_name}}
{{t mail_subject site=site_name}}
