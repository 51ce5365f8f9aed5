"""Steering-group reports and the SafeLives data return (issue 9).

Every figure is counted by SQL (GROUP BY, COUNT, SUM(CASE ...)), never by looping over rows in
Python, and each query is bounded by an indexed date range (meeting start, referral submission,
action due date), so a year's report costs the same on a database of 1,000 cases or 100,000.
Figures hold no personal data; the cases behind a figure are listed by case number, only to those
allowed to open them (access.visible_case_where). Views and exports are audited by the caller
through record_view / record_export.

What each figure counts (DOMAIN.md "Steering group reporting" and "The national data return";
seed 002 "Equality Impact Data"; seed 004 sections 7, 8 and 10.15-10.17):

The unit is a hearing: one case on the agenda of one meeting. SafeLives counts per meeting, so a
case heard at two meetings of the period counts twice, and the period's figures are the sums of
the SafeLives return's per-meeting rows.

* Period: UK calendar dates, both ends included. A meeting belongs to the period when its start
  (UK local time, as stored) falls on one of those dates; a referral by when it was sent
  (submitted_at, UTC, compared with the UK midnights that bound the period); an action by its
  due date.
* Cases heard: listings at meetings the coordinator ended (Meeting.status "held": planned and
  cancelled meetings count nothing), of any kind (full, information only, closed session),
  except a case back only to review its actions (Listing.is_review and not a repeat): those are
  shown as "review listings, not counted".
* Repeat cases: cases heard whose listing is marked repeat (Listing.is_repeat: the case or the
  referral was a repeat by the panel's rule when it was listed). Repeat rate = repeat cases /
  cases heard x 100, one decimal place (half up), against SafeLives' national range 29-33%.
* Cases with children: cases heard with at least one person in the role "child" on the case
  (CasePerson, filled from the referral's people when it was accepted); children: the number of
  those people, summed over the cases heard.
* Referring agency of a case heard: the agency of the listing's referral (Listing.referral, the
  referral it was listed on). Police: Agency.is_police; partner agencies: every other agency;
  "not recorded" when the listing has no referral.
* Equality, for the cases heard. "Victim" is the person in the role "victim" (domestic-abuse
  panels) or "subject" (community panels); a case counts once when any of its victims meets the
  rule. The fields are those of Person, copied from the referral's equality details
  (Referral.data["people"], codes in marac.referrals):
  - Black, Asian or racially minoritised: ethnicity "asian", "black", "mixed" or "other". Not
    "white_british", "white_other" (which the form also uses for Irish, Gypsy, Irish Traveller
    and Roma, so they cannot be told apart), "not_known" or blank.
  - LGBT+: sexual orientation "gay_lesbian", "bisexual" or "other", or gender identity
    "different" (different from the sex registered at birth).
  - Disability: disability "yes".
  - Male victims: sex "male".
  - Victims aged 16-17: aged 16 or 17 on the date of the meeting (date of birth known).
  - Perpetrators aged 17 or under: a person in the role "perpetrator" younger than 18 on the date
    of the meeting (date of birth known).
* Volume against the SafeLives benchmark: 40 cases a year per 10,000 women aged 16+ (setting
  adult_female_population). Expected cases in the period = 40 x population / 10,000 x days in
  the period / 365; the panel's rate = cases heard x 10,000 / population x 365 / days.
* Referrals received, by referring agency: referrals sent in the period (not drafts), by their
  agency and their present status (accepted, declined, anything else: waiting, returned,
  transferred out).
* Professional-judgement referrals: those of the referrals received with the professional-
  judgement criterion, by the quality-assurance decision (Referral.qa_status accepted, declined,
  pending), police and partner agencies apart.
* Time from referral to hearing: for cases heard whose referral has a sending date, calendar days
  from that date (UTC) to the meeting date; average (one decimal), median, longest, and bands.
* Attendance, per agency, over the meetings held in the period. At each meeting an agency is
  present (its named representative signed in), deputy (not its representative, but a deputy or
  someone else sent for it), apologies (nobody for it, apologies sent), or absent (a member
  agency with none of those). The chair and the coordinator run the meeting and observers watch
  it: none of them counts as attendance for an agency. An agency is expected at a meeting when it
  was a member on that date (core or flexible, agreement signed on or before it and not withdrawn
  by then); non-members that attended are listed, never absent. Attendance rate = (present +
  deputy) at expected meetings / expected meetings.
* Research returned, per member agency: listings at the meetings held in the period (reviews
  included: every listed case is researched) that the agency could see (closed sessions: only
  when invited) while a member, against the listings it recorded research for (Research rows,
  "nothing known" included).
* Actions, per owner agency: actions due in the period. On time: done, completed on or before
  the due date (a done action without a completion date counts on time); late: done after it;
  could not be completed: status "cannot", by reason; still open past the due date; not yet due
  (open, due today or later). On time % = on time / (due - not yet due).
"""
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from urllib.parse import urlencode

from markupsafe import Markup
from peewee import JOIN, SQL, fn
from peewee import Case as SqlCase

from marac import actions as action_service
from marac import audit, charts, clock, settings, sqlfn
from marac.access import visible_case_where
from marac.db import db
from marac.formatting import LONDON
from marac.models import (
    Action,
    Agency,
    Attendance,
    Case,
    CasePerson,
    Listing,
    ListingInvite,
    Meeting,
    Person,
    Referral,
    Research,
)
from marac.panels import current_panel_id

PERIOD_KINDS = {"month": "A month", "quarter": "A quarter", "year": "A year", "custom": "Dates of your choice"}
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
QUARTERS = {1: "January to March", 2: "April to June", 3: "July to September", 4: "October to December"}
MAX_CUSTOM_DAYS = 366 * 5 + 2
SAFELIVES_PER_10K = 40  # cases a year per 10,000 adult women (SafeLives' recommended volume)
NATIONAL_PER_10K = 47  # the national figure in 2024 (DOMAIN.md)
NATIONAL_REPEAT = (29, 33)  # national repeat rate range, %
VICTIM_ROLES = ("victim", "subject")
BAME_CODES = ("asian", "black", "mixed", "other")
LGB_CODES = ("gay_lesbian", "bisexual", "other")
PAGE_SIZE = 100
TREND_MONTHS = 12


class ReportError(ValueError):
    """A report that cannot be made (the message is shown to the user)."""


# --- periods -----------------------------------------------------------------------------------


