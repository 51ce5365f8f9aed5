"""The coordinator's referral inbox: the system's flags, quality assurance, decisions, transfers in.

Flags are computed for a whole page of referrals in a fixed number of queries (never one per
row): the referrals' people, every other referral sharing one of those people, the listings of
those referrals' cases, the victims' open cases, and the proposed person matches.

Identity: each submitted referral gets its own Person records (marac.people); a confirmed
PersonMatch points the referral's links at the earlier Person, so "the same victim" is simply
"the same person_id". A person the coordinator has not matched yet is a new person, which is
why a referral cannot be accepted while matches are still proposed.

Panels (issue 12): the inbox is the panel in view's. Its queue, the flags' history (repeats, links,
open cases), the matches shown and the decisions read only that panel's rows, so a borough never sees
that another panel knows the same person; an accepted referral's case is made in the referral's panel.

Decisions write the Referral fields the referrer's "My referrals" page shows (status,
decision_reason, coordinator_comment, transfer_area, qa_reason) and one audit row each, whose
detail holds the coded reason (never the free text, which may name someone).
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from peewee import fn

from marac import audit, clock, settings, sqlfn
from marac.db import db
from marac.models import (
    Agency,
    Case,
    CasePerson,
    Listing,
    Meeting,
    Person,
    PersonMatch,
    Referral,
    ReferralPerson,
    User,
)
from marac.panels import current_panel_id
from marac.prepared import Prepared
from marac.risk import PanelRules, PreviousReferral, ReferralFacts, evaluate

VICTIM_ROLES = ("victim", "subject")
OPEN_CASE_STATUSES = ("open", "listed", "heard", "review")
# Referrals that can link to a new one: still in the inbox, accepted here, or sent to another MARAC.
HISTORY_STATUSES = ("submitted", "accepted", "transferred")

DECLINE_REASONS = {
    "below_threshold": "Does not meet the panel's threshold",
    "pj_not_supported": "Professional judgement not supported at quality assurance",
    "out_of_area": "The person does not live in the area the panel covers",
    "under_age": "Under the panel's age limit",
    "other_panel": "Managed by another panel (for example MAPPA, the DV MARAC or a gangs panel)",
    "duplicate": "Already referred, or already open at this panel",
    "other": "Another reason (explain below)",
}
QA_ROUTE_LABELS = {"chair": "the chair", "coordinator": "the coordinator"}
MATCH_REASON_LABELS = {
    "name_dob": "same name and date of birth",
    "dob_postcode": "same date of birth and postcode",
    "alias_dob": "a known alias and the same date of birth",
    "name_linked": "the same name, in an earlier referral of someone else in this one",
}
ACCEPT_GROUNDS = {
    "repeat": "Repeat referral (heard whatever the score)",
    "transfer_in": "Received from another MARAC",
    "quality_assured": "Professional judgement, quality-assured",
    "threshold": "Meets the threshold",
    "coordinator_judgement": "Accepted on the coordinator's judgement",
}
DECLINE_WINDOW_DAYS = 365
DECLINE_REPEATED_AT = 2


class DecisionError(ValueError):
    """A decision that cannot be made on this referral now (already decided, QA pending, ...)."""


@dataclass
class Flag:
    """One of the system's flags on a referral; links to the earlier referral or case when known."""

    key: str
    label: str
    text: str
    tone: str = "grey"  # GOV.UK tag colour
    referral_id: int | None = None
    case_id: int | None = None


@dataclass
class InboxItem:
    referral: Referral
    links: list = field(default_factory=list)  # ReferralPerson rows with .person loaded
    flags: list[Flag] = field(default_factory=list)
    qa_route: str = ""
    repeat_of: int | None = None
    open_case_id: int | None = None
    proposed_matches: int = 0

    @property
    def victim(self):
        return next((link.person for link in self.links if link.role in VICTIM_ROLES), None)

    @property
    def perpetrators(self):
        return [link.person for link in self.links if link.role == "perpetrator"]

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.flags)


# --- settings and routing ------------------------------------------------------------------


