{{params t}}
<{{t}}>x</p>
