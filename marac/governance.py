"""Who has looked at a record, and the reason asked before opening a closed-session or restricted one.

"Who has looked" reads the audit log (every view and change is there, SECURITY.md check 22): the rows
about the case itself and about everything that hangs off it (referrals, notes, documents, actions,
listings), or for a person, the rows about every case and referral naming them and about the person.

A closed-session case, or (for the coordinator) a case holding another agency's restricted notes or
documents, is opened only after the user gives a reason. The reason is free text that may name
someone, so it is kept in ViewReason (which retention can clear), not in the append-only audit log;
the audit log records that a reason was given. A reason covers that user's views of that case for
REASON_COVERS, within one sign-in.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context, session
from peewee import fn

from marac import audit, clock
from marac.access import COORDINATOR, visible_cases
from marac.db import db
from marac.models import (
    Action,
    Agency,
    AuditEvent,
    Case,
    CasePerson,
    Document,
    Listing,
    Note,
    Person,
    Referral,
    ReferralPerson,
    ViewReason,
)

REASON_COVERS = timedelta(hours=1)
SESSION_KEY = "view_reasons"
HISTORY_LIMIT = 500

# Plain words for the audit actions a coordinator sees on a record's history.
ACTION_LABELS = {
    "case.view": "Opened the case",
    "case.timeline": "Read the case timeline",
    "case.search": "Found the case in a search",
    "case.close": "Closed the case",
    "case.reopen": "Reopened the case",
    "case.update": "Changed the case",
    "case.view_reason": "Gave a reason to open the case",
    "case.transfer_out": "Transferred the case out",
    "case.retention_keep": "Kept the case at its retention review",
    "case.retention_delete": "Deleted the case's personal data",
    "note.create": "Added a note",
    "note.view": "Opened a note (to correct it)",
    "document.upload": "Uploaded a document",
    "document.download": "Downloaded a document",
    "action.create": "Added an action",
    "action.view": "Opened an action",
    "referral.view": "Opened a referral",
    "referral.submit": "Sent a referral",
    "person.subject_access": "Exported everything held about the person (subject access)",
    "person.history": "Looked at who has seen the person's record",
    "release.request": "Logged a request to release minutes",
    "release.decide": "Decided a request to release minutes",
    "release.release": "Released minutes and action plans",
    "access.denied": "Was refused access",
}


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    kind, _, verb = action.partition(".")
    return f"{kind.replace('_', ' ').capitalize()}: {verb.replace('_', ' ')}" if verb else action


# --- reasons -------------------------------------------------------------------------------------


def is_closed_session(case: Case) -> bool:
    """Heard (or to be heard) in a closed session."""
    return bool(case.closed_session) or Listing.select().where(
        (Listing.case == case.id) & (Listing.kind == "closed")).exists()


def needs_reason(case: Case, user) -> bool:
    """A closed-session case always; for the coordinator, also a case holding another agency's
    restricted notes or documents (which only they, beyond that agency, can read)."""
    if is_closed_session(case):
        return True
    if user.role == COORDINATOR:
        for model in (Note, Document):
            if model.select().where((model.case == case.id) & (model.restricted == True)  # noqa: E712 (SQL)
                                    & (model.agency != user.agency_id)).exists():
                return True
    return False


def _granted() -> dict:
    value = session.get(SESSION_KEY)
    return value if isinstance(value, dict) else {}


def has_reason(case: Case) -> bool:
    """Whether this sign-in gave a reason for this case recently enough."""
    entry = _granted().get(str(case.id))
    try:
        given = datetime.fromisoformat(entry["at"])
    except (TypeError, KeyError, ValueError):
        return False
    return clock.now() - given <= REASON_COVERS


def give_reason(case: Case, user, reason: str) -> ViewReason:
    """Record the reason (kept with the views it covers) and let this sign-in open the case."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is needed")
    with db.atomic():
        row = ViewReason.create(user=user, object_type="case", object_id=case.id, case=case, reason=reason,
                                at=clock.now(), request_id=g.get("request_id", "") if has_request_context() else "")
        audit.record("case.view_reason", case, user=user, detail={"view_reason_id": row.id})
    granted = _granted()
    granted[str(case.id)] = {"at": row.at.isoformat(), "id": row.id}
    session[SESSION_KEY] = granted
    return row


