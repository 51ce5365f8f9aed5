"""Running the meeting (issue 6): attendance and observers, the confidentiality agreement, the
review of returning cases' actions, the case-by-case record, actions and standard actions, timings.

Each change is one function that writes its rows and audit row in one transaction, and refuses
(RunError, shown to the user) once the chair has signed off the minutes: after that, corrections
are amendments (marac.minutes). Stored times are naive UTC (clock.now()); Meeting.starts_at is UK
local time, as the agenda states it.

For other areas (reports): attendance_by_agency(start, end), attendance(meeting), actions_agreed(meeting),
outstanding_actions(meeting), has_agreed(meeting, user).
"""
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from peewee import JOIN, fn

from marac import actions as action_service
from marac import audit, clock, panels, settings, sqlfn
from marac import standard_actions as std
from marac.db import db
from marac.formatting import LONDON
from marac.models import (
    Action,
    ActionReview,
    ActionUpdate,
    Agency,
    Attendance,
    Case,
    CaseDiscussion,
    CasePerson,
    Listing,
    ListingInvite,
    Meeting,
    MeetingRecord,
    Person,
    Referral,
    Research,
    SharedInfo,
    User,
)

DECISIONS = {
    "actions": "Actions agreed",
    "information": "Information only",
    "adjourn": "Adjourned to a later meeting",
    "refer": "Referred to another panel",
}
REVIEW_OUTCOMES = {
    "done": "Done",
    "carried": "Carried forward to a new date",
    "escalated": "Escalated",
}
PRIORITIES = {"normal": "Normal", "high": "High"}
TEXT_FIELDS = ("risk_victim", "risk_children", "risk_others", "risk_staff", "victim_views", "summary",
               "decision_note")
FACT_FIELDS = ("children", "care_needs", "hate_crime")
MAX_TEXT = 10000
MAX_ACTION = 2000


class RunError(ValueError):
    """A change the meeting's rules do not allow; the message is shown to the user."""


def now() -> datetime:
    return clock.now()


def uk_now() -> datetime:
    """Now as naive UK local time (for comparing with Meeting.starts_at)."""
    return clock.now().replace(tzinfo=UTC).astimezone(LONDON).replace(tzinfo=None)


def uk_today() -> date:
    return uk_now().date()


def uk_time(utc: datetime | None) -> str:
    """'10:42' in UK local time for a stored UTC time."""
    if utc is None:
        return ""
    return utc.replace(tzinfo=UTC).astimezone(LONDON).strftime("%H:%M")


def _setting(key: str, default):
    # Other areas own some keys (action_due_days: issue 7); until theirs land, use the panel default.
    return settings.get(key) if key in settings.DEFAULTS else default


def panel_words() -> dict:
    """What the panel calls the person at the centre of a case ('victim' or 'person referred')."""
    community = settings.get("panel_type") == "community"
    victim = "person referred" if community else "victim"
    return {
        "victim": victim,
        "risk_victim": f"Risks to the {victim}",
        "risk_children": "Risks to children",
        "risk_others": "Risks to others",
        "risk_staff": "Risks to staff",
        "victim_views": f"The {victim}'s views",
    }


# --- the meeting record ------------------------------------------------------------------------


def record_for(meeting: Meeting) -> MeetingRecord | None:
    """The meeting's running record, or None before anything was recorded."""
    return MeetingRecord.get_or_none(MeetingRecord.meeting == meeting.id)


def _ensure_record(meeting: Meeting) -> MeetingRecord:
    record = record_for(meeting)
    if record is None:
        record = MeetingRecord.create(meeting=meeting, updated_at=now())
    return record


def is_signed_off(meeting: Meeting) -> bool:
    """Whether the chair has signed off the minutes (the record is then frozen)."""
    return Meeting.get_by_id(meeting.id).minutes_signed_off_at is not None


def _check_open(meeting: Meeting) -> None:
    if is_signed_off(meeting):
        raise RunError("The minutes are signed off: record a correction as an amendment to the minutes")


def has_started(meeting: Meeting) -> bool:
    record = record_for(meeting)
    return record is not None and record.started_at is not None


def start_meeting(meeting: Meeting, user) -> MeetingRecord:
    """Record that the meeting has started (observers can no longer be approved)."""
    with db.atomic():
        _check_open(meeting)
        record = _ensure_record(meeting)
        if record.started_at is None:
            record.started_at = now()
            record.updated_at = now()
            record.save()
            audit.record("meeting.start", meeting, user=user)
    return record


def end_meeting(meeting: Meeting, user) -> MeetingRecord:
    """Record the end: the case being heard ends, everyone still present signs out, the meeting is held."""
    with db.atomic():
        _check_open(meeting)
        record = _ensure_record(meeting)
        at = now()
        if record.started_at is None:
            record.started_at = at
        record.ended_at = at
        record.current_listing = None
        record.updated_at = at
        record.save()
        listing_ids = Listing.select(Listing.id).where(Listing.meeting == meeting.id)
        (CaseDiscussion.update(ended_at=at)
         .where(CaseDiscussion.listing.in_(listing_ids) & CaseDiscussion.started_at.is_null(False)
                & CaseDiscussion.ended_at.is_null()).execute())
        (Attendance.update(time_out=at, updated_at=at)
         .where((Attendance.meeting == meeting.id) & (Attendance.status == "present")
                & Attendance.time_in.is_null(False) & Attendance.time_out.is_null()).execute())
        Meeting.update(status="held").where(Meeting.id == meeting.id).execute()
        audit.record("meeting.end", meeting, user=user)
    return record


# --- the agenda as heard -----------------------------------------------------------------------


def agenda(meeting: Meeting, where=True) -> list[Listing]:
    """The meeting's listings in the order heard (closed-session cases apart, at the end), with their
    cases, in one query. `where`: an access filter (access.run_listing_filter)."""
    query = (Listing.select(Listing, Case).join(Case)
             .where((Listing.meeting == meeting.id) & Case.deleted_at.is_null() & (Case.panel == meeting.panel_id)))
    if where is False:
        return []
    if where is not True:
        query = query.where(where)
    closed_last = sqlfn.iif(Listing.kind == "closed", 1, 0)
    return list(query.order_by(closed_last, Listing.position, Listing.id))


