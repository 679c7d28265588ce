<p>{{"abc}}</p>
