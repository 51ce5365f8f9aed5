"""Meetings and their agendas (issue 5): the year's meetings, listing cases, ordering the board,
move requests, circulation (a frozen version per agency, printable and as Word), and research.

Each function that changes something does it in one transaction with its audit rows. Times:
Meeting.starts_at, referral_deadline and circulation_due are UK local wall-clock times (see
marac.schedule); event stamps (circulated_at, board_changed_at, created_at) are naive UTC.

Other areas call:
  list_case(case, referral=None, user=None, ...)   the inbox, after accepting a referral
  case_lines(meeting) / board(meeting, user)       the meeting record (issue 6): the agenda in order
"""
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO

from peewee import Case as SqlCase
from peewee import fn

from marac import accounts, audit, clock, panels, schedule, settings
from marac.access import CHAIR, COORDINATOR, REPRESENTATIVE, listing_filter
from marac.db import db
from marac.models import (
    Action,
    Agency,
    AgendaVersion,
    Case,
    CasePerson,
    Listing,
    ListingInvite,
    Meeting,
    MoveRequest,
    Panel,
    Person,
    Referral,
    Research,
    User,
)
from marac.risk import BUILTIN_INSTRUMENTS, CRITERION_LABELS

MEETING_KINDS = {"regular": "Panel meeting", "emergency": "Emergency meeting", "closed": "Closed session meeting"}
MEETING_STATUSES = {"planned": "Planned", "cancelled": "Cancelled", "held": "Held"}
LISTING_KINDS = {"full": "Full discussion", "information": "Information only", "closed": "Closed session"}
ORDER_RULES = {
    "children_first": "Cases with children or a pregnant victim first, information-only cases last",
    "highest_risk_first": "Highest risk score first, information-only cases last",
    "referral_order": "In the order the cases were referred",
}
INSTRUMENT_SHORT = {"dash": "DASH", "merit": "MeRIT"}
RESEARCH_STATES = {
    "done": "Done",
    "nothing": "Nothing known",
    "written": "Written information",
    "written_late": "Written information (late)",
    "missing": "Missing",
    "na": "Not invited",
}

# What the referral form records, as far as listing needs it. Looked up by key anywhere in
# Referral.data (the form as typed, any section), so the form's layout may change freely.
PREGNANCY_ITEMS = {"dash": "pregnant", "merit": "q7"}  # risk checklist items that ask about pregnancy
PREGNANCY_KEYS = {"pregnant", "victim_pregnant", "pregnancy"}
VULNERABLE_ADULT_KEYS = {"vulnerable_adult", "victim_vulnerable_adult", "adult_safeguarding"}
ACTIONS_REQUESTED_KEYS = {"actions_requested", "specific_actions", "requested_actions"}
HBV_KEYS = {"honour_based_violence", "hbv"}
VICTIM_ROLES = ("victim", "subject")


class MeetingError(ValueError):
    """A change that the panel's rules do not allow; the message is shown to the user as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def local_now() -> datetime:
    """Now, as UK local wall-clock time (naive), to compare with meeting times and deadlines."""
    return schedule.uk_local(clock.now())


def panel_meetings():
    """Meetings of the panel in view (marac.panels): every meeting query starts here, so another
    panel's meetings are never proposed, counted, listed at or moved to."""
    return Meeting.select().where(Meeting.panel == panels.current_panel_id())


def panel_user_where(panel_id: int | None = None):
    """A condition on User: may work in a panel (default: the one in view), as accounts.panel_users says.
    Agencies are shared across panels, so "an agency's representatives" always means those of this
    panel: the attendance sheet, observers and e-mails choose among these only."""
    return User.id.in_(accounts.panel_users(panel_id).select(User.id).order_by())


def panel_name(panel_id: int | None = None) -> str:
    """The name of a panel (default: the one in view) as agendas, minutes and e-mails print it. Its Panel
    row holds it (settings.set_many keeps it in step with the panel_name setting, which a second panel may
    never set: that setting's default would name every such panel 'Anytown MARAC')."""
    if panel_id is None or panel_id == panels.current_panel_id():
        return panels.current_panel().name
    return Panel.get_by_id(panel_id).name


# --- panel settings -------------------------------------------------------------------------------


def pattern(values: dict | None = None) -> schedule.MeetingPattern:
    """The panel's meeting pattern from its settings."""
    v = values or settings.all_settings()
    return schedule.MeetingPattern(frequency=v["meeting_frequency"], weekday=int(v["meeting_weekday"]),
                                   week_of_month=int(v["meeting_week_of_month"]),
                                   start_time=schedule.parse_time(v["meeting_start_time"]))


def deadline_rules(values: dict | None = None) -> schedule.DeadlineRules:
    """The panel's deadline settings."""
    v = values or settings.all_settings()
    return schedule.DeadlineRules(
        referral_working_days=int(v["referral_deadline_working_days"]),
        referral_time=schedule.parse_time(v["referral_deadline_time"]),
        circulation_working_days=int(v["circulation_working_days"]),
        circulation_time=schedule.parse_time(v["circulation_time"]),
        minutes_working_days=int(v["minutes_due_working_days"]),
        written_info_days=int(v["written_info_days_before"]),
    )


def written_info_due(meeting: Meeting, values: dict | None = None) -> datetime:
    """When an agency that cannot attend must have sent its written information (UK local)."""
    v = values or settings.all_settings()
    return schedule.deadlines(meeting.starts_at, deadline_rules(v)).written_info


# --- meetings ------------------------------------------------------------------------------------


def _set_deadlines(meeting: Meeting, rules: schedule.DeadlineRules) -> None:
    d = schedule.deadlines(meeting.starts_at, rules)
    if meeting.kind == "emergency":
        # Called at short notice for cases that cannot wait: no referral cut-off or circulation time.
        meeting.referral_deadline = None
        meeting.circulation_due = None
    else:
        meeting.referral_deadline = d.referral
        meeting.circulation_due = d.circulation
    meeting.minutes_due = d.minutes


def _check_date(starts_at: datetime) -> None:
    if starts_at <= local_now():
        raise MeetingError("The meeting must be in the future", field="starts_at")
    day = starts_at.date()
    if not schedule.is_working_day(day):
        holiday = schedule.bank_holiday(day)
        why = f"is a bank holiday ({holiday})" if holiday else "is a weekend"
        raise MeetingError(f"{schedule.format_date(day)} {why}. Choose a working day", field="starts_at")


def create_meeting(starts_at: datetime, *, kind: str = "regular", venue: str = "", user=None) -> Meeting:
    """Add one meeting (regular, emergency or closed session) with its deadlines worked out."""
    if kind not in MEETING_KINDS:
        raise MeetingError("Choose the kind of meeting", field="kind")
    _check_date(starts_at)
    with db.atomic():
        clash = panel_meetings().where((Meeting.starts_at == starts_at) & (Meeting.kind == kind)
                                       & (Meeting.status == "planned")).exists()
        if clash:
            raise MeetingError("There is already a meeting of this kind at that time", field="starts_at")
        meeting = Meeting(starts_at=starts_at, kind=kind, venue=venue.strip())
        _set_deadlines(meeting, deadline_rules())
        meeting.save()
        audit.record("meeting.create", meeting, detail={"kind": kind}, user=user)
    return meeting