def panel_rules() -> PanelRules:
    """The panel's referral criteria (defaults when the referral-form settings are absent)."""
    getter = getattr(settings, "panel_rules", None)
    return getter() if getter else PanelRules()


def qa_route(referral, police_by: str | None = None) -> str:
    """Who quality-assures this referral: "chair", "coordinator", or "" when it needs no QA."""
    if not referral.professional_judgement or not referral.qa_status:
        return ""
    police_by = police_by or settings.get("qa_police_by")
    return "chair" if referral.agency.is_police and police_by == "chair" else "coordinator"


def may_see(user, referral) -> bool:
    """The inbox's object rule: the coordinator sees every submitted referral; the chair, the
    police referrals routed to them for quality assurance."""
    if referral.status == "draft":
        return False
    if user.role == "coordinator":
        return True
    return user.role == "chair" and qa_route(referral) == "chair"


# --- the queue and its flags -----------------------------------------------------------------


def _referrals():
    return (Referral.select(Referral, Agency, User)
            .join(Agency, on=(Referral.agency == Agency.id))
            .switch(Referral).join(User, on=(Referral.author == User.id)))


def _submitted(qa_pending: bool, panel_id: int):
    """The submitted referrals of one panel (another panel's inbox is never read)."""
    query = _referrals().where((Referral.panel == panel_id) & (Referral.status == "submitted"))
    if qa_pending:
        query = query.where(Referral.qa_status == "pending")
    return query.order_by(Referral.submitted_at, Referral.id)


# The queue's own query, compiled once (marac.prepared): three models' columns cost more to build than to run.
# The panel is an argument, not a constant: the compiled SQL is shared by every panel's requests.
_QUEUE = Prepared(lambda panel_id: _submitted(False, panel_id), Prepared.INT)
_QA_QUEUE = Prepared(lambda panel_id: _submitted(True, panel_id), Prepared.INT)


def queue(user, show: str = "all") -> list[InboxItem]:
    """Submitted referrals of the panel in view, in arrival order with their flags; the chair gets their QA queue."""
    referrals = (_QA_QUEUE if user.role == "chair" or show == "qa" else _QUEUE).rows(current_panel_id())
    items = build_items(referrals)
    if user.role == "chair":
        items = [i for i in items if i.qa_route == "chair"]
    if show == "linked":
        items = [i for i in items if any(f.key in LINK_FLAGS for f in i.flags)]
    return items


def view_queue(user, show: str = "all") -> list[InboxItem]:
    """The queue for a page, with one audit row for the viewing (names are on the page)."""
    items = queue(user, show)
    with db.atomic():
        audit.record("inbox.view", object_type="inbox", object_id=user.role, user=user,
                     detail={"show": show, "count": len(items)})
    return items


LINK_FLAGS = ("repeat", "possible_repeat", "same_victim_new_perpetrator", "same_perpetrator_new_victim",
              "open_case", "duplicate_person", "previously_referred")


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _data(referral) -> dict:
    try:
        value = json.loads(referral.data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _answer(data: dict, *keys):
    """The first of these keys the referral data holds (top level, or in its "criteria" section)."""
    for source in (data, data.get("criteria") if isinstance(data.get("criteria"), dict) else {}):
        for key in keys:
            if key in source and source[key] not in ("", None):
                return source[key]
    return None


def _truthy(value) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "y", "true", "1", "on")
    return bool(value)


@dataclass
class _History:
    """An earlier referral sharing someone with the referrals on the page."""

    id: int
    status: str
    submitted: date
    case_id: int | None
    source: str
    victims: list = field(default_factory=list)
    perpetrators: list = field(default_factory=list)
    people: set = field(default_factory=set)


