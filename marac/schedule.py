"""Working days, meeting patterns and meeting deadlines. Pure: no Flask, no database.

Working days skip weekends and the bank holidays of England and Wales, taken from the `holidays`
package (subdivision ENG, which includes substitute days such as Boxing Day observed on a Monday).
The list is never hand-coded here: a new holiday (a coronation, a jubilee) arrives with the package.

Meeting times and deadlines are UK local wall-clock times (naive datetimes), because that is how
a panel states them ("5pm eight working days before"). Event stamps elsewhere in the app (when
something happened) are naive UTC; `uk_local()` converts one to the other for comparisons.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")

WEEKLY = "weekly"
FORTNIGHTLY = "fortnightly"
THREE_WEEKLY = "three_weekly"
MONTHLY = "monthly"
FREQUENCIES: dict[str, str] = {
    WEEKLY: "Every week",
    FORTNIGHTLY: "Every two weeks",
    THREE_WEEKLY: "Every three weeks",
    MONTHLY: "Once a month",
}
_STEP_DAYS = {WEEKLY: 7, FORTNIGHTLY: 14, THREE_WEEKLY: 21}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# For monthly meetings: which weekday of the month (-1 = the last one in the month).
WEEKS_OF_MONTH: dict[int, str] = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


# --- working days --------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _holidays_for(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year))


def bank_holiday(d: date) -> str | None:
    """The name of the England and Wales bank holiday on this date, or None."""
    return _holidays_for(d.year).get(d)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a bank holiday in England and Wales."""
    return d.weekday() < 5 and bank_holiday(d) is None


def add_working_days(d: date, n: int) -> date:
    """The date n working days after d (before it when n is negative); d itself is not counted."""
    step = 1 if n >= 0 else -1
    left = abs(n)
    current = d
    while left:
        current += timedelta(days=step)
        if is_working_day(current):
            left -= 1
    return current


def working_days_before(d: date, n: int) -> date:
    """The date n working days before d (8 before a Wednesday meeting is the Friday of week -2)."""
    return add_working_days(d, -n)


def working_days_after(d: date, n: int) -> date:
    """The date n working days after d."""
    return add_working_days(d, n)


def working_days_between(start: date, end: date) -> int:
    """Working days after start up to and including end (negative when end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for i in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=i)))


def next_working_day(d: date) -> date:
    """d itself when it is a working day, otherwise the next one."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


# --- times ---------------------------------------------------------------------------------------


def parse_time(value: str | time) -> time:
    """'17:00' or '9:30' as a time; raises ValueError on anything else."""
    if isinstance(value, time):
        return value
    hours, _, minutes = str(value).strip().partition(":")
    if not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"not a time of day: {value!r}")
    return time(int(hours), int(minutes))


def format_time(t: time) -> str:
    """12-hour clock as a GOV.UK page writes it: 9:30am, 12 noon, 5pm."""
    if t.hour == 12 and t.minute == 0:
        return "12 noon"
    if t.hour == 0 and t.minute == 0:
        return "midnight"
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}{suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d}{suffix}"


def format_datetime(dt: datetime | None) -> str:
    """'5pm on Friday 6 November 2026' for a UK local datetime."""
    if dt is None:
        return ""
    return f"{format_time(dt.time())} on {format_date(dt.date())}"


def format_date(d: date | None) -> str:
    """'Wednesday 18 November 2026'."""
    if d is None:
        return ""
    return f"{WEEKDAYS[d.weekday()]} {d.day} {d:%B %Y}"


def uk_local(utc_naive: datetime) -> datetime:
    """A naive UTC datetime (as stored for events) as naive UK local time."""
    return utc_naive.replace(tzinfo=UTC).astimezone(LONDON).replace(tzinfo=None)