def create_year(starts: list[datetime], *, venue: str = "", user=None) -> list[Meeting]:
    """Create the proposed meetings the coordinator kept; a date that already has a meeting is skipped."""
    rules = deadline_rules()
    made = []
    with db.atomic():
        taken = {m.starts_at.date() for m in panel_meetings().where(
            (Meeting.status == "planned") & (Meeting.kind == "regular"))}
        for starts_at in sorted(starts):
            if starts_at.date() in taken or starts_at <= local_now() or not schedule.is_working_day(starts_at.date()):
                continue
            meeting = Meeting(starts_at=starts_at, kind="regular", venue=venue.strip())
            _set_deadlines(meeting, rules)
            meeting.save()
            taken.add(starts_at.date())
            made.append(meeting)
            audit.record("meeting.create", meeting, detail={"kind": "regular", "from": "proposal"}, user=user)
    return made


def move_meeting(meeting: Meeting, starts_at: datetime, *, venue: str, user=None) -> Meeting:
    """Move a planned meeting (and its deadlines) to another date, time or venue."""
    if meeting.status != "planned":
        raise MeetingError("Only a planned meeting can be moved")
    if starts_at != meeting.starts_at:
        _check_date(starts_at)
    with db.atomic():
        before = meeting.starts_at
        meeting.starts_at = starts_at
        meeting.venue = venue.strip()
        _set_deadlines(meeting, deadline_rules())
        meeting.save()
        audit.record("meeting.move", meeting, detail={"from": before.isoformat(), "to": starts_at.isoformat()},
                     user=user)
    return meeting


def next_planned(after: datetime, *, kind: str = "regular", exclude_id: int | None = None):
    """The next planned meeting of this kind starting after the given local time."""
    query = panel_meetings().where((Meeting.status == "planned") & (Meeting.kind == kind)
                                   & (Meeting.starts_at > after))
    if exclude_id is not None:
        query = query.where(Meeting.id != exclude_id)
    return query.order_by(Meeting.starts_at).first()


def cancel_meeting(meeting: Meeting, user=None) -> Meeting | None:
    """Cancel a planned meeting; its cases move to the next planned meeting. Returns that meeting."""
    if meeting.status != "planned":
        raise MeetingError("Only a planned meeting can be cancelled")
    with db.atomic():
        listings = list(Listing.select().where(Listing.meeting == meeting.id))
        target = None
        if listings:
            target = next_planned(meeting.starts_at, exclude_id=meeting.id)
            if target is None:
                raise MeetingError(f"This meeting has {len(listings)} cases listed and there is no later "
                                   "meeting to move them to. Add the next meeting first")
            clash = Listing.select().where((Listing.meeting == target.id)
                                           & Listing.case.in_([x.case_id for x in listings])).exists()
            if clash:
                raise MeetingError("Some of these cases are already listed at the next meeting. Take them off "
                                   "this agenda first")
            start = Listing.select(fn.COALESCE(fn.MAX(Listing.position) + 1, 0)).where(
                Listing.meeting == target.id).scalar()
            for i, listing in enumerate(sorted(listings, key=lambda x: x.position)):
                Listing.update(meeting=target.id, position=start + i).where(Listing.id == listing.id).execute()
            _normalise(target)
            _touch(target, user)
        Meeting.update(status="cancelled").where(Meeting.id == meeting.id).execute()
        meeting.status = "cancelled"
        audit.record("meeting.cancel", meeting, user=user,
                     detail={"moved_listings": len(listings), "to_meeting": target.id if target else None})
    return target


def meetings_overview(user) -> tuple[list, list, dict]:
    """Upcoming and recent meetings, and how many cases on each this user may see (two queries)."""
    today = datetime.combine(local_now().date(), datetime.min.time())
    meetings = list(panel_meetings().where(Meeting.starts_at >= today - timedelta(days=120))
                    .order_by(Meeting.starts_at))
    counts = {}
    where = listing_filter(user)
    if where is not False and meetings:
        query = (Listing.select(Listing.meeting, fn.COUNT(Listing.id).alias("n")).join(Case)
                 .where(Listing.meeting.in_([m.id for m in meetings]) & Case.deleted_at.is_null()
                        & (Case.panel == panels.current_panel_id()))
                 .group_by(Listing.meeting))
        if where is not True:
            query = query.where(where)
        counts = {row.meeting_id: row.n for row in query}
    upcoming = [m for m in meetings if m.starts_at >= today]
    past = [m for m in reversed(meetings) if m.starts_at < today]
    return upcoming, past, counts


# --- what a case involves (children, pregnancy, ...) ----------------------------------------------