def build_items(referrals: list) -> list[InboxItem]:
    """InboxItems with every flag, for a list of submitted referrals of the panel in view, in a fixed number
    of queries. The history, open cases and settings are that panel's: a repeat is a repeat at this panel."""
    if not referrals:
        return []
    panel_id = current_panel_id()
    if any(r.panel_id != panel_id for r in referrals):
        raise ValueError("build_items: a referral of another panel (work in its panel: marac.panels.using)")
    values = settings.all_settings()
    rules = settings.panel_rules(values)
    anchor = values.get("repeat_anchor", "referral")
    police_by = values.get("qa_police_by", "chair")
    prefixes = [p.strip().upper() for p in values.get("borough_postcode_prefixes") or [] if p.strip()]
    today = clock.now().date()
    ids = [r.id for r in referrals]

    links = defaultdict(list)
    for link in (ReferralPerson.select(ReferralPerson, Person).join(Person)
                 .where(ReferralPerson.referral.in_(ids))
                 .order_by(ReferralPerson.referral, ReferralPerson.position, ReferralPerson.id)):
        links[link.referral_id].append(link)
    matches = defaultdict(list)
    # Only the panel's people are candidates (a proposal naming another panel's record is never shown).
    for match in (PersonMatch.select(PersonMatch).join(Person, on=(PersonMatch.candidate == Person.id))
                  .where(PersonMatch.referral.in_(ids) & (PersonMatch.status == "proposed")
                         & (Person.panel == panel_id))):
        matches[match.referral_id].append(match)

    person_ids = {link.person_id for rows in links.values() for link in rows}
    person_ids |= {m.candidate_id for rows in matches.values() for m in rows}
    history = _history(person_ids, panel_id)
    listings = _listings({h.case_id for h in history.values() if h.case_id}, panel_id)
    open_cases = _open_cases({link.person_id for rows in links.values() for link in rows
                              if link.role in VICTIM_ROLES}, panel_id)
    by_person = defaultdict(list)
    for h in history.values():
        for pid in h.people:
            by_person[pid].append(h)

    items = []
    for referral in referrals:
        item = InboxItem(referral, links[referral.id], qa_route=qa_route(referral, police_by),
                         proposed_matches=len(matches[referral.id]))
        _flag(item, matches[referral.id], by_person, listings, open_cases, rules, anchor, prefixes, today)
        items.append(item)
    return items


def _history(person_ids: set, panel_id: int) -> dict[int, _History]:
    """The panel's earlier referrals naming any of these people (another panel's are never a repeat here)."""
    if not person_ids:
        return {}
    shared = ReferralPerson.select(ReferralPerson.referral).where(ReferralPerson.person.in_(list(person_ids)))
    rows = (ReferralPerson.select(ReferralPerson.referral, ReferralPerson.person, ReferralPerson.role, Referral.id,
                                  Referral.status, Referral.submitted_at, Referral.case, Referral.source)
            .join(Referral)
            .where(ReferralPerson.referral.in_(shared) & (Referral.panel == panel_id) & (Referral.status != "draft")
                   & Referral.submitted_at.is_null(False))
            .order_by(ReferralPerson.position, ReferralPerson.id))
    history: dict[int, _History] = {}
    # Plain tuples: every earlier referral of everyone on the page, no model object per row.
    for _referral_id, person_id, role, referral_id, status, submitted_at, case_id, source in rows.tuples():
        h = history.get(referral_id)
        if h is None:
            h = history[referral_id] = _History(referral_id, status, submitted_at.date(), case_id, source)
        h.people.add(person_id)
        if role in VICTIM_ROLES:
            h.victims.append(person_id)
        elif role == "perpetrator":
            h.perpetrators.append(person_id)
    return history


def _listings(case_ids: set, panel_id: int) -> dict[int, list]:
    if not case_ids:
        return {}
    result = defaultdict(list)
    for listing in (Listing.select(Listing.case, Listing.referral, Listing.kind, Meeting.starts_at, Meeting.status)
                    .join(Meeting).where(Listing.case.in_(list(case_ids)) & (Meeting.panel == panel_id))):
        result[listing.case_id].append(listing)
    return result


