"""The case record: what the case page shows (people, risk history, timeline), search, closure.

Every read of a case goes through a function here that writes its `case.view` / `case.search`
audit row first: if the audit write fails, nothing is shown (SECURITY.md check 26).
The timeline is a fixed number of queries whatever the case holds: one UNION ALL of ids over
every kind of entry (keyset-paginated, newest first), then one query per kind for the rows.
"""
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce

from peewee import JOIN, SQL, Value, fn

from marac import audit, clock, settings
from marac.access import COORDINATOR, case_filter, restricted_filter
from marac.db import db
from marac.models import (
    Action,
    ActionUpdate,
    Agency,
    Case,
    CaseDiscussion,
    CaseEvent,
    CasePerson,
    Document,
    Listing,
    Meeting,
    Note,
    Person,
    PersonAlias,
    Referral,
    ReferralAmendment,
    Research,
    SharedInfo,
    User,
)
from marac.panels import current_panel_id
from marac.risk import add_months

CLOSE_REASONS = {
    "risk_reduced": "Risk reduced",
    "moved_away": "Moved out of the area",
    "transferred": "Transferred to another MARAC",
    "other": "Other",
}
# Filters offered on the timeline: each covers one or more kinds of entry.
TIMELINE_FILTERS = {
    "referral": ("Referrals and risk assessments", ("referral", "amendment")),
    "meeting": ("Listings, research and minutes", ("listing", "research", "minutes")),
    "action": ("Actions", ("action", "action_update")),
    "note": ("Case notes", ("note",)),
    "document": ("Documents", ("document",)),
    "case": ("Closure, reopening and transfer", ("event",)),
}
TIMELINE_PAGE_SIZE = 25
SEARCH_LIMIT = 50
# People matched before their cases are looked up: a broader search asks for more details.
PERSON_LIMIT = 1000
# Referral statuses that are part of the case record (drafts never are).
RECORDED_REFERRALS = ("submitted", "returned", "accepted", "declined", "transferred")
PEOPLE_ORDER = {"victim": 0, "subject": 1, "perpetrator": 2, "child": 3, "witness": 4, "other": 5}


class CaseError(ValueError):
    """A change the case's state does not allow (the message is shown to the user)."""


# --- forgiving keys (the same rules as marac.people, kept here so search has no dependency) -----

_NOT_IN_KEY = re.compile(r"[\s\-'\u2019\u2018`.]+")


def name_key(given: str, family: str = "") -> str:
    """A forgiving comparison key: lower case, accents, spaces, hyphens and apostrophes removed."""
    text = unicodedata.normalize("NFKD", f"{given or ''}{family or ''}")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_IN_KEY.sub("", text.casefold())


def postcode_key(postcode: str) -> str:
    """A postcode without spaces, in capitals ("ig11 7ab " -> "IG117AB")."""
    return re.sub(r"\s+", "", postcode or "").upper()


def _prefix(field_, value: str):
    """An index-friendly 'starts with' (a range), unlike LIKE on a case-sensitive column."""
    return (field_ >= value) & (field_ < value + "\U0010ffff")


# --- the case page ------------------------------------------------------------------------------


@dataclass
class CaseRecord:
    case: Case
    people: list = field(default_factory=list)          # CasePerson with .person
    other_cases: dict = field(default_factory=dict)     # person id -> [Case] the user may see
    assessments: list = field(default_factory=list)     # Referral, oldest first
    flag_until: date | None = None

    @property
    def current_risk(self):
        scored = [r for r in self.assessments if r.score_total is not None or r.band]
        return scored[-1] if scored else None


# What the case page and its timeline show of joined rows: names only (not a user's password hash or second-factor
# secret, nor an agency's agreement dates), which also keeps a page of entries cheap to read.
_AGENCY = (Agency.id, Agency.name)
_USER = (User.id, User.name, User.agency)


def _visible_by_id(user):
    """access.visible_case_where(user), for queries that reach cases by id or number (a person's cases, the
    search): the panel stays a filter ("panel_id + 0") instead of an index to walk. As an equality on the
    (panel_id, status) index, SQLite (no ANALYZE) reads every case of the panel before the ids (issue 12)."""
    where = case_filter(user)
    if where is False:
        return Case.id == 0
    live = ((Case.panel + 0) == current_panel_id()) & Case.deleted_at.is_null()
    return live if where is True else live & where


