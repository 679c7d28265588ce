{{params a}}
<button onclick="go('{{a}}')">Go</button>
