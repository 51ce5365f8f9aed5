"""Retention (SECURITY.md check 28): each closed case is reviewed retention_months (6 or 12) after it
closed. The coordinator keeps it (a reason and the next review date) or deletes its personal data.

Deletion keeps the Case row (its number, dates and status: the record that it existed) and the
RetentionDecision (who, when, why), and removes everything personal: the people only this case
knows (people also in another case stay, unlinked from this one), the referrals' forms as typed,
notes, documents (their files too), research, what was shared and recorded at meetings (frozen
minutes and circulated agendas included), action texts, reasons given to open the case. SQLite's
secure_delete is on (marac.db), so freed pages are overwritten, and the write-ahead log is
checkpointed afterwards so no old copy of a page is left in it. The audit log holds no personal data
by design, so it stays whole (it is append-only).
"""
import json
from dataclasses import dataclass
from datetime import date

from flask import current_app

from marac import audit, clock, panels, postgres, settings
from marac.db import db, is_sqlite
from marac.models import (
    Action,
    ActionReview,
    ActionUpdate,
    AgendaVersion,
    Case,
    CaseDiscussion,
    CaseEvent,
    CasePerson,
    Document,
    Listing,
    MeetingRecord,
    MinutesAmendment,
    MoveRequest,
    Note,
    Person,
    Referral,
    ReferralAmendment,
    ReferralPerson,
    ReleaseRequest,
    Research,
    RetentionDecision,
    SharedInfo,
    ViewReason,
)
from marac.risk import add_months

DELETED = "Deleted at retention review"
MONTHS = (6, 12)


class RetentionError(ValueError):
    """A decision the case's state does not allow (shown to the user)."""


def months() -> int:
    value = int(settings.get("retention_months"))
    return value if value in MONTHS else 12


def review_due(case: Case) -> date | None:
    """When a closed case is next reviewed: the date set by the last "keep", else N months after closure."""
    if case.status != "closed" or case.closed_at is None or case.deleted_at is not None:
        return None
    closed = case.closed_at.date()
    if case.review_date is not None and case.review_date > closed:
        return case.review_date
    with panels.using(case.panel_id):  # the case's own panel's setting, whatever panel is in view
        return add_months(closed, months())


@dataclass
class QueueItem:
    case: Case
    due: date
    people: int
    last_decision: RetentionDecision | None


def queue(today: date | None = None, include_upcoming_days: int = 0) -> list[QueueItem]:
    """Closed cases whose review is due (or due within include_upcoming_days), oldest first."""
    today = today or clock.now().date()
    horizon = date.fromordinal(today.toordinal() + include_upcoming_days)
    # The panel in view's cases: its retention_months setting is the one review_due reads (issue 12).
    cases = list(Case.select().where((Case.panel == panels.current_panel_id()) & (Case.status == "closed")
                                     & Case.deleted_at.is_null() & Case.closed_at.is_null(False)))
    due = [(c, review_due(c)) for c in cases]
    due = [(c, d) for c, d in due if d is not None and d <= horizon]
    if not due:
        return []
    ids = [c.id for c, _ in due]
    counts: dict = {}
    for cp in CasePerson.select(CasePerson.case).where(CasePerson.case.in_(ids)):
        counts[cp.case_id] = counts.get(cp.case_id, 0) + 1
    last: dict = {}
    for r in RetentionDecision.select().where(RetentionDecision.case.in_(ids)).order_by(RetentionDecision.decided_at):
        last[r.case_id] = r
    items = [QueueItem(c, d, counts.get(c.id, 0), last.get(c.id)) for c, d in due]
    return sorted(items, key=lambda i: (i.due, i.case.number))


def decisions(case: Case) -> list[RetentionDecision]:
    return list(RetentionDecision.select().where(RetentionDecision.case == case.id)
                .order_by(RetentionDecision.decided_at.desc()))


def _reviewable(case: Case) -> Case:
    current = Case.get_by_id(case.id)
    if current.deleted_at is not None:
        raise RetentionError("This case's personal data has already been deleted")
    if current.status != "closed":
        raise RetentionError("Only a closed case is reviewed for retention")
    return current


