<p>hi</p>
{{end}}
