{{params attrs}}
<input {{attrs}}>