def discussions(listings) -> dict[int, CaseDiscussion]:
    """Discussion rows by listing id (one query)."""
    ids = [listing.id for listing in listings]
    if not ids:
        return {}
    return {d.listing_id: d for d in CaseDiscussion.select().where(CaseDiscussion.listing.in_(ids))}


def discussion_for(listing: Listing) -> CaseDiscussion:
    """The listing's discussion, or an unsaved blank one."""
    return CaseDiscussion.get_or_none(CaseDiscussion.listing == listing.id) or CaseDiscussion(listing=listing)


def listing_state(discussion: CaseDiscussion | None) -> str:
    """'waiting', 'in progress' or 'heard'."""
    if discussion is None or discussion.started_at is None:
        return "waiting"
    return "heard" if discussion.ended_at is not None else "in progress"


def _ensure_discussion(listing: Listing, user) -> CaseDiscussion:
    discussion = CaseDiscussion.get_or_none(CaseDiscussion.listing == listing.id)
    if discussion is None:
        discussion = CaseDiscussion.create(listing=listing, updated_at=now(), updated_by=user)
    return discussion


def start_case(listing: Listing, user) -> CaseDiscussion:
    """Start hearing a case: the meeting starts if it had not, and the case heard before it ends."""
    meeting = listing.meeting
    at = now()
    with db.atomic():
        _check_open(meeting)
        record = _ensure_record(meeting)
        if record.started_at is None:
            record.started_at = at
            audit.record("meeting.start", meeting, user=user)
        others = Listing.select(Listing.id).where((Listing.meeting == meeting.id) & (Listing.id != listing.id))
        (CaseDiscussion.update(ended_at=at)
         .where(CaseDiscussion.listing.in_(others) & CaseDiscussion.started_at.is_null(False)
                & CaseDiscussion.ended_at.is_null()).execute())
        discussion = _ensure_discussion(listing, user)
        if discussion.started_at is None or discussion.ended_at is not None:
            # A case heard again (it came back later in the meeting) keeps its first start time.
            discussion.started_at = discussion.started_at or at
            discussion.ended_at = None
            discussion.save()
        record.current_listing = listing
        record.updated_at = at
        record.save()
        audit.record("listing.start", listing, user=user, detail={"case_id": listing.case_id})
    return discussion


def finish_case(listing: Listing, user) -> CaseDiscussion:
    """Finish a case: its end time; the case is 'review' when it returns for review, else 'heard'."""
    at = now()
    with db.atomic():
        _check_open(listing.meeting)
        discussion = _ensure_discussion(listing, user)
        discussion.started_at = discussion.started_at or at
        discussion.ended_at = at
        discussion.save()
        status = "review" if discussion.returns_for_review else "heard"
        (Case.update(status=status, updated_at=at)
         .where((Case.id == listing.case_id) & (Case.status.in_(("open", "listed", "heard", "review"))))
         .execute())
        MeetingRecord.update(current_listing=None, updated_at=at).where(
            (MeetingRecord.meeting == listing.meeting_id) & (MeetingRecord.current_listing == listing.id)).execute()
        audit.record("listing.finish", listing, user=user,
                     detail={"case_id": listing.case_id, "decision": discussion.decision, "case_status": status})
    return discussion


# --- timings -----------------------------------------------------------------------------------


@dataclass
class CaseTiming:
    listing: Listing
    minutes: int
    state: str
    started_at: datetime | None = None  # UTC
    ended_at: datetime | None = None
    expected_start: datetime | None = None  # UK local
    elapsed: int = 0  # whole minutes


@dataclass
class Timings:
    cases: list[CaseTiming]
    current: CaseTiming | None
    expected_finish: datetime  # UK local
    remaining: int  # cases not yet heard
    minutes_after_current: int  # estimated minutes of the cases waiting
    by_listing: dict = field(default_factory=dict)


