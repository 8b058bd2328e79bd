import os
from urllib.parse import parse_qs
import sys
if os.environ["REQUEST_METHOD"] == "POST":
    fields = parse_qs(sys.stdin.read())
else:
    fields = parse_qs(os.environ["QUERY_STRING"])
print("Content-Type: text/plain\n")
print("a=%s" % fields["a"][0])
