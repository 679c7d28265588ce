{{params site_name}}
<title>{{slot title}} - {{site_name}}</title>
<main>
{{slot body}}
</main>
