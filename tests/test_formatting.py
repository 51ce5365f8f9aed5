"""Dates are shown in UK local time in the house format, never as raw ISO strings."""
from datetime import date, datetime

from marac import formatting


def test_local_datetime_follows_british_summer_time():
    assert formatting.local_datetime(datetime(2026, 7, 1, 23, 30)) == "02 Jul 2026 00:30"
    assert formatting.local_datetime(datetime(2026, 12, 1, 23, 30)) == "01 Dec 2026 23:30"


def test_dates_from_frozen_snapshots_are_shown_in_the_house_format():
    assert formatting.iso_local_date("2026-11-22T10:15:00") == "22 Nov 2026"
    assert formatting.iso_local_date("2026-06-30T23:30:00") == "01 Jul 2026"
    assert formatting.iso_local_date("") == ""
    assert formatting.local_date(date(2026, 1, 5)) == "05 Jan 2026"
