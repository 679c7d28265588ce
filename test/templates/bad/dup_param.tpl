{{params a b a}}