def _open_cases(victim_ids: set, panel_id: int) -> dict[int, Case]:
    """The open case of the panel each victim is in (a case at another panel is not "already open here")."""
    if not victim_ids:
        return {}
    result = {}
    victims = CasePerson.person.in_(list(victim_ids)) & CasePerson.role.in_(VICTIM_ROLES)
    # Their cases by id (a list from case_person's person index): left to choose, SQLite (no ANALYZE) walks
    # every open case of the borough instead, a scan that grows with the number of cases.
    their_cases = CasePerson.select(CasePerson.case).where(victims)
    for row in (CasePerson.select(CasePerson.person, Case.id, Case.number, Case.status).join(Case)
                .where(victims & Case.id.in_(their_cases) & (Case.panel == panel_id)
                       & Case.status.in_(OPEN_CASE_STATUSES) & Case.deleted_at.is_null())
                .order_by(Case.opened_at.desc())):
        result.setdefault(row.person_id, row.case)
    return result


def _information_only(h: _History, listings: dict) -> bool:
    """An earlier referral heard "for information only" does not make a later one a repeat."""
    case_listings = listings.get(h.case_id, [])
    own = [x for x in case_listings if x.referral_id == h.id]
    if not own and not any(x.referral_id for x in case_listings):
        own = case_listings
    return bool(own) and all(x.kind == "information" for x in own)


def _anchor_date(h: _History, listings: dict, anchor: str, today: date) -> date:
    """The date the repeat window runs from: the referral, or the case's last hearing when chosen."""
    if anchor != "hearing":
        return h.submitted
    heard = [x.meeting.starts_at.date() for x in listings.get(h.case_id, [])
             if x.kind != "information" and x.meeting.status != "cancelled" and x.meeting.starts_at.date() <= today]
    return max(heard, default=h.submitted)


def _earlier(h: _History, referral) -> bool:
    when = referral.submitted_at.date()
    return h.id != referral.id and (h.submitted < when or (h.submitted == when and h.id < referral.id))


