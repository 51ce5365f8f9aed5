"""Working days, meeting patterns and deadlines (marac.schedule: pure, no app needed)."""
import ast
from datetime import date, datetime, time
from pathlib import Path

import pytest

from marac import schedule
from marac.schedule import (
    FORTNIGHTLY,
    MONTHLY,
    THREE_WEEKLY,
    WEEKLY,
    DeadlineRules,
    MeetingPattern,
    add_working_days,
    bank_holiday,
    case_start_times,
    deadlines,
    format_datetime,
    format_time,
    is_working_day,
    meeting_dates,
    propose_year,
    working_days_after,
    working_days_before,
    working_days_between,
)


def test_schedule_is_pure():
    tree = ast.parse(Path(schedule.__file__).read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"flask", "peewee", "playhouse", "marac"}


def test_bank_holidays_come_from_the_package_for_england_and_wales():
    assert bank_holiday(date(2026, 12, 25)) == "Christmas Day"
    assert bank_holiday(date(2026, 4, 3)) == "Good Friday"
    assert bank_holiday(date(2026, 4, 6)) == "Easter Monday"
    # Scotland's 2 January and St Andrew's Day are not holidays here.
    assert bank_holiday(date(2026, 1, 2)) is None
    assert bank_holiday(date(2026, 11, 30)) is None
    # A one-off holiday arrives with the package (the coronation, 8 May 2023).
    assert bank_holiday(date(2023, 5, 8)) is not None


def test_weekends_and_holidays_are_not_working_days():
    assert is_working_day(date(2026, 11, 18))  # a Wednesday
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert not is_working_day(date(2026, 11, 22))  # Sunday
    assert not is_working_day(date(2026, 12, 25))


def test_eight_working_days_before_an_ordinary_wednesday():
    # Wed 18 Nov 2026: back over Tue 17 ... Fri 6 Nov, skipping one weekend.
    assert working_days_before(date(2026, 11, 18), 8) == date(2026, 11, 6)
    assert working_days_before(date(2026, 11, 18), 5) == date(2026, 11, 11)
    assert working_days_before(date(2026, 11, 18), 0) == date(2026, 11, 18)


