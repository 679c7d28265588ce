{{! One entry of the language picker on the sign-in page: the module renders
    it once per language the site offers (MagicLinkLanguages) and hands the
    list to login.tpl as `languages`. The name is in its own language. }}
{{params code name login_url return_to current}}
<li><a href="{{login_url}}?lang={{code}}{{if return_to}}&amp;return={{return_to}}{{end}}" hreflang="{{code}}" lang="{{code}}"{{if current}} aria-current="true"{{end}}>{{name}}</a></li>
