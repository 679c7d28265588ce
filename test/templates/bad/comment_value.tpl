{{params a}}
<!-- debug: {{a}} -->
