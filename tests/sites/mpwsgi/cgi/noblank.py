print("Content-Type: text/plain")
print("no blank line, so no body either")
