{{! An {{if}} inside an attribute value, and a URL value after a branch that
    may have written part of the URL: then it is not the URL's start. }}
{{params a b c}}
<a class="x{{if a}} y{{else}} z{{end}}" href="{{if a}}/p/{{end}}{{b}}">{{c}}</a>
{{if a}}
<p>
{{end}}
