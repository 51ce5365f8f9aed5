"""Subject access (UK GDPR article 15): everything held about one person, as a Word document for the
coordinator to review before disclosure (SECURITY.md check 27).

"About one person" means this Person record and what hangs off it: the cases they are in, the
referrals naming them, those cases' notes, documents (listed, not copied), actions, and the minutes
and research of the meetings that heard them (the minutes as the chair signed them off, with later
corrections, never the live record once they are frozen; a draft is marked as a draft). A
look-alike (same name, another date of birth) is another Person row and is never reached. Every
entry supplied by an agency is marked with its owner, so the coordinator can consult that agency
before disclosing it. The export is audited.
"""
import io
from dataclasses import dataclass, field

from docx import Document as WordDocument
from docx.shared import Pt
from peewee import JOIN

from marac import audit, clock, minutes, settings
from marac.cases import RECORDED_REFERRALS, referral_data
from marac.db import db
from marac.formatting import local_date, local_datetime
from marac.models import (
    PERSON_ROLES,
    Action,
    ActionReview,
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
    ReferralPerson,
    Research,
    SharedInfo,
    User,
)

PERSON_FIELDS = (
    ("given_name", "Given name"), ("family_name", "Family name"), ("date_of_birth", "Date of birth"),
    ("address", "Address"), ("postcode", "Postcode"), ("sex", "Sex"), ("gender_identity", "Gender identity"),
    ("sexual_orientation", "Sexual orientation"), ("ethnicity", "Ethnicity"), ("disability", "Disability"),
)


@dataclass
class Holding:
    """What is held about one person, gathered in a fixed number of queries."""

    person: Person
    aliases: list = field(default_factory=list)
    roles: dict = field(default_factory=dict)          # case id -> [role]
    cases: list = field(default_factory=list)
    referrals: list = field(default_factory=list)      # (Referral, [role])
    notes: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    listings: list = field(default_factory=list)
    discussions: dict = field(default_factory=dict)    # listing id -> CaseDiscussion
    shared: dict = field(default_factory=dict)         # listing id -> [SharedInfo]
    research: dict = field(default_factory=dict)       # listing id -> [Research]
    minutes: dict = field(default_factory=dict)        # listing id -> its entry in the signed-off minutes
    updates: dict = field(default_factory=dict)        # action id -> [ActionUpdate with text] (user, agency)
    reviews: dict = field(default_factory=dict)        # action id -> [ActionReview with a reason]
    events: list = field(default_factory=list)         # CaseEvent with text (closure, transfer)

    def counts(self) -> dict:
        return {"cases": len(self.cases), "referrals": len(self.referrals), "notes": len(self.notes),
                "documents": len(self.documents), "actions": len(self.actions), "listings": len(self.listings)}


def gather(person: Person) -> Holding:
    """Everything held about this person (the coordinator's view: restricted entries included)."""
    h = Holding(person=person)
    h.aliases = list(PersonAlias.select().where(PersonAlias.person == person.id))
    for cp in CasePerson.select().where(CasePerson.person == person.id):
        h.roles.setdefault(cp.case_id, []).append(cp.role)
    referral_roles: dict = {}
    for rp in ReferralPerson.select().where(ReferralPerson.person == person.id):
        referral_roles.setdefault(rp.referral_id, []).append(rp.role)
    if referral_roles:
        for r in (Referral.select(Referral, Agency).join(Agency)
                  .where(Referral.id.in_(list(referral_roles)) & (Referral.panel == person.panel_id)
                         & Referral.status.in_(RECORDED_REFERRALS))
                  .order_by(Referral.submitted_at, Referral.id)):
            h.referrals.append((r, referral_roles[r.id]))
            if r.case_id:
                h.roles.setdefault(r.case_id, [])
    if not h.roles:
        return h
    # The person's panel only (issue 12): a person is of one panel, and what is gathered is that panel's.
    h.cases = list(Case.select().where(Case.id.in_(list(h.roles)) & (Case.panel == person.panel_id))
                   .order_by(Case.opened_at))
    case_ids = [c.id for c in h.cases]
    if not case_ids:
        return h
    h.notes = list(Note.select(Note, Agency).join(Agency).where(Note.case.in_(case_ids))
                   .order_by(Note.case, Note.created_at))
    h.documents = list(Document.select(Document, Agency).join(Agency).where(Document.case.in_(case_ids))
                       .order_by(Document.case, Document.created_at))
    h.actions = list(Action.select(Action, Agency).join(Agency).where(Action.case.in_(case_ids))
                     .order_by(Action.case, Action.due_date, Action.id))
    action_ids = [a.id for a in h.actions]
    if action_ids:
        for u in (ActionUpdate.select(ActionUpdate, User, Agency)
                  .join(User, JOIN.LEFT_OUTER, on=(ActionUpdate.user == User.id))
                  .join(Agency, JOIN.LEFT_OUTER, on=(User.agency == Agency.id))
                  .where(ActionUpdate.action.in_(action_ids) & (ActionUpdate.text != ""))
                  .order_by(ActionUpdate.at, ActionUpdate.id)):
            h.updates.setdefault(u.action_id, []).append(u)
        for r in (ActionReview.select().where(ActionReview.action.in_(action_ids) & (ActionReview.reason != ""))
                  .order_by(ActionReview.at, ActionReview.id)):
            h.reviews.setdefault(r.action_id, []).append(r)
    h.events = list(CaseEvent.select(CaseEvent, Agency).join(Agency, JOIN.LEFT_OUTER)
                    .where(CaseEvent.case.in_(case_ids) & (CaseEvent.text != "")).order_by(CaseEvent.at))
    h.listings = list(Listing.select(Listing, Meeting, Case).join(Meeting).switch(Listing).join(Case)
                      .where(Listing.case.in_(case_ids)).order_by(Meeting.starts_at))
    listing_ids = [listing.id for listing in h.listings]
    if listing_ids:
        h.discussions = {d.listing_id: d for d in
                         CaseDiscussion.select().where(CaseDiscussion.listing.in_(listing_ids))}
        for info in SharedInfo.select(SharedInfo, Agency).join(Agency).where(SharedInfo.listing.in_(listing_ids)):
            h.shared.setdefault(info.listing_id, []).append(info)
        for r in Research.select(Research, Agency).join(Agency).where(Research.listing.in_(listing_ids)):
            h.research.setdefault(r.listing_id, []).append(r)
        h.minutes = minutes.signed_off_extracts(listing_ids)
    return h