def _fmt(d: date) -> str:
    return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class Period:
    """UK calendar dates from start to end, both included."""

    kind: str  # month, quarter, year, custom
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{MONTH_NAMES[self.start.month - 1]} {self.start.year}"
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3 + 1
            return f"{QUARTERS[q]} {self.start.year} (quarter {q})"
        if self.kind == "year":
            return f"January to December {self.start.year}"
        return f"{_fmt(self.start)} to {_fmt(self.end)}"

    def local_bounds(self) -> tuple[datetime, datetime]:
        """UK local midnights (for Meeting.starts_at, stored as UK local time)."""
        return datetime.combine(self.start, time.min), datetime.combine(self.end + timedelta(days=1), time.min)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The same midnights in naive UTC (for times stored by clock.now())."""
        return tuple(d.replace(tzinfo=LONDON).astimezone(UTC).replace(tzinfo=None) for d in self.local_bounds())

    def args(self) -> dict:
        """Query arguments that give this period back (links, exports)."""
        if self.kind == "month":
            return {"period": "month", "year": self.start.year, "month": self.start.month}
        if self.kind == "quarter":
            return {"period": "quarter", "year": self.start.year, "quarter": (self.start.month - 1) // 3 + 1}
        if self.kind == "year":
            return {"period": "year", "year": self.start.year}
        return {"period": "custom", "start": [str(self.start.day), str(self.start.month), str(self.start.year)],
                "end": [str(self.end.day), str(self.end.month), str(self.end.year)]}

    def query(self) -> str:
        """args() as a URL query string (built once per period: a report page has hundreds of links)."""
        return _query(self)

    def shifted(self, step: int) -> "Period | None":
        """The period before (-1) or after (+1) of the same kind; None for custom dates."""
        if self.kind == "month":
            n = self.start.year * 12 + self.start.month - 1 + step
            return month_period(n // 12, n % 12 + 1)
        if self.kind == "quarter":
            n = self.start.year * 4 + (self.start.month - 1) // 3 + step
            return quarter_period(n // 4, n % 4 + 1)
        if self.kind == "year":
            return year_period(self.start.year + step)
        return None


@lru_cache(maxsize=256)
def _query(period: Period) -> str:
    return urlencode(period.args(), doseq=True)


def _end_of_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    return Period("month", date(year, month, 1), _end_of_month(year, month))


def quarter_period(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period("quarter", date(year, first, 1), _end_of_month(year, first + 2))


def year_period(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def custom_period(start: date, end: date) -> Period:
    if end < start:
        raise ReportError("The end date must be the same as or after the start date")
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise ReportError("Choose dates at most 5 years apart")
    return Period("custom", start, end)


def default_period(today: date | None = None) -> Period:
    """The quarter so far: what a coordinator preparing for the steering group looks at first."""
    today = today or action_service.today()
    return quarter_period(today.year, (today.month - 1) // 3 + 1)


# --- numbers -----------------------------------------------------------------------------------


def percent(part: int | None, whole: int | None) -> float | None:
    """part / whole as a percentage with one decimal place, rounded half up; None when whole is 0."""
    if not whole:
        return None
    value = (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def one_decimal(value) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _int(value) -> int:
    return int(value or 0)


# --- tables: what the page shows and the spreadsheet holds --------------------------------------


@dataclass
class Cell:
    """One figure: its value and, when it counts cases, the figure key that lists them."""

    value: object = None
    figure: str = ""
    agency: int | None = None
    pct: bool = False
    period: Period | None = None  # when the figure is of another period than the report's (the trend)
    side: str = ""  # "police" or "partner": the referring agencies of a figure, as a group
    exact: bool = True  # the list behind it has as many rows as the figure (not so for children: their cases)

    @property
    def text(self) -> str:
        v = self.value
        if v is None:
            return "-"
        if isinstance(v, datetime):
            v = v.date()
        if isinstance(v, date):
            return f"{v.day} {v:%b %Y}"
        if self.pct:
            return f"{v:.1f}%"
        if isinstance(v, float):
            return f"{v:,.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    @property
    def linked(self) -> bool:
        return bool(self.figure) and isinstance(self.value, int) and self.value > 0


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    total_rows: int = 0  # the last n rows are totals (bold)


def _row(label: str, *cells: Cell) -> list[Cell]:
    return [Cell(label), *cells]


# --- the shared pieces of SQL ------------------------------------------------------------------


def _held(lo: datetime, hi: datetime):
    """Meetings of the panel in view held in [lo, hi): every hearing, attendance and research figure
    starts from these, so the panel filter here keeps another panel's meetings out of all of them."""
    return ((Meeting.panel == current_panel_id()) & (Meeting.status == "held") & (Meeting.starts_at >= lo)
            & (Meeting.starts_at < hi))


def _counted():
    """A listing that counts as a case heard (not a plain review of actions)."""
    return Listing.id.is_null(False) & ((Listing.is_review == False) | (Listing.is_repeat == True))  # noqa: E712


def _person_exists(roles, rule):
    """Some person of the listed case in one of these roles meets the rule (correlated EXISTS)."""
    return fn.EXISTS(CasePerson.select(SQL("1")).join(Person, on=(CasePerson.person == Person.id))
                     .where((CasePerson.case == Listing.case) & CasePerson.role.in_(roles) & rule))


def _age_under(years: int):
    """Younger than `years` on the meeting date."""
    return Person.date_of_birth.is_null(False) & (Person.date_of_birth > sqlfn.years_before(Meeting.starts_at, years))


def _age_at_least(years: int):
    return Person.date_of_birth.is_null(False) & (Person.date_of_birth <= sqlfn.years_before(Meeting.starts_at, years))


def _children_count():
    return (CasePerson.select(fn.COUNT(CasePerson.id))
            .where((CasePerson.case == Listing.case) & (CasePerson.role == "child")))


def _days_to_hearing():
    return sqlfn.days_between(Meeting.starts_at, Referral.submitted_at)


def _days_between(low: int, high: int | None):
    days = _days_to_hearing()
    rule = Referral.submitted_at.is_null(False) & (days >= low)
    return rule if high is None else rule & (days <= high)


# Figures counted over hearings: key -> (label, condition on the joined Meeting, Listing, Referral,
# Agency of the referral). Each is used both to count (SUM(CASE WHEN ...)) and to list the cases.
HEARING_FIGURES = {
    "heard": ("Cases heard", lambda: _counted()),
    "full": ("Heard in full", lambda: _counted() & (Listing.kind == "full")),
    "information": ("Listed for information only", lambda: _counted() & (Listing.kind == "information")),
    "closed": ("Heard in a closed session", lambda: _counted() & (Listing.kind == "closed")),
    "review": ("Review listings (not counted as cases heard)",
               lambda: Listing.id.is_null(False) & ~_counted()),
    "repeat": ("Repeat cases", lambda: _counted() & (Listing.is_repeat == True)),  # noqa: E712
    "children": ("Cases with children", lambda: _counted() & fn.EXISTS(
        CasePerson.select(SQL("1")).where((CasePerson.case == Listing.case) & (CasePerson.role == "child")))),
    "police": ("Referred by the police", lambda: _counted() & (Agency.is_police == True)),  # noqa: E712
    "partner": ("Referred by partner agencies",
                lambda: _counted() & Referral.id.is_null(False) & (Agency.is_police == False)),  # noqa: E712
    "no_referral": ("Referring agency not recorded", lambda: _counted() & Referral.id.is_null()),
    "bame": ("Victims who are Black, Asian or racially minoritised",
             lambda: _counted() & _person_exists(VICTIM_ROLES, Person.ethnicity.in_(BAME_CODES))),
    "lgbt": ("Victims who are LGBT+", lambda: _counted() & _person_exists(
        VICTIM_ROLES, Person.sexual_orientation.in_(LGB_CODES) | (Person.gender_identity == "different"))),
    "disability": ("Victims with a disability",
                   lambda: _counted() & _person_exists(VICTIM_ROLES, Person.disability == "yes")),
    "male": ("Male victims", lambda: _counted() & _person_exists(VICTIM_ROLES, Person.sex == "male")),
    "victim_16_17": ("Victims aged 16 or 17", lambda: _counted() & _person_exists(
        VICTIM_ROLES, _age_at_least(16) & _age_under(18))),
    "perpetrator_under_18": ("Perpetrators aged 17 or under",
                             lambda: _counted() & _person_exists(("perpetrator",), _age_under(18))),
    "days_0_7": ("Heard within 7 days of the referral", lambda: _counted() & _days_between(0, 7)),
    "days_8_14": ("Heard 8 to 14 days after the referral", lambda: _counted() & _days_between(8, 14)),
    "days_15_28": ("Heard 15 to 28 days after the referral", lambda: _counted() & _days_between(15, 28)),
    "days_29": ("Heard 29 days or more after the referral", lambda: _counted() & _days_between(29, None)),
}
EQUALITY_KEYS = ("bame", "lgbt", "disability", "male", "victim_16_17", "perpetrator_under_18")
SAFELIVES_COLUMNS = [
    ("heard", "Cases discussed"),
    ("children_count", "Children in the households"),
    ("repeat", "Repeat cases"),
    ("police", "Referrals from the police"),
    ("partner", "Referrals from partner agencies"),
    ("no_referral", "Referring agency not recorded"),
    ("bame", "Victims who are Black, Asian or racially minoritised"),
    ("lgbt", "Victims who are LGBT+"),
    ("disability", "Victims with a disability"),
    ("male", "Male victims"),
    ("victim_16_17", "Victims aged 16 or 17"),
    ("perpetrator_under_18", "Perpetrators aged 17 or under"),
]


