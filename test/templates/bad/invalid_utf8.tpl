<p>café</p>
