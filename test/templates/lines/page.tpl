{{layout layout}}
{{params site_name}}
{{block title}}Lines{{end}}
{{block body}}
<h1>{{site_name}}</h1>
<p>A page line longer than a hundred columns is one literal in the C, never cut in the middle of a word.</p>
{{end}}
