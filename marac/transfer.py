"""MARAC-to-MARAC transfer out: one zip of Word documents for the receiving MARAC (referral with
risk assessment, minutes extracts from the case's listings, action plan), recorded on the timeline."""
import io
import json
import zipfile

from docx import Document as WordDocument
from peewee import JOIN

from marac import audit, clock, minutes, settings
from marac.cases import RECORDED_REFERRALS, referral_data
from marac.db import db
from marac.formatting import local_date, local_datetime
from marac.models import (
    Action,
    Agency,
    CaseDiscussion,
    CaseEvent,
    CasePerson,
    Listing,
    Meeting,
    Person,
    Referral,
    Research,
    SharedInfo,
    User,
)
from marac.risk import ANSWER_LABELS

FILES = ("1-referral-and-risk-assessment.docx", "2-minutes-extracts.docx", "3-action-plan.docx")


def _doc(title: str, case) -> WordDocument:
    doc = WordDocument()
    doc.core_properties.title = f"{title}: case {case.number}"
    doc.add_heading(title, 0)
    doc.add_paragraph(f"Case {case.number}. From {settings.get('panel_name')}, {local_date(clock.now())}. "
                      "OFFICIAL-SENSITIVE: shared under the MARAC information sharing agreement.")
    return doc


def _bytes(doc: WordDocument) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _add_data(doc, data, level: int = 2) -> None:
    """The referral form as typed, section by section (nested JSON as headings, lists and lines)."""
    for key, value in data.items():
        label = str(key).replace("_", " ").capitalize()
        if isinstance(value, dict):
            doc.add_heading(label, level=min(level, 4))
            _add_data(doc, value, level + 1)
        elif isinstance(value, list):
            doc.add_heading(label, level=min(level, 4))
            for i, item in enumerate(value, 1):
                if isinstance(item, dict):
                    doc.add_paragraph(f"{label} {i}", style="List Number")
                    _add_data(doc, item, level + 1)
                else:
                    doc.add_paragraph(str(item), style="List Bullet")
        elif value not in (None, "", False):
            doc.add_paragraph(f"{label}: {'Yes' if value is True else value}")


def _referral_doc(case, people) -> bytes:
    doc = _doc("Referral and risk assessment", case)
    doc.add_heading("People", 1)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Role", "Name", "Date of birth", "Address"), strict=True):
        cell.text = text
    for cp in people:
        row = table.add_row().cells
        row[0].text, row[1].text = cp.role.capitalize(), cp.person.full_name
        row[2].text = local_date(cp.person.date_of_birth)
        row[3].text = " ".join(filter(None, [cp.person.address, cp.person.postcode]))
    referrals = (Referral.select(Referral, Agency).join(Agency)
                 .where((Referral.case == case) & Referral.status.in_(RECORDED_REFERRALS))
                 .order_by(Referral.submitted_at))
    for referral in referrals:
        doc.add_heading(f"Referral from {referral.agency.name}, {local_datetime(referral.submitted_at)}", 1)
        doc.add_paragraph(f"Status: {referral.status_label}. Criteria met: {referral.criteria_met or 'not recorded'}.")
        doc.add_heading("Risk assessment", 2)
        score = "not scored" if referral.score_total is None else str(referral.score_total)
        doc.add_paragraph(f"Instrument: {referral.instrument_id or 'none'} (version {referral.instrument_version}). "
                          f"Score: {score}{f', band {referral.band}' if referral.band else ''}.")
        _add_answers(doc, referral)
        doc.add_heading("The referral as submitted", 2)
        _add_data(doc, referral_data(referral), 3)
    return _bytes(doc)


def _add_answers(doc, referral) -> None:
    try:
        answers = json.loads(referral.answers or "{}")
        instrument = json.loads(referral.instrument_json or "{}")
    except ValueError:
        return
    items = instrument.get("items", []) if isinstance(instrument, dict) else []
    if not items or not isinstance(answers, dict):
        return
    table = doc.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Question", "Answer"
    for item in items:
        row = table.add_row().cells
        row[0].text = str(item.get("text", item.get("id", "")))
        answer = answers.get(item.get("id"), "")
        row[1].text = ANSWER_LABELS.get(answer, str(answer or "Not answered"))


def _signed_minutes(doc, entry: dict) -> None:
    """A listing's extract of the signed-off minutes (frozen at sign-off), with corrections made since."""
    doc.add_heading(f"Minutes (signed off by the chair on {local_date(entry['signed_off_at'])})", 2)
    for s in entry["shared"]:
        doc.add_paragraph(f"Shared at the meeting by {s['agency']}: {s['text']}")
    for label, text in minutes.extract_lines(entry):
        doc.add_paragraph(f"{label}: {text}")
    doc.add_heading("Actions agreed", 2)
    for a in entry["actions"]:
        doc.add_paragraph(f"{a['owner']}: {a['text']} (due {a['due']})", style="List Bullet")
    if entry["amendments"]:
        doc.add_heading("Corrections to the minutes after sign-off", 2)
        for a in entry["amendments"]:
            doc.add_paragraph(f"{local_date(a['at'])}: {a['text']}", style="List Bullet")