# --- meeting patterns ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingPattern:
    """How often a panel meets: every 1/2/3 weeks on a weekday, or the nth weekday of a month."""

    frequency: str = MONTHLY
    weekday: int = 2  # Monday = 0
    week_of_month: int = 2  # monthly only: 1-4, or -1 for the last
    start_time: time = time(9, 30)

    def __post_init__(self):
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
        if self.weekday not in range(7):
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if self.frequency == MONTHLY and self.week_of_month not in WEEKS_OF_MONTH:
            raise ValueError("week of month must be 1 to 4, or -1 for the last")

    def describe(self) -> str:
        """'The second Wednesday of each month at 9:30am', 'Every three weeks on Wednesday at 9:30am'."""
        when = format_time(self.start_time)
        day = WEEKDAYS[self.weekday]
        if self.frequency == MONTHLY:
            return f"The {WEEKS_OF_MONTH[self.week_of_month]} {day} of each month at {when}"
        return f"{FREQUENCIES[self.frequency]} on {day} at {when}"


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The nth given weekday of a month (n = -1: the last)."""
    if n == -1:
        next_month = date(year + month // 12, month % 12 + 1, 1)
        d = next_month - timedelta(days=1)
        return d - timedelta(days=(d.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def meeting_dates(pattern: MeetingPattern, start: date, end: date) -> list[date]:
    """Dates the pattern gives from start to end inclusive (bank holidays not yet avoided)."""
    dates = []
    if pattern.frequency == MONTHLY:
        year, month = start.year, start.month
        while True:
            d = nth_weekday(year, month, pattern.weekday, pattern.week_of_month)
            if d > end:
                break
            if d >= start:
                dates.append(d)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return dates
    d = start + timedelta(days=(pattern.weekday - start.weekday()) % 7)
    while d <= end:
        dates.append(d)
        d += timedelta(days=_STEP_DAYS[pattern.frequency])
    return dates


@dataclass(frozen=True)
class ProposedMeeting:
    """One meeting of a year's proposal; `moved_from` is set when the pattern hit a bank holiday."""

    starts_at: datetime
    moved_from: date | None = None
    holiday: str = ""


def propose_year(pattern: MeetingPattern, start: date, months: int = 12) -> list[ProposedMeeting]:
    """A year (or `months`) of meetings from start; a date on a bank holiday moves to the next
    working day, since no panel sits on one (the coordinator can move or drop any of them)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    end = date(year, month, min(start.day, last_day)) - timedelta(days=1)
    proposals = []
    for d in meeting_dates(pattern, start, end):
        name = bank_holiday(d)
        moved = next_working_day(d) if name else d
        proposals.append(ProposedMeeting(datetime.combine(moved, pattern.start_time),
                                         moved_from=d if name else None, holiday=name or ""))
    return proposals


# --- deadlines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRules:
    """A panel's deadline settings (B&D: referrals 5pm 8 working days before, agenda 12 noon 5)."""

    referral_working_days: int = 8
    referral_time: time = time(17, 0)
    circulation_working_days: int = 5
    circulation_time: time = time(12, 0)
    minutes_working_days: int = 5
    written_info_days: int = 2

    def __post_init__(self):
        for name in ("referral_working_days", "circulation_working_days", "minutes_working_days",
                     "written_info_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 60:
                raise ValueError(f"{name.replace('_', ' ')} must be a whole number from 0 to 60")


@dataclass(frozen=True)
class Deadlines:
    referral: datetime
    circulation: datetime
    minutes: date
    written_info: datetime


def deadlines(starts_at: datetime, rules: DeadlineRules) -> Deadlines:
    """A meeting's referral deadline, circulation time, minutes due date and written-information
    deadline (working days before, at the meeting's start time, so it never falls on a weekend
    or bank holiday), all UK local."""
    day = starts_at.date()
    return Deadlines(
        referral=datetime.combine(working_days_before(day, rules.referral_working_days), rules.referral_time),
        circulation=datetime.combine(working_days_before(day, rules.circulation_working_days),
                                     rules.circulation_time),
        minutes=working_days_after(day, rules.minutes_working_days),
        written_info=datetime.combine(working_days_before(day, rules.written_info_days), starts_at.time()),
    )


def case_start_times(starts_at: datetime, minutes: list[int]) -> tuple[list[datetime], datetime]:
    """Estimated start of each case in order, and the estimated end of the meeting."""
    times = []
    current = starts_at
    for m in minutes:
        times.append(current)
        current += timedelta(minutes=m)
    return times, current
