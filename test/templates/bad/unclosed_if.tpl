{{params a}}
<p>
{{if a}}
<b>{{a}}</b>
</p>