def _flag(item, matches, by_person, listings, open_cases, rules, anchor, prefixes, today):
    referral = item.referral
    data = _data(referral)
    when = referral.submitted_at.date()
    victim = item.victim
    victim_id = victim.id if victim else None
    perpetrator_ids = {p.id for p in item.perpetrators}
    add = item.flags.append
    person_word = rules.person

    if referral.source == "transfer_in":
        area = referral.transfer_area or "another area"
        add(Flag("transfer_in", "Transfer in", f"Received from {area} (MARAC to MARAC).", "blue"))

    for match in matches:
        earlier = [h for h in by_person.get(match.candidate_id, []) if h.id != referral.id]
        last = max(earlier, key=lambda h: (h.submitted, h.id), default=None)
        role = next((link.role for link in item.links if link.person_id == match.person_id), "person")
        reasons = ", ".join(MATCH_REASON_LABELS.get(r, r) for r in match.reason.split(","))
        add(Flag("duplicate_person", "Possible duplicate person",
                 f"The {role} may be someone already known ({reasons}): confirm or reject the match.",
                 "yellow", referral_id=last.id if last else None))

    related = {}
    for pid in {victim_id, *perpetrator_ids} - {None}:
        for h in by_person.get(pid, []):
            if h.status in HISTORY_STATUSES and _earlier(h, referral):
                related[h.id] = h
    # The repeat rule itself is marac.risk's: one PreviousReferral per (victim, perpetrator) pair.
    previous, source_of = [], {}
    for h in related.values():
        if h.status not in ("accepted", "transferred"):
            continue
        for v in h.victims:
            for p in h.perpetrators or [None]:
                prev = PreviousReferral(date=_anchor_date(h, listings, anchor, today), victim_id=v, perpetrator_id=p,
                                        panel_heard=h.status == "accepted",
                                        information_only=_information_only(h, listings),
                                        other_marac=h.status == "transferred")
                previous.append(prev)
                source_of[prev] = h.id
    serious = _truthy(_answer(data, "serious_incident", "repeat_serious_incident"))
    facts = ReferralFacts(referral_date=when, victim_id=victim_id, perpetrator_ids=tuple(sorted(perpetrator_ids)),
                          previous_referrals=tuple(previous), serious_incident=serious)
    verdict = evaluate(rules, facts)
    same_pair = [h for h in related.values() if victim_id in h.victims
                 and (perpetrator_ids & set(h.perpetrators) or not (perpetrator_ids or h.perpetrators))]
    if verdict.is_repeat:
        item.repeat_of = source_of[verdict.repeat_of]
        add(Flag("repeat", "Repeat",
                 f"Repeat: the same {person_word} and perpetrator were referred on "
                 f"{_long_date(verdict.repeat_of.date)} (within the panel's window). Heard whatever the score.",
                 "red", referral_id=item.repeat_of))
    else:
        possible = None
        if serious is None and rules.repeat_any_incident_months:
            possible = evaluate(rules, replace(facts, serious_incident=True)).repeat_of
        if possible is not None:
            add(Flag("possible_repeat", "Possible repeat",
                     f"The same {person_word} and perpetrator were referred on {_long_date(possible.date)}: a repeat "
                     "if the new incident involved violence or threats, stalking or harassment, or sexual abuse.",
                     "orange", referral_id=source_of[possible]))
        elif same_pair:
            last = max(same_pair, key=lambda h: (h.submitted, h.id))
            add(Flag("previously_referred", "Referred before",
                     f"The same {person_word} and perpetrator were referred on {_long_date(last.submitted)}; "
                     "not a repeat under the panel's rules (outside the window, information only, still in the "
                     "inbox, or another MARAC).", "grey", referral_id=last.id))

    for h in sorted(related.values(), key=lambda h: (h.submitted, h.id), reverse=True):
        if h.status == "transferred":
            continue  # a case at another MARAC is not a cross-link here
        shares_perpetrator = bool(perpetrator_ids & set(h.perpetrators))
        if victim_id in h.victims and h.perpetrators and perpetrator_ids and not shares_perpetrator:
            add(Flag("same_victim_new_perpetrator", "Same victim, new perpetrator",
                     f"The same {person_word} was referred on {_long_date(h.submitted)} with a different perpetrator.",
                     "orange", referral_id=h.id, case_id=h.case_id))
        elif shares_perpetrator and h.victims and victim_id is not None and victim_id not in h.victims:
            add(Flag("same_perpetrator_new_victim", "Same perpetrator, new victim",
                     f"The same perpetrator was referred on {_long_date(h.submitted)} with a different "
                     f"{person_word}.", "orange", referral_id=h.id, case_id=h.case_id))

    case = open_cases.get(victim_id)
    if case is not None:
        item.open_case_id = case.id
        case_referral = max((h for h in by_person.get(victim_id, []) if h.case_id == case.id),
                            key=lambda h: (h.submitted, h.id), default=None)
        add(Flag("open_case", "Already open",
                 f"The {person_word} is already in open case {case.number} at this panel: accepting attaches "
                 "this referral to it.", "purple", referral_id=case_referral.id if case_referral else None,
                 case_id=case.id))

    if victim is not None and victim.date_of_birth and rules.min_age is not None:
        age = _age_on(victim.date_of_birth, when)
        if age < rules.min_age:
            add(Flag("under_age", "Under age",
                     f"The {person_word} was {age} when referred; the panel hears people aged "
                     f"{rules.min_age} and over.",
                     "red"))

    main = next((p for p in data.get("people") or [] if isinstance(p, dict) and p.get("role") in VICTIM_ROLES), {})
    in_area = _truthy(main.get("lives_in_area") or _answer(data, "in_area", "lives_in_area"))
    if in_area is None and prefixes and victim is not None and victim.postcode_key:
        in_area = any(victim.postcode_key.startswith(p) for p in prefixes)
    if in_area is False:
        add(Flag("out_of_area", "Out of area",
                 f"The {person_word} does not live in the area the panel covers.", "red"))

    if referral.qa_status == "pending":
        add(Flag("awaiting_qa", "Awaiting quality assurance",
                 "Professional judgement: awaiting quality assurance by "
                 f"{QA_ROUTE_LABELS.get(item.qa_route, 'the coordinator')}.", "yellow"))

    hbv = _truthy(_answer(data, "honour_based_violence", "hbv"))
    if referral.closed_session or hbv:
        add(Flag("hbv", "Honour-based violence",
                 "Honour-based violence: heard in a closed session." if referral.closed_session
                 else "Honour-based violence: an automatic category for this panel.", "red"))


