{{! A layout with a line longer than a hundred columns: it stays one literal. }}
{{params site_name}}
<!doctype html>
<style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f8fa;text-align:start;padding:0 1rem}
</style>
<title>{{slot title}} - {{site_name}}</title>
<main>
{{slot body}}
</main>
