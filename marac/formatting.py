"""Display helpers: times are stored in UTC and shown in UK local time."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def local_datetime(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC datetime as UK local time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(LONDON).strftime(fmt)


def local_date(value: date | datetime | None, fmt: str = "%d %b %Y") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_datetime(value, fmt)
    return value.strftime(fmt)


def iso_local_date(value: str, fmt: str = "%d %b %Y") -> str:
    """A stored ISO UTC timestamp string (as kept in frozen JSON snapshots) as a UK date."""
    if not value:
        return ""
    return local_datetime(datetime.fromisoformat(value), fmt)