def open_case(case: Case, user) -> CaseRecord:
    """Audit the view, then load the case page's people, links and risk history (fixed queries)."""
    with db.atomic():
        audit.record("case.view", case, user=user)
    people = list(CasePerson.select(CasePerson, Person).join(Person)
                  .where((CasePerson.case == case) & Person.deleted_at.is_null()))
    people.sort(key=lambda cp: (PEOPLE_ORDER.get(cp.role, 9), cp.person.family_name, cp.person.given_name))
    record = CaseRecord(case=case, people=people)
    person_ids = [cp.person_id for cp in people]
    if person_ids:
        links = (CasePerson.select(CasePerson.person, Case.id, Case.number, Case.status).join(Case)
                 .where(CasePerson.person.in_(person_ids) & (CasePerson.case != case.id)
                        & _visible_by_id(user))
                 .order_by(Case.opened_at.desc()))
        for link in links:
            bucket = record.other_cases.setdefault(link.person_id, [])
            if all(c.id != link.case.id for c in bucket):
                bucket.append(link.case)
    record.assessments = list(
        Referral.select(Referral.id, Referral.agency, Referral.submitted_at, Referral.instrument_id,
                        Referral.score_total, Referral.band, Referral.criteria_met, *_AGENCY).join(Agency)
        .where((Referral.case == case) & Referral.status.in_(RECORDED_REFERRALS))
        .order_by(Referral.submitted_at, Referral.id))
    record.flag_until = flag_until(case, record.assessments)
    return record


def flag_until(case: Case, referrals=None) -> date:
    """'Flag and tag' end date: N months (setting flag_months) after the last referral shown on the case."""
    if referrals is None:
        referrals = list(Referral.select(Referral.submitted_at)
                         .where((Referral.case == case) & Referral.status.in_(RECORDED_REFERRALS)))
    dates = [r.submitted_at for r in referrals if r.submitted_at]
    last = max(dates) if dates else case.opened_at
    return add_months(last.date() if isinstance(last, datetime) else last, int(settings.get("flag_months")))


# --- the timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a timeline page ends: the (time, kind, id) of its last entry, newest first."""

    at: datetime
    kind: str
    oid: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.kind}~{self.oid}"

    @classmethod
    def decode(cls, text: str | None):
        """The cursor in a 'before' parameter, or None when absent or malformed."""
        try:
            at, kind, oid = (text or "").split("~")
            return cls(datetime.fromisoformat(at), kind, int(oid))
        except ValueError:
            return None


@dataclass
class TimelinePage:
    entries: list
    next_cursor: Cursor | None


def _before(at, kind: str, oid, cursor: Cursor | None):
    """Rows of one kind that sort after the cursor in (at, kind, id) descending order."""
    if cursor is None:
        return True
    if kind < cursor.kind:
        return at <= cursor.at
    if kind > cursor.kind:
        return at < cursor.at
    return (at < cursor.at) | ((at == cursor.at) & (oid < cursor.oid))


def _and(where, extra):
    return where if extra is True else where & extra


def _sources(case_id: int, user, agency_id: int | None, cursor: Cursor | None):
    """One id query per kind of entry: (kind, query selecting kind, at, oid)."""
    rest_note = restricted_filter(Note, user)
    rest_doc = restricted_filter(Document, user)

    def sel(kind, model, at, oid, agency, where, joins=()):
        query = model.select(Value(kind).alias("kind"), at.alias("at"), oid.alias("oid"))
        for join_model in joins:
            query = query.join(join_model)
        after = _before(at, kind, oid, cursor)
        if after is not True:
            where = where & after
        if agency_id is not None:
            if agency is None:
                return None  # this kind belongs to no agency (listings): nothing matches
            where = where & (agency == agency_id)
        return query.where(where)

    return {
        "referral": sel("referral", Referral, Referral.submitted_at, Referral.id, Referral.agency,
                        (Referral.case == case_id) & Referral.status.in_(RECORDED_REFERRALS)
                        & Referral.submitted_at.is_null(False)),
        "amendment": sel("amendment", ReferralAmendment, ReferralAmendment.at, ReferralAmendment.id,
                         Referral.agency, Referral.case == case_id, joins=(Referral,)),
        "listing": sel("listing", Listing, Listing.created_at, Listing.id, None, Listing.case == case_id),
        # What the meeting recorded, once the chair has signed the minutes off (drafts are not shared).
        "minutes": sel("minutes", CaseDiscussion, CaseDiscussion.updated_at, CaseDiscussion.id, None,
                       (Listing.case == case_id) & Meeting.minutes_signed_off_at.is_null(False),
                       joins=(Listing, Meeting)),
        "research": sel("research", Research, Research.created_at, Research.id, Research.agency,
                        Listing.case == case_id, joins=(Listing,)),
        "action": sel("action", Action, Action.created_at, Action.id, Action.owner_agency, Action.case == case_id),
        "action_update": sel("action_update", ActionUpdate, ActionUpdate.at, ActionUpdate.id, Action.owner_agency,
                             (Action.case == case_id) & (ActionUpdate.kind != "created"), joins=(Action,)),
        "note": sel("note", Note, Note.created_at, Note.id, Note.agency,
                    _and(Note.case == case_id, rest_note)),
        "document": sel("document", Document, Document.created_at, Document.id, Document.agency,
                        _and(Document.case == case_id, rest_doc)),
        "event": sel("event", CaseEvent, CaseEvent.at, CaseEvent.id, CaseEvent.agency, CaseEvent.case == case_id),
    }


