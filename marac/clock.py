"""The one source of 'now' (naive UTC), so tests can move time."""
from datetime import UTC, datetime


def now() -> datetime:
    """Current time in UTC, without tzinfo (as stored in the database)."""
    return datetime.now(UTC).replace(tzinfo=None)