def _minutes_doc(case) -> bytes:
    doc = _doc("Minutes extracts", case)
    listings = list(Listing.select(Listing, Meeting).join(Meeting).where(Listing.case == case)
                    .order_by(Meeting.starts_at))
    if not listings:
        doc.add_paragraph("The case has not been heard at a meeting of this MARAC.")
    research = {}
    for r in (Research.select(Research, Agency).join(Agency)
              .where(Research.listing.in_([listing.id for listing in listings])).order_by(Agency.name)):
        research.setdefault(r.listing_id, []).append(r)
    actions = {}
    for a in (Action.select(Action, Agency).join(Agency)
              .where(Action.listing.in_([listing.id for listing in listings])).order_by(Action.id)):
        actions.setdefault(a.listing_id, []).append(a)
    ids = [listing.id for listing in listings]
    discussions = {d.listing_id: d for d in CaseDiscussion.select().where(CaseDiscussion.listing.in_(ids))}
    shared = {}
    for info in SharedInfo.select(SharedInfo, Agency).join(Agency).where(SharedInfo.listing.in_(ids)):
        shared.setdefault(info.listing_id, []).append(info)
    signed = minutes.signed_off_extracts(ids)
    if listings:
        doc.add_paragraph("Information an agency supplied is marked with that agency: it owns it, and is consulted "
                          "before it is disclosed further (MARAC information sharing agreement).")
    for listing in listings:
        doc.add_heading(f"Meeting of {listing.meeting.starts_at.strftime('%d %B %Y')}", 1)
        doc.add_paragraph(f"Listing: {listing.kind}{', emergency item' if listing.emergency else ''}"
                          f"{', repeat' if listing.is_repeat else ''}.")
        doc.add_heading("Information shared by agencies", 2)
        for r in research.get(listing.id, []):
            doc.add_heading(r.agency.name, 3)
            if r.nothing_known:
                doc.add_paragraph("Nothing known.")
            for label, text in (("Victim", r.victim_info), ("Perpetrator", r.perpetrator_info),
                                ("Children", r.children_info)):
                if text:
                    doc.add_paragraph(f"{label}: {text}")
        frozen = signed.get(listing.id)
        if frozen is not None:
            _signed_minutes(doc, frozen)
            continue
        discussion = discussions.get(listing.id)
        if discussion is not None:
            doc.add_heading("Meeting record (draft: minutes not yet signed off)", 2)
            for label, text in (("Summary", discussion.summary), ("Risks to the victim", discussion.risk_victim),
                                ("Risks to children", discussion.risk_children),
                                ("Risks to others", discussion.risk_others), ("Risks to staff", discussion.risk_staff),
                                ("Victim's views", discussion.victim_views), ("Decision", discussion.decision_note)):
                if text:
                    doc.add_paragraph(f"{label}: {text}")
            for info in shared.get(listing.id, []):
                if info.text:
                    doc.add_paragraph(f"Shared at the meeting by {info.agency.name}: {info.text}")
        doc.add_heading("Actions agreed", 2)
        for a in actions.get(listing.id, []):
            doc.add_paragraph(f"{a.owner_agency.name}: {a.description} (due {local_date(a.due_date)})",
                              style="List Bullet")
    return _bytes(doc)


def _actions_doc(case) -> bytes:
    from marac.actions import CANNOT_REASONS, STATUSES

    doc = _doc("Action plan", case)
    actions = list(Action.select(Action, Agency, User).join(Agency).switch(Action)
                   .join(User, JOIN.LEFT_OUTER, on=(Action.completed_by == User.id))
                   .where(Action.case == case).order_by(Action.due_date, Action.id))
    if not actions:
        doc.add_paragraph("No actions recorded.")
        return _bytes(doc)
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Agency", "Action", "Due", "Status", "Outcome"), strict=True):
        cell.text = text
    for a in actions:
        row = table.add_row().cells
        row[0].text, row[1].text, row[2].text = a.owner_agency.name, a.description, local_date(a.due_date)
        row[3].text = STATUSES.get(a.status, a.status)
        outcome = a.completion_note
        if a.status == "cannot":
            outcome = CANNOT_REASONS.get(a.cannot_reason, a.cannot_reason) + (f": {a.completion_note}"
                                                                                if a.completion_note else "")
        row[4].text = (f"{local_date(a.completed_at)} {outcome}".strip()) if a.completed_at else ""
    return _bytes(doc)


def transfer_out(case, user, area: str) -> tuple[str, bytes]:
    """Build the transfer pack (zip) and record it on the timeline and in the audit log, together."""
    area = (area or "").strip()[:200]
    people = list(CasePerson.select(CasePerson, Person).join(Person)
                  .where((CasePerson.case == case) & Person.deleted_at.is_null()))
    with db.atomic():
        # Recorded first: if the record cannot be written, nothing is handed out.
        CaseEvent.create(case=case, user=user, agency=user.agency_id, at=clock.now(), kind="transfer_out",
                         reason="marac_transfer", text=area)
        audit.record("case.transfer_out", case, user=user, detail={"files": len(FILES)})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(FILES[0], _referral_doc(case, people))
            archive.writestr(FILES[1], _minutes_doc(case))
            archive.writestr(FILES[2], _actions_doc(case))
    return f"case-{case.number}-transfer.zip", buffer.getvalue()