def _yes(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    return isinstance(value, str) and value.strip().lower() in ("yes", "y", "true", "1", "on")


def _filled(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip()) and value.strip().lower() not in ("no", "none", "false", "n")
    if isinstance(value, (list, tuple, dict)):
        return bool(value)
    return _yes(value)


FLAG_KEYS = PREGNANCY_KEYS | VULNERABLE_ADULT_KEYS | ACTIONS_REQUESTED_KEYS | HBV_KEYS


def _flag_values(data) -> dict[str, list]:
    """The values of every flag key (FLAG_KEYS) anywhere in the nested referral data: one walk of
    the data for all the flags (the agenda board reads 40 referrals per request)."""
    found: dict[str, list] = {}
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in FLAG_KEYS:
                    found.setdefault(k, []).append(v)
                if isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


def _find(found: dict[str, list], keys: set, test) -> bool:
    """Whether any of these keys, anywhere in the nested referral data, has a value passing test."""
    return any(test(v) for k in keys for v in found.get(k, ()))


def _json(text: str, default):
    try:
        return json.loads(text or "") if text else default
    except ValueError:
        return default


@dataclass(frozen=True)
class ReferralFlags:
    pregnant: bool = False
    vulnerable_adult: bool = False
    actions_requested: bool = False
    hbv: bool = False
    children: int = 0  # children named in the referral (or 1 when it only says there are some)


def referral_flags(referral: Referral | None) -> ReferralFlags:
    """What the referral says that changes how a case may be listed."""
    if referral is None:
        return ReferralFlags()
    # The agenda board reads the same 40 referrals on every view: their flags are kept by a digest of
    # the stored texts (so an amended referral is read afresh, and no personal data is kept here).
    key = hashlib.blake2b("\0".join((referral.instrument_id or "", referral.data or "", referral.answers or ""))
                          .encode(), digest_size=16).digest()
    flags = _FLAGS_SEEN.get(key)
    if flags is None:
        flags = _flags(referral.instrument_id, referral.data, referral.answers)
        if len(_FLAGS_SEEN) >= FLAGS_KEPT:
            _FLAGS_SEEN.clear()
        _FLAGS_SEEN[key] = flags
    return flags


FLAGS_KEPT = 2048
_FLAGS_SEEN: dict[bytes, ReferralFlags] = {}


def _flags(instrument_id: str | None, data_text: str | None, answers_text: str | None) -> ReferralFlags:
    data = _json(data_text, {})
    answers = _json(answers_text, {})
    item = PREGNANCY_ITEMS.get(instrument_id)
    named = [p for p in data.get("people", []) if isinstance(p, dict) and p.get("role") == "child"] \
        if isinstance(data, dict) and isinstance(data.get("people"), list) else []
    children = len(named) or (1 if isinstance(data, dict) and _yes(data.get("has_children")) else 0)
    found = _flag_values(data)
    return ReferralFlags(
        children=children,
        pregnant=(item is not None and _yes(answers.get(item) if isinstance(answers, dict) else None))
        or _find(found, PREGNANCY_KEYS, _yes),
        vulnerable_adult=_find(found, VULNERABLE_ADULT_KEYS, _yes),
        actions_requested=_find(found, ACTIONS_REQUESTED_KEYS, _filled),
        hbv=_find(found, HBV_KEYS, _yes),
    )


def information_only_refusals(children: int, flags: ReferralFlags, *, referrer_agrees: bool = True,
                              actions_requested: bool = False) -> list[str]:
    """Why a case may not be listed for information only (B&D toolkit); empty when it may."""
    reasons = []
    if children:
        reasons.append(f"the case involves {children} {'child' if children == 1 else 'children'}")
    if flags.pregnant:
        reasons.append("the victim is pregnant or has a new baby")
    if flags.vulnerable_adult:
        reasons.append("the referral says the victim is a vulnerable adult")
    if actions_requested or flags.actions_requested:
        reasons.append("the referrer asked for specific actions")
    if not referrer_agrees:
        reasons.append("the referrer does not agree to an information-only listing")
    return reasons


def _initials(people: list[tuple[str, str, str]], roles) -> str:
    found = [f"{g[:1]}{f[:1]}".upper() for role, g, f in people if role in roles and (g or f)]
    return ", ".join(found)


# --- the agenda: lines, ordering, positions -------------------------------------------------------


@dataclass
class Line:
    """One case on an agenda, as the board, the meeting record and circulation show it."""

    listing: Listing
    number: str
    kind: str
    position: int
    victim: str = ""
    perpetrator: str = ""
    children: int = 0
    pregnant: bool = False
    score: int | None = None
    instrument: str = ""
    band: str = ""
    criteria: list[str] = field(default_factory=list)
    repeat: bool = False
    review: bool = False
    emergency: bool = False
    minutes: int = 15
    sequence: tuple = ()
    starts: datetime | None = None
    referral_id: int | None = None
    agency_id: int | None = None
    n: int = 0  # number on the agenda, from 1

    @property
    def id(self) -> int:
        return self.listing.id

    @property
    def kind_label(self) -> str:
        return LISTING_KINDS.get(self.kind, self.kind)

    @property
    def summary(self) -> str:
        """One line: instrument, score, band, criteria, repeat, children, pregnancy."""
        parts = []
        if self.score is not None:
            parts.append(f"{self.instrument} {self.score}" + (f" ({self.band})" if self.band else ""))
        elif self.instrument:
            parts.append(self.instrument)
        if self.criteria:
            parts.append(", ".join(self.criteria))
        if self.repeat:
            parts.append("repeat")
        if self.children:
            parts.append(f"{self.children} {'child' if self.children == 1 else 'children'}")
        if self.pregnant:
            parts.append("pregnancy")
        if self.review:
            parts.append("review")
        return "; ".join(parts) or "No risk assessment recorded"


def order_key(rule: str, line: Line) -> tuple:
    """Where a case goes on the agenda under the panel's rule. Closed-session cases always come
    last, apart; ties keep the order the cases were referred in."""
    if line.kind == "closed":
        return (9, line.sequence)
    if rule == "children_first":
        group = 2 if line.kind == "information" else (0 if line.children or line.pregnant else 1)
        return (group, line.sequence)
    if rule == "highest_risk_first":
        group = 2 if line.kind == "information" else 1
        return (group, -line.score if line.score is not None else math.inf, line.sequence)
    return (0, line.sequence)


def sort_lines(rule: str, lines: list[Line]) -> list[Line]:
    """The lines in the panel rule's order."""
    return sorted(lines, key=lambda line: order_key(rule, line))


def _lines(meeting: Meeting, user=None) -> list[Line]:
    """The meeting's agenda lines in board order, those this user may see (all when user is None).
    Three queries whatever the number of cases."""
    query = (Listing.select(Listing, Case.id, Case.number, Case.is_repeat, Case.status).join(Case)
             .where((Listing.meeting == meeting.id) & Case.deleted_at.is_null() & (Case.panel == meeting.panel_id))
             .order_by(Listing.position, Listing.id))
    if user is not None:
        where = listing_filter(user)
        if where is False:
            return []
        if where is not True:
            query = query.where(where)
    lines = _make_lines(list(query))
    starts, _ = schedule.case_start_times(meeting.starts_at, [line.minutes for line in lines])
    for n, (line, start) in enumerate(zip(lines, starts, strict=True), 1):
        line.starts, line.n = start, n
    return lines


def _make_lines(listings: list[Listing]) -> list[Line]:
    """Agenda lines for these listings (their Case joined): two more queries, whatever their number."""
    if not listings:
        return []
    case_ids = [x.case_id for x in listings]
    referrals: dict[int, list[Referral]] = {}
    for r in (Referral.select(Referral.id, Referral.case, Referral.agency, Referral.status, Referral.submitted_at,
                              Referral.instrument_id, Referral.score_total, Referral.band, Referral.criteria_met,
                              Referral.is_repeat, Referral.closed_session, Referral.answers, Referral.data)
              .where(Referral.case.in_(case_ids) & (Referral.status != "draft"))
              .order_by(Referral.submitted_at)):
        referrals.setdefault(r.case_id, []).append(r)
    people: dict[int, list[tuple[str, str, str]]] = {}
    for case_id, role, given, family in (
            CasePerson.select(CasePerson.case, CasePerson.role, Person.given_name, Person.family_name)
            .join(Person).where(CasePerson.case.in_(case_ids) & Person.deleted_at.is_null())
            .order_by(CasePerson.id).tuples()):
        people.setdefault(case_id, []).append((role, given, family))
    lines = []
    for listing in listings:
        refs = referrals.get(listing.case_id, [])
        referral = next((r for r in refs if r.id == listing.referral_id), None)
        if referral is None:
            accepted = [r for r in refs if r.status == "accepted"]
            referral = (accepted or refs or [None])[-1]
        flags = referral_flags(referral)
        case_people = people.get(listing.case_id, [])
        criteria = []
        if referral is not None and referral.criteria_met:
            criteria = [CRITERION_LABELS.get(k.strip(), k.strip().replace("_", " "))
                        for k in re.split(r"[,;\s]+", referral.criteria_met) if k.strip()]
        instrument = ""
        if referral is not None and referral.instrument_id:
            known = BUILTIN_INSTRUMENTS.get(referral.instrument_id)
            instrument = INSTRUMENT_SHORT.get(referral.instrument_id, known.name if known else referral.instrument_id)
        submitted = referral.submitted_at if referral is not None and referral.submitted_at else listing.created_at
        lines.append(Line(
            listing=listing, number=listing.case.number, kind=listing.kind, position=listing.position,
            victim=_initials(case_people, VICTIM_ROLES), perpetrator=_initials(case_people, ("perpetrator",)),
            children=max(sum(1 for role, _, _ in case_people if role == "child"), flags.children),
            pregnant=flags.pregnant,
            score=referral.score_total if referral is not None else None, instrument=instrument,
            band=referral.band if referral is not None else "", criteria=criteria,
            repeat=bool(listing.is_repeat or listing.case.is_repeat), review=listing.is_review,
            emergency=listing.emergency, minutes=listing.minutes_estimate,
            sequence=(submitted, listing.id), referral_id=referral.id if referral is not None else None,
            agency_id=referral.agency_id if referral is not None else None,
        ))
    return lines


def case_lines(meeting: Meeting, user=None) -> list[Line]:
    """The agenda in order (for the meeting record): every case, or those this user may see."""
    return _lines(meeting, user)


def line_for(meeting: Meeting, listing: Listing) -> Line:
    """One listing's agenda line, with its estimated start."""
    return next(line for line in _lines(meeting) if line.id == listing.id)


def listing_view(meeting: Meeting, listing: Listing, user) -> Line:
    """A listed case's page: its line, the view audited."""
    line = line_for(meeting, listing)
    with db.atomic():
        audit.record("listing.view", listing, user=user, detail={"meeting_id": meeting.id, "case_id": listing.case_id})
    return line


def case_summary(case: Case, referral: Referral | None, user=None) -> Line:
    """The agenda line a case would have if listed now (for the listing form); shown to a user, audited."""
    draft = Listing(case=case, referral=referral.id if referral is not None else None, kind="full",
                    is_repeat=case.is_repeat, minutes_estimate=0)
    line = _make_lines([draft])[0]
    if user is not None:
        with db.atomic():
            audit.record("case.listing_view", case, user=user)
    return line


def _save_positions(meeting: Meeting, ids: list[int]) -> None:
    """Write the order in one statement; closed-session cases are kept last, apart."""
    kinds = dict(Listing.select(Listing.id, Listing.kind).where(Listing.meeting == meeting.id).tuples())
    ordered = [i for i in ids if kinds.get(i) != "closed"] + [i for i in ids if kinds.get(i) == "closed"]
    if ordered:
        Listing.update(position=SqlCase(Listing.id, [(i, n) for n, i in enumerate(ordered)])).where(
            Listing.id.in_(ordered)).execute()


def _normalise(meeting: Meeting) -> None:
    ids = [x for (x,) in Listing.select(Listing.id).where(Listing.meeting == meeting.id)
           .order_by(Listing.position, Listing.id).tuples()]
    _save_positions(meeting, ids)


def _touch(meeting: Meeting, user) -> None:
    """Record when the board last changed and by whom."""
    Meeting.update(board_changed_at=clock.now(), board_changed_by=getattr(user, "id", None)).where(
        Meeting.id == meeting.id).execute()


def _place(meeting: Meeting, listing: Listing, rule: str) -> None:
    """Put a new listing where the panel rule puts it, keeping the order of the others as it is."""
    lines = _lines(meeting)
    new = next(line for line in lines if line.id == listing.id)
    others = [line for line in lines if line.id != listing.id]
    key = order_key(rule, new)
    index = next((i for i, line in enumerate(others) if order_key(rule, line) > key), len(others))
    _save_positions(meeting, [x.id for x in others[:index]] + [new.id] + [x.id for x in others[index:]])


# --- listing --------------------------------------------------------------------------------------


def latest_referral(case: Case) -> Referral | None:
    """The case's most recent accepted referral (or most recent submitted one)."""
    refs = list(Referral.select().where((Referral.case == case.id) & (Referral.status != "draft"))
                .order_by(Referral.submitted_at.desc(), Referral.id.desc()).limit(20))
    return next((r for r in refs if r.status == "accepted"), refs[0] if refs else None)


def received_at(referral: Referral | None) -> datetime:
    """When the panel received the referral (UK local), which decides the meeting it is in time for."""
    if referral is not None and referral.submitted_at is not None:
        return schedule.uk_local(referral.submitted_at)
    return local_now()


def meeting_for(received: datetime, *, emergency: bool = False, exclude_case_id: int | None = None):
    """The next planned meeting whose referral deadline this meets (emergency: the very next one)."""
    query = panel_meetings().where((Meeting.status == "planned") & (Meeting.kind == "regular")
                                   & (Meeting.starts_at > local_now()))
    if not emergency:
        query = query.where(Meeting.referral_deadline.is_null() | (Meeting.referral_deadline >= received))
    if exclude_case_id is not None:
        query = query.where(Meeting.id.not_in(Listing.select(Listing.meeting).where(Listing.case == exclude_case_id)))
    return query.order_by(Meeting.starts_at).first()


def listable_meetings():
    """Planned meetings still to come, soonest first (for choosing where to list a case)."""
    return list(panel_meetings().where((Meeting.status == "planned") & (Meeting.starts_at > local_now()))
                .order_by(Meeting.starts_at))


def _case_children(case_id: int) -> int:
    return CasePerson.select().where((CasePerson.case == case_id) & (CasePerson.role == "child")).count()


def list_case(case: Case, referral: Referral | None = None, user=None, *, meeting: Meeting | None = None,
              kind: str | None = None, emergency_reason: str = "", referrer_agrees: bool = True,
              actions_requested: bool = False, invites=(), review: bool | None = None) -> Listing:
    """Put a case on an agenda. Without a meeting: the next one whose referral deadline it meets
    (the one after, when it arrived late), or the very next one as an emergency item with a reason.
    Honour-based violence goes to a closed session where the panel says so; information-only
    listings are refused when the case involves children, pregnancy or a vulnerable adult, or the
    referrer asked for actions or disagrees. Raises MeetingError with a message to show."""
    emergency_reason = (emergency_reason or "").strip()
    kind = kind or "full"
    if kind not in LISTING_KINDS:
        raise MeetingError("Choose how the case is listed", field="kind")
    _check_same_panel(case, meeting)
    with db.atomic():
        referral = referral or latest_referral(case)
        received = received_at(referral)
        if meeting is None:
            meeting = meeting_for(received, emergency=bool(emergency_reason), exclude_case_id=case.id)
            if meeting is None:
                raise MeetingError("There is no planned meeting to list this case at. Add the next meetings first",
                                   field="meeting")
        else:
            if meeting.status != "planned" or meeting.starts_at <= local_now():
                raise MeetingError("Cases can only be listed at a planned meeting still to come", field="meeting")
            late = meeting.referral_deadline is not None and received > meeting.referral_deadline
            if late and not emergency_reason:
                deadline = schedule.format_datetime(meeting.referral_deadline)
                raise MeetingError(f"The referral missed this meeting's deadline ({deadline}). List it at the next "
                                   "meeting, or give a reason to list it as an emergency item",
                                   field="emergency_reason")
        if Listing.select().where((Listing.meeting == meeting.id) & (Listing.case == case.id)).exists():
            raise MeetingError("This case is already on that meeting's agenda", field="meeting")
        values = settings.all_settings()
        flags = referral_flags(referral)
        hbv_closed = settings.panel_rules().closed_session_hbv and flags.hbv
        if meeting.kind == "closed" or case.closed_session or (referral is not None and referral.closed_session) \
                or hbv_closed:
            kind = "closed"
        elif kind == "information":
            refusals = information_only_refusals(max(_case_children(case.id), flags.children), flags,
                                                 referrer_agrees=referrer_agrees,
                                                 actions_requested=actions_requested)
            if refusals:
                raise MeetingError("This case cannot be listed for information only: " + "; ".join(refusals),
                                   field="kind")
        listing = Listing.create(
            meeting=meeting.id, case=case.id, referral=referral.id if referral is not None else None, kind=kind,
            position=10_000, emergency=bool(emergency_reason), emergency_reason=emergency_reason,
            is_repeat=bool(case.is_repeat or (referral is not None and referral.is_repeat)),
            is_review=review if review is not None else (referral is None or case.status in ("heard", "review")),
            minutes_estimate=int(values["minutes_per_information_case"] if kind == "information"
                                 else values["minutes_per_case"]),
            listed_by=getattr(user, "id", None),
        )
        if kind == "closed":
            _set_invites(listing, set(invites) | {referral.agency_id if referral is not None else None,
                                                  case.lead_agency_id})
        _place(meeting, listing, values["agenda_order"])
        if case.status in ("open", "review", "heard"):
            Case.update(status="listed", updated_at=clock.now()).where(Case.id == case.id).execute()
        _touch(meeting, user)
        audit.record("listing.create", listing, user=user, detail={
            "meeting_id": meeting.id, "case_id": case.id, "kind": kind, "emergency": bool(emergency_reason)})
    return listing


def _check_same_panel(case: Case, meeting: Meeting | None) -> None:
    """A case is heard only by its own panel: refuse a case or a meeting of another panel than the one
    in view (the views only offer the panel's own; this guards the other callers, such as the inbox)."""
    panel_id = panels.current_panel_id()
    if case.panel_id != panel_id or (meeting is not None and meeting.panel_id != panel_id):
        raise MeetingError("This case can only be listed at a meeting of its own panel", field="meeting")


def _set_invites(listing: Listing, agency_ids) -> None:
    ids = {int(a) for a in agency_ids if a}
    ListingInvite.delete().where(ListingInvite.listing == listing.id).execute()
    if ids:
        ListingInvite.insert_many([{"listing": listing.id, "agency": a} for a in sorted(ids)]).execute()


def invites_of(listing: Listing) -> set[int]:
    """Agency ids invited to a closed-session listing."""
    return {a for (a,) in ListingInvite.select(ListingInvite.agency).where(ListingInvite.listing == listing.id)
            .tuples()}


def change_listing(listing: Listing, user=None, *, kind: str, emergency_reason: str = "", invites=(),
                   referrer_agrees: bool = True, actions_requested: bool = False) -> Listing:
    """Change how a case is listed (full, information only, closed session), its emergency reason and
    its closed-session invitations; the same rules as listing it."""
    if kind not in LISTING_KINDS:
        raise MeetingError("Choose how the case is listed", field="kind")
    emergency_reason = emergency_reason or ""  # a post without the field (no JS, a hand-made post) is no reason
    meeting = listing.meeting
    if meeting.status != "planned":
        raise MeetingError("This meeting's agenda can no longer be changed")
    with db.atomic():
        case = Case.get_by_id(listing.case_id)
        referral = Referral.get_or_none(Referral.id == listing.referral_id) if listing.referral_id else None
        flags = referral_flags(referral)
        must_close = (meeting.kind == "closed" or case.closed_session
                      or (referral is not None and referral.closed_session)
                      or (settings.panel_rules().closed_session_hbv and flags.hbv))
        if kind != "closed" and must_close:
            raise MeetingError("This case must be heard in a closed session", field="kind")
        if kind == "information":
            refusals = information_only_refusals(max(_case_children(case.id), flags.children), flags,
                                                 referrer_agrees=referrer_agrees,
                                                 actions_requested=actions_requested)
            if refusals:
                raise MeetingError("This case cannot be listed for information only: " + "; ".join(refusals),
                                   field="kind")
        values = settings.all_settings()
        changed = sorted(k for k, v in (("kind", listing.kind != kind),
                                        ("emergency", listing.emergency_reason != emergency_reason.strip())) if v)
        listing.kind = kind
        listing.emergency_reason = emergency_reason.strip()
        listing.emergency = bool(listing.emergency_reason)
        listing.minutes_estimate = int(values["minutes_per_information_case"] if kind == "information"
                                       else values["minutes_per_case"])
        listing.save()
        if kind == "closed":
            _set_invites(listing, set(invites) | ({referral.agency_id} if referral is not None else set()))
            changed.append("invites")
        else:
            _set_invites(listing, ())
        _normalise(meeting)
        _touch(meeting, user)
        audit.record("listing.update", listing, user=user,
                     detail={"meeting_id": meeting.id, "case_id": case.id, "kind": kind, "fields": changed})
    return listing


def remove_listing(listing: Listing, user=None) -> None:
    """Take a case off an agenda that has not been held."""
    meeting = listing.meeting
    if meeting.status != "planned":
        raise MeetingError("This meeting's agenda can no longer be changed")
    with db.atomic():
        case_id = listing.case_id
        listing.delete_instance()
        still_listed = (Listing.select().join(Meeting).where((Listing.case == case_id)
                                                             & (Meeting.status == "planned")).exists())
        if not still_listed:
            Case.update(status="open").where((Case.id == case_id) & (Case.status == "listed")).execute()
        _normalise(meeting)
        _touch(meeting, user)
        audit.record("listing.remove", object_type="listing", object_id=listing.id, user=user,
                     detail={"meeting_id": meeting.id, "case_id": case_id})


@dataclass
class ReadyCase:
    case: Case
    reason: str
    victim: str = ""
    received: datetime | None = None
    suggested: Meeting | None = None


def ready_to_list(limit: int = 200, user=None) -> list[ReadyCase]:
    """Cases waiting for an agenda: accepted and not yet listed, due for review, or with actions
    outstanding, none of them already on a planned meeting still to come (a fixed number of queries).
    With a user, the list is being shown to them: the view is audited with the cases on it."""
    now = local_now()
    upcoming = Listing.select(Listing.case).join(Meeting).where((Meeting.status == "planned")
                                                                & (Meeting.starts_at > now))
    open_actions = Action.select(Action.case).where(Action.status == "open")
    cases = list(Case.select().where(
        (Case.panel == panels.current_panel_id()) & Case.deleted_at.is_null() & Case.id.not_in(upcoming)
        & ((Case.status.in_(("open", "review"))) | ((Case.status != "closed") & Case.id.in_(open_actions))))
        .order_by(Case.opened_at).limit(limit))
    if not cases:
        return []
    ids = [c.id for c in cases]
    received = {}
    for r in (Referral.select(Referral.case, fn.MAX(Referral.submitted_at).alias("at"))
              .where(Referral.case.in_(ids) & Referral.submitted_at.is_null(False)).group_by(Referral.case)):
        received[r.case_id] = r.at
    people: dict[int, list] = {}
    for cp in (CasePerson.select(CasePerson.case, CasePerson.role, Person.given_name, Person.family_name)
               .join(Person).where(CasePerson.case.in_(ids))):
        people.setdefault(cp.case_id, []).append((cp.role, cp.person.given_name, cp.person.family_name))
    meetings = [m for m in listable_meetings() if m.kind == "regular"]
    result = []
    for case in cases:
        reason = {"open": "Accepted, not yet listed", "review": "Due for review"}.get(case.status,
                                                                                      "Actions outstanding")
        got = schedule.uk_local(received[case.id]) if case.id in received else None
        when = got if got and case.status == "open" else now
        suggested = next((m for m in meetings if m.referral_deadline is None or m.referral_deadline >= when), None)
        result.append(ReadyCase(case, reason, _initials(people.get(case.id, []), VICTIM_ROLES), got, suggested))
    if user is not None:
        with db.atomic():
            audit.record("meeting.ready_view", object_type="case", object_id="", user=user,
                         detail={"case_ids": [c.id for c in cases]})
    return result


# --- the board --------------------------------------------------------------------------------------


@dataclass
class AgencyMoves:
    agency: Agency
    count: int
    over: bool


@dataclass
class Board:
    meeting: Meeting
    lines: list[Line]
    end: datetime
    agencies: list[Agency]
    research: dict
    invited: dict
    moves: list[AgencyMoves]
    move_requests: list
    latest: AgendaVersion | None
    changed_by: str
    warnings: list[str]
    written_due: datetime
    may_reorder: bool
    research_done: int = 0
    research_expected: int = 0
    grid: list = field(default_factory=list)  # (line, [research state per agency, in agencies' order])

    @property
    def counts(self) -> dict:
        c = {k: sum(1 for x in self.lines if x.kind == k) for k in LISTING_KINDS}
        c["total"] = len(self.lines)
        c["emergency"] = sum(1 for x in self.lines if x.emergency)
        c["children"] = sum(1 for x in self.lines if x.children or x.pregnant)
        return c

    @property
    def open_lines(self) -> list[Line]:
        return [x for x in self.lines if x.kind != "closed"]

    @property
    def closed_lines(self) -> list[Line]:
        return [x for x in self.lines if x.kind == "closed"]


def member_agencies():
    """Agencies that have signed the information sharing agreement and not withdrawn."""
    return (Agency.select().where(Agency.kind.in_(("core", "flexible")) & Agency.isa_signed_on.is_null(False)
                                  & Agency.withdrawn_on.is_null()).order_by(Agency.name))


def may_reorder(user) -> bool:
    """The coordinator and the chair order the agenda."""
    return user.role in (COORDINATOR, CHAIR)


def sees_all_research(user) -> bool:
    return user.role in (COORDINATOR, CHAIR)


def board(meeting: Meeting, user, *, audit_view: bool = True) -> Board:
    """Everything the agenda board shows, for this user, in a fixed number of queries; the view is
    audited with the cases shown (so 'who has looked at this case' includes agenda views)."""
    values = settings.all_settings()
    meeting = Meeting.get_by_id(meeting.id)  # fresh: who changed the board last, and when
    lines = _lines(meeting, user)
    _, end = schedule.case_start_times(meeting.starts_at, [x.minutes for x in lines])
    all_research = sees_all_research(user)
    agencies = list(member_agencies()) if all_research else [user.agency]
    ids = [x.id for x in lines]
    written_due = written_info_due(meeting, values)
    invited: dict[int, set] = {}
    states = {}
    if ids:
        for listing_id, agency_id in ListingInvite.select(ListingInvite.listing, ListingInvite.agency).where(
                ListingInvite.listing.in_(ids)).tuples():
            invited.setdefault(listing_id, set()).add(agency_id)
        # Whether written information came late is worked out by the database (stamps are naive UTC):
        # no timestamp is read into Python for the hundreds of research rows of a 40-case agenda.
        due_utc = written_due.replace(tzinfo=schedule.LONDON).astimezone(UTC).replace(tzinfo=None)
        query = (Research.select(Research.listing, Research.agency, Research.nothing_known,
                                 Research.written_submission, (Research.updated_at > due_utc).alias("late"))
                 .where(Research.listing.in_(ids)))
        if not all_research:
            query = query.where(Research.agency == user.agency_id)
        # Plain database rows: the state needs no conversion, and peewee's per-row work would cost
        # more than the query on a 40-case agenda.
        for listing_id, agency_id, nothing_known, written, late in db.execute(query):
            states[(listing_id, agency_id)] = (("written_late" if late else "written") if written
                                               else "nothing" if nothing_known else "done")
    research = {}
    grid = []
    done = expected = 0
    agency_ids = [a.id for a in agencies]
    for line in lines:
        lid = line.id
        closed_invited = invited.get(lid, set()) if line.kind == "closed" else None
        row = []
        for aid in agency_ids:
            if closed_invited is not None and aid not in closed_invited:
                state = "na"
            else:
                state = states.get((lid, aid), "missing")
                expected += 1
                done += state != "missing"
            research[(lid, aid)] = state
            row.append(state)
        grid.append((line, row))
    requests_query = (MoveRequest.select(MoveRequest, Agency).join(Agency)
                      .where(MoveRequest.meeting == meeting.id).order_by(MoveRequest.created_at))
    if not all_research:
        requests_query = requests_query.where(MoveRequest.agency == user.agency_id)
    visible_ids = set(ids)
    requests = [r for r in requests_query if r.listing_id in visible_ids]
    limit = int(values["move_request_limit"] or 0)
    per_agency: dict[int, AgencyMoves] = {}
    for r in requests:
        entry = per_agency.setdefault(r.agency_id, AgencyMoves(r.agency, 0, False))
        entry.count += 1
        entry.over = bool(limit) and entry.count > limit
    latest = (AgendaVersion.select(AgendaVersion.id, AgendaVersion.version, AgendaVersion.circulated_at,
                                   AgendaVersion.late)
              .where(AgendaVersion.meeting == meeting.id).order_by(AgendaVersion.version.desc()).first())
    changed_by = ""
    if meeting.board_changed_by_id:
        who = User.select(User.name).where(User.id == meeting.board_changed_by_id).first()
        changed_by = who.name if who else ""
    warnings = _warnings(meeting, latest, per_agency.values(), limit)
    result = Board(meeting=meeting, lines=lines, end=end, agencies=agencies, research=research, invited=invited,
                   moves=sorted(per_agency.values(), key=lambda m: m.agency.name), move_requests=requests,
                   latest=latest, changed_by=changed_by, warnings=warnings, written_due=written_due,
                   may_reorder=may_reorder(user) and meeting.status == "planned",
                   research_done=done, research_expected=expected, grid=grid)
    if audit_view:
        with db.atomic():
            audit.record("meeting.board_view", meeting, user=user,
                         detail={"case_ids": [x.listing.case_id for x in lines]})
    return result


def _warnings(meeting: Meeting, latest, moves, limit: int) -> list[str]:
    warnings = []
    now = local_now()
    if meeting.status == "planned" and latest is None and meeting.circulation_due and now > meeting.circulation_due:
        warnings.append(f"The agenda was due out at {schedule.format_datetime(meeting.circulation_due)} and has "
                        "not been circulated.")
    if latest is not None and meeting.board_changed_at and meeting.board_changed_at > latest.circulated_at:
        warnings.append(f"The agenda has changed since version {latest.version} was circulated. Circulate it "
                        "again so agencies have the current list.")
    for m in moves:
        if m.over:
            warnings.append(f"{m.agency.name} has asked to move {m.count} cases at this meeting; the panel's "
                            f"limit is {limit} per agency.")
    return warnings


# --- reordering -------------------------------------------------------------------------------------


def _position_text(meeting: Meeting, listing_id: int) -> str:
    lines = _lines(meeting)
    _, end = schedule.case_start_times(meeting.starts_at, [x.minutes for x in lines])
    for i, line in enumerate(lines):
        if line.id == listing_id:
            return (f"Case {line.number} is now number {i + 1} of {len(lines)}, estimated start "
                    f"{schedule.format_time(line.starts.time())}. Estimated end {schedule.format_time(end.time())}.")
    return ""


def _check_reorder(meeting: Meeting, user) -> None:
    if not may_reorder(user):
        raise MeetingError("Only the coordinator or the chair can reorder the agenda")
    if meeting.status != "planned":
        raise MeetingError("This meeting's agenda can no longer be changed")


def reorder(meeting: Meeting, listing_ids: list[int], user) -> str:
    """Save a new order (from drag and drop); the list must hold exactly this agenda's cases.
    Returns a sentence for the screen-reader announcement."""
    _check_reorder(meeting, user)
    with db.atomic():
        current = [x for (x,) in Listing.select(Listing.id).where(Listing.meeting == meeting.id)
                   .order_by(Listing.position, Listing.id).tuples()]
        if sorted(current) != sorted(listing_ids) or len(set(listing_ids)) != len(listing_ids):
            raise MeetingError("The agenda changed while you were moving cases. This is the current order; "
                               "please try again")
        moved = next((new for old, new in zip(current, listing_ids, strict=True) if old != new), None)
        _save_positions(meeting, listing_ids)
        _touch(meeting, user)
        audit.record("agenda.reorder", meeting, user=user, detail={"how": "drag", "listing_id": moved})
    return _position_text(meeting, moved) if moved else "The order has not changed."


def move(meeting: Meeting, listing_id: int, direction: str, user) -> str:
    """Move one case up or down one place (the keyboard and no-JavaScript way to reorder)."""
    _check_reorder(meeting, user)
    with db.atomic():
        rows = list(Listing.select(Listing.id, Listing.kind).where(Listing.meeting == meeting.id)
                    .order_by(Listing.position, Listing.id))
        ids = [r.id for r in rows]
        if listing_id not in ids:
            raise MeetingError("That case is not on this agenda")
        i = ids.index(listing_id)
        j = i - 1 if direction == "up" else i + 1
        # Closed-session cases stay apart: a case does not cross into or out of the closed session.
        if 0 <= j < len(ids) and (rows[i].kind == "closed") == (rows[j].kind == "closed"):
            ids[i], ids[j] = ids[j], ids[i]
            _save_positions(meeting, ids)
            _touch(meeting, user)
            audit.record("agenda.reorder", meeting, user=user, detail={"how": direction, "listing_id": listing_id})
        else:
            return "That case is already at the " + ("top." if direction == "up" else "bottom.")
    return _position_text(meeting, listing_id)


def order_by_rule(meeting: Meeting, user) -> str:
    """Put the whole agenda in the panel rule's order (undoing manual moves)."""
    _check_reorder(meeting, user)
    rule = settings.get("agenda_order")
    with db.atomic():
        lines = sort_lines(rule, _lines(meeting))
        _save_positions(meeting, [x.id for x in lines])
        _touch(meeting, user)
        audit.record("agenda.reorder", meeting, user=user, detail={"how": "rule", "rule": rule})
    return f"The agenda is now in the panel's order: {ORDER_RULES.get(rule, rule).lower()}."


# --- move requests ----------------------------------------------------------------------------------


def request_move(listing: Listing, agency: Agency, user, note: str = "") -> tuple[MoveRequest, int, bool]:
    """Record an agency's request to move a case; returns it, the agency's count, and whether that
    is past the panel's limit (the request is still recorded: the chair decides)."""
    limit = int(settings.get("move_request_limit") or 0)
    with db.atomic():
        request = MoveRequest.create(meeting=listing.meeting_id, listing=listing.id, agency=agency.id,
                                     user=getattr(user, "id", None), note=note.strip()[:300])
        count = MoveRequest.select().where((MoveRequest.meeting == listing.meeting_id)
                                           & (MoveRequest.agency == agency.id)).count()
        over = bool(limit) and count > limit
        audit.record("move_request.create", request, user=user, detail={
            "listing_id": listing.id, "agency_id": agency.id, "count": count, "over_limit": over})
    return request, count, over


# --- circulation ------------------------------------------------------------------------------------


def circulate(meeting: Meeting, user) -> AgendaVersion:
    """Freeze the agenda as the next version and record when it went out (late after the
    circulation time). Each agency's copy is cut from this version (agenda_copy)."""
    if meeting.status != "planned":
        raise MeetingError("Only a planned meeting's agenda can be circulated")
    with db.atomic():
        lines = _lines(meeting)
        if not lines:
            raise MeetingError("There are no cases on this agenda to circulate")
        invited: dict[int, list] = {}
        for listing_id, agency_id in ListingInvite.select(ListingInvite.listing, ListingInvite.agency).where(
                ListingInvite.listing.in_([x.id for x in lines])).tuples():
            invited.setdefault(listing_id, []).append(agency_id)
        now = clock.now()
        late = bool(meeting.circulation_due and schedule.uk_local(now) > meeting.circulation_due)
        version = (AgendaVersion.select(fn.MAX(AgendaVersion.version)).where(
            AgendaVersion.meeting == meeting.id).scalar() or 0) + 1
        content = {
            "lines": [{
                "listing_id": x.id, "case_id": x.listing.case_id, "number": x.number, "victim": x.victim,
                "perpetrator": x.perpetrator, "summary": x.summary, "kind": x.kind,
                "starts": x.starts.strftime("%H:%M"), "minutes": x.minutes, "emergency": x.emergency,
                "repeat": x.repeat, "review": x.review, "invited": sorted(invited.get(x.id, [])),
            } for x in lines],
        }
        row = AgendaVersion.create(meeting=meeting.id, version=version, circulated_at=now,
                                   circulated_by=getattr(user, "id", None), late=late, content=json.dumps(content))
        Meeting.update(agenda_version=version, circulated_at=now).where(Meeting.id == meeting.id).execute()
        meeting.agenda_version, meeting.circulated_at = version, now
        audit.record("agenda.circulate", meeting, user=user,
                     detail={"version": version, "late": late, "listings": len(lines)})
    return row


def latest_version(meeting: Meeting, version: int | None = None) -> AgendaVersion | None:
    query = AgendaVersion.select().where(AgendaVersion.meeting == meeting.id)
    if version:
        query = query.where(AgendaVersion.version == version)
    return query.order_by(AgendaVersion.version.desc()).first()


@dataclass
class AgendaCopy:
    meeting: Meeting
    version: AgendaVersion
    agency: Agency | None  # None: the coordinator's full copy
    lines: list[dict]
    end: str

    @property
    def open_lines(self):
        return [x for x in self.lines if x["kind"] != "closed"]

    @property
    def closed_lines(self):
        return [x for x in self.lines if x["kind"] == "closed"]


def agenda_copy(meeting: Meeting, version: AgendaVersion, agency: Agency | None, user=None) -> AgendaCopy:
    """One recipient's copy of a circulated version: closed-session cases only for invited agencies.
    Viewing or downloading it is audited by the caller's action name."""
    content = _json(version.content, {"lines": []})
    lines = [dict(x, kind_label=LISTING_KINDS.get(x["kind"], x["kind"])) for x in content["lines"]
             if agency is None or x["kind"] != "closed" or agency.id in x["invited"]]
    end = ""
    if lines:
        last = lines[-1]
        end = (datetime.strptime(last["starts"], "%H:%M") + timedelta(minutes=last["minutes"])).strftime("%H:%M")
    for n, line in enumerate(lines, 1):
        line["n"] = n
    return AgendaCopy(meeting, version, agency, lines, end)


def record_agenda_access(meeting: Meeting, copy: AgendaCopy, action: str, user=None) -> None:
    """Audit a view or download of a circulated agenda (which cases, whose copy)."""
    with db.atomic():
        audit.record(action, meeting, user=user, detail={
            "version": copy.version.version, "agency_id": copy.agency.id if copy.agency else None,
            "case_ids": [x["case_id"] for x in copy.lines]})


def _hhmm(value: str) -> str:
    return schedule.format_time(datetime.strptime(value, "%H:%M").time())


def agenda_docx(copy: AgendaCopy, panel_name: str) -> bytes:
    """The agenda as a Word document, as agencies expect it: one table of cases in order."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.title = f"{panel_name} agenda"
    doc.add_heading(f"{panel_name}: agenda", level=1)
    m = copy.meeting
    doc.add_paragraph(f"{MEETING_KINDS.get(m.kind, 'Meeting')}, {schedule.format_datetime(m.starts_at)}"
                      + (f", {m.venue}" if m.venue else ""))
    recipient = copy.agency.name if copy.agency else "Coordinator (all cases)"
    doc.add_paragraph(f"Version {copy.version.version}, circulated "
                      f"{schedule.format_datetime(schedule.uk_local(copy.version.circulated_at))}. "
                      f"Copy for: {recipient}.")
    doc.add_paragraph("OFFICIAL-SENSITIVE. Shared under the MARAC information sharing agreement: research these "
                      "cases in your agency's records and do not pass this list on.")

    def table(title, rows):
        if not rows:
            return
        doc.add_heading(title, level=2)
        t = doc.add_table(rows=1, cols=6)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, ("No.", "Start", "Case", "Initials", "Listing", "Risk summary"),
                              strict=True):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.bold = True
        for x in rows:
            who = x["victim"] + (f" / {x['perpetrator']}" if x["perpetrator"] else "")
            flags = [x["kind_label"]] + (["emergency item"] if x["emergency"] else []) + (
                ["repeat"] if x["repeat"] else [])
            for cell, text in zip(t.add_row().cells, (str(x["n"]), _hhmm(x["starts"]), x["number"], who,
                                                      ", ".join(flags), x["summary"]), strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(10)

    table("Cases", copy.open_lines)
    table("Closed session", copy.closed_lines)
    if copy.end:
        doc.add_paragraph(f"Estimated end: {_hhmm(copy.end)}.")
    buffer = BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --- research ---------------------------------------------------------------------------------------


def may_record_research(user, listing: Listing) -> bool:
    """A member agency's representative records their own agency's research (on listings they can see)."""
    return user.role == REPRESENTATIVE and user.agency.is_member and listing.meeting.status == "planned"


def research_rows(listing: Listing, user) -> list[Research]:
    """The research recorded on a listed case that this user may read: all agencies' for the
    coordinator and chair, their own agency's for a representative. The view is audited."""
    query = (Research.select(Research, Agency).join(Agency, on=(Research.agency == Agency.id))
             .where(Research.listing == listing.id).order_by(Agency.name))
    if not sees_all_research(user):
        query = query.where(Research.agency == user.agency_id)
    rows = list(query)
    with db.atomic():
        audit.record("research.view", listing, user=user, detail={"case_id": listing.case_id, "rows": len(rows)})
    return rows


def save_research(listing: Listing, user, *, victim_info: str = "", perpetrator_info: str = "",
                  children_info: str = "", nothing_known: bool = False, written_submission: bool = False) -> Research:
    """Record (or update) what the user's agency holds on a listed case."""
    if not may_record_research(user, listing):
        raise MeetingError("Only a member agency's representative can record research, before the meeting")
    texts = [x.strip() for x in (victim_info, perpetrator_info, children_info)]
    if nothing_known and any(texts):
        raise MeetingError("Either say what your agency holds, or that nothing is known, not both",
                           field="nothing_known")
    if not nothing_known and not any(texts):
        raise MeetingError("Enter what your agency holds, or select that nothing is known", field="victim_info")
    now = clock.now()
    with db.atomic():
        row = Research.get_or_none((Research.listing == listing.id) & (Research.agency == user.agency_id))
        created = row is None
        if created:
            row = Research(listing=listing.id, agency=user.agency_id, created_at=now)
        row.user = user.id
        row.victim_info, row.perpetrator_info, row.children_info = texts
        row.nothing_known = bool(nothing_known)
        row.written_submission = bool(written_submission)
        row.updated_at = now
        row.save()
        late = bool(written_submission) and schedule.uk_local(now) > written_info_due(listing.meeting)
        audit.record("research.create" if created else "research.update", row, user=user, detail={
            "listing_id": listing.id, "case_id": listing.case_id, "nothing_known": row.nothing_known,
            "written": row.written_submission, "late": late})
    return row
