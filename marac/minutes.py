"""Minutes (issue 6): compiled from the meeting record (attendance, the review of actions, and per case
what each agency shared, the risks, the decision and the actions), editable through the record until
the chair signs them off; then frozen as a JSON snapshot, with later corrections as amendments.

Each agency's copy holds only what it may see: closed-session cases (and their actions, review lines
and amendments) only for the agencies invited to them. People are named by initials and role, never
in full; nothing here is addressed to a perpetrator.
"""
import copy
import io
import json
from datetime import date

from docx import Document as WordDocument
from docx.shared import Pt
from peewee import JOIN

from marac import audit, clock, meeting_run, meetings, schedule, settings
from marac.db import db
from marac.models import (
    ATTENDANCE_CAPACITIES,
    Agency,
    Listing,
    ListingInvite,
    Meeting,
    MeetingRecord,
    MinutesAmendment,
    SharedInfo,
    User,
)

KIND_LABELS = {"full": "Full discussion", "information": "Information only", "closed": "Closed session"}
SENT_WHAT = {"minutes": "Minutes", "actions": "Action summary"}
MAX_NOTES = 20000
MAX_AMENDMENT = 5000


class MinutesError(ValueError):
    """A change the minutes' rules do not allow; the message is shown to the user."""


def _date(d) -> str:
    return f"{d.day} {d:%B %Y}" if d else ""


def _short_date(d) -> str:
    return f"{d.day} {d:%b %Y}" if d else ""


def due_date(meeting: Meeting) -> date:
    """When the minutes and the action summary are due out: the meeting's own date when the agenda
    set it, else minutes_due_working_days working days after the meeting."""
    if meeting.minutes_due:
        return meeting.minutes_due
    return schedule.working_days_after(meeting.starts_at.date(), int(settings.get("minutes_due_working_days")))


def _initials(people) -> str:
    return ", ".join(f"{p.initials or '?'} ({role})" for role, p in people)