def decline_counts(today: date | None = None) -> dict:
    """Referrers and agencies with repeated declines in the last year (seed 004 2.5: offer training)."""
    since = (today or clock.now().date()) - timedelta(days=DECLINE_WINDOW_DAYS)
    declined = ((Referral.panel == current_panel_id()) & (Referral.status == "declined")
                & (Referral.decided_at >= since))
    count = fn.COUNT(Referral.id).alias("declines")
    pj = fn.SUM(sqlfn.as_int(Referral.professional_judgement)).alias("pj_declines")
    referrers = (User.select(User.id, User.name, Agency.name.alias("agency_name"), count, pj)
                 .join(Referral, on=(Referral.author == User.id)).switch(User).join(Agency)
                 .where(declined).group_by(User.id, User.name, Agency.name)
                 .having(fn.COUNT(Referral.id) >= DECLINE_REPEATED_AT).order_by(count.desc(), User.name).dicts())
    agencies = (Agency.select(Agency.id, Agency.name, count, pj)
                .join(Referral, on=(Referral.agency == Agency.id))
                .where(declined).group_by(Agency.id, Agency.name)
                .having(fn.COUNT(Referral.id) >= DECLINE_REPEATED_AT).order_by(count.desc(), Agency.name).dicts())
    return {"referrers": list(referrers), "agencies": list(agencies), "since": since}


# --- one referral ----------------------------------------------------------------------------


def detail(referral, user) -> InboxItem:
    """One referral with its flags and matches, for the coordinator or the chair; audited as a view."""
    item = build_items([referral])[0]
    with db.atomic():
        audit.record("referral.view", referral, detail={"via": "inbox"}, user=user)
    return item


def matches_for(referral) -> list[PersonMatch]:
    """Every match proposal of this referral (any status), with both Person records, oldest first; only
    candidates of the referral's panel (another panel's person is never shown)."""
    candidate = Person.alias()
    return list(PersonMatch.select(PersonMatch, Person, candidate)
                .join(Person, on=(PersonMatch.person == Person.id))
                .switch(PersonMatch).join(candidate, on=(PersonMatch.candidate == candidate.id), attr="candidate")
                .where((PersonMatch.referral == referral.id) & (candidate.panel == referral.panel_id))
                .order_by(PersonMatch.id))


