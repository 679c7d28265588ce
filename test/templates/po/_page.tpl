{{params name site n}}
<title>{{t title}}</title>
<p title="{{t title}}">{{t greet}}</p>
<p>{{t left}}</p>