def _sum_if(condition, value=1):
    return fn.SUM(SqlCase(None, [(condition, value)], 0))


def _hearing_columns(keys) -> list:
    return [_sum_if(HEARING_FIGURES[k][1]()).alias(k) for k in keys]


def _hearings(columns, lo: datetime, hi: datetime):
    """Meetings held in [lo, hi) with their listings, each listing's referral and referring agency."""
    return (Meeting.select(*columns)
            .join(Listing, JOIN.LEFT_OUTER, on=(Listing.meeting == Meeting.id))
            .join(Referral, JOIN.LEFT_OUTER, on=(Listing.referral == Referral.id))
            .join(Agency, JOIN.LEFT_OUTER, on=(Referral.agency == Agency.id))
            .where(_held(lo, hi)))


def _hearing_figures(lo: datetime, hi: datetime, group_by=None, extra=()) -> list[dict]:
    keys = list(HEARING_FIGURES)
    timing = _days_to_hearing()
    columns = _hearing_columns(keys) + [
        _sum_if(_counted(), _children_count()).alias("children_count"),
        fn.COUNT(SqlCase(None, [(_counted() & Referral.submitted_at.is_null(False), timing)])).alias("timed"),
        fn.AVG(SqlCase(None, [(_counted() & Referral.submitted_at.is_null(False), timing)])).alias("avg_days"),
        fn.MAX(SqlCase(None, [(_counted() & Referral.submitted_at.is_null(False), timing)])).alias("max_days"),
        fn.COUNT(fn.DISTINCT(Meeting.id)).alias("meetings"),
        *extra,
    ]
    query = _hearings(columns, lo, hi)
    if group_by is not None:
        query = query.group_by(*group_by)
    rows = list(query.dicts())
    for row in rows:
        for k in keys + ["children_count", "timed", "meetings"]:
            row[k] = _int(row.get(k))
    return rows


