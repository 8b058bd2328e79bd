import sys
print("Content-Type: text/plain\n")
print("exiting")
sys.exit(3)
