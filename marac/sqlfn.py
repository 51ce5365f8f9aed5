"""SQL expressions that read the same on SQLite and PostgreSQL (issue 12).

Where the two engines have no common spelling (date arithmetic, formatting a month), the expression
is built for the bound database when the query is built. On SQLite each is exactly the SQL it
replaced, so results there do not change.
"""
from peewee import Case, Cast, fn

from marac.db import is_sqlite


def iif(condition, then, otherwise):
    """condition ? then : otherwise (SQLite's IIF, PostgreSQL has none: a CASE reads on both)."""
    return Case(None, [(condition, then)], otherwise)


def as_date(expr):
    """The calendar date of a date-time (SQLite: date(x), 'YYYY-MM-DD' text)."""
    return fn.date(expr) if is_sqlite() else Cast(expr, "date")


def years_before(expr, years: int):
    """The date `years` years before the date-time `expr`."""
    years = int(years)
    if is_sqlite():
        return fn.date(expr, f"-{years} years")
    return Cast(Cast(expr, "date") - fn.make_interval(years), "date")


def days_between(later, earlier):
    """Whole calendar days from the date of `earlier` to the date of `later`."""
    if is_sqlite():
        return fn.julianday(fn.date(later)) - fn.julianday(fn.date(earlier))
    return Cast(later, "date") - Cast(earlier, "date")


def year_month(expr):
    """'YYYY-MM' of a date-time."""
    return fn.strftime("%Y-%m", expr) if is_sqlite() else fn.to_char(expr, "YYYY-MM")


def as_int(expr):
    """A boolean column as 0/1, to SUM it (SQLite stores booleans as integers already)."""
    return expr if is_sqlite() else Cast(expr, "integer")