# --- the Word document ---------------------------------------------------------------------------------


def _supplied(doc, agency_name: str, text: str, label: str = "") -> None:
    """One entry, marked with the agency that supplied it."""
    p = doc.add_paragraph()
    p.add_run(f"[Supplied by {agency_name}] ").bold = True
    if label:
        p.add_run(f"{label}: ").italic = True
    p.add_run(text)


def _data_lines(doc, data, prefix: str = "") -> None:
    """The referral form as typed (nested JSON), one line per answer."""
    for key, value in data.items():
        label = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, dict):
            _data_lines(doc, value, f"{label} / ")
        elif isinstance(value, list):
            for i, item in enumerate(value, 1):
                if isinstance(item, dict):
                    _data_lines(doc, item, f"{label} {i} / ")
                elif item not in (None, ""):
                    doc.add_paragraph(f"{label}: {item}", style="List Bullet")
        elif value not in (None, "", False):
            doc.add_paragraph(f"{label}: {'Yes' if value is True else value}", style="List Bullet")


def _signed_minutes(doc, entry: dict) -> None:
    """One case's extract of the minutes as the chair signed them off (not the live record), with the
    corrections made since; what an agency shared is marked as that agency's."""
    doc.add_paragraph(f"Minutes as signed off by the chair on {local_date(entry['signed_off_at'])}.")
    for s in entry["shared"]:
        _supplied(doc, s["agency"], s["text"], "Shared at the meeting")
    for label, text in minutes.extract_lines(entry):
        _supplied(doc, "the MARAC (minutes)", text, label)
    for a in entry["actions"]:
        _supplied(doc, a["owner"], f"{a['text']} (due {a['due']})", "Action agreed at the meeting, owner")
    for a in entry["amendments"]:
        _supplied(doc, "the MARAC (minutes)", a["text"], f"Correction of {local_date(a['at'])}")


