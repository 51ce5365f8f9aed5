"""Password hashing (argon2id) and the password policy."""
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are argon2id, 64 MiB, t=3, p=4: within ASVS 5.0 Appendix C.
_hasher = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 256

# A short bundled deny-list: the commonest passwords of 12+ characters and obvious patterns.
DENY_LIST = frozenset(
    """
    password1234 password12345 password123456 passw0rd1234 123456789012 1234567890123
    qwertyuiop12 qwertyuiop123 qwerty123456 qwertyuiopas 1q2w3e4r5t6y 1qaz2wsx3edc
    iloveyou1234 letmein12345 welcome12345 welcome123456 administrator admin1234567
    changeme1234 changeme12345 abc123456789 abcdefghijkl aaaaaaaaaaaa 111111111111
    000000000000 football1234 baseball1234 sunshine1234 princess1234 superman1234
    trustno11234 monkey123456 dragon123456 master123456 starwars1234 whatever1234
    password2024 password2025 password2026 password2027 summer2026!! winter2026!!
    spring2026!! autumn2026!! p@ssw0rd1234 p@ssword1234 marac1234567 marac password
    passwordpassword correcthorsebatterystaple
    """.split()
)


def hash_password(password: str) -> str:
    """Hash with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; never raises on a bad or empty hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, context_words=()) -> list[str]:
    """Why a new password is refused (empty when acceptable). Non-ASCII is kept as typed."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be {MIN_LENGTH} characters or more")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    lowered = password.lower()
    if lowered in DENY_LIST or len(set(lowered)) <= 2:
        problems.append("Password is too common: choose a less predictable one")
    for word in context_words:
        for part in re.split(r"[^\w]+", (word or "").lower()):
            if len(part) >= 4 and part in lowered:
                problems.append("Password must not contain your name, e-mail, agency or the service name")
                return problems
    return problems
