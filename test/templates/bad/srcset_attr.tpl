{{params s}}
<img alt="" srcset="{{s}} 2x">
