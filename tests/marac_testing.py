"""Shared test helpers (a uniquely named module, importable from any test folder)."""
import itertools
from datetime import datetime, timedelta

from marac import passwords
from marac.models import Agency, User

TEST_PASSWORD = "correct-horse-battery-42"
_hash_cache = {}
_counter = itertools.count(1)


def password_hash() -> str:
    """argon2id is slow on purpose: hash the shared test password once per run."""
    if "h" not in _hash_cache:
        _hash_cache["h"] = passwords.hash_password(TEST_PASSWORD)
    return _hash_cache["h"]


class Clock:
    """A movable clock: tests call advance() instead of sleeping."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **kwargs):
        self.current += timedelta(**kwargs)


def make_agency(name=None, kind="core", **kw) -> Agency:
    return Agency.create(name=name or f"Agency {next(_counter)}", kind=kind, **kw)


def make_user(role="representative", agency=None, email=None, **kw) -> User:
    agency = agency or make_agency()
    n = next(_counter)
    return User.create(name=kw.pop("name", f"Test User {n}"), email=email or f"user{n}@example.test", role=role,
                       agency=agency, password_hash=kw.pop("password_hash", None) or password_hash(), **kw)


def login(client, user, password=TEST_PASSWORD, follow=False):
    return client.post("/login", data={"email": user.email, "password": password}, follow_redirects=follow)
