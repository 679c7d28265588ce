{{params c}}
<p style="color: {{c}}">x</p>
