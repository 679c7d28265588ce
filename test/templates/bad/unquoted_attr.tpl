{{params url}}
<a href={{url}}>link</a>
