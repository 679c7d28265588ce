<p>{{t lang x=y}}</p>
