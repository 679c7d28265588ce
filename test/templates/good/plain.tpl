{{format text}}
{{params name}}
Hello {{name}},
{{if name}}
  <b>not HTML</b> & {{raw name}}
{{end}}
Bye.