def _median_days(lo: datetime, hi: datetime, n: int) -> float | None:
    """The median of the days from referral to hearing (the middle one or two, found by SQL)."""
    if not n:
        return None
    days = _days_to_hearing()
    query = (_hearings([days.alias("d")], lo, hi).where(_counted() & Referral.submitted_at.is_null(False))
             .order_by(days).limit(1 if n % 2 else 2).offset((n - 1) // 2))
    values = [r["d"] for r in query.dicts()]
    return one_decimal(sum(values) / len(values))


# --- the report ---------------------------------------------------------------------------------


@dataclass
class Report:
    period: Period
    figures: dict  # the hearing figures over the whole period
    tables: dict[str, Table]
    charts: dict[str, Markup]
    repeat_rate: float | None
    repeat_position: str  # below, within, above the national range ("" without cases)
    benchmark: dict
    today: date
    calculated_at: datetime  # naive UTC


def summary(period: Period) -> dict:
    """The hearing figures of the period, in one query (plus the median of the days to hearing)."""
    lo, hi = period.local_bounds()
    figures = _hearing_figures(lo, hi)[0]
    figures["avg_days"] = one_decimal(figures["avg_days"])
    figures["max_days"] = None if figures["max_days"] is None else int(figures["max_days"])
    figures["median_days"] = _median_days(lo, hi, figures["timed"])
    return figures


def safelives_rows(period: Period) -> list[dict]:
    """One row per meeting held in the period with the counts SafeLives asks for (one query)."""
    lo, hi = period.local_bounds()
    rows = _hearing_figures(lo, hi, group_by=[Meeting.id], extra=[Meeting.id.alias("meeting_id"),
                                                                   Meeting.starts_at.alias("starts_at")])
    return sorted(rows, key=lambda r: (r["starts_at"], r["meeting_id"]))


def trend(period: Period, months: int = TREND_MONTHS) -> list[dict]:
    """Cases heard and repeats in each of the `months` months up to the end of the period."""
    last = month_period(period.end.year, period.end.month)
    first = last.shifted(1 - months)
    lo, _ = first.local_bounds()
    _, hi = last.local_bounds()
    month = sqlfn.year_month(Meeting.starts_at)
    found = {r["month"]: r for r in (_hearings([month.alias("month"), _sum_if(HEARING_FIGURES["heard"][1]())
                                                .alias("heard"),
                                                _sum_if(HEARING_FIGURES["repeat"][1]()).alias("repeat")], lo, hi)
                                     .group_by(month).dicts())}
    result = []
    current = first
    for _ in range(months):
        row = found.get(f"{current.start:%Y-%m}", {})
        heard, repeat = _int(row.get("heard")), _int(row.get("repeat"))
        result.append({"period": current, "label": f"{MONTH_NAMES[current.start.month - 1][:3]} "
                                                   f"{current.start:%y}",
                       "heard": heard, "repeat": repeat, "rate": percent(repeat, heard)})
        current = current.shifted(1)
    return result


def _received(period: Period):
    """Referrals of the panel in view sent in the period (drafts are not sent)."""
    lo, hi = period.utc_bounds()
    return ((Referral.panel == current_panel_id()) & (Referral.submitted_at >= lo) & (Referral.submitted_at < hi)
            & (Referral.status != "draft"))


REFERRAL_FIGURES = {
    "received": ("Referrals received", lambda: True),
    "accepted": ("Referrals accepted", lambda: Referral.status == "accepted"),
    "declined": ("Referrals declined", lambda: Referral.status == "declined"),
    "undecided": ("Referrals waiting, returned or transferred",
                  lambda: Referral.status.not_in(("accepted", "declined"))),
    "pj_received": ("Professional-judgement referrals received",
                    lambda: Referral.professional_judgement == True),  # noqa: E712
    "pj_accepted": ("Professional-judgement referrals accepted at quality assurance",
                    lambda: (Referral.professional_judgement == True) & (Referral.qa_status == "accepted")),  # noqa: E712
    "pj_declined": ("Professional-judgement referrals declined at quality assurance",
                    lambda: (Referral.professional_judgement == True) & (Referral.qa_status == "declined")),  # noqa: E712
    "pj_pending": ("Professional-judgement referrals awaiting quality assurance",
                   lambda: (Referral.professional_judgement == True)  # noqa: E712
                   & Referral.qa_status.not_in(("accepted", "declined"))),
}


def _referral_columns(keys=None):
    cols = []
    for key, (_label, make) in REFERRAL_FIGURES.items():
        if keys is not None and key not in keys:
            continue
        condition = make()
        cols.append(fn.COUNT(Referral.id).alias(key) if condition is True else _sum_if(condition).alias(key))
    return cols


def referrals_by_agency(period: Period) -> list[dict]:
    """Referrals sent in the period, by referring agency and outcome (one grouped query)."""
    rows = (Referral.select(Agency.id.alias("agency_id"), Agency.name.alias("name"),
                            Agency.is_police.alias("is_police"), *_referral_columns())
            .join(Agency, on=(Referral.agency == Agency.id))
            .where(_received(period))
            .group_by(Agency.id).dicts())
    result = []
    for row in rows:
        for key in REFERRAL_FIGURES:
            row[key] = _int(row[key])
        result.append(row)
    return result


def heard_by_agency(period: Period) -> dict[int, int]:
    """Cases heard in the period by the agency that referred them."""
    lo, hi = period.local_bounds()
    query = (_hearings([Agency.id.alias("agency_id"), _sum_if(_counted()).alias("heard")], lo, hi)
             .where(Agency.id.is_null(False)).group_by(Agency.id))
    return {r["agency_id"]: _int(r["heard"]) for r in query.dicts()}


def _member_at(day):
    """The agency was a member of the information sharing agreement on this date (SQL expression)."""
    return (Agency.kind.in_(("core", "flexible")) & Agency.isa_signed_on.is_null(False)
            & (Agency.isa_signed_on <= day) & (Agency.withdrawn_on.is_null() | (Agency.withdrawn_on > day)))


def attendance(period: Period) -> list[dict]:
    """Per agency: meetings expected, present, deputy, apologies, absent, written information.

    One statement: each meeting held in the period paired with each agency, left-joined to what
    the attendance sheet says about that agency at that meeting (aggregated per meeting and agency).
    """
    lo, hi = period.local_bounds()
    present = (Attendance.status == "present") & (Attendance.capacity == "representative")
    deputy = (Attendance.status == "present") & Attendance.capacity.in_(("deputy", "other"))
    sheet = (Attendance.select(Attendance.meeting.alias("meeting_id"), Attendance.agency.alias("agency_id"),
                               fn.MAX(SqlCase(None, [(present, 1)], 0)).alias("rep"),
                               fn.MAX(SqlCase(None, [(deputy, 1)], 0)).alias("dep"),
                               fn.MAX(SqlCase(None, [(Attendance.status == "apologies", 1)], 0)).alias("apo"),
                               fn.MAX(SqlCase(None, [((Attendance.status == "apologies")
                                                      & (Attendance.written_info == True), 1)], 0))  # noqa: E712
                               .alias("written"))
             .join(Meeting, on=(Attendance.meeting == Meeting.id))
             .where(_held(lo, hi) & Attendance.agency.is_null(False)
                    & Attendance.capacity.in_(("representative", "deputy", "other")))
             .group_by(Attendance.meeting, Attendance.agency)).alias("sheet")
    member = _member_at(sqlfn.as_date(Meeting.starts_at))
    rep = fn.COALESCE(sheet.c.rep, 0) == 1
    dep = (fn.COALESCE(sheet.c.rep, 0) == 0) & (fn.COALESCE(sheet.c.dep, 0) == 1)
    apo = (fn.COALESCE(sheet.c.rep, 0) == 0) & (fn.COALESCE(sheet.c.dep, 0) == 0) & (fn.COALESCE(sheet.c.apo, 0) == 1)
    nothing = sheet.c.agency_id.is_null() | ((sheet.c.rep == 0) & (sheet.c.dep == 0) & (sheet.c.apo == 0))
    query = (Meeting.select(Agency.id.alias("agency_id"), Agency.name.alias("name"),
                            _sum_if(member).alias("expected"), _sum_if(rep).alias("present"),
                            _sum_if(dep).alias("deputy"), _sum_if(apo).alias("apologies"),
                            _sum_if(member & nothing).alias("absent"),
                            _sum_if(member & (rep | dep)).alias("attended_expected"),
                            _sum_if(apo & (sheet.c.written == 1)).alias("written"))
             .join(Agency, on=SQL("1 = 1"))
             .join(sheet, JOIN.LEFT_OUTER, on=((sheet.c.meeting_id == Meeting.id) & (sheet.c.agency_id == Agency.id)))
             .where(_held(lo, hi))
             .group_by(Agency.id)
             .having(_sum_if(member | sheet.c.agency_id.is_null(False)) > 0))
    rows = []
    for row in query.dicts():
        for k in ("expected", "present", "deputy", "apologies", "absent", "attended_expected", "written"):
            row[k] = _int(row[k])
        if row["expected"] or row["present"] or row["deputy"] or row["apologies"]:
            row["rate"] = percent(row["attended_expected"], row["expected"])
            rows.append(row)
    return sorted(rows, key=lambda r: r["name"].casefold())


def _research_expected():
    """The listing (of a held meeting) was for this agency to research: a member then, and able to
    see it (closed sessions only when invited)."""
    invited = fn.EXISTS(ListingInvite.select(SQL("1")).where((ListingInvite.listing == Listing.id)
                                                             & (ListingInvite.agency == Agency.id)))
    return _member_at(sqlfn.as_date(Meeting.starts_at)) & ((Listing.kind != "closed") | invited)


def research(period: Period) -> list[dict]:
    """Per member agency: listings it was expected to research, researched, nothing known, written."""
    lo, hi = period.local_bounds()
    query = (Listing.select(Agency.id.alias("agency_id"), Agency.name.alias("name"),
                            fn.COUNT(Listing.id).alias("expected"), fn.COUNT(Research.id).alias("researched"),
                            _sum_if(Research.nothing_known == True).alias("nothing_known"),  # noqa: E712
                            _sum_if(Research.written_submission == True).alias("written"))  # noqa: E712
             .join(Meeting, on=(Listing.meeting == Meeting.id))
             .join(Agency, on=SQL("1 = 1"))
             .join(Research, JOIN.LEFT_OUTER, on=((Research.listing == Listing.id) & (Research.agency == Agency.id)))
             .where(_held(lo, hi) & _research_expected())
             .group_by(Agency.id))
    rows = []
    for row in query.dicts():
        for k in ("expected", "researched", "nothing_known", "written"):
            row[k] = _int(row[k])
        row["missing"] = row["expected"] - row["researched"]
        row["rate"] = percent(row["researched"], row["expected"])
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"].casefold())


def _due_in(period: Period):
    """Actions due in the period on cases of the panel in view (an action has no panel of its own: the
    query joins its Case)."""
    return (Case.panel == current_panel_id()) & (Action.due_date >= period.start) & (Action.due_date <= period.end)


ACTION_LABELS = {
    "actions_due": "Actions due",
    "on_time": "Actions completed on time",
    "late": "Actions completed late",
    "cannot": "Actions that could not be completed",
    "overdue": "Actions still open past the due date",
    "not_due": "Actions not yet due",
}
ACTION_LABELS.update({f"cannot_{k}": f"Actions that could not be completed: {v.lower()}"
                      for k, v in action_service.CANNOT_REASONS.items()})


def _action_figures(today: date) -> dict:
    """key -> condition on Action (True: every action due in the period)."""
    done = Action.status == "done"
    figures = {
        "actions_due": True,
        "on_time": done & (Action.completed_at.is_null() | (Action.completed_at <= Action.due_date)),
        "late": done & (Action.completed_at > Action.due_date),
        "cannot": Action.status == "cannot",
        "overdue": (Action.status == "open") & (Action.due_date < today),
        "not_due": (Action.status == "open") & (Action.due_date >= today),
    }
    known = [k for k in action_service.CANNOT_REASONS if k != "other"]
    for key in action_service.CANNOT_REASONS:
        # "other" also takes any reason not coded (older rows).
        rule = Action.cannot_reason.not_in(known) if key == "other" else Action.cannot_reason == key
        figures[f"cannot_{key}"] = (Action.status == "cannot") & rule
    return figures


def actions_by_agency(period: Period, today: date) -> list[dict]:
    """Actions due in the period, by owner agency and outcome (one grouped query)."""
    figures = _action_figures(today)
    columns = []
    for key, condition in figures.items():
        columns.append(fn.COUNT(Action.id).alias(key) if condition is True else _sum_if(condition).alias(key))
    rows = []
    for row in (Action.select(Agency.id.alias("agency_id"), Agency.name.alias("name"), *columns)
                .join(Agency, on=(Action.owner_agency == Agency.id))
                .switch(Action).join(Case, on=(Action.case == Case.id))
                .where(_due_in(period)).group_by(Agency.id).dicts()):
        for key in figures:
            row[key] = _int(row[key])
        row["assessed"] = row["actions_due"] - row["not_due"]
        row["on_time_pct"] = percent(row["on_time"], row["assessed"])
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"].casefold())


def benchmark(period: Period, heard: int, population: int) -> dict:
    """The cases heard against SafeLives' 40 a year per 10,000 adult women."""
    if not population:
        return {"population": 0}
    expected = Decimal(SAFELIVES_PER_10K) * population / 10_000 * period.days / 365
    rate = Decimal(heard) * 10_000 / population * 365 / period.days
    return {
        "population": population,
        "expected": one_decimal(expected),
        "rate": one_decimal(rate),
        "of_benchmark": percent(heard, expected) if expected else None,
    }


TABLE_ORDER = ("cases", "trend", "equality", "benchmark", "referrals", "professional_judgement", "timeliness",
               "attendance", "research", "actions", "cannot")


def agency_name(agency_id: int) -> str:
    agency = Agency.get_or_none(Agency.id == agency_id)
    return agency.name if agency else ""


def repeat_position(rate: float | None) -> str:
    if rate is None:
        return ""
    low, high = NATIONAL_REPEAT
    return "below" if rate < low else "above" if rate > high else "within"


def build(period: Period, today: date | None = None) -> Report:
    """Every figure of the period: tables, charts, benchmark (a dozen grouped queries in all)."""
    today = today or action_service.today()
    figures = summary(period)
    population = int(settings.get("adult_female_population") or 0)
    months = trend(period)
    bench = benchmark(period, figures["heard"], population)
    rate = percent(figures["repeat"], figures["heard"])
    tables = {}
    tables["cases"] = _cases_table(figures, rate)
    tables["equality"] = _equality_table(figures)
    tables["benchmark"] = _benchmark_table(period, figures, bench)
    tables["trend"] = _trend_table(months)
    tables["referrals"] = _referrals_table(period)
    tables["professional_judgement"] = _pj_table(period)
    tables["timeliness"] = _timeliness_table(figures)
    tables["attendance"] = _attendance_table(attendance(period))
    tables["research"] = _research_table(research(period))
    action_rows = actions_by_agency(period, today)
    tables["actions"] = _actions_table(action_rows)
    tables["cannot"] = _cannot_table(action_rows)
    chart_set = {
        "trend": charts.column_chart(
            "chart-trend", "Cases heard each month, for the 12 months to " + months[-1]["period"].label,
            [charts.Point(m["label"], m["heard"]) for m in months], axis_label="Cases heard"),
        "repeat_rate": charts.column_chart(
            "chart-repeat-rate", "Repeat rate each month (repeat cases as a percentage of cases heard), with the "
                                 f"national range of {NATIONAL_REPEAT[0]}-{NATIONAL_REPEAT[1]}%",
            [charts.Point(m["label"], m["rate"]) for m in months], unit="%", y_max=100,
            band=charts.Band(*NATIONAL_REPEAT, f"National range {NATIONAL_REPEAT[0]}-{NATIONAL_REPEAT[1]}%"),
            axis_label="Repeat rate"),
        "actions": charts.bar_chart(
            "chart-actions", "Actions completed on time, by owner agency (percentage of the actions due in the "
                             "period, not counting those not yet due)",
            [charts.Point(r["name"], r["on_time_pct"],
                          "" if r["on_time_pct"] is not None else "none due yet") for r in action_rows]),
    }
    return Report(period=period, figures=figures, tables=tables, charts=chart_set, repeat_rate=rate,
                  repeat_position=repeat_position(rate), benchmark=bench, today=today, calculated_at=clock.now())


# --- the county report: several panels side by side ---------------------------------------------

# (label, key of panel_figures) of each row of the county table, in order; a rate is worked out again
# from its parts for the total column, never added up.
COUNTY_ROWS = [
    ("Meetings held", "meetings"), ("Cases heard", "heard"), ("Repeat cases", "repeat"),
    ("Repeat rate (%)", "repeat_rate"), ("Cases with children", "children"),
    ("Children in those cases", "children_count"), ("Referred by the police", "police"),
    ("Referred by partner agencies", "partner"), *((HEARING_FIGURES[k][0], k) for k in EQUALITY_KEYS),
    ("Referrals received", "received"), ("Referrals accepted", "accepted"), ("Referrals declined", "declined"),
    ("Professional-judgement referrals received", "pj_received"), ("Actions due", "actions_due"),
    ("Actions completed on time", "on_time"), ("Actions still open past the due date", "overdue"),
    ("Actions completed on time (%)", "on_time_pct"),
]
COUNTY_RATES = {"repeat_rate": ("repeat", "heard"), "on_time_pct": ("on_time", "assessed")}


def panel_figures(period: Period, today: date) -> dict:
    """The county report's figures of the panel in view (run inside panels.using for each panel): the
    hearing figures, the referral totals and the action totals, three queries."""
    figures = dict(summary(period))
    referrals = (Referral.select(*_referral_columns(("received", "accepted", "declined", "pj_received")))
                 .join(Agency, on=(Referral.agency == Agency.id)).where(_received(period)).dicts().get())
    figures.update({k: _int(v) for k, v in referrals.items()})
    action_figures = _action_figures(today)
    columns = [fn.COUNT(Action.id).alias("actions_due")] + [_sum_if(action_figures[k]).alias(k)
                                                             for k in ("on_time", "overdue", "not_due")]
    actions = (Action.select(*columns).join(Case, on=(Action.case == Case.id)).where(_due_in(period)).dicts().get())
    figures.update({k: _int(v) for k, v in actions.items()})
    figures["assessed"] = figures["actions_due"] - figures["not_due"]
    for key, (part, whole) in COUNTY_RATES.items():
        figures[key] = percent(figures[part], figures[whole])
    return figures


def county_table(period: Period, panel_list, today: date | None = None) -> Table:
    """Each panel's figures side by side, then the total of all of them, for a county steering group.
    panel_list: the Panel rows to show (only those the user may work in: the caller's check). Each
    panel's figures are counted inside panels.using(its id), by the same queries as its own report."""
    from marac import panels

    today = today or action_service.today()
    columns = []
    for panel in panel_list:
        with panels.using(panel.id):
            columns.append(panel_figures(period, today))
    total = {key: sum(c[key] for c in columns) for _label, key in COUNTY_ROWS if key not in COUNTY_RATES}
    total["assessed"] = sum(c["assessed"] for c in columns)
    for key, (part, whole) in COUNTY_RATES.items():
        total[key] = percent(total[part], total[whole])
    t = Table("county", f"Panels side by side: {period.label}", ["Figure", *(p.name for p in panel_list),
                                                                  "All panels"])
    for label, key in COUNTY_ROWS:
        pct = key in COUNTY_RATES
        t.rows.append([Cell(label)] + [Cell(c[key], pct=pct) for c in (*columns, total)])
    t.note = ("Each panel's figures are counted as in its own report. Repeat rate and actions on time are worked "
              "out again from the totals, not added up.")
    return t


def _cases_table(f: dict, rate) -> Table:
    t = Table("cases", "Cases heard", ["Figure", "Number"])
    for key in ("heard", "full", "information", "closed", "repeat"):
        t.rows.append(_row(HEARING_FIGURES[key][0], Cell(f[key], key)))
    t.rows.append(_row("Repeat rate (%)", Cell(rate, pct=True)))
    t.rows.append(_row("Cases with children", Cell(f["children"], "children")))
    t.rows.append(_row("Children in those cases", Cell(f["children_count"], "children", exact=False)))
    for key in ("police", "partner", "no_referral", "review"):
        t.rows.append(_row(HEARING_FIGURES[key][0], Cell(f[key], key)))
    t.rows.append(_row("Meetings held", Cell(f["meetings"])))
    t.note = ("A case heard at two meetings counts twice, as in the SafeLives return. Reviews of a returning "
              "case's actions are not cases heard.")
    return t


def _equality_table(f: dict) -> Table:
    t = Table("equality", "Equality: victims and perpetrators of the cases heard",
              ["Figure", "Cases", "Percentage of cases heard (%)"])
    for key in EQUALITY_KEYS:
        t.rows.append(_row(HEARING_FIGURES[key][0], Cell(f[key], key), Cell(percent(f[key], f["heard"]), pct=True)))
    t.note = "Ages are on the date of the meeting. Details not recorded on the referral are not counted."
    return t


def _benchmark_table(period: Period, f: dict, bench: dict) -> Table:
    t = Table("benchmark", "Volume against the SafeLives benchmark", ["Figure", "Value"])
    t.rows.append(_row("Cases heard", Cell(f["heard"], "heard")))
    t.rows.append(_row("Days in the period", Cell(period.days)))
    if bench["population"]:
        t.rows.append(_row("Women aged 16 and over in the area", Cell(bench["population"])))
        t.rows.append(_row(f"Cases expected at {SAFELIVES_PER_10K} a year per 10,000 women", Cell(bench["expected"])))
        t.rows.append(_row("Cases heard as a percentage of that (%)", Cell(bench["of_benchmark"], pct=True)))
        t.rows.append(_row("The panel's cases a year per 10,000 women", Cell(bench["rate"])))
        t.rows.append(_row("SafeLives' recommended cases a year per 10,000 women", Cell(SAFELIVES_PER_10K)))
        t.rows.append(_row("National cases a year per 10,000 women (2024)", Cell(NATIONAL_PER_10K)))
    else:
        t.note = "Set the adult female population of the area in the panel settings to compare with the benchmark."
    return t


def _trend_table(months: list[dict]) -> Table:
    t = Table("trend", "Cases heard and repeat rate, month by month",
              ["Month", "Cases heard", "Repeat cases", "Repeat rate (%)"])
    for m in months:
        p = m["period"]
        t.rows.append([Cell(p.label), Cell(m["heard"], "heard", period=p), Cell(m["repeat"], "repeat", period=p),
                       Cell(m["rate"], pct=True)])
    t.note = f"The national repeat rate is {NATIONAL_REPEAT[0]}-{NATIONAL_REPEAT[1]}%."
    return t


def _referrals_table(period: Period) -> Table:
    rows = referrals_by_agency(period)
    heard = heard_by_agency(period)
    names = {r["agency_id"]: r for r in rows}
    missing = [a for a in heard if a not in names]
    if missing:  # agencies whose cases were heard but that sent no referral in the period
        for a in Agency.select(Agency.id, Agency.name, Agency.is_police).where(Agency.id.in_(missing)):
            rows.append({"agency_id": a.id, "name": a.name, "is_police": a.is_police,
                         **{k: 0 for k in REFERRAL_FIGURES}})
    rows.sort(key=lambda r: (not r["is_police"], r["name"].casefold()))
    keys = ("received", "accepted", "declined", "undecided")
    t = Table("referrals", "Referrals by referring agency",
              ["Referring agency", "Referrals received", "Accepted", "Declined", "Waiting, returned or transferred",
               "Cases heard from its referrals"])
    for r in rows:
        t.rows.append([Cell(r["name"] + (" (police)" if r["is_police"] else ""))]
                      + [Cell(r[k], k, agency=r["agency_id"]) for k in keys]
                      + [Cell(heard.get(r["agency_id"], 0), "heard_from", agency=r["agency_id"])])
    for label, group in (("Police", [r for r in rows if r["is_police"]]),
                         ("Partner agencies", [r for r in rows if not r["is_police"]])):
        t.rows.append([Cell(label)] + [Cell(sum(r[k] for r in group)) for k in keys]
                      + [Cell(sum(heard.get(r["agency_id"], 0) for r in group))])
    t.rows.append([Cell("All agencies")] + [Cell(sum(r[k] for r in rows), k) for k in keys]
                  + [Cell(sum(heard.values()))])
    t.total_rows = 3
    t.note = ("Referrals are counted by when they were sent, with their decision as it stands today; cases heard "
              "by the meetings held in the period.")
    return t


def _pj_table(period: Period) -> Table:
    keys = ("pj_received", "pj_accepted", "pj_declined", "pj_pending")
    query = (Referral.select(Agency.is_police.alias("is_police"), *_referral_columns(keys))
             .join(Agency, on=(Referral.agency == Agency.id))
             .where(_received(period)).group_by(Agency.is_police))
    found = {bool(r["is_police"]): r for r in query.dicts()}
    t = Table("professional_judgement", "Professional-judgement referrals",
              ["Referred by", "Received", "Accepted at quality assurance", "Declined at quality assurance",
               "Awaiting quality assurance"])
    for label, police in (("Police", True), ("Partner agencies", False)):
        r = found.get(police, {})
        t.rows.append([Cell(label)] + [Cell(_int(r.get(k)), k, side="police" if police else "partner")
                                       for k in keys])
    t.rows.append([Cell("All agencies")] + [Cell(sum(_int(r.get(k)) for r in found.values()), k) for k in keys])
    t.total_rows = 1
    t.note = "Referrals sent in the period on the professional-judgement criterion, by the quality-assurance decision."
    return t


def _timeliness_table(f: dict) -> Table:
    t = Table("timeliness", "Time from referral to hearing", ["Figure", "Value"])
    t.rows.append(_row("Cases heard with a referral date", Cell(f["timed"])))
    t.rows.append(_row("Average days", Cell(f["avg_days"])))
    t.rows.append(_row("Median days", Cell(f["median_days"])))
    t.rows.append(_row("Longest (days)", Cell(f["max_days"])))
    for key in ("days_0_7", "days_8_14", "days_15_28", "days_29"):
        t.rows.append(_row(HEARING_FIGURES[key][0], Cell(f[key], key)))
    t.note = "Calendar days from the date the referral was sent to the date of the meeting."
    return t


def _attendance_table(rows: list[dict]) -> Table:
    t = Table("attendance", "Attendance at meetings, by agency",
              ["Agency", "Meetings expected", "Present", "Deputy", "Apologies", "Absent",
               "Written information sent with apologies", "Attendance rate (%)"])
    for r in rows:
        t.rows.append([Cell(r["name"]), Cell(r["expected"]), Cell(r["present"]), Cell(r["deputy"]),
                       Cell(r["apologies"]), Cell(r["absent"]), Cell(r["written"]), Cell(r["rate"], pct=True)])
    t.note = ("Present: the agency's named representative attended. Deputy: a deputy or someone else attended for "
              "it. The chair, the coordinator and observers are not counted for their agency. An agency is expected "
              "at the meetings held while it was a member of the information sharing agreement.")
    return t


def _research_table(rows: list[dict]) -> Table:
    t = Table("research", "Research returned, by agency",
              ["Agency", "Cases listed", "Researched", "Of which nothing known", "Written submissions",
               "Not researched", "Returned (%)"])
    for r in rows:
        a = r["agency_id"]
        t.rows.append([Cell(r["name"]), Cell(r["expected"], "research_expected", agency=a),
                       Cell(r["researched"], "researched", agency=a), Cell(r["nothing_known"]),
                       Cell(r["written"]), Cell(r["missing"], "not_researched", agency=a), Cell(r["rate"], pct=True)])
    t.note = ("Every case listed at a meeting held in the period that the agency could see (closed sessions: when "
              "invited), while it was a member of the information sharing agreement.")
    return t


def _actions_table(rows: list[dict]) -> Table:
    keys = ("actions_due", "on_time", "late", "cannot", "overdue", "not_due")
    t = Table("actions", "Actions due in the period, by owner agency",
              ["Owner agency", "Actions due", "Completed on time", "Completed late", "Could not be completed",
               "Still open past the due date", "Not yet due", "On time (%)"])
    for r in rows:
        t.rows.append([Cell(r["name"])] + [Cell(r[k], k, agency=r["agency_id"]) for k in keys]
                      + [Cell(r["on_time_pct"], pct=True)])
    if rows:
        totals = {k: sum(r[k] for r in rows) for k in keys}
        t.rows.append([Cell("All agencies")] + [Cell(totals[k], k) for k in keys]
                      + [Cell(percent(totals["on_time"], totals["actions_due"] - totals["not_due"]), pct=True)])
        t.total_rows = 1
    t.note = "On time (%) counts every action due in the period except those not yet due."
    return t


def _cannot_table(rows: list[dict]) -> Table:
    reasons = action_service.CANNOT_REASONS
    t = Table("cannot", "Actions that could not be completed, by reason",
              ["Owner agency", *reasons.values(), "All reasons"])
    for r in rows:
        if r["cannot"]:
            t.rows.append([Cell(r["name"])] + [Cell(r[f"cannot_{k}"], f"cannot_{k}", agency=r["agency_id"])
                                               for k in reasons] + [Cell(r["cannot"], "cannot", agency=r["agency_id"])])
    return t


# --- the SafeLives return -----------------------------------------------------------------------


def _safelives_cell(key: str, value: int, period: Period | None = None) -> Cell:
    if key == "children_count":  # children link to the cases they are in
        return Cell(value, "children", period=period, exact=False)
    return Cell(value, key, period=period)


def safelives_table(period: Period) -> Table:
    """The return as a table: one row per meeting held in the quarter, then the totals."""
    rows = safelives_rows(period)
    t = Table("safelives", f"MARAC data return: {period.label}", ["Meeting date"] + [c[1] for c in SAFELIVES_COLUMNS])
    for r in rows:
        meeting_period = Period("custom", r["starts_at"].date(), r["starts_at"].date())
        t.rows.append([Cell(r["starts_at"].date())]
                      + [_safelives_cell(k, r[k], meeting_period) for k, _ in SAFELIVES_COLUMNS])
    t.rows.append([Cell("Total")] + [_safelives_cell(k, sum(r[k] for r in rows)) for k, _ in SAFELIVES_COLUMNS])
    t.total_rows = 1
    return t


# --- the cases behind a figure ------------------------------------------------------------------


@dataclass
class Behind:
    """The cases behind one figure: what this user may open, and how many rows they may not."""

    label: str
    rows: list[dict]
    total: int
    hidden: int
    without_case: int
    page: int
    has_next: bool


FIGURE_LABELS = {k: v[0] for k, v in HEARING_FIGURES.items()}
FIGURE_LABELS.update({k: v[0] for k, v in REFERRAL_FIGURES.items()})
FIGURE_LABELS.update(ACTION_LABELS)
FIGURE_LABELS.update({"heard_from": "Cases heard from the agency's referrals",
                      "research_expected": "Cases listed for the agency to research",
                      "researched": "Cases the agency researched",
                      "not_researched": "Cases the agency did not research"})


def figure_known(figure: str) -> bool:
    return figure in FIGURE_LABELS


def _behind_query(period: Period, figure: str, agency_id: int | None, side: str, today: date):
    """(query of rows with case_id, number and date, condition on the case) for a figure."""
    if figure in HEARING_FIGURES or figure == "heard_from":
        lo, hi = period.local_bounds()
        condition = HEARING_FIGURES["heard" if figure == "heard_from" else figure][1]()
        if agency_id:
            condition = condition & (Referral.agency == agency_id)
        query = (Meeting.select(Case.id.alias("case_id"), Case.number.alias("number"),
                                Meeting.starts_at.alias("when"), Listing.id.alias("row_id"))
                 .join(Listing, on=(Listing.meeting == Meeting.id))
                 .join(Referral, JOIN.LEFT_OUTER, on=(Listing.referral == Referral.id))
                 .join(Agency, JOIN.LEFT_OUTER, on=(Referral.agency == Agency.id))
                 .switch(Listing).join(Case, on=(Listing.case == Case.id))
                 .where(_held(lo, hi) & condition))
        return query, Meeting.starts_at
    if figure in REFERRAL_FIGURES:
        condition = REFERRAL_FIGURES[figure][1]()
        where = _received(period) if condition is True else _received(period) & condition
        if side in ("police", "partner"):
            where = where & (Agency.is_police == (side == "police"))
        if agency_id:
            where = where & (Referral.agency == agency_id)
        query = (Referral.select(Case.id.alias("case_id"), Case.number.alias("number"),
                                 Referral.submitted_at.alias("when"), Referral.id.alias("row_id"))
                 .join(Agency, on=(Referral.agency == Agency.id))
                 .switch(Referral).join(Case, JOIN.LEFT_OUTER, on=(Referral.case == Case.id))
                 .where(where))
        return query, Referral.submitted_at
    action_figures = _action_figures(today)
    if figure in action_figures:
        condition = action_figures[figure]
        where = _due_in(period) if condition is True else _due_in(period) & condition
        if agency_id:
            where = where & (Action.owner_agency == agency_id)
        query = (Action.select(Case.id.alias("case_id"), Case.number.alias("number"), Action.due_date.alias("when"),
                               Action.id.alias("row_id"))
                 .join(Case, on=(Action.case == Case.id)).where(where))
        return query, Action.due_date
    if figure in ("research_expected", "researched", "not_researched") and agency_id:
        lo, hi = period.local_bounds()
        done = fn.EXISTS(Research.select(SQL("1")).where((Research.listing == Listing.id)
                                                         & (Research.agency == Agency.id)))
        condition = {"research_expected": _research_expected(), "researched": _research_expected() & done,
                     "not_researched": _research_expected() & ~done}[figure]
        query = (Listing.select(Case.id.alias("case_id"), Case.number.alias("number"),
                                Meeting.starts_at.alias("when"), Listing.id.alias("row_id"))
                 .join(Meeting, on=(Listing.meeting == Meeting.id))
                 .join(Agency, on=(Agency.id == agency_id))
                 .switch(Listing).join(Case, on=(Listing.case == Case.id))
                 .where(_held(lo, hi) & condition))
        return query, Meeting.starts_at
    raise ReportError("There is no such figure")


def _when_text(value, utc: bool) -> str:
    """A row's date as '1 Apr 2026' (a referral's sending time is UTC: shown as its UK date)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = (value.replace(tzinfo=UTC).astimezone(LONDON) if utc else value).date()
    return Cell(value).text if value else ""


def cases_behind(period: Period, figure: str, user, *, agency_id: int | None = None, side: str = "", page: int = 1,
                 today: date | None = None) -> Behind:
    """The rows behind a figure (case number and date), only those of cases this user may open."""
    today = today or action_service.today()
    query, when = _behind_query(period, figure, agency_id, side, today)
    total = query.count()
    without_case = query.where(Case.id.is_null()).count() if figure in REFERRAL_FIGURES else 0
    visible = query.where(Case.id.is_null(False) & visible_case_where(user))
    shown = visible.count()
    rows = list(visible.order_by(when, Case.number, SQL("row_id")).limit(PAGE_SIZE + 1)
                .offset((page - 1) * PAGE_SIZE).dicts())
    for row in rows:
        row["when_text"] = _when_text(row["when"], utc=figure in REFERRAL_FIGURES)
    return Behind(label=FIGURE_LABELS[figure], rows=rows[:PAGE_SIZE], total=total,
                  hidden=total - without_case - shown, without_case=without_case, page=page,
                  has_next=len(rows) > PAGE_SIZE)


# --- audit --------------------------------------------------------------------------------------


def _detail(period: Period, **more) -> dict:
    detail = {"period": period.kind, "start": period.start.isoformat(), "end": period.end.isoformat()}
    detail.update({k: v for k, v in more.items() if v not in (None, "")})
    return detail


def record_view(user, period: Period, page: str = "report", **more) -> None:
    """Audit a report page seen (report.view): which report and period, never any personal data."""
    with db.atomic():
        audit.record("report.view", object_type="report", object_id=page, user=user, detail=_detail(period, **more))


def record_export(user, period: Period, what: str) -> None:
    """Audit a spreadsheet downloaded (report.export)."""
    with db.atomic():
        audit.record("report.export", object_type="report", object_id=what, user=user, detail=_detail(period))


# --- spreadsheets -------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_ROW = 4  # rows 1-2: title and panel/period, row 3 empty, row 4 the column headings
SHEETS = {  # spreadsheet tab names (at most 31 characters)
    "cases": "Cases heard", "trend": "Trend", "equality": "Equality", "benchmark": "Benchmark",
    "referrals": "Referrals", "professional_judgement": "Professional judgement", "timeliness": "Time to hearing",
    "attendance": "Attendance", "research": "Research", "actions": "Actions", "cannot": "Actions not completed",
    "safelives": "SafeLives return",
}


def _sheet_title(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", title)[:31].strip()
    base, n = name, 2
    while name in used:
        suffix = f" {n}"
        name = base[:31 - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def workbook(tables: list[Table], period: Period, panel_name: str) -> bytes:
    """The tables as an .xlsx workbook, one sheet each, numbers as numbers (percentages as 57.1)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for table in tables:
        ws = wb.create_sheet(_sheet_title(SHEETS.get(table.key, table.title), used))
        ws.cell(row=1, column=1, value=table.title).font = Font(bold=True, size=14)
        ws.cell(row=2, column=1, value=f"{panel_name}: {period.label}")
        for col, heading in enumerate(table.columns, start=1):
            ws.cell(row=HEADER_ROW, column=col, value=heading).font = Font(bold=True)
        for r, row in enumerate(table.rows, start=HEADER_ROW + 1):
            bold = r > HEADER_ROW + len(table.rows) - table.total_rows
            for c, cell in enumerate(row, start=1):
                out = ws.cell(row=r, column=c, value=cell.value)
                if isinstance(cell.value, date):
                    out.number_format = "dd/mm/yyyy"
                elif cell.pct or isinstance(cell.value, float):
                    out.number_format = "0.0"
                if bold:
                    out.font = Font(bold=True)
        if table.note:
            ws.cell(row=HEADER_ROW + len(table.rows) + 2, column=1, value=table.note)
        for col, heading in enumerate(table.columns, start=1):
            widest = max([len(str(heading))] + [len(row[col - 1].text) for row in table.rows if len(row) >= col])
            ws.column_dimensions[get_column_letter(col)].width = min(max(widest + 2, 10), 60)
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_name(what: str, period: Period) -> str:
    """A file name with the report and the dates only (no personal data in it)."""
    return f"marac-{what}-{period.start.isoformat()}-to-{period.end.isoformat()}.xlsx"
