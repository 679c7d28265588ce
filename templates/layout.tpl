{{! The page shell every page is inlined into: its {{block title}} and
    {{block body}} fill the slots below. Styles are inline: no external
    assets, nothing for a page to fetch. }}
{{params site_name csrf_token refresh_url}}
<!doctype html>
<html lang="{{t lang}}" dir="{{t dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if csrf_token}}
<meta name="csrf-token" content="{{csrf_token}}">
{{end}}
{{if refresh_url}}
<meta http-equiv="refresh" content="5; url={{refresh_url}}">
{{end}}
<title>{{slot title}} — {{site_name}}</title>
<style>
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#0b5cad;--accent-fg:#fff;--bad-bg:#fff1f0;--bad-fg:#8c1c13}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--card:#161b22;--line:#30363d;--accent:#4493f8;--accent-fg:#0d1117;--bad-bg:#3a1512;--bad-fg:#ffb4ab}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);text-align:start}
header{padding:1rem 1.5rem;border-bottom:1px solid var(--line);background:var(--card);font-weight:600}
main{max-width:28rem;margin:2.5rem auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow-wrap:anywhere}
@media (max-width:30rem){main{margin:1rem;padding:1.25rem}button,.button{display:block;width:100%;text-align:center}}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
p,form{margin:0 0 1rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
input{display:block;width:100%;font:inherit;padding:.6rem .75rem;margin:0 0 1rem;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.6rem 1.25rem;color:var(--accent-fg);background:var(--accent);border:0;border-radius:6px;cursor:pointer;text-decoration:none}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.alert{padding:.75rem 1rem;margin:0 0 1rem;border-radius:6px;background:var(--bad-bg);color:var(--bad-fg)}
.muted{color:var(--muted)}
.secondary{color:var(--accent);background:transparent;border:2px solid var(--accent)}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:0 0 1rem}
.actions form{margin:0}
@media (max-width:30rem){.actions{display:block}.actions>*{margin:0 0 .75rem}}
.number{font:700 2.5rem/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.1em;margin:0 0 1rem;text-align:center}
input.big{font-size:1.5rem;letter-spacing:.15em;text-align:center}
hr{border:0;border-block-start:1px solid var(--line);margin:1.5rem 0}
strong,bdi{unicode-bidi:isolate}
.languages{margin-block-start:1.5rem;padding-block-start:1rem;border-block-start:1px solid var(--line)}
.languages ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0;padding:0;list-style:none}
.languages a[aria-current]{color:inherit;font-weight:600;text-decoration:none}
</style>
</head>
<body>
<header>{{site_name}}</header>
<main>
{{slot body}}
</main>
</body>
</html>
