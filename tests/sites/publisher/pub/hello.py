""" Publisher example """

def say(req, what="NOTHING"):
   return "I am saying %s" % what
