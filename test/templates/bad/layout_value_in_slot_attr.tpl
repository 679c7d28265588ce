{{layout _attr_layout}}
{{params x}}
{{block cls}}{{x}}" onclick="{{x}}{{end}}
