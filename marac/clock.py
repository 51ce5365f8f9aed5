"""The one source of 'now' (naive UTC), so tests can move time."""
from datetime import datetime, timezone


def now() -> datetime:
    """Current time in UTC, without tzinfo (as stored in the database)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
