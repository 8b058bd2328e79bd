import mpwsgi_cgi_helper
print("Content-Type: text/plain\n")
print("count=%d" % mpwsgi_cgi_helper.bump())