def compile_minutes(meeting: Meeting) -> dict:
    """The minutes as data, from the live record (a fixed number of queries, not one per case)."""
    meeting = Meeting.get_by_id(meeting.id)
    record = meeting_run.record_for(meeting)
    listings = meeting_run.agenda(meeting)
    discussion_rows = meeting_run.discussions(listings)
    words = meeting_run.panel_words()
    ids = [listing.id for listing in listings]
    numbers = {listing.id: listing.case.number for listing in listings}

    summaries = meeting_run.case_summaries(listings)
    invites: dict[int, list] = {}
    for invite in ListingInvite.select().where(ListingInvite.listing.in_(ids or [0])):
        invites.setdefault(invite.listing_id, []).append(invite.agency_id)
    shared: dict[int, list] = {}
    for row in (SharedInfo.select(SharedInfo, Agency).join(Agency)
                .where(SharedInfo.listing.in_(ids or [0])).order_by(Agency.name)):
        if row.text.strip():
            shared.setdefault(row.listing_id, []).append(
                {"agency": row.agency.name, "agency_id": row.agency_id, "text": row.text.strip()})
    actions: dict[int, list] = {}
    for action in meeting_run.actions_agreed(meeting):
        actions.setdefault(action.listing_id, []).append({
            "id": action.id, "owner": action.owner_agency.name, "owner_id": action.owner_agency_id,
            "text": action.description, "due": _short_date(action.due_date),
            "priority": meeting_run.PRIORITIES.get(action.priority, action.priority),
            "standard": bool(action.standard_key)})
    lead_names = {a.id: a.name for a in Agency.select(Agency.id, Agency.name)}

    attendance = []
    for row in meeting_run.attendance(meeting):
        if row.capacity == "observer" and row.status != "present":
            continue  # requested or refused observers are not part of the meeting
        attendance.append({
            "agency": row.agency.name if row.agency_id else row.organisation, "agency_id": row.agency_id,
            "name": row.name, "capacity": ATTENDANCE_CAPACITIES.get(row.capacity, row.capacity),
            "observer": row.capacity == "observer", "status": row.status,
            "time_in": meeting_run.uk_time(row.time_in), "time_out": meeting_run.uk_time(row.time_out),
            "last_listing_id": row.last_listing_id, "last_case": numbers.get(row.last_listing_id, ""),
            "written_info": bool(row.written_info), "agreed": row.agreed_at is not None})

    cases = []
    for n, listing in enumerate(listings, 1):
        d = discussion_rows.get(listing.id)
        summary = summaries[listing.id]
        risk = " ".join(x for x in (summary.instrument.upper() if summary.instrument else "", summary.score,
                                    f"({summary.band})" if summary.band else "") if x)
        risks = []
        if d is not None:
            for key in ("risk_victim", "risk_children", "risk_others", "risk_staff"):
                if getattr(d, key).strip():
                    risks.append({"label": words[key], "text": getattr(d, key).strip()})
        review = None if d is None or d.returns_for_review is None else bool(d.returns_for_review)
        cases.append({
            "n": n, "listing_id": listing.id, "number": listing.case.number, "kind": listing.kind,
            "kind_label": KIND_LABELS.get(listing.kind, listing.kind), "closed": listing.kind == "closed",
            "invited": sorted(invites.get(listing.id, [])), "people": _initials(summary.people),
            "risk": risk, "facts": summary.facts, "shared": shared.get(listing.id, []), "risks": risks,
            "victim_views_label": words["victim_views"],
            "victim_views": d.victim_views.strip() if d else "", "summary": d.summary.strip() if d else "",
            "decision": meeting_run.DECISIONS.get(d.decision, "") if d else "",
            "decision_note": d.decision_note.strip() if d else "",
            "review": {True: "Yes", False: "No", None: "Not decided"}[review],
            "lead_agency": lead_names.get(listing.case.lead_agency_id, ""),
            "started": meeting_run.uk_time(d.started_at) if d else "",
            "ended": meeting_run.uk_time(d.ended_at) if d else "",
            "actions": actions.get(listing.id, [])})

    reviewed = []
    for item in meeting_run.outstanding_actions(meeting, listings):
        if item.review is None:
            continue
        reviewed.append({"listing_id": item.listing.id, "case_number": item.listing.case.number,
                         "action": item.action.description, "owner": item.action.owner_agency.name,
                         "outcome": meeting_run.REVIEW_OUTCOMES[item.review.outcome], "reason": item.review.reason,
                         "new_due": _short_date(item.review.new_due_date)})
    on_sheet = {r["agency_id"] for r in attendance if r["agency_id"] and not r["observer"]}
    return {
        "meeting_id": meeting.id,
        "panel_name": meetings.panel_name(meeting.panel_id),
        "date": _date(meeting.starts_at.date()),
        "starts": meeting.starts_at.strftime("%H:%M"),
        "venue": meeting.venue,
        "kind": meeting.kind,
        "started": meeting_run.uk_time(record.started_at) if record else "",
        "ended": meeting_run.uk_time(record.ended_at) if record else "",
        "statement_read": any(r["agreed"] for r in attendance),
        "attendance": attendance,
        "not_represented": [a.name for a in Agency.ordered() if a.is_member and a.id not in on_sheet],
        "review": reviewed,
        "cases": cases,
        "notes": record.notes.strip() if record else "",
        "compiled_at": clock.now().isoformat(timespec="seconds"),
    }


def amendments(meeting: Meeting) -> list[dict]:
    """Corrections made after sign-off, oldest first."""
    rows = (MinutesAmendment.select(MinutesAmendment, User)
            .join(User, JOIN.LEFT_OUTER, on=(MinutesAmendment.user == User.id))
            .where(MinutesAmendment.meeting == meeting.id).order_by(MinutesAmendment.at, MinutesAmendment.id))
    return [{"listing_id": a.listing_id, "at": a.at.isoformat(timespec="seconds"),
             "by": a.user.name if a.user_id else "", "text": a.text} for a in rows]