def document_bytes(h: Holding, by_name: str) -> bytes:
    """Everything held, as a Word document. python-docx writes text literally (nothing is markup)."""
    doc = WordDocument()
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)
    doc.sections[0].header.paragraphs[0].text = "OFFICIAL-SENSITIVE: subject access. Review before disclosure."
    doc.core_properties.title = f"Subject access: person {h.person.id}"
    doc.add_heading("Information held about one person (subject access)", 0)
    doc.add_paragraph(f"{settings.get('panel_name')}. Prepared by {by_name} on {local_date(clock.now())}. "
                      "Each entry supplied by an agency is marked with that agency: consult it before disclosing "
                      "its information, and remove information about other people (third parties) where the law "
                      "requires.")

    doc.add_heading("The person's record", 1)
    person = h.person
    for name, label in PERSON_FIELDS:
        value = getattr(person, name)
        if value not in (None, ""):
            doc.add_paragraph(f"{label}: {local_date(value) if name == 'date_of_birth' else value}")
    for alias in h.aliases:
        doc.add_paragraph(f"Also known as: {alias.given_name} {alias.family_name}".strip())

    doc.add_heading("Cases", 1)
    if not h.cases:
        doc.add_paragraph("This person is not in any case.")
    for case in h.cases:
        roles = ", ".join(PERSON_ROLES.get(r, r) for r in h.roles.get(case.id, [])) or "named in a referral"
        closed = f", closed {local_date(case.closed_at)}" if case.closed_at else ""
        doc.add_paragraph(f"Case {case.number}: {roles}. Opened {local_date(case.opened_at)}{closed}.")

    doc.add_heading("Referrals naming the person", 1)
    if not h.referrals:
        doc.add_paragraph("None.")
    for referral, roles in h.referrals:
        doc.add_heading(f"Referral of {local_datetime(referral.submitted_at)} from {referral.agency.name}", 2)
        doc.add_paragraph(f"Named as: {', '.join(PERSON_ROLES.get(r, r) for r in roles)}. "
                          f"Status: {referral.status_label}.")
        p = doc.add_paragraph()
        p.add_run(f"[Supplied by {referral.agency.name}] ").bold = True
        p.add_run("The referral as written:")
        _data_lines(doc, referral_data(referral))
        if referral.decision_reason:
            _supplied(doc, "the MARAC coordinator", referral.decision_reason, "Decision")

    numbers = {c.id: c.number for c in h.cases}
    doc.add_heading("Case notes", 1)
    if not h.notes:
        doc.add_paragraph("None.")
    for note in h.notes:
        restricted = " (restricted)" if note.restricted else ""
        _supplied(doc, note.agency.name, note.text,
                  f"Case {numbers.get(note.case_id, '')}, {local_datetime(note.created_at)}{restricted}")

    doc.add_heading("Documents", 1)
    if not h.documents:
        doc.add_paragraph("None.")
    for d in h.documents:
        _supplied(doc, d.agency.name, f"{d.title or d.filename} ({d.filename}), uploaded {local_date(d.created_at)}. "
                                      "The file itself is held on the case.",
                  f"Case {numbers.get(d.case_id, '')}")

    doc.add_heading("Actions", 1)
    if not h.actions:
        doc.add_paragraph("None.")
    for a in h.actions:
        note = f" Outcome: {a.completion_note}" if a.completion_note else ""
        _supplied(doc, a.owner_agency.name, f"{a.description} (due {local_date(a.due_date)}, {a.status}).{note}",
                  f"Case {numbers.get(a.case_id, '')}, action owner")
        for u in h.updates.get(a.id, []):
            owner = u.user.agency.name if u.user_id and u.user.agency_id else a.owner_agency.name
            _supplied(doc, owner, u.text, f"Update to that action ({u.kind}), {local_date(u.at)}")
        for r in h.reviews.get(a.id, []):
            _supplied(doc, "the MARAC (review of actions)", r.reason, f"Reviewed at a meeting ({r.outcome})")

    doc.add_heading("Closure and transfer", 1)
    if not h.events:
        doc.add_paragraph("None.")
    for e in h.events:
        _supplied(doc, e.agency.name if e.agency_id else "the MARAC coordinator", e.text,
                  f"Case {numbers.get(e.case_id, '')}, {e.kind.replace('_', ' ')} on {local_date(e.at)}")

    doc.add_heading("Meetings: research and minutes extracts", 1)
    if not h.listings:
        doc.add_paragraph("The person's cases have not been heard at a meeting.")
    for listing in h.listings:
        doc.add_heading(f"Case {listing.case.number} at the meeting of {listing.meeting.starts_at:%d %B %Y}", 2)
        for r in h.research.get(listing.id, []):
            for label, text in (("Victim", r.victim_info), ("Perpetrator", r.perpetrator_info),
                                ("Children", r.children_info)):
                if text:
                    _supplied(doc, r.agency.name, text, f"Research before the meeting, {label.lower()}")
        frozen = h.minutes.get(listing.id)
        if frozen is not None:
            _signed_minutes(doc, frozen)
            continue
        d = h.discussions.get(listing.id)
        if d is not None or h.shared.get(listing.id):
            doc.add_paragraph("Meeting record (draft: the chair has not signed the minutes off).")
        for info in h.shared.get(listing.id, []):
            if info.text:
                _supplied(doc, info.agency.name, info.text, "Shared at the meeting")
        if d is not None:
            for label, text in (("Summary", d.summary), ("Risks to the victim", d.risk_victim),
                                ("Risks to children", d.risk_children), ("Risks to others", d.risk_others),
                                ("Risks to staff", d.risk_staff), ("Victim's views", d.victim_views),
                                ("Decision", d.decision_note)):
                if text:
                    _supplied(doc, "the MARAC (minutes)", text, label)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def export(person: Person, user) -> tuple[str, bytes]:
    """Audit, then build, the subject access document (file name without personal data)."""
    h = gather(person)
    with db.atomic():
        # Recorded first: if the record cannot be written, nothing is handed out (SECURITY.md check 26).
        audit.record("person.subject_access", person, user=user, detail=h.counts())
    name = f"subject-access-person-{person.id}-{clock.now():%Y-%m-%d}.docx"
    return name, document_bytes(h, user.name)
