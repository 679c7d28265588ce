{{! Branches that end in different places inside a tag, and meet again. }}
{{params a b c}}
<input{{if a}} disabled{{end}} value="{{b}}">
<a {{if a}}class="x"{{else}}id='y' {{end}}href="{{c}}">link</a>
