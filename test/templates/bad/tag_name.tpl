{{params tag}}
<{{tag}}>x</p>