def verdict_of(referral) -> dict:
    """The verdict frozen at submission (JSON), or an empty dict."""
    try:
        value = json.loads(referral.verdict or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def transfer_details(referral) -> dict:
    """What was recorded about a case received from another MARAC ({} for other referrals)."""
    if referral.source != "transfer_in":
        return {}
    value = _data(referral).get("transfer")
    if not isinstance(value, dict):
        return {}
    try:
        received = date.fromisoformat(value.get("received_on") or "")
    except ValueError:
        received = None
    return {**value, "received_on": received}


def decision_summary(referral) -> str:
    """One line on what was decided, for the coordinator and chair."""
    from marac.formatting import local_datetime

    text = referral.status_label
    if referral.decided_at:
        text += f" on {local_datetime(referral.decided_at)}"
    if referral.status == "transferred" and referral.transfer_area:
        text += f" to {referral.transfer_area}"
    label = DECLINE_REASONS.get(referral.decision_code) or ACCEPT_GROUNDS.get(referral.decision_code)
    if label and referral.status in ("accepted", "declined"):
        text += f": {label}"
    return text + "."


# --- decisions ---------------------------------------------------------------------------------


def _locked(referral_id: int) -> Referral:
    """Re-read inside the write transaction, so two coordinators cannot both decide. Only a referral of the
    panel in view: a decision is made at the referral's own panel, with that panel's rules."""
    referral = _referrals().where((Referral.id == referral_id) & (Referral.panel == current_panel_id())).first()
    if referral is None:
        raise DecisionError("There is no such referral at this panel.")
    return referral


def _must_be_submitted(referral) -> None:
    if referral.status != "submitted":
        raise DecisionError(f"This referral has already been dealt with (it is {referral.status_label.lower()}).")


def next_case_number(today: date | None = None) -> str:
    """The next case number of the year: M-2026-0001, M-2026-0002, ..."""
    prefix = f"M-{(today or clock.now().date()).year}-"
    last = (Case.select(Case.number).where(Case.number.startswith(prefix))
            .order_by(fn.LENGTH(Case.number).desc(), Case.number.desc()).first())
    return f"{prefix}{(int(last.number[len(prefix):]) + 1) if last else 1:04d}"


def accept_grounds(item: InboxItem) -> str | None:
    """Why the panel hears this referral, or None when only the coordinator's judgement would."""
    referral = item.referral
    if item.repeat_of is not None:
        return "repeat"
    if referral.source == "transfer_in":
        return "transfer_in"
    if referral.qa_status == "accepted":
        return "quality_assured"
    if referral.threshold_met:
        return "threshold"
    return None


def accept(referral_id: int, user, reason: str = "") -> Referral:
    """Accept: the referral becomes (or joins) an open case of this panel, ready for the agenda.

    A repeat is accepted whatever its score and marks the case "repeat". When the victim already
    has an open case here the referral is attached to it instead of opening a second one.
    """
    now = clock.now()
    reason = (reason or "").strip()
    with db.atomic():
        referral = _locked(referral_id)
        _must_be_submitted(referral)
        if referral.qa_status == "pending":
            raise DecisionError("This professional-judgement referral must be quality-assured first.")
        item = build_items([referral])[0]
        if item.proposed_matches:
            raise DecisionError("Confirm or reject the possible duplicate people first: they decide whether "
                                "this is a repeat.")
        grounds = accept_grounds(item)
        if grounds is None:
            if not reason:
                raise DecisionError("This referral meets no referral criterion: give the reason for accepting it.")
            grounds = "coordinator_judgement"
        repeat = item.repeat_of is not None
        case = (Case.get_or_none((Case.id == item.open_case_id) & (Case.panel == referral.panel_id))
                if item.open_case_id else None)
        attached = case is not None
        if case is None:
            case = Case.create(number=next_case_number(now.date()), status="open", opened_at=now, updated_at=now,
                               closed_session=referral.closed_session, is_repeat=repeat, panel=referral.panel_id)
        else:
            case.is_repeat = case.is_repeat or repeat
            case.closed_session = case.closed_session or referral.closed_session
            case.updated_at = now
            case.save()
        rows = [{"case": case.id, "person": link.person_id, "role": link.role, "added_at": now}
                for link in item.links]
        if rows:
            CasePerson.insert_many(rows).on_conflict_ignore().execute()
        Referral.update(status="accepted", case=case, decided_by=user, decided_at=now, decision_code=grounds,
                        decision_reason=reason, is_repeat=referral.is_repeat or repeat,
                        updated_at=now).where(Referral.id == referral.id).execute()
        audit.record("referral.accept", referral, user=user,
                     detail={"reason": grounds, "case_id": case.id, "attached": attached, "repeat": repeat,
                             "repeat_of": item.repeat_of})
        audit.record("case.attach" if attached else "case.open", case, user=user,
                     detail={"referral_id": referral.id, "repeat": repeat})
    return Referral.get_by_id(referral.id)


def decline(referral_id: int, user, code: str, reason: str) -> Referral:
    """Decline with a reason the referrer sees on "My referrals"."""
    if code not in DECLINE_REASONS:
        raise DecisionError("Select why the referral is declined.")
    if not (reason or "").strip():
        raise DecisionError("Explain the decision for the referrer.")
    now = clock.now()
    with db.atomic():
        referral = _locked(referral_id)
        _must_be_submitted(referral)
        Referral.update(status="declined", decided_by=user, decided_at=now, decision_code=code,
                        decision_reason=reason.strip(), updated_at=now).where(Referral.id == referral.id).execute()
        audit.record("referral.decline", referral, user=user, detail={"reason": code})
    return Referral.get_by_id(referral.id)


def return_to_referrer(referral_id: int, user, comment: str) -> Referral:
    """Send back for more information: the author edits and resubmits, seeing the comment."""
    if not (comment or "").strip():
        raise DecisionError("Say what the referrer needs to add.")
    now = clock.now()
    with db.atomic():
        referral = _locked(referral_id)
        _must_be_submitted(referral)
        Referral.update(status="returned", coordinator_comment=comment.strip(), updated_at=now,
                        decision_code="more_information").where(Referral.id == referral.id).execute()
        audit.record("referral.return", referral, user=user, detail={"reason": "more_information"})
    return Referral.get_by_id(referral.id)


def transfer_out(referral_id: int, user, area: str, reason: str = "") -> Referral:
    """Mark for another MARAC (the person lives, or has moved, in its area)."""
    area = (area or "").strip()
    if not area:
        raise DecisionError("Enter the MARAC the referral is transferred to.")
    now = clock.now()
    with db.atomic():
        referral = _locked(referral_id)
        _must_be_submitted(referral)
        Referral.update(status="transferred", transfer_area=area, decided_by=user, decided_at=now,
                        decision_code="transfer_out", decision_reason=(reason or "").strip(),
                        updated_at=now).where(Referral.id == referral.id).execute()
        # An area is a panel's name, not personal data.
        audit.record("referral.transfer_out", referral, user=user, detail={"reason": "other_marac", "area": area})
    return Referral.get_by_id(referral.id)


def quality_assure(referral_id: int, user, outcome: str, reason: str = "", code: str = "pj_not_supported"
                   ) -> Referral:
    """QA of a professional-judgement referral by whoever it is routed to; a decline ends it."""
    if outcome not in ("accept", "decline"):
        raise DecisionError("Select whether the professional judgement is supported.")
    reason = (reason or "").strip()
    if outcome == "decline":
        if code not in DECLINE_REASONS:
            raise DecisionError("Select why the referral is declined.")
        if not reason:
            raise DecisionError("Explain the decision for the referrer.")
    now = clock.now()
    with db.atomic():
        referral = _locked(referral_id)
        _must_be_submitted(referral)
        if referral.qa_status != "pending":
            raise DecisionError("This referral is not waiting for quality assurance.")
        route = qa_route(referral)
        if route != user.role:
            raise DecisionError(f"This referral is quality-assured by {QA_ROUTE_LABELS.get(route, route)}.")
        changes = {"qa_by": user, "qa_at": now, "qa_reason": reason, "updated_at": now}
        if outcome == "accept":
            changes["qa_status"] = "accepted"
        else:
            changes.update(qa_status="declined", status="declined", decided_by=user, decided_at=now,
                           decision_code=code, decision_reason=reason)
        Referral.update(**changes).where(Referral.id == referral.id).execute()
        audit.record(f"referral.qa_{outcome}", referral, user=user,
                     detail={"reason": code if outcome == "decline" else "supported", "route": route})
    return Referral.get_by_id(referral.id)


# --- MARAC-to-MARAC transfers in ------------------------------------------------------------


def record_transfer_in(user, *, area: str, received_on: date, summary: str, people: list[dict],
                       closed_session: bool = False) -> Referral:
    """A case received from another MARAC enters the inbox like any referral (source "transfer_in").

    The minutes, referral and risk assessment it came with are attached as case documents once
    accepted (issue 7); here the referral itself is recorded and its people linked and matched.
    """
    from marac import people as people_service

    now = clock.now()
    data = {"people": people, "transfer": {"area": area, "received_on": received_on.isoformat(), "summary": summary}}
    with db.atomic():
        referral = Referral.create(author=user, agency=user.agency_id, status="submitted", created_at=now,
                                   updated_at=now, submitted_at=now, data=json.dumps(data), source="transfer_in",
                                   transfer_area=area, closed_session=closed_session)
        people_service.link_referral_people(referral)
        propose = getattr(people_service, "propose_matches", None)
        if propose is not None:
            propose(referral)
        audit.record("referral.transfer_in", referral, user=user, detail={"source": "transfer_in", "area": area})
    return referral
