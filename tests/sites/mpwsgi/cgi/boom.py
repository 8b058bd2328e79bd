print("Content-Type: text/plain\n")
print("before")
raise RuntimeError("cgi boom")
