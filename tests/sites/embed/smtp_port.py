import os
import smtplib

if os.environ.get("FD_SMTP_PORT"):
    smtplib.SMTP.default_port = int(os.environ["FD_SMTP_PORT"])
