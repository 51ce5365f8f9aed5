"""Default settings; instance/config.py and test overrides are applied on top."""
from datetime import timedelta

# Service name shown in the header: "MARAC" plus the borough.
BOROUGH_NAME = "Anytown"
SERVICE_NAME = "MARAC"

# Server (python app.py); waitress settings for an intranet.
HOST = "127.0.0.1"
PORT = 8080
THREADS = 8
# Low channel_timeout so idle keep-alive connections cannot fill connection_limit
# and make new users wait (see SECURITY.md, waitress facts).
CONNECTION_LIMIT = 200
CHANNEL_TIMEOUT = 30
# waitress trusted_proxy: set to the IIS / reverse proxy address so audit rows get real client IPs.
TRUSTED_PROXY = None
TRUSTED_PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-proto")

# None means sqlite:///<instance>/marac.db
DATABASE_URL = None
SQLITE_BUSY_TIMEOUT_MS = 5000
# SQLite max_page_count on every connection: None (no limit) in service. The disk-full drill
# (tests/test_drills.py) sets it to make "database or disk is full" happen on demand.
SQLITE_MAX_PAGE_COUNT = None

# Sessions: revocable server-side records, no remember-me.
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # set True in instance/config.py when served over https
SESSION_COOKIE_NAME = "marac_session"
REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

# Login throttling: MAX_FAILED_LOGINS within FAILED_LOGIN_WINDOW lock the account for LOCKOUT_PERIOD.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW = timedelta(minutes=5)
LOCKOUT_PERIOD = timedelta(minutes=15)

# CSRF tokens last a working day, so a meeting page left open all morning still posts.
WTF_CSRF_TIME_LIMIT = 12 * 3600
WTF_CSRF_SSL_STRICT = True

# Oversize request bodies get 413 (documents are limited separately).
MAX_CONTENT_LENGTH = 16 * 1024 * 1024

# htmx: no inline indicator styles under the CSP, and never copy pages into localStorage.
HTMX_CONFIG = '{"includeIndicatorStyles":false,"historyCacheSize":0,"refreshOnHistoryMiss":true}'

TRAINING_MODE = False
# Sign-in needs a code from an authenticator app (TOTP) after the password (SECURITY.md check 4).
# Training mode switches it off whatever this says; never set False for real data.
REQUIRE_SECOND_FACTOR = True

# E-mail notices through the council's SMTP relay. MAIL_HOST None: nothing is sent.
MAIL_HOST = None
MAIL_PORT = 25
MAIL_USE_TLS = False  # STARTTLS after connecting
MAIL_SENDER = "marac-no-reply@localhost"
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_TIMEOUT = 10
# The address users reach the app on, for links in e-mails (e.g. "https://marac.council.local").
# None: the address of the request that caused the e-mail, else http://HOST:PORT.
EXTERNAL_URL = None

# Backups (python app.py backup): None means <instance>/backups. Older copies beyond BACKUP_KEEP are deleted.
BACKUP_DIR = None
BACKUP_KEEP = 14
# Training mode (python app.py --training) serves instance/training.db on this port, so it can run
# beside the real service on the same machine.
TRAINING_PORT = 8081