def minutes_data(meeting: Meeting) -> dict:
    """The minutes: the signed-off snapshot (frozen), else compiled from the record now; with amendments."""
    meeting = Meeting.get_by_id(meeting.id)
    record = meeting_run.record_for(meeting)
    if meeting.minutes_signed_off_at is not None and record is not None and record.minutes_json:
        data = json.loads(record.minutes_json)
    else:
        data = compile_minutes(meeting)
    data["signed_off"] = meeting.minutes_signed_off_at is not None
    data["signed_off_at"] = meeting.minutes_signed_off_at.isoformat(timespec="seconds") \
        if meeting.minutes_signed_off_at else ""
    signer = User.get_or_none(User.id == meeting.minutes_signed_off_by_id) if meeting.minutes_signed_off_by_id else None
    data["signed_off_by"] = signer.name if signer else ""
    data["amendments"] = amendments(meeting)
    data["copy_for"] = ""
    return data


def signed_off_extracts(listing_ids) -> dict[int, dict]:
    """Each listing's entry in its meeting's minutes as the chair signed them off (the frozen snapshot,
    not the live record), with the corrections made since ("amendments"); listings whose meeting's
    minutes are not signed off are absent. For releases and subject access (issue 8). A fixed number
    of queries, however many listings."""
    ids = list(listing_ids)
    if not ids:
        return {}
    records = (MeetingRecord.select(MeetingRecord.minutes_json, Meeting.id, Meeting.minutes_signed_off_at)
               .join(Meeting).join(Listing, on=(Listing.meeting == Meeting.id))
               .where(Listing.id.in_(ids) & Meeting.minutes_signed_off_at.is_null(False)
                      & (MeetingRecord.minutes_json != "")).distinct())
    wanted, found = set(ids), {}
    for record in records:
        data = json.loads(record.minutes_json)
        for case in data["cases"]:
            if case["listing_id"] in wanted:
                found[case["listing_id"]] = {**case, "date": data["date"], "amendments": [],
                                             "signed_off_at": record.meeting.minutes_signed_off_at}
    for a in (MinutesAmendment.select(MinutesAmendment, User)
              .join(User, JOIN.LEFT_OUTER, on=(MinutesAmendment.user == User.id))
              .where(MinutesAmendment.listing.in_(list(found) or [0]))
              .order_by(MinutesAmendment.at, MinutesAmendment.id)):
        found[a.listing_id]["amendments"].append({"at": a.at, "by": a.user.name if a.user_id else "", "text": a.text})
    return found


def extract_lines(entry: dict) -> list[tuple[str, str]]:
    """A case's entry in the minutes as (label, text) lines: the risks, the victim's views, the summary
    and the decision, those with text only."""
    lines = [(r["label"], r["text"]) for r in entry["risks"]]
    lines += [(entry["victim_views_label"], entry["victim_views"]), ("Summary", entry["summary"]),
              ("Decision", " ".join(x for x in (entry["decision"], entry["decision_note"]) if x))]
    return [(label, text) for label, text in lines if text]


def for_agency(data: dict, agency: Agency) -> dict:
    """One agency's copy: closed-session cases only when it was invited to them."""
    data = copy.deepcopy(data)
    hidden = {c["listing_id"] for c in data["cases"] if c["closed"] and agency.id not in c["invited"]}
    data["cases"] = [c for c in data["cases"] if c["listing_id"] not in hidden]
    for n, case in enumerate(data["cases"], 1):
        case["n"] = n
    data["review"] = [r for r in data["review"] if r["listing_id"] not in hidden]
    data["amendments"] = [a for a in data["amendments"] if a["listing_id"] not in hidden]
    for row in data["attendance"]:
        if row["last_listing_id"] in hidden:
            row["last_case"], row["last_listing_id"] = "", None
    data["copy_for"] = agency.name
    return data