def _parse_at(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _load(kind: str, ids: list[int]) -> dict:
    """The rows of one kind, by id, with what the timeline shows about them (one query)."""
    if kind == "referral":
        query = (Referral.select(Referral.id, Referral.case, Referral.agency, Referral.status, Referral.submitted_at,
                                 Referral.score_total, Referral.band, Referral.criteria_met, Referral.is_repeat,
                                 *_AGENCY).join(Agency))
    elif kind == "amendment":
        query = (ReferralAmendment.select(ReferralAmendment, *_USER, *_AGENCY)
                 .join(User).join(Agency))
    elif kind == "listing":
        query = Listing.select(Listing, Meeting.id, Meeting.starts_at).join(Meeting)
    elif kind == "research":
        query = Research.select(Research, *_AGENCY).join(Agency)
    elif kind == "minutes":
        query = (CaseDiscussion.select(CaseDiscussion, Listing.id, Listing.meeting, Meeting.id, Meeting.starts_at)
                 .join(Listing).join(Meeting))
    elif kind == "action":
        query = Action.select(Action, *_AGENCY).join(Agency)
    elif kind == "action_update":
        query = (ActionUpdate.select(ActionUpdate, Action.id, Action.owner_agency, *_AGENCY, *_USER)
                 .join(Action).join(Agency).switch(ActionUpdate).join(User, JOIN.LEFT_OUTER))
    elif kind == "note":
        query = Note.select(Note, *_USER, *_AGENCY).join(User).switch(Note).join(Agency)
    elif kind == "document":
        query = Document.select(Document, *_USER, *_AGENCY).join(User).switch(Document).join(Agency)
    else:
        query = (CaseEvent.select(CaseEvent, *_USER, *_AGENCY).join(User, JOIN.LEFT_OUTER)
                 .switch(CaseEvent).join(Agency, JOIN.LEFT_OUTER))
    model = query.model
    return {row.id: row for row in query.where(model.id.in_(ids))}


def timeline(case: Case, user, *, kind: str = "", agency_id: int | None = None, before: Cursor | None = None,
             page_size: int = TIMELINE_PAGE_SIZE) -> TimelinePage:
    """One page of the case's timeline, newest first, filtered by kind and agency."""
    sources = _sources(case.id, user, agency_id, before)
    wanted = TIMELINE_FILTERS[kind][1] if kind in TIMELINE_FILTERS else tuple(sources)
    queries = [sources[k] for k in wanted if sources.get(k) is not None]
    if not queries:
        return TimelinePage([], None)
    union = reduce(lambda a, b: a.union_all(b), queries)
    rows = list(union.order_by(SQL('"at"').desc(), SQL('"kind"').desc(), SQL('"oid"').desc())
                .limit(page_size + 1).tuples())
    more = len(rows) > page_size
    rows = rows[:page_size]
    by_kind: dict[str, list[int]] = {}
    for k, _at, oid in rows:
        by_kind.setdefault(k, []).append(oid)
    loaded = {k: _load(k, ids) for k, ids in by_kind.items()}
    if "minutes" in loaded:
        shared = {}
        listing_ids = [d.listing_id for d in loaded["minutes"].values()]
        for info in (SharedInfo.select(SharedInfo, Agency).join(Agency)
                     .where(SharedInfo.listing.in_(listing_ids)).order_by(Agency.name)):
            shared.setdefault(info.listing_id, []).append(info)
        for discussion in loaded["minutes"].values():
            discussion.shared = shared.get(discussion.listing_id, [])
    corrected = set()
    if "note" in loaded:
        corrections = Note.select(Note.corrects).where(Note.corrects.in_(list(loaded["note"])))
        where = restricted_filter(Note, user)
        if where is not True:
            corrections = corrections.where(where)
        corrected = {n.corrects_id for n in corrections}
    entries = []
    for k, at, oid in rows:
        obj = loaded[k].get(oid)
        if obj is not None:
            entries.append({"kind": k, "at": _parse_at(at), "obj": obj,
                            "corrected": k == "note" and oid in corrected})
    next_cursor = None
    if more and rows:
        k, at, oid = rows[-1]
        next_cursor = Cursor(_parse_at(at), k, oid)
    return TimelinePage(entries, next_cursor)


def timeline_agencies(case: Case) -> list[Agency]:
    """Agencies with entries on this case (for the agency filter): one query."""
    ids = (Referral.select(Referral.agency.alias("a")).where(Referral.case == case)
           .union(Action.select(Action.owner_agency).where(Action.case == case))
           .union(Note.select(Note.agency).where(Note.case == case))
           .union(Document.select(Document.agency).where(Document.case == case))
           .union(Research.select(Research.agency).join(Listing).where(Listing.case == case)))
    return list(Agency.select().where(Agency.id.in_(ids)).order_by(Agency.name))


def view_timeline_page(case: Case, user, **kwargs) -> TimelinePage:
    """A further page of the timeline (load more): audited as a view of the case."""
    with db.atomic():
        audit.record("case.view", case, user=user, detail={"part": "timeline"})
    return timeline(case, user, **kwargs)


# --- search -------------------------------------------------------------------------------------


def _name_condition(text: str):
    """Person rows whose name matches: full-name key by prefix (either word order), an alias, or the
    family name alone (lower(family_name), an expression index: see migration m0501)."""
    words = [w for w in re.split(r"\s+", text.strip()) if w]
    keys = {name_key(text)}
    if len(words) >= 2:
        keys.add(name_key(" ".join(words[1:]), words[0]))  # "Family Given" typed the other way round
    keys.discard("")
    if not keys:
        return None
    cond = reduce(lambda a, b: a | b, [_prefix(Person.name_key, k) for k in keys])
    alias_ids = PersonAlias.select(PersonAlias.person).where(
        reduce(lambda a, b: a | b, [_prefix(PersonAlias.name_key, k) for k in keys]))
    family = fn.lower(Person.family_name)
    variants = {sep.join(words).lower() for sep in (" ", "-", "")}
    return cond | Person.id.in_(alias_ids) | reduce(lambda a, b: a | b, [_prefix(family, v) for v in variants])


def search(user, *, number: str = "", name: str = "", date_of_birth: date | None = None, postcode: str = ""):
    """Cases this user may see matching every criterion given; None when no criterion was given.

    Name, date of birth and postcode must all match the same person. Matching people are found
    first (index seeks), then their cases, then the visibility rule on those cases only.
    Audited without the search terms (they are personal data): which fields, how many results.
    """
    used = [k for k, v in (("number", number.strip()), ("name", name.strip()), ("date_of_birth", date_of_birth),
                           ("postcode", postcode.strip())) if v]
    if not used:
        return None
    person_conds = []
    if name.strip():
        cond = _name_condition(name)
        if cond is not None:
            person_conds.append(cond)
    if date_of_birth:
        person_conds.append(Person.date_of_birth == date_of_birth)
    if postcode.strip():
        key = postcode_key(postcode)
        person_conds.append(Person.postcode_key == key if len(key) >= 5 else _prefix(Person.postcode_key, key))
    # Only the columns the results show; ids as plain tuples (no model object per row).
    query = Case.select(Case.id, Case.number, Case.status, Case.opened_at).where(_visible_by_id(user))
    capped = False
    if person_conds:
        # Only the panel's people (issue 12): another panel's look-alikes must not fill the PERSON_LIMIT.
        # "panel_id + 0" keeps it a filter: as an equality on person's panel index, SQLite (no ANALYZE)
        # would walk every person of the panel instead of seeking the name, birth date or postcode.
        persons = [pid for (pid,) in Person.select(Person.id).where(
            ((Person.panel + 0) == current_panel_id()) & Person.deleted_at.is_null()
            & reduce(lambda a, b: a & b, person_conds)).limit(PERSON_LIMIT + 1).tuples()]
        capped = len(persons) > PERSON_LIMIT
        query = query.where(Case.id.in_(CasePerson.select(CasePerson.case)
                                        .where(CasePerson.person.in_(persons[:PERSON_LIMIT]))))
    if number.strip():
        # Case numbers are stored in capitals (M-2026-0001): a range on the unique index.
        query = query.where(_prefix(Case.number, number.strip().upper()))
    # Read first, then a short write transaction for the audit row: the search must not hold
    # the database's write lock (BEGIN IMMEDIATE) while it runs. If the audit write fails, the
    # exception means nothing is shown.
    cases = list(query.order_by(Case.opened_at.desc(), Case.id.desc()).limit(SEARCH_LIMIT + 1))
    with db.atomic():
        audit.record("case.search", object_type="case", object_id="",
                     detail={"fields": used, "results": min(len(cases), SEARCH_LIMIT)}, user=user)
    people = {}
    if cases:
        # The people of every listed case in one query, as tuples of the columns shown.
        for case_id, role, given, family, born in (
                CasePerson.select(CasePerson.case, CasePerson.role, Person.given_name, Person.family_name,
                                  Person.date_of_birth).join(Person)
                .where(CasePerson.case.in_([c.id for c in cases[:SEARCH_LIMIT]]) & Person.deleted_at.is_null())
                .tuples()):
            people.setdefault(case_id, []).append(SearchPerson(role, f"{given} {family}".strip(), born))
    for c in cases:
        c.search_people = sorted(people.get(c.id, []), key=lambda sp: PEOPLE_ORDER.get(sp.role, 9))
    return SearchResult(cases[:SEARCH_LIMIT], len(cases) > SEARCH_LIMIT or capped)


@dataclass(frozen=True, slots=True)
class SearchPerson:
    """A person as a search result lists them: role, name, date of birth."""
    role: str
    full_name: str
    date_of_birth: date | None


@dataclass
class SearchResult:
    cases: list
    more: bool


def may_search(user) -> bool:
    return case_filter(user) is not False


# --- closure ------------------------------------------------------------------------------------


def close(case: Case, user, reason: str, text: str = "") -> None:
    """Close the case with a reason; the flag-and-tag end date is fixed from its last referral."""
    if reason not in CLOSE_REASONS:
        raise CaseError("Select why the case is being closed")
    if reason == "other" and not text.strip():
        raise CaseError("Say why the case is being closed")
    now = clock.now()
    with db.atomic():
        current = Case.get_by_id(case.id)
        if current.status == "closed":
            raise CaseError("This case is already closed")
        until = flag_until(current)
        Case.update(status="closed", closed_at=now, close_reason=reason, flag_until=until, updated_at=now
                    ).where(Case.id == case.id).execute()
        CaseEvent.create(case=case, user=user, agency=user.agency_id, at=now, kind="closed", reason=reason,
                         text=text.strip())
        audit.record("case.close", case, user=user, detail={"reason": reason})


def reopen(case: Case, user, text: str = "", reason: str = "coordinator", status: str = "open") -> None:
    """Reopen a closed case (the coordinator's decision, or a repeat referral: reason='repeat_referral')."""
    now = clock.now()
    with db.atomic():
        current = Case.get_by_id(case.id)
        if current.status != "closed":
            raise CaseError("Only a closed case can be reopened")
        Case.update(status=status, closed_at=None, close_reason="", updated_at=now).where(Case.id == case.id).execute()
        CaseEvent.create(case=case, user=user, agency=getattr(user, "agency_id", None), at=now, kind="reopened",
                         reason=reason, text=text.strip())
        audit.record("case.reopen", case, user=user, detail={"reason": reason})


def set_lead_agency(case: Case, user, agency: Agency | None) -> None:
    """Set or clear the case's lead agency (coordinator)."""
    with db.atomic():
        Case.update(lead_agency=agency, updated_at=clock.now()).where(Case.id == case.id).execute()
        audit.record("case.update", case, user=user, detail={"fields": ["lead_agency"]})


def referral_data(referral: Referral) -> dict:
    """The referral form as stored (JSON), or {} when unreadable."""
    try:
        data = json.loads(referral.data or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def amendment_fields(amendment) -> list[str]:
    """The names of the fields an amendment changed (never their values on the timeline)."""
    try:
        changes = json.loads(amendment.changes or "{}")
    except ValueError:
        return []
    return [str(k).replace("_", " ") for k in changes] if isinstance(changes, dict) else []


def is_coordinator(user) -> bool:
    return user.role == COORDINATOR
