"""The key that encrypts the second-factor (TOTP) secrets at rest.

A TOTP secret is enough to make a user's codes, so the database does not hold it in the clear: each
secret is a Fernet token (AES-128-CBC with an HMAC-SHA256, from the `cryptography` package) made with
a key that lives in the instance folder (instance/totp_key, created on first start with permissions
0600), never in the database. A copy of the database alone therefore makes no codes.

The key must be backed up with the database: `python app.py backup` copies it beside each backup
(marac-<time>.db.totp_key) and `python app.py restore` puts it into the new folder. A database whose
secrets this key cannot open is refused at start-up with a message that says what to do (rather
than every user being locked out, or worse, enrolled again without a second factor).
"""
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "totp_key"
# Every Fernet token starts with version byte 0x80 and a 64-bit timestamp: base64url "gAAAAA".
# A base32 TOTP secret (A-Z, 2-7) never does, which is how m0810 tells old clear secrets apart.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)

_fernet: Fernet | None = None
_path: Path | None = None


class TotpKeyError(RuntimeError):
    """The key is missing, unreadable, or does not open the secrets in this database."""


def key_path(instance_path: str | os.PathLike) -> Path:
    return Path(instance_path) / KEY_FILE


def write_new_key(path: Path) -> None:
    """Create the key file, readable by its owner only (fails if it already exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        path.chmod(0o600)  # whatever the umask did
    except OSError:  # Windows: the instance folder's ACLs apply instead
        pass


def load(instance_path: str | os.PathLike) -> Path:
    """Use instance/totp_key, creating it on first start. Returns its path."""
    global _fernet, _path
    path = key_path(instance_path)
    if not path.exists():
        write_new_key(path)
    try:
        _fernet = Fernet(path.read_bytes().strip())
    except (OSError, ValueError) as exc:
        raise TotpKeyError(f"{path} is not a usable key: {exc}") from exc
    _path = path
    return path


def _key() -> Fernet:
    if _fernet is None:
        raise TotpKeyError("the second-factor key is not loaded (create_app loads instance/totp_key)")
    return _fernet


def is_encrypted(value: str) -> bool:
    return bool(value) and value.startswith(TOKEN_PREFIX)


def encrypt(secret: str) -> str:
    return _key().encrypt(secret.encode("ascii")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _key().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise TotpKeyError(f"{_path} does not open the second-factor secrets in this database") from exc


def check_opens(database) -> None:
    """Start-up check: the key opens a stored secret (one row is enough: all share the key)."""
    row = database.execute_sql(
        'SELECT totp_secret FROM "user" WHERE totp_secret <> \'\' ORDER BY id LIMIT 1').fetchone()
    if row is None:
        return
    try:
        decrypt(row[0])
    except TotpKeyError as exc:
        raise TotpKeyError(
            f"{exc}. Put the totp_key that belongs to this database into the instance folder (a backup has it "
            "beside the database file: marac-<time>.db.totp_key); without it no one can sign in with the "
            "authenticator app they enrolled") from exc
