<p>just a page, no slot</p>
