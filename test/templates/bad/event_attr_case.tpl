{{params a}}
<body ONLOAD="{{a}}">
</body>
