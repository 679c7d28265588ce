{{format xml}}