def keep(case: Case, user, reason: str, review_date: date) -> RetentionDecision:
    """Keep the case until a new review date, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise RetentionError("Enter why the case is being kept")
    if review_date is None or review_date <= clock.now().date():
        raise RetentionError("The next review date must be in the future")
    with db.atomic():
        _reviewable(case)
        Case.update(review_date=review_date, updated_at=clock.now()).where(Case.id == case.id).execute()
        row = RetentionDecision.create(case=case, decision="keep", reason=reason, review_date=review_date,
                                       decided_by=user, decided_at=clock.now())
        audit.record("case.retention_keep", case, user=user, detail={"decision_id": row.id,
                                                                      "review_date": review_date.isoformat()})
    return row


def _only_here(case_id: int) -> list[int]:
    """People of this case named in no other case and in no referral of another case."""
    ids = [cp.person_id for cp in CasePerson.select(CasePerson.person).where(CasePerson.case == case_id)]
    ids += [rp.person_id for rp in ReferralPerson.select(ReferralPerson.person).join(Referral)
            .where(Referral.case == case_id)]
    ids = set(ids)
    if not ids:
        return []
    elsewhere = {cp.person_id for cp in CasePerson.select(CasePerson.person)
                 .where(CasePerson.person.in_(ids) & (CasePerson.case != case_id))}
    elsewhere |= {rp.person_id for rp in ReferralPerson.select(ReferralPerson.person).join(Referral)
                  .where(ReferralPerson.person.in_(ids)
                         & (Referral.case.is_null() | (Referral.case != case_id)))}
    return sorted(ids - elsewhere)


def _scrub_minutes(listing_ids: set[int]) -> None:
    """Frozen minutes and circulated agendas keep the case number; its words go."""
    if not listing_ids:
        return
    meeting_ids = {row.meeting_id for row in Listing.select(Listing.meeting).where(Listing.id.in_(listing_ids))}
    records = MeetingRecord.select().where(MeetingRecord.meeting.in_(meeting_ids) & (MeetingRecord.minutes_json != ""))
    for record in records:
        data = json.loads(record.minutes_json)
        for c in data.get("cases", []):
            if c.get("listing_id") in listing_ids:
                c.update(people="", risk="", facts=[], shared=[], risks=[], victim_views="", summary=DELETED,
                         decision_note="")
                for a in c.get("actions", []):
                    a["text"] = DELETED
        for r in data.get("review", []):
            if r.get("listing_id") in listing_ids:
                r.update(action=DELETED, reason="")
        for a in data.get("amendments", []):
            if a.get("listing_id") in listing_ids:
                a["text"] = DELETED
        MeetingRecord.update(minutes_json=json.dumps(data, ensure_ascii=False)).where(
            MeetingRecord.id == record.id).execute()
    for version in AgendaVersion.select().where(AgendaVersion.meeting.in_(meeting_ids)):
        content = json.loads(version.content)
        changed = False
        for line in content.get("lines", []):
            if line.get("listing_id") in listing_ids:
                line.update(victim="", perpetrator="", summary=DELETED)
                changed = True
        if changed:
            AgendaVersion.update(content=json.dumps(content)).where(AgendaVersion.id == version.id).execute()


def delete(case: Case, user, reason: str) -> RetentionDecision:
    """Remove the case's personal data, keeping a record that the case existed and was deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise RetentionError("Enter why the data is being deleted")
    now = clock.now()
    files = []
    with db.atomic():
        _reviewable(case)
        cid = case.id
        people = _only_here(cid)
        listing_ids = {row.id for row in Listing.select(Listing.id).where(Listing.case == cid)}
        referral_ids = [r.id for r in Referral.select(Referral.id).where(Referral.case == cid)]
        documents = list(Document.select().where(Document.case == cid))
        files = [d.stored_name for d in documents]
        # The people: rows only this case knows go (aliases, matches and links cascade); the others
        # stay for their other cases but lose their link to this one.
        CasePerson.delete().where(CasePerson.case == cid).execute()
        if referral_ids:
            ReferralPerson.delete().where(ReferralPerson.referral.in_(referral_ids)).execute()
            ReferralAmendment.delete().where(ReferralAmendment.referral.in_(referral_ids)).execute()
            Referral.update(data="{}", answers="{}", verdict="{}", qa_reason="", decision_reason="",
                            coordinator_comment="", transfer_area="").where(Referral.id.in_(referral_ids)).execute()
        if people:
            Person.delete().where(Person.id.in_(people)).execute()
        Note.update(corrects=None).where(Note.case == cid).execute()
        Note.delete().where(Note.case == cid).execute()
        Document.delete().where(Document.case == cid).execute()
        action_ids = [a.id for a in Action.select(Action.id).where(Action.case == cid)]
        if action_ids:
            Action.update(description=DELETED, completion_note="").where(Action.id.in_(action_ids)).execute()
            ActionUpdate.update(text="").where(ActionUpdate.action.in_(action_ids)).execute()
            ActionReview.update(reason="").where(ActionReview.action.in_(action_ids)).execute()
        CaseEvent.update(text="").where(CaseEvent.case == cid).execute()
        if listing_ids:
            Research.update(victim_info="", perpetrator_info="", children_info="").where(
                Research.listing.in_(listing_ids)).execute()
            SharedInfo.update(text="").where(SharedInfo.listing.in_(listing_ids)).execute()
            CaseDiscussion.update(risk_victim="", risk_children="", risk_others="", risk_staff="", victim_views="",
                                  summary="", decision_note="").where(CaseDiscussion.listing.in_(listing_ids)).execute()
            Listing.update(emergency_reason="").where(Listing.id.in_(listing_ids)).execute()
            MinutesAmendment.update(text=DELETED).where(MinutesAmendment.listing.in_(listing_ids)).execute()
            MoveRequest.update(note="").where(MoveRequest.listing.in_(listing_ids)).execute()
            _scrub_minutes(listing_ids)
        ViewReason.delete().where(ViewReason.case == cid).execute()
        ReleaseRequest.update(detail="", decision_reason="").where(ReleaseRequest.case == cid).execute()
        Case.update(deleted_at=now, updated_at=now, review_date=None).where(Case.id == cid).execute()
        row = RetentionDecision.create(case=cid, decision="delete", reason=reason, decided_by=user, decided_at=now,
                                       people_deleted=len(people), documents_deleted=len(documents))
        audit.record("case.retention_delete", case, user=user,
                     detail={"decision_id": row.id, "people_deleted": len(people), "documents": len(documents),
                             "referrals": len(referral_ids), "listings": len(listing_ids)})
    _remove_files(files)
    if is_sqlite():
        # Old copies of the changed pages must not linger in the write-ahead log.
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif db.transaction_depth() == 0:
        # PostgreSQL keeps old row versions in the pages until the table is rewritten (issue 12).
        postgres.rewrite_tables(db)
    return row


def _remove_files(stored_names: list[str]) -> None:
    """Overwrite, then remove, the documents' files (after the rows are gone for good)."""
    from marac.documents import storage_dir

    if not stored_names:
        return
    folder = storage_dir()
    for name in stored_names:
        path = folder / name
        try:
            size = path.stat().st_size
            with open(path, "r+b") as handle:
                handle.write(b"\0" * size)
                handle.flush()
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            current_app.logger.warning("could not remove a deleted document's file (stored as %s)", name)
