<script>{{t title}}</script>
