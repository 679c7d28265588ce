{{params color}}
<style>p { color: {{color}} }</style>
