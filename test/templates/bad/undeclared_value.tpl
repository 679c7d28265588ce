<p>Hello {{name}}</p>
