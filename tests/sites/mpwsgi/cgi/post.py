import sys
print("Content-Type: text/plain\n")
print("text=%r" % (sys.stdin.read(),))
