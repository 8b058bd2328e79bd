import os
import sys
print("Content-Type: text/plain\n")
for k in sorted(os.environ):
    print("%s=%r" % (k, os.environ[k]))
print("cwd=%s" % os.getcwd())
print("argv=%r" % (sys.argv,))
print("name=%s" % __name__)