def test_across_christmas_with_a_substitute_boxing_day():
    # 2026: Christmas Friday, Boxing Day Saturday, so the substitute holiday is Monday 28 December.
    assert bank_holiday(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert not is_working_day(date(2026, 12, 28))
    # Meeting Wed 6 Jan 2027: 5 working days back are 5, 4 Jan, 31, 30, 29 Dec (1 Jan is a holiday).
    assert working_days_before(date(2027, 1, 6), 5) == date(2026, 12, 29)
    # 8 working days back continue over Christmas: 24, 23, 22 Dec.
    assert working_days_before(date(2027, 1, 6), 8) == date(2026, 12, 22)
    # Minutes due 5 working days after Wed 23 Dec 2026: 24, 29, 30, 31 Dec, 4 Jan.
    assert working_days_after(date(2026, 12, 23), 5) == date(2027, 1, 4)


def test_christmas_on_a_weekend_gives_two_substitute_days():
    # 2027: Christmas Saturday and Boxing Day Sunday, so Monday 27 and Tuesday 28 are holidays.
    assert not is_working_day(date(2027, 12, 27))
    assert not is_working_day(date(2027, 12, 28))
    assert add_working_days(date(2027, 12, 24), 1) == date(2027, 12, 29)


def test_across_easter():
    # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
    # Meeting Wed 8 Apr: 5 working days back are 7 Apr, 2, 1, 31 Mar, 30 Mar.
    assert working_days_before(date(2026, 4, 8), 5) == date(2026, 3, 30)
    assert working_days_before(date(2026, 4, 8), 8) == date(2026, 3, 25)
    assert working_days_after(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert working_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1


def test_deadlines_use_the_panel_times_of_day():
    rules = DeadlineRules(referral_working_days=8, referral_time=time(17), circulation_working_days=5,
                          circulation_time=time(12), minutes_working_days=6, written_info_days=2)
    d = deadlines(datetime(2026, 4, 8, 9, 30), rules)
    assert d.referral == datetime(2026, 3, 25, 17, 0)
    assert d.circulation == datetime(2026, 3, 30, 12, 0)
    assert d.minutes == date(2026, 4, 16)  # 9, 10, 13, 14, 15, 16 April
    # Written information: two working days before (7 April, then back over Easter Monday and Good Friday).
    assert d.written_info == datetime(2026, 4, 2, 9, 30)
    # Never on a weekend: a Tuesday meeting's deadline two working days before is the Friday.
    assert deadlines(datetime(2026, 12, 22, 10, 0), rules).written_info == datetime(2026, 12, 18, 10, 0)
    assert format_datetime(d.referral) == "5pm on Wednesday 25 March 2026"
    assert format_time(time(12)) == "12 noon" and format_time(time(9, 30)) == "9:30am"


def test_deadline_rules_are_checked():
    with pytest.raises(ValueError):
        DeadlineRules(referral_working_days=-1)


@pytest.mark.parametrize("frequency, expected", [
    (WEEKLY, [date(2026, 11, 4), date(2026, 11, 11), date(2026, 11, 18), date(2026, 11, 25)]),
    (FORTNIGHTLY, [date(2026, 11, 4), date(2026, 11, 18)]),
    (THREE_WEEKLY, [date(2026, 11, 4), date(2026, 11, 25)]),
])
def test_weekly_patterns(frequency, expected):
    pattern = MeetingPattern(frequency=frequency, weekday=2)
    assert meeting_dates(pattern, date(2026, 11, 1), date(2026, 11, 30)) == expected


def test_second_wednesday_and_last_friday_of_the_month():
    second_wed = MeetingPattern(frequency=MONTHLY, weekday=2, week_of_month=2)
    assert meeting_dates(second_wed, date(2026, 1, 1), date(2026, 3, 31)) == [
        date(2026, 1, 14), date(2026, 2, 11), date(2026, 3, 11)]
    assert second_wed.describe() == "The second Wednesday of each month at 9:30am"
    last_fri = MeetingPattern(frequency=MONTHLY, weekday=4, week_of_month=-1)
    assert meeting_dates(last_fri, date(2026, 1, 1), date(2026, 2, 28)) == [date(2026, 1, 30), date(2026, 2, 27)]


def test_a_years_proposal_moves_meetings_off_bank_holidays():
    first_monday = MeetingPattern(frequency=MONTHLY, weekday=0, week_of_month=1, start_time=time(10))
    year = propose_year(first_monday, date(2026, 1, 1))
    assert len(year) == 12
    april = year[3]
    assert april.moved_from == date(2026, 4, 6) and april.holiday == "Easter Monday"
    assert april.starts_at == datetime(2026, 4, 7, 10, 0)
    assert all(is_working_day(p.starts_at.date()) for p in year)
    assert year[-1].starts_at.date() < date(2027, 1, 1)


def test_three_weekly_year_is_about_seventeen_meetings():
    year = propose_year(MeetingPattern(frequency=THREE_WEEKLY, weekday=2), date(2026, 11, 1))
    assert len(year) == 18
    assert year[0].starts_at == datetime(2026, 11, 4, 9, 30)


def test_invalid_patterns_are_refused():
    with pytest.raises(ValueError):
        MeetingPattern(frequency="daily")
    with pytest.raises(ValueError):
        MeetingPattern(frequency=MONTHLY, week_of_month=5)


def test_case_start_times_and_meeting_end():
    times, end = case_start_times(datetime(2026, 11, 18, 9, 30), [15, 15, 5])
    assert times == [datetime(2026, 11, 18, 9, 30), datetime(2026, 11, 18, 9, 45), datetime(2026, 11, 18, 10, 0)]
    assert end == datetime(2026, 11, 18, 10, 5)
