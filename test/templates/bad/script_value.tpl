{{params a}}
<script>
var x = "{{a}}";
</script>