# --- who has looked -------------------------------------------------------------------------------


@dataclass
class HistoryRow:
    at: datetime
    user_name: str
    role: str
    agency: str
    action: str
    what: str
    ip: str
    reason: str = ""


def _case_objects(case_ids: list[int]):
    """(object_type, ids) pairs naming the cases and everything that hangs off them."""
    if not case_ids:
        return []
    pairs = [("case", case_ids)]
    for object_type, model in (("note", Note), ("document", Document), ("action", Action),
                               ("referral", Referral), ("listing", Listing)):
        ids = [row.id for row in model.select(model.id).where(model.case.in_(case_ids))]
        if ids:
            pairs.append((object_type, ids))
    return pairs


def _rows(pairs) -> list[HistoryRow]:
    if not pairs:
        return []
    where = None
    for object_type, ids in pairs:
        clause = (AuditEvent.object_type == object_type) & AuditEvent.object_id.in_([str(i) for i in ids])
        where = clause if where is None else (where | clause)
    events = list(AuditEvent.select().where(where).order_by(AuditEvent.id.desc()).limit(HISTORY_LIMIT))
    agencies = {a.id: a.name for a in Agency.select(Agency.id, Agency.name)
                .where(Agency.id.in_({e.agency_id for e in events if e.agency_id}))}
    case_ids = [i for t, ids in pairs if t == "case" for i in ids]
    reasons: dict = {}
    for r in ViewReason.select().where(ViewReason.case.in_(case_ids)).order_by(ViewReason.at):
        reasons.setdefault((r.user_id, r.case_id), []).append(r)
    rows = []
    for e in events:
        reason = ""
        if e.object_type == "case" and e.action == "case.view" and e.user_id:
            for r in reasons.get((e.user_id, int(e.object_id)), []):
                if r.at <= e.at <= r.at + REASON_COVERS:
                    reason = r.reason
        rows.append(HistoryRow(at=e.at, user_name=e.user_name or "Not signed in", role=e.role,
                               agency=agencies.get(e.agency_id, ""), action=action_label(e.action),
                               what=f"{e.object_type} {e.object_id}".strip(), ip=e.ip, reason=reason))
    return rows


def case_history(case: Case, user) -> list[HistoryRow]:
    """Every view and change of the case and what hangs off it, newest first (the look is audited)."""
    with db.atomic():
        audit.record("case.history", case, user=user)
    return _rows(_case_objects([case.id]))


def person_cases(person: Person) -> list[Case]:
    """The cases a person is in (directly, or through a referral naming them)."""
    ids = {cp.case_id for cp in CasePerson.select(CasePerson.case).where(CasePerson.person == person.id)}
    ids |= {r.case_id for r in Referral.select(Referral.case).join(ReferralPerson)
            .where((ReferralPerson.person == person.id) & Referral.case.is_null(False))}
    if not ids:
        return []
    # A person is of one panel, and so are their cases; the panel test keeps it so whatever links exist.
    return list(Case.select().where(Case.id.in_(ids) & (Case.panel == person.panel_id)).order_by(Case.opened_at))


def person_history(person: Person, user) -> list[HistoryRow]:
    """Every view and change of the person, their cases and the referrals naming them, newest first."""
    with db.atomic():
        audit.record("person.history", person, user=user)
    case_ids = [c.id for c in person_cases(person)]
    pairs = _case_objects(case_ids)
    referral_ids = [r.referral_id for r in ReferralPerson.select(ReferralPerson.referral)
                    .where(ReferralPerson.person == person.id)]
    if referral_ids:
        pairs.append(("referral", referral_ids))
    pairs.append(("person", [person.id]))
    return _rows(pairs)


def case_of_document(document_id) -> int | None:
    """The case a document belongs to (for the reason gate), or None."""
    if document_id is None:
        return None
    return Document.select(Document.case).where(Document.id == document_id).scalar()


def get_visible_case(case_id: int, user):
    """The case if this user may see it, else None (for the reason gate, which must not reveal more)."""
    return visible_cases(user).where(Case.id == case_id).first()


def people_count(case: Case) -> int:
    return CasePerson.select(fn.COUNT(CasePerson.id)).where(CasePerson.case == case.id).scalar() or 0
