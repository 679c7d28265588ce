{{params site_name email}}
<p>Hello {{emial}}</p>