# --- changes --------------------------------------------------------------------------------------


def save_notes(meeting: Meeting, user: User, notes: str) -> None:
    """The coordinator's general notes for the minutes (before sign-off)."""
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise MinutesError(f"The notes must be {MAX_NOTES} characters or fewer")
    with db.atomic():
        if meeting_run.is_signed_off(meeting):
            raise MinutesError("The minutes are signed off: record a correction as an amendment")
        record = meeting_run._ensure_record(meeting)
        record.notes = notes
        record.updated_at = clock.now()
        record.save()
        audit.record("minutes.notes", meeting, user=user)


def sign_off(meeting: Meeting, user: User) -> dict:
    """The chair signs off the minutes: they are frozen as they are now."""
    if user.role != "chair":
        raise MinutesError("Only the chair signs off the minutes")
    with db.atomic():
        if meeting_run.is_signed_off(meeting):
            raise MinutesError("The minutes are already signed off")
        data = compile_minutes(meeting)
        record = meeting_run._ensure_record(meeting)
        record.minutes_json = json.dumps(data, ensure_ascii=False)
        record.updated_at = clock.now()
        record.save()
        Meeting.update(minutes_signed_off_at=clock.now(), minutes_signed_off_by=user).where(
            Meeting.id == meeting.id).execute()
        audit.record("minutes.sign_off", meeting, user=user, detail={"cases": len(data["cases"])})
    return data


def amend(meeting: Meeting, user: User, text: str, listing: Listing | None = None) -> MinutesAmendment:
    """Record a correction to signed-off minutes (the signed text stays as it was)."""
    text = (text or "").strip()
    if not text:
        raise MinutesError("Enter the correction")
    if len(text) > MAX_AMENDMENT:
        raise MinutesError(f"The correction must be {MAX_AMENDMENT} characters or fewer")
    if listing is not None and listing.meeting_id != meeting.id:
        raise MinutesError("Select a case of this meeting")
    with db.atomic():
        if not meeting_run.is_signed_off(meeting):
            raise MinutesError("The minutes are not signed off yet: change the record itself")
        row = MinutesAmendment.create(meeting=meeting, listing=listing, user=user, at=clock.now(), text=text)
        audit.record("minutes.amend", meeting, user=user,
                     detail={"amendment_id": row.id, "listing_id": listing.id if listing else None})
    return row


def record_sent(meeting: Meeting, user: User, what: str) -> None:
    """Record when the minutes (after sign-off) or the action summary went out."""
    if what not in SENT_WHAT:
        raise MinutesError("Say what was sent")
    with db.atomic():
        at = clock.now()
        if what == "minutes":
            if not meeting_run.is_signed_off(meeting):
                raise MinutesError("The minutes go out after the chair has signed them off")
            Meeting.update(minutes_sent_at=at).where(Meeting.id == meeting.id).execute()
            record = meeting_run._ensure_record(meeting)
            record.minutes_sent_by, record.updated_at = user, at
            record.save()
        else:
            record = meeting_run._ensure_record(meeting)
            record.actions_sent_at, record.actions_sent_by, record.updated_at = at, user, at
            record.save()
        audit.record("minutes.sent", meeting, user=user, detail={"what": what})


def record_view(meeting: Meeting, user: User, copy_for: Agency | None, fmt: str) -> None:
    """Audit a view or download of the minutes (which copy, which format)."""
    with db.atomic():
        audit.record("minutes.view", meeting, user=user,
                     detail={"copy": copy_for.id if copy_for else "full", "format": fmt})


# --- Word ---------------------------------------------------------------------------------------------


def _table(doc, headers, rows):
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = str(text)
    return table


def _labelled(doc, label, text):
    p = doc.add_paragraph()
    p.add_run(f"{label}: ").bold = True
    p.add_run(text)