def timings(meeting: Meeting, listings: list[Listing], discussion_rows: dict) -> Timings:
    """Time spent on each case against its minutes, and the expected finish from now."""
    utc_now = now()
    local_now = uk_now()
    cases = []
    for listing in listings:
        d = discussion_rows.get(listing.id)
        t = CaseTiming(listing, int(listing.minutes_estimate or 0), listing_state(d),
                       d.started_at if d else None, d.ended_at if d else None)
        if t.started_at:
            t.elapsed = int(((t.ended_at or utc_now) - t.started_at).total_seconds() // 60)
        cases.append(t)
    current = next((t for t in cases if t.state == "in progress"), None)
    waiting = [t for t in cases if t.state == "waiting"]
    after = sum(t.minutes for t in waiting)
    anything_heard = any(t.state != "waiting" for t in cases)
    if not anything_heard:
        start = max(meeting.starts_at, local_now) if meeting.starts_at.date() == local_now.date() else meeting.starts_at
        clock_at = start
    else:
        clock_at = local_now
        if current is not None:
            clock_at += timedelta(minutes=max(current.minutes - current.elapsed, 0))
    for t in waiting:
        t.expected_start = clock_at
        clock_at += timedelta(minutes=t.minutes)
    return Timings(cases, current, clock_at, len(waiting) + (1 if current else 0), after,
                   {t.listing.id: t for t in cases})


# --- attendance ---------------------------------------------------------------------------------


def capacity_for(user: User) -> str:
    """The capacity a user attends in: chair, coordinator, observer, deputy, or named representative."""
    if user.role in ("chair", "coordinator", "observer"):
        return user.role
    return "deputy" if user.is_deputy else "representative"


def attendance(meeting: Meeting) -> list[Attendance]:
    """The attendance sheet (observers included), with agencies and accounts, in one query."""
    capacity_order = sqlfn.iif(Attendance.capacity == "chair", 0, sqlfn.iif(Attendance.capacity == "observer", 3,
                            sqlfn.iif(Attendance.capacity == "coordinator", 2, 1)))
    return list(Attendance.select(Attendance, Agency).join(Agency, JOIN.LEFT_OUTER)
                .where(Attendance.meeting == meeting.id)
                .order_by(capacity_order, Agency.name, Attendance.name, Attendance.id))


def absent_agencies(meeting: Meeting, rows: list[Attendance] | None = None) -> list[Agency]:
    """Member agencies with nobody on the sheet (neither present nor sending apologies)."""
    rows = attendance(meeting) if rows is None else rows
    on_sheet = {r.agency_id for r in rows if r.agency_id and r.capacity != "observer"}
    return [a for a in Agency.ordered() if a.is_member and a.id not in on_sheet]


def present_agencies(meeting: Meeting) -> list[Agency]:
    """Agencies with someone present at the meeting for them (not observers, not the coordinator,
    who runs the record rather than representing an agency)."""
    ids = (Attendance.select(Attendance.agency)
           .where((Attendance.meeting == meeting.id) & (Attendance.status == "present")
                  & Attendance.capacity.not_in(("observer", "coordinator")) & Attendance.agency.is_null(False)))
    return list(Agency.select().where(Agency.id.in_(ids)).order_by(Agency.name))


def _check_panel_user(meeting: Meeting, user: User) -> None:
    """Only an account that may work in the meeting's panel (home panel, or granted) attends it or
    observes it: a county agency's user of another panel is not on this panel's sheet."""
    if not panels.may_use(user, meeting.panel_id):
        raise RunError("That account does not work in this panel")


def _attendance_row(meeting: Meeting, user: User) -> Attendance | None:
    return Attendance.get_or_none((Attendance.meeting == meeting.id) & (Attendance.user == user.id))


def add_attendee(meeting: Meeting, by: User, *, user: User | None = None, agency: Agency | None = None,
                 name: str = "", time_in: datetime | None = None) -> Attendance:
    """Sign someone in: a user account (capacity from their role: deputy, chair...) or someone else
    attending for an agency, by name. Observers are approved first and signed in under Observers."""
    name = (name or "").strip()
    at = now()
    with db.atomic():
        _check_open(meeting)
        if user is not None:
            if not user.active:
                raise RunError("That account is not active")
            _check_panel_user(meeting, user)
            if user.role == "observer":
                raise RunError("Observers are added under Observers, and must be approved by the coordinator first")
            if user.role == "referrer":
                raise RunError("A referrer's account cannot attend the meeting; add them as someone else for "
                               "their agency if they are presenting the case")
            row = _attendance_row(meeting, user)
            if row is not None and row.status == "present":
                raise RunError(f"{user.name} is already signed in")
            if row is None:
                row = Attendance(meeting=meeting, user=user, created_at=at)
            row.agency = user.agency
            row.name = user.name
            row.capacity = capacity_for(user)
        else:
            if agency is None:
                raise RunError("Select the agency they attend for")
            if not name:
                raise RunError("Enter the name of the person attending")
            if len(name) > 200:
                raise RunError("The name must be 200 characters or fewer")
            row = Attendance(meeting=meeting, agency=agency, name=name, capacity="other", created_at=at)
        row.status = "present"
        row.time_in = time_in or at
        row.time_out = None
        row.recorded_by = by
        row.updated_at = at
        row.save()
        audit.record("attendance.sign_in", row, user=by,
                     detail={"meeting_id": meeting.id, "agency_id": row.agency_id, "capacity": row.capacity})
    return row


def record_apologies(meeting: Meeting, by: User, *, agency: Agency, name: str = "", written_info: bool = False,
                     user: User | None = None) -> Attendance:
    """An absent agency's apologies, and whether it sent written information instead."""
    name = (name or "").strip()
    if len(name) > 200:
        raise RunError("The name must be 200 characters or fewer")
    at = now()
    with db.atomic():
        _check_open(meeting)
        if agency is None:
            raise RunError("Select the agency sending apologies")
        if user is not None:
            _check_panel_user(meeting, user)
            row = _attendance_row(meeting, user)
            if row is not None and row.status == "present":
                raise RunError(f"{user.name} is signed in: sign them out instead")
            row = row or Attendance(meeting=meeting, user=user, created_at=at)
            row.name, row.capacity = user.name, capacity_for(user)
        else:
            row = Attendance(meeting=meeting, name=name, capacity="representative", created_at=at)
        row.agency = agency
        row.status = "apologies"
        row.written_info = bool(written_info)
        row.time_in = row.time_out = None
        row.recorded_by = by
        row.updated_at = at
        row.save()
        audit.record("attendance.apologies", row, user=by,
                     detail={"meeting_id": meeting.id, "agency_id": agency.id, "written_info": bool(written_info)})
    return row


def sign_out(row: Attendance, by: User, *, time_out: datetime | None = None,
             last_listing: Listing | None = None) -> Attendance:
    """Sign someone out, with the last case they heard when they leave before the end."""
    with db.atomic():
        _check_open(row.meeting)
        row = Attendance.get_by_id(row.id)
        if row.status != "present" or row.time_in is None:
            raise RunError("Only someone signed in can be signed out")
        if row.time_out is not None:
            raise RunError("They have already signed out")
        if last_listing is not None and last_listing.meeting_id != row.meeting_id:
            raise RunError("Select a case of this meeting")
        at = time_out or now()
        if at < row.time_in:
            raise RunError("The time out must be after the time in")
        row.time_out = at
        row.last_listing = last_listing
        row.updated_at = now()
        row.save()
        audit.record("attendance.sign_out", row, user=by,
                     detail={"meeting_id": row.meeting_id,
                             "last_listing_id": last_listing.id if last_listing else None})
    return row


def remove_attendee(row: Attendance, by: User) -> None:
    """Take a line off the attendance sheet (a mistake); audited."""
    with db.atomic():
        _check_open(row.meeting)
        audit.record("attendance.remove", row, user=by,
                     detail={"meeting_id": row.meeting_id, "agency_id": row.agency_id, "capacity": row.capacity})
        Attendance.delete().where(Attendance.id == row.id).execute()


# --- observers ------------------------------------------------------------------------------------


def observer_limit() -> int:
    return int(settings.get("observer_limit") or 0)


def observers(meeting: Meeting) -> list[Attendance]:
    return [r for r in attendance(meeting) if r.capacity == "observer"]


def approved_observer_count(meeting: Meeting) -> int:
    return (Attendance.select().where((Attendance.meeting == meeting.id) & (Attendance.capacity == "observer")
                                      & (Attendance.observer_status == "approved")).count())


def _check_before_start(meeting: Meeting) -> None:
    if has_started(meeting):
        raise RunError("The meeting has started: observers must be approved by the coordinator before it starts")


def request_observer(meeting: Meeting, by: User, *, name: str, organisation: str = "",
                     user: User | None = None) -> Attendance:
    """Note someone who asks to observe (approved or refused by the coordinator before the meeting)."""
    name = (name or (user.name if user else "")).strip()
    organisation = (organisation or "").strip()
    if not name:
        raise RunError("Enter the observer's name")
    if len(name) > 200 or len(organisation) > 200:
        raise RunError("The name and organisation must be 200 characters or fewer")
    at = now()
    with db.atomic():
        _check_open(meeting)
        _check_before_start(meeting)
        if user is not None:
            if user.role != "observer":
                raise RunError("That account is not an observer's account")
            _check_panel_user(meeting, user)
            if _attendance_row(meeting, user) is not None:
                raise RunError(f"{user.name} is already on this meeting's list")
        row = Attendance.create(meeting=meeting, user=user, agency=user.agency if user else None, name=name,
                                organisation=organisation or (user.agency.name if user else ""),
                                capacity="observer", status="expected", observer_status="requested",
                                recorded_by=by, created_at=at, updated_at=at)
        audit.record("observer.request", row, user=by, detail={"meeting_id": meeting.id})
    return row


def approve_observer(row: Attendance, by: User) -> Attendance:
    """Approve an observer, within the panel's limit per meeting (B&D: two)."""
    with db.atomic():
        meeting = row.meeting
        _check_open(meeting)
        _check_before_start(meeting)
        row = Attendance.get_by_id(row.id)
        if row.capacity != "observer":
            raise RunError("Only observers are approved")
        if row.observer_status == "approved":
            return row
        limit = observer_limit()
        if limit <= 0:
            raise RunError("This panel does not allow observers")
        if approved_observer_count(meeting) >= limit:
            raise RunError(f"The panel allows at most {limit} observer{'s' if limit != 1 else ''} at a meeting, "
                           "and that many are approved already")
        row.observer_status = "approved"
        row.decided_by, row.decided_at, row.decision_reason = by, now(), ""
        row.updated_at = now()
        row.save()
        audit.record("observer.approve", row, user=by, detail={"meeting_id": meeting.id})
    return row


def refuse_observer(row: Attendance, by: User, reason: str = "") -> Attendance:
    """Refuse (or withdraw approval from) an observer."""
    reason = (reason or "").strip()
    with db.atomic():
        _check_open(row.meeting)
        row = Attendance.get_by_id(row.id)
        if row.capacity != "observer":
            raise RunError("Only observers are refused")
        if row.status == "present":
            raise RunError("The observer is at the meeting: sign them out instead")
        row.observer_status = "refused"
        row.decided_by, row.decided_at, row.decision_reason = by, now(), reason[:2000]
        row.updated_at = now()
        row.save()
        audit.record("observer.refuse", row, user=by, detail={"meeting_id": row.meeting_id})
    return row


def observer_arrived(row: Attendance, by: User) -> Attendance:
    """Sign in an observer: only one the coordinator approved beforehand."""
    with db.atomic():
        _check_open(row.meeting)
        row = Attendance.get_by_id(row.id)
        if row.capacity != "observer":
            raise RunError("Only observers are signed in here")
        if row.observer_status != "approved":
            raise RunError(f"{row.name} has not been approved by the coordinator, so cannot observe this meeting")
        if row.status == "present":
            raise RunError(f"{row.name} is already signed in")
        row.status = "present"
        row.time_in = now()
        row.updated_at = now()
        row.recorded_by = by
        row.save()
        audit.record("attendance.sign_in", row, user=by,
                     detail={"meeting_id": row.meeting_id, "agency_id": row.agency_id, "capacity": "observer"})
    return row


# --- confidentiality ------------------------------------------------------------------------------


def statement(meeting: Meeting) -> str:
    """The statement read at this meeting (frozen at the first agreement), else the panel's current one."""
    record = record_for(meeting)
    if record is not None and record.statement:
        return record.statement
    return settings.get("confidentiality_statement")


def has_agreed(meeting: Meeting, user: User) -> bool:
    """Whether this user agreed to the confidentiality statement at this meeting."""
    return Attendance.select().where((Attendance.meeting == meeting.id) & (Attendance.user == user.id)
                                     & Attendance.agreed_at.is_null(False)).exists()


def _freeze_statement(meeting: Meeting) -> None:
    record = _ensure_record(meeting)
    if not record.statement:
        record.statement = settings.get("confidentiality_statement")
        record.updated_at = now()
        record.save()


def record_agreement(row: Attendance, by: User) -> Attendance:
    """Record that an attendee in the room agreed to the statement (the coordinator, for them)."""
    with db.atomic():
        _check_open(row.meeting)
        row = Attendance.get_by_id(row.id)
        if row.status != "present":
            raise RunError("Only someone signed in can agree to the statement")
        if row.capacity == "observer" and row.observer_status != "approved":
            raise RunError("This observer has not been approved")
        if row.agreed_at is None:
            _freeze_statement(row.meeting)
            row.agreed_at, row.agreed_recorded_by, row.updated_at = now(), by, now()
            row.save()
            audit.record("confidentiality.agree", row, user=by, detail={"meeting_id": row.meeting_id, "self": False})
    return row


def agree_self(meeting: Meeting, user: User) -> Attendance:
    """The signed-in user agrees to the statement; they are signed in to the meeting if they were not.
    An observer must have been approved for this meeting."""
    at = now()
    with db.atomic():
        _check_open(meeting)
        row = _attendance_row(meeting, user)
        if user.role == "observer":
            if row is None or row.observer_status != "approved":
                raise RunError("You have not been approved to observe this meeting")
            if row.status != "present":
                row.status, row.time_in = "present", at
        elif row is None or row.status != "present":
            if user.role == "referrer":
                raise RunError("A referrer's account cannot attend the meeting")
            row = row or Attendance(meeting=meeting, user=user, created_at=at)
            row.agency, row.name, row.capacity = user.agency, user.name, capacity_for(user)
            row.status, row.time_in, row.time_out, row.recorded_by = "present", at, None, user
            row.save()
            audit.record("attendance.sign_in", row, user=user,
                         detail={"meeting_id": meeting.id, "agency_id": row.agency_id, "capacity": row.capacity})
        if row.agreed_at is None:
            _freeze_statement(meeting)
            row.agreed_at, row.agreed_recorded_by = at, user
            row.updated_at = at
            row.save()
            audit.record("confidentiality.agree", row, user=user, detail={"meeting_id": meeting.id, "self": True})
    return row


# --- the case screen: what is shown -------------------------------------------------------------


def _json(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class CaseSummary:
    """What the meeting sees of a case before discussing it."""

    people: list  # (role, Person)
    referral: Referral | None
    referring_agency: str
    instrument: str
    score: str
    band: str
    criteria: str
    facts: list  # short flags: repeat, children, pregnancy, consent...
    texts: list  # (label, text) from the referral: current risk, incident, what was done


def case_summaries(listings: list[Listing]) -> dict[int, "CaseSummary"]:
    """case_summary for many listings in three queries (for the minutes), by listing id."""
    case_ids = [listing.case_id for listing in listings] or [0]
    people: dict[int, list] = {}
    for cp in (CasePerson.select(CasePerson, Person).join(Person)
               .where(CasePerson.case.in_(case_ids) & Person.deleted_at.is_null()).order_by(CasePerson.id)):
        people.setdefault(cp.case_id, []).append(cp)
    by_id, latest = {}, {}
    for referral in (Referral.select(Referral, Agency).join(Agency, on=(Referral.agency == Agency.id))
                     .where(Referral.case.in_(case_ids) | Referral.id.in_(
                         [li.referral_id for li in listings if li.referral_id] or [0]))
                     .order_by(Referral.submitted_at)):
        by_id[referral.id] = referral
        if referral.submitted_at is not None and referral.case_id:
            latest[referral.case_id] = referral
    return {listing.id: case_summary(listing, people.get(listing.case_id, []),
                                     by_id.get(listing.referral_id) or latest.get(listing.case_id))
            for listing in listings}


def case_summary(listing: Listing, people=None, referral=False) -> CaseSummary:
    """The referral summary and risk for the case screen (`people` and `referral` when preloaded)."""
    if people is None:
        people = list(CasePerson.select(CasePerson, Person).join(Person)
                      .where((CasePerson.case == listing.case_id) & Person.deleted_at.is_null())
                      .order_by(CasePerson.id))
    if referral is False:
        referral = None
        if listing.referral_id:
            referral = (Referral.select(Referral, Agency).join(Agency, on=(Referral.agency == Agency.id))
                        .where(Referral.id == listing.referral_id).first())
        if referral is None:
            referral = (Referral.select(Referral, Agency).join(Agency, on=(Referral.agency == Agency.id))
                        .where((Referral.case == listing.case_id) & Referral.submitted_at.is_null(False))
                        .order_by(Referral.submitted_at.desc()).first())
    facts, texts = [], []
    if listing.is_repeat or listing.case.is_repeat:
        facts.append("Repeat referral")
    if listing.is_review:
        facts.append("Returning for review")
    if listing.emergency:
        facts.append("Emergency item")
    if any(cp.role == "child" for cp in people):
        facts.append("Children in the case")
    instrument = score = band = criteria = agency = ""
    if referral is not None:
        data = _json(referral.data)
        agency = referral.agency.name
        instrument = referral.instrument_id
        score = "" if referral.score_total is None else str(referral.score_total)
        band = referral.band
        criteria = _json(referral.verdict).get("summary") or referral.criteria_met.replace(",", ", ")
        if data.get("has_children") == "yes" and "Children in the case" not in facts:
            facts.append("Children in the household")
        if any(p.get("pregnant") for p in data.get("people", []) if isinstance(p, dict)):
            facts.append("Pregnancy")
        consent = (data.get("consent") or {}).get("status") if isinstance(data.get("consent"), dict) else ""
        if consent == "given":
            facts.append("Consent given")
        elif consent in ("not_given", "not_asked"):
            facts.append("Shared without consent")
        incident = data.get("incident") if isinstance(data.get("incident"), dict) else {}
        for label, value in (("Current risk", data.get("current_risk")),
                             ("Latest incident", incident.get("description")),
                             ("Background", incident.get("background")),
                             ("What the referrer has done", data.get("actions_taken"))):
            if isinstance(value, str) and value.strip():
                texts.append((label, value.strip()))
    return CaseSummary([(cp.role, cp.person) for cp in people], referral, agency, instrument, score, band,
                       criteria, facts, texts)


def research_for(listing: Listing) -> list[Research]:
    """What each agency recorded before the meeting, with agencies, in one query."""
    return list(Research.select(Research, Agency).join(Agency)
                .where(Research.listing == listing.id).order_by(Agency.name))


def invited_agency_ids(listing: Listing) -> set[int]:
    return {i.agency_id for i in ListingInvite.select(ListingInvite.agency).where(ListingInvite.listing == listing.id)}


def sharing_agencies(listing: Listing, research_rows=None) -> list[Agency]:
    """The agencies with a 'what was shared' field: those present, those that researched the case, and
    any that shared already; for a closed session, only its invited agencies (and any that shared)."""
    meeting = listing.meeting
    shared = {s.agency_id for s in SharedInfo.select(SharedInfo.agency).where(SharedInfo.listing == listing.id)}
    research_rows = research_for(listing) if research_rows is None else research_rows
    if listing.kind == "closed":
        ids = invited_agency_ids(listing) | shared
    else:
        ids = {a.id for a in present_agencies(meeting)} | {r.agency_id for r in research_rows} | shared
        if not ids:
            ids = {a.id for a in Agency.select() if a.is_member}
    return list(Agency.select().where(Agency.id.in_(ids)).order_by(Agency.name)) if ids else []


def shared_info(listing: Listing) -> dict[int, SharedInfo]:
    return {s.agency_id: s for s in SharedInfo.select().where(SharedInfo.listing == listing.id)}


# --- the case screen: saving as typed ---------------------------------------------------------------


def save_discussion(listing: Listing, by: User, values: dict, shared: dict | None = None,
                    lead_agency: Agency | None | bool = False) -> CaseDiscussion:
    """Save what was typed (only the fields given, so two people typing in different fields do not
    overwrite each other). `shared`: {agency_id: text}. `lead_agency`: an Agency, None to clear, or
    False to leave it. Raises RunError on a value that cannot be stored."""
    shared = shared or {}
    for key, value in values.items():
        if key in TEXT_FIELDS:
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise RunError(f"Each box holds at most {MAX_TEXT} characters")
        elif key == "decision":
            if value not in ("", *DECISIONS):
                raise RunError("Select a decision from the list")
        elif key == "returns_for_review":
            if value not in (None, True, False):
                raise RunError("Say whether the case returns for review")
        elif key in FACT_FIELDS:
            if not isinstance(value, bool):
                raise RunError("Tick the box or leave it")
        else:
            raise RunError(f"Unknown field {key}")
    for text in shared.values():
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise RunError(f"Each box holds at most {MAX_TEXT} characters")
    at = now()
    with db.atomic():
        _check_open(listing.meeting)
        discussion = _ensure_discussion(listing, by)
        changed = [k for k, v in values.items() if getattr(discussion, k) != v]
        for key in changed:
            setattr(discussion, key, values[key])
        existing = shared_info(listing)
        if listing.kind == "closed":
            # A closed session's information comes only from its invited agencies.
            allowed = invited_agency_ids(listing) | set(existing)
        else:
            allowed = {a.id for a in Agency.select(Agency.id).where(Agency.id.in_(list(shared)))} if shared else set()
        shared_changed = []
        for agency_id, text in shared.items():
            if agency_id not in allowed:
                raise RunError("That agency is not invited to this closed-session case")
            row = existing.get(agency_id)
            if row is None:
                if not text.strip():
                    continue
                SharedInfo.create(listing=listing, agency=agency_id, text=text, updated_at=at, updated_by=by)
                shared_changed.append(agency_id)
            elif row.text != text:
                SharedInfo.update(text=text, updated_at=at, updated_by=by).where(SharedInfo.id == row.id).execute()
                shared_changed.append(agency_id)
        lead_changed = lead_agency is not False and (
            (lead_agency.id if lead_agency else None) != Case.get_by_id(listing.case_id).lead_agency_id)
        if lead_changed:
            Case.update(lead_agency=lead_agency, updated_at=at).where(Case.id == listing.case_id).execute()
        if changed or shared_changed or lead_changed:
            discussion.updated_at = at
            discussion.updated_by = by
            discussion.save()
            # Which fields changed, never what was typed.
            audit.record("listing.discussion_save", listing, user=by,
                         detail={"case_id": listing.case_id, "fields": sorted(changed),
                                 "shared_agencies": sorted(shared_changed), "lead_agency": bool(lead_changed)})
    return discussion


# --- actions ---------------------------------------------------------------------------------------------


def default_due_date(days: int | None = None) -> date:
    """Today plus the panel's action_due_days (or the standard action's own days)."""
    return uk_today() + timedelta(days=int(days if days is not None else _setting("action_due_days", 14)))


def actions_for(listing: Listing) -> list[Action]:
    """Actions agreed for this case at this meeting, with owner agencies, in one query."""
    return list(Action.select(Action, Agency).join(Agency, on=(Action.owner_agency == Agency.id))
                .where(Action.listing == listing.id).order_by(Action.created_at, Action.id))


def actions_agreed(meeting: Meeting) -> list[Action]:
    """Every action agreed at this meeting (for the action summary and reports), with cases and owners."""
    return list(Action.select(Action, Agency, Listing, Case)
                .join(Agency, on=(Action.owner_agency == Agency.id))
                .switch(Action).join(Listing, on=(Action.listing == Listing.id))
                .join(Case, on=(Listing.case == Case.id))
                .where(Listing.meeting == meeting.id)
                .order_by(Listing.position, Action.created_at, Action.id))


def _create_action(listing: Listing, by: User, owner: Agency, description: str, due_date: date, priority: str,
                   standard_key: str = "") -> Action:
    # The case record's own service (issue 7): one way to create an action, with its history and audit.
    # No e-mail per action during the meeting: an action can still be removed until sign-off, and the
    # action summary goes out afterwards.
    try:
        return action_service.add(Case.get_by_id(listing.case_id), by, owner_agency=owner, description=description,
                                  due_date=due_date, priority=priority, listing=listing, standard_key=standard_key,
                                  notify=False)
    except action_service.ActionError as error:
        raise RunError(str(error)) from error


def add_action(listing: Listing, by: User, *, owner_agency: Agency | None, description: str,
               due_date: date | None = None, priority: str = "normal") -> Action:
    """Record an action agreed while the case is discussed."""
    description = (description or "").strip()
    if owner_agency is None:
        raise RunError("Select the agency that owns the action")
    if not description:
        raise RunError("Enter what the agency is to do")
    if len(description) > MAX_ACTION:
        raise RunError(f"The action must be {MAX_ACTION} characters or fewer")
    if priority not in PRIORITIES:
        raise RunError("Select a priority")
    due_date = due_date or default_due_date()
    if due_date < uk_today():
        raise RunError("The due date must be today or later")
    with db.atomic():
        _check_open(listing.meeting)
        if listing.kind == "closed" and owner_agency.id not in invited_agency_ids(listing):
            raise RunError("Only an agency invited to this closed session can own its actions")
        return _create_action(listing, by, owner_agency, description, due_date, priority)


def remove_action(listing: Listing, action: Action, by: User) -> None:
    """Remove an action added at this meeting by mistake (before the minutes are signed off)."""
    with db.atomic():
        _check_open(listing.meeting)
        if action.listing_id != listing.id:
            raise RunError("Only an action agreed for this case at this meeting can be removed here")
        if action.status != "open":
            raise RunError("This action has been worked on already and cannot be removed")
        audit.record("action.remove", action, user=by,
                     detail={"case_id": action.case_id, "listing_id": listing.id, "standard_key": action.standard_key})
        Action.delete().where(Action.id == action.id).execute()


# --- standard actions ------------------------------------------------------------------------------------


def standard_action_list() -> list[dict]:
    """The panel's standard actions (setting), or its panel type's list when the setting is unusable."""
    items = settings.get("standard_actions")
    if std.problems(items):
        return std.for_panel_type(settings.get("panel_type"))
    return [dict(item) for item in items]


@dataclass
class Proposal:
    key: str
    text: str
    when: str
    owner_words: str
    owners: list  # Agency: one, several ("all"), or none (the coordinator chooses)
    due_date: date
    state: str  # proposed, added, removed
    each: bool = False  # one action for each agency present


def _facts(listing: Listing, discussion: CaseDiscussion | None) -> set[str]:
    facts = {"always"}
    children_on_case = CasePerson.select().where((CasePerson.case == listing.case_id)
                                                 & (CasePerson.role == "child")).exists()
    if children_on_case or (discussion is not None and discussion.children):
        facts.add("children")
    if discussion is not None and discussion.care_needs:
        facts.add("care_needs")
    if discussion is not None and discussion.hate_crime:
        facts.add("hate_crime")
    return facts


def _resolve_owners(owner: list[str], listing: Listing, agencies: list[Agency]) -> tuple[list[Agency], bool]:
    """Agencies for an owner list (see marac.standard_actions), and whether it is 'each agency present'."""
    invited = invited_agency_ids(listing) if listing.kind == "closed" else None

    def allowed(agency):
        return agency is not None and (invited is None or agency.id in invited)

    for word in owner:
        if word == "all":
            present = [a for a in present_agencies(listing.meeting) if a.is_member and allowed(a)]
            if not present:
                present = [a for a in agencies if a.is_member and allowed(a)]
            if present:
                return present, True
        elif word == "police":
            found = next((a for a in agencies if a.is_police and allowed(a)), None)
            if found:
                return [found], False
        elif word == "referrer":
            referral = case_summary_referral(listing)
            agency = Agency.get_or_none(Agency.id == referral.agency_id) if referral else None
            if allowed(agency):
                return [agency], False
        elif word == "lead":
            case = Case.get_by_id(listing.case_id)
            agency = Agency.get_or_none(Agency.id == case.lead_agency_id) if case.lead_agency_id else None
            if allowed(agency):
                return [agency], False
        else:
            found = next((a for a in agencies if word.lower() in a.name.lower() and allowed(a)), None)
            if found:
                return [found], False
    return [], False


def case_summary_referral(listing: Listing) -> Referral | None:
    """The referral the case was listed on, else the case's latest submitted referral."""
    if listing.referral_id:
        referral = Referral.get_or_none(Referral.id == listing.referral_id)
        if referral is not None:
            return referral
    return (Referral.select().where((Referral.case == listing.case_id) & Referral.submitted_at.is_null(False))
            .order_by(Referral.submitted_at.desc()).first())


def _dismissed(discussion: CaseDiscussion | None) -> list[str]:
    if discussion is None:
        return []
    try:
        value = json.loads(discussion.standard_dismissed or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def proposals(listing: Listing, discussion: CaseDiscussion | None = None) -> list[Proposal]:
    """The panel's standard actions that apply to this case, each proposed, added or removed."""
    discussion = discussion if discussion is not None else CaseDiscussion.get_or_none(
        CaseDiscussion.listing == listing.id)
    facts = _facts(listing, discussion)
    dismissed = set(_dismissed(discussion))
    added = {a.standard_key for a in Action.select(Action.standard_key)
             .where((Action.listing == listing.id) & (Action.standard_key != ""))}
    agencies = list(Agency.select().where(Agency.withdrawn_on.is_null()).order_by(Agency.name))
    result = []
    for item in standard_action_list():
        when = item.get("when", "always")
        if when not in facts:
            continue
        owners, each = _resolve_owners(item["owner"], listing, agencies)
        state = "added" if item["key"] in added else "removed" if item["key"] in dismissed else "proposed"
        result.append(Proposal(item["key"], item["text"], when, std.owner_label(item["owner"]), owners,
                               default_due_date(item.get("due_days")), state, each))
    return result


def record_standard_actions(listing: Listing, by: User, ticked: dict) -> list[Action]:
    """Add the ticked standard actions and remove the others. `ticked`: {key: owner Agency or None
    (the default owner)} for each ticked proposal; proposals not in it are removed."""
    created = []
    with db.atomic():
        _check_open(listing.meeting)
        discussion = _ensure_discussion(listing, by)
        dismissed = _dismissed(discussion)
        removed = []
        for proposal in proposals(listing, discussion):
            if proposal.state != "proposed":
                continue
            if proposal.key not in ticked:
                dismissed.append(proposal.key)
                removed.append(proposal.key)
                continue
            chosen = ticked[proposal.key]
            owners = [chosen] if chosen is not None else proposal.owners
            if not owners:
                raise RunError(f"Select who owns: {proposal.text}")
            if listing.kind == "closed":
                invited = invited_agency_ids(listing)
                if any(o.id not in invited for o in owners):
                    raise RunError("Only an agency invited to this closed session can own its actions")
            for owner in owners:
                created.append(_create_action(listing, by, owner, proposal.text, proposal.due_date, "normal",
                                              standard_key=proposal.key))
        discussion.standard_dismissed = json.dumps(sorted(set(dismissed)))
        discussion.updated_at, discussion.updated_by = now(), by
        discussion.save()
        audit.record("listing.standard_actions", listing, user=by,
                     detail={"case_id": listing.case_id, "added": sorted({a.standard_key for a in created}),
                             "removed": sorted(removed)})
    return created


def restore_standard_actions(listing: Listing, by: User) -> None:
    """Propose the removed standard actions again."""
    with db.atomic():
        _check_open(listing.meeting)
        discussion = _ensure_discussion(listing, by)
        discussion.standard_dismissed = "[]"
        discussion.updated_at, discussion.updated_by = now(), by
        discussion.save()
        audit.record("listing.standard_actions_restore", listing, user=by, detail={"case_id": listing.case_id})


# --- review of returning cases' outstanding actions ----------------------------------------------------------


@dataclass
class ReviewItem:
    action: Action
    listing: Listing
    review: ActionReview | None


def outstanding_actions(meeting: Meeting, listings: list[Listing] | None = None) -> list[ReviewItem]:
    """Actions agreed before this meeting on the cases listed at it: still open, or reviewed here."""
    listings = agenda(meeting) if listings is None else listings
    by_case = {listing.case_id: listing for listing in listings}
    if not by_case:
        return []
    this_meeting = Listing.select(Listing.id).where(Listing.meeting == meeting.id)
    reviews = {r.action_id: r for r in ActionReview.select().where(ActionReview.meeting == meeting.id)
               .order_by(ActionReview.id)}
    query = (Action.select(Action, Agency).join(Agency, on=(Action.owner_agency == Agency.id))
             .where(Action.case.in_(list(by_case))
                    & (Action.listing.is_null() | Action.listing.not_in(this_meeting))
                    & ((Action.status == "open") | Action.id.in_(list(reviews) or [0])))
             .order_by(Action.due_date, Action.id))
    return [ReviewItem(a, by_case[a.case_id], reviews.get(a.id)) for a in query]


def review_action(meeting: Meeting, action: Action, by: User, *, outcome: str, reason: str,
                  new_due_date: date | None = None) -> ActionReview:
    """Review one outstanding action: done, carried forward to a new date, or escalated; with a reason."""
    reason = (reason or "").strip()
    if outcome not in REVIEW_OUTCOMES:
        raise RunError("Select what happens to the action")
    if not reason:
        raise RunError("Give the reason")
    if len(reason) > MAX_ACTION:
        raise RunError(f"The reason must be {MAX_ACTION} characters or fewer")
    if outcome == "carried":
        if new_due_date is None:
            raise RunError("Enter the new due date")
        if new_due_date <= uk_today():
            raise RunError("The new due date must be in the future")
    at = now()
    with db.atomic():
        _check_open(meeting)
        action = Action.get_by_id(action.id)
        if action.status != "open":
            raise RunError("This action is no longer open")
        if action.listing_id and Listing.get_by_id(action.listing_id).meeting_id == meeting.id:
            raise RunError("This action was agreed at this meeting")
        old_due = action.due_date
        if outcome == "done":
            Action.update(status="done", completed_at=uk_today(), completed_by=by, completion_note=reason) \
                .where(Action.id == action.id).execute()
            ActionUpdate.create(action=action, user=by, kind="completed", text=f"Reviewed at the meeting: {reason}",
                                at=at)
        elif outcome == "carried":
            Action.update(due_date=new_due_date).where(Action.id == action.id).execute()
            # The same kind (and meeting) as actions.carry_over, so that one does not record it twice.
            ActionUpdate.create(action=action, user=by, kind="carried", meeting=meeting,
                                text=f"Carried forward at the meeting to {new_due_date:%d %b %Y}: {reason}", at=at)
        else:
            Action.update(escalated_at=at).where(Action.id == action.id).execute()
            ActionUpdate.create(action=action, user=by, kind="escalated", text=f"Escalated at the meeting: {reason}",
                                at=at)
        review = ActionReview.create(meeting=meeting, action=action, outcome=outcome, reason=reason,
                                     old_due_date=old_due, new_due_date=new_due_date if outcome == "carried" else None,
                                     user=by, at=at)
        audit.record("action.review", action, user=by,
                     detail={"case_id": action.case_id, "meeting_id": meeting.id, "outcome": outcome})
    return review


# --- views (audited reads) ---------------------------------------------------------------------------


def record_view(meeting: Meeting, user: User, page: str) -> None:
    """Audit a view of one of the meeting's run pages (no case details)."""
    with db.atomic():
        audit.record("meeting.run_view", meeting, user=user, detail={"page": page})


def record_case_view(listing: Listing, user: User) -> None:
    """Audit a view of a case on the meeting screen (a consultation of the case record)."""
    with db.atomic():
        audit.record("case.view", object_type="case", object_id=listing.case_id, user=user,
                     detail={"via": "meeting", "meeting_id": listing.meeting_id, "listing_id": listing.id})


def record_review_view(meeting: Meeting, user: User, items: list[ReviewItem]) -> None:
    """Audit a view of the outstanding actions of the returning cases."""
    with db.atomic():
        audit.record("meeting.review_view", meeting, user=user,
                     detail={"case_ids": sorted({i.action.case_id for i in items})})


# --- queries for reports ------------------------------------------------------------------------------------


def attendance_by_agency(start: date, end: date) -> dict[int, dict]:
    """Per agency, for the panel in view's meetings from start to end inclusive (UK dates): meetings
    attended, apologies sent, and written information sent when absent. One grouped query. A county
    report runs it once per panel inside `with panels.using(...)`."""
    lo = datetime.combine(start, datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())
    present = fn.COUNT(fn.DISTINCT(sqlfn.iif(Attendance.status == "present", Attendance.meeting, None)))
    apologies = fn.COUNT(fn.DISTINCT(sqlfn.iif(Attendance.status == "apologies", Attendance.meeting, None)))
    written = fn.COUNT(fn.DISTINCT(sqlfn.iif(Attendance.written_info == True, Attendance.meeting, None)))  # noqa: E712
    rows = (Attendance.select(Attendance.agency, present.alias("present"), apologies.alias("apologies"),
                              written.alias("written"))
            .join(Meeting, on=(Attendance.meeting == Meeting.id))
            .where((Meeting.panel == panels.current_panel_id()) & (Meeting.starts_at >= lo) & (Meeting.starts_at < hi)
                   & Attendance.agency.is_null(False)
                   & (Attendance.capacity != "observer") & (Meeting.status != "cancelled"))
            .group_by(Attendance.agency).dicts())
    return {r["agency"]: {"present": r["present"], "apologies": r["apologies"], "written_info": r["written"]}
            for r in rows}
