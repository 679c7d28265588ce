<p title={{t title}}>x</p>