def docx_bytes(data: dict) -> bytes:
    """The minutes as a Word document (python-docx)."""
    doc = WordDocument()
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)
    section = doc.sections[0]
    section.header.paragraphs[0].text = "OFFICIAL-SENSITIVE: shared under the MARAC information sharing agreement"
    doc.add_heading(f"{data['panel_name']}: minutes", level=0)
    venue = f", {data['venue']}" if data["venue"] else ""
    doc.add_paragraph(f"Meeting on {data['date']} at {data['starts']}{venue}")
    if data["copy_for"]:
        doc.add_paragraph(f"Copy for {data['copy_for']}: it holds only the cases this agency may see.")
    if data["signed_off"]:
        doc.add_paragraph(f"Signed off by {data['signed_off_by']} (chair) on {data['signed_off_at'][:10]}.")
    else:
        doc.add_paragraph("DRAFT: not yet signed off by the chair.")
    if data["started"]:
        doc.add_paragraph(f"Started {data['started']}" + (f", ended {data['ended']}" if data["ended"] else "") + ".")

    doc.add_heading("Attendance", level=1)
    present = [r for r in data["attendance"] if r["status"] == "present"]
    _table(doc, ["Agency", "Name", "Attending as", "In", "Out", "Last case heard", "Confidentiality agreed"],
           [[r["agency"], r["name"], r["capacity"], r["time_in"], r["time_out"], r["last_case"],
             "Yes" if r["agreed"] else "No"] for r in present])
    apologies = [r for r in data["attendance"] if r["status"] == "apologies"]
    if apologies:
        doc.add_heading("Apologies", level=2)
        for r in apologies:
            doc.add_paragraph(f"{r['agency']}{': ' + r['name'] if r['name'] else ''}"
                              f"{' (written information sent)' if r['written_info'] else ''}", style="List Bullet")
    if data["not_represented"]:
        doc.add_heading("Not represented", level=2)
        for name in data["not_represented"]:
            doc.add_paragraph(name, style="List Bullet")

    if data["review"]:
        doc.add_heading("Review of outstanding actions", level=1)
        _table(doc, ["Case", "Owner", "Action", "Outcome", "Reason", "New due date"],
               [[r["case_number"], r["owner"], r["action"], r["outcome"], r["reason"], r["new_due"]]
                for r in data["review"]])

    doc.add_heading("Cases", level=1)
    for case in data["cases"]:
        doc.add_heading(f"{case['n']}. Case {case['number']}", level=2)
        _labelled(doc, "Listing", case["kind_label"])
        if case["people"]:
            _labelled(doc, "People", case["people"])
        if case["risk"]:
            _labelled(doc, "Risk at referral", case["risk"])
        if case["shared"]:
            doc.add_heading("Information shared", level=3)
            for s in case["shared"]:
                _labelled(doc, s["agency"], s["text"])
        for r in case["risks"]:
            _labelled(doc, r["label"], r["text"])
        if case["victim_views"]:
            _labelled(doc, case["victim_views_label"], case["victim_views"])
        if case["summary"]:
            _labelled(doc, "Summary", case["summary"])
        _labelled(doc, "Decision", case["decision"] or "Not recorded")
        if case["decision_note"]:
            _labelled(doc, "Decision note", case["decision_note"])
        _labelled(doc, "Returns for review", case["review"])
        if case["lead_agency"]:
            _labelled(doc, "Lead agency", case["lead_agency"])
        doc.add_heading("Actions", level=3)
        if case["actions"]:
            _table(doc, ["Owner", "Action", "Due", "Priority"],
                   [[a["owner"], a["text"], a["due"], a["priority"]] for a in case["actions"]])
        else:
            doc.add_paragraph("No actions.")
    if data["notes"]:
        doc.add_heading("Notes", level=1)
        doc.add_paragraph(data["notes"])
    if data["amendments"]:
        doc.add_heading("Amendments after sign-off", level=1)
        for a in data["amendments"]:
            doc.add_paragraph(f"{a['at'][:10]}, {a['by']}: {a['text']}", style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
