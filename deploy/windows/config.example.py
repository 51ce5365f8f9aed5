# Example instance\config.py for the council's Windows server (copy it to C:\marac\instance\config.py).
# Anything not set here keeps its default from marac\config.py.

BOROUGH_NAME = "Anytown"

# waitress listens only on this machine: IIS is the front door (HTTPS) and the only client.
HOST = "127.0.0.1"
PORT = 8080
# Trust X-Forwarded-For / X-Forwarded-Proto from IIS only, so the audit log records the user's
# real address (not 127.0.0.1) and the app knows the request came over HTTPS.
TRUSTED_PROXY = "127.0.0.1"
SESSION_COOKIE_SECURE = True

# waitress for an intranet: enough threads for a meeting room plus agencies researching at once;
# idle keep-alive connections are dropped after CHANNEL_TIMEOUT seconds so they never fill
# CONNECTION_LIMIT and lock new users out.
THREADS = 8
CONNECTION_LIMIT = 200
CHANNEL_TIMEOUT = 30

# Nightly backups (python app.py backup): on another disk, 30 kept.
BACKUP_DIR = r"D:\marac-backups"
BACKUP_KEEP = 30

# E-mail through the council's relay (leave MAIL_HOST None to send nothing).
# MAIL_HOST = "smtp.council.local"
# MAIL_SENDER = "marac-no-reply@council.gov.uk"
# EXTERNAL_URL = "https://marac.council.local"
