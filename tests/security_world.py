"""A small borough for the security tests (access matrix, sentinels, XSS): one user per role, and a
case with everything that hangs off it, with sentinel values in the fields only some may read.

Fictional data only. The seeded case is heard in a closed session to which only the involved agency
is invited, so the other agency's representative may see meetings but not this case; a second, open
case is on the same agenda so observers and other agencies see something."""
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from marac_testing import (
    make_action,
    make_agency,
    make_case,
    make_listing,
    make_meeting,
    make_note,
    make_person,
    make_referral,
    make_user,
)
from werkzeug.routing import AnyConverter

from marac.models import Attendance, CaseDiscussion, PersonMatch, ReleaseRequest, Research, SharedInfo

# Values that must never reach a page of a user who may not read the field holding them.
SENTINELS = {
    "restricted_note": "SENTINEL-RESTRICTED-NOTE-7341",
    "closed_summary": "SENTINEL-CLOSED-MINUTES-2210",
    "closed_research": "SENTINEL-CLOSED-RESEARCH-5120",
    "open_research": "SENTINEL-OPEN-RESEARCH-8814",
    "referral_text": "SENTINEL-REFERRAL-TEXT-6607",
}
# Personal data that must never be in a URL the app produces (SECURITY.md check 29).
PERSONAL = {"given": "Matrixvictim", "family": "Sentinelname", "dob": date(1990, 3, 27), "postcode": "IG11 7AB",
            "address": "1 Sentinel Street"}


@dataclass
class World:
    users: dict
    values: dict
    objects: dict = field(default_factory=dict)


def build_world(app) -> World:
    from marac import documents, meetings

    signed = date(2025, 4, 1)
    coord_agency = make_agency("Community Safety Partnership", isa_signed_on=signed)
    involved = make_agency("Involved Agency", isa_signed_on=signed)
    other = make_agency("Other Member Agency", isa_signed_on=signed)
    users = {
        "C": make_user("coordinator", coord_agency),
        "H": make_user("chair", coord_agency),
        "R": make_user("representative", involved),
        "X": make_user("representative", other),
        "F": make_user("referrer", make_agency("Referring Charity", kind="referrer")),
        "G": make_user("referrer", make_agency("Another Referring Charity", kind="referrer")),
        "O": make_user("observer", make_agency("Observer College", kind="referrer")),
    }
    victim = make_person(PERSONAL["given"], PERSONAL["family"], date_of_birth=PERSONAL["dob"],
                         postcode=PERSONAL["postcode"], address=PERSONAL["address"])
    perpetrator = make_person("Matrixperp", PERSONAL["family"], date_of_birth=date(1988, 1, 2))
    case = make_case(people=[(victim, "victim"), (perpetrator, "perpetrator")], lead_agency=involved)
    referral = make_referral(author=users["F"], people=[(victim, "victim"), (perpetrator, "perpetrator")],
                             status="submitted", case=case,
                             data={"current_risk": SENTINELS["referral_text"]})
    lookalike = make_person(PERSONAL["given"], PERSONAL["family"], date_of_birth=date(1991, 3, 27))
    match = PersonMatch.create(person=lookalike, candidate=victim, referral=referral, reason="name")
    action = make_action(case, involved, created_by=users["C"])
    note = make_note(case, users["R"])
    make_note(case, users["R"], text=SENTINELS["restricted_note"], restricted=True)
    with app.app_context():
        document = documents.save(case, users["R"], filename="letter.pdf", data=b"%PDF-1.4\n% fictional\n")
    meeting = make_meeting(starts_at=datetime(2026, 11, 18, 9, 30))
    listing = make_listing(meeting, case, kind="closed", invited=[involved], referral=referral)
    Research.create(listing=listing, agency=involved, user=users["R"], victim_info=SENTINELS["closed_research"])
    CaseDiscussion.create(listing=listing, summary=SENTINELS["closed_summary"])
    # A second, open case on the same agenda (what observers and other agencies may see).
    open_victim = make_person("Openvictim", "Openfamily")
    open_case = make_case(people=[(open_victim, "victim")])
    make_referral(author=users["F"], people=[(open_victim, "victim")], status="accepted", case=open_case)
    open_listing = make_listing(meeting, open_case, kind="full")
    Research.create(listing=open_listing, agency=involved, user=users["R"], victim_info=SENTINELS["open_research"])
    SharedInfo.create(listing=open_listing, agency=involved, text="Shared openly at the meeting")
    observer_row = Attendance.create(meeting=meeting, user=users["O"], name=users["O"].name, capacity="observer",
                                     status="present", observer_status="approved", agreed_at=datetime(2026, 11, 18))
    for key in "CHRX":
        u = users[key]
        Attendance.create(meeting=meeting, user=u, agency=u.agency_id, name=u.name,
                          capacity={"C": "coordinator", "H": "chair"}.get(key, "representative"),
                          agreed_at=datetime(2026, 11, 18))
    with app.app_context():
        meetings.circulate(meeting, users["C"])
    release = ReleaseRequest.create(case=case, requester_name="Review Panel Chair", basis="dhr",
                                    received_on=date(2026, 11, 2), due_on=date(2026, 11, 16), logged_by=users["C"])
    values = {
        "case_id": case.id, "referral_id": referral.id, "action_id": action.id, "note_id": note.id,
        "document_id": document.id, "meeting_id": meeting.id, "listing_id": listing.id,
        "attendance_id": observer_row.id, "match_id": match.id, "user_id": users["X"].id,
        "agency_id": other.id, "person_id": victim.id, "release_id": release.id, "instrument_id": "dash",
        "slug": "person", "group": "panel", "token": "not-a-setup-token", "filename": "css/app.css", "key": "all",
    }
    objects = {"case": case, "open_case": open_case, "meeting": meeting, "listing": listing,
               "open_listing": open_listing, "victim": victim, "referral": referral}
    return World(users=users, values=values, objects=objects)


def dump(value) -> str:
    return json.dumps(value, default=str)


def url_for_rule(rule, values: dict) -> str:
    """A URL for this rule with the seeded objects' ids (any(...) parts: the first choice)."""
    args = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            args[name] = sorted(converter.items)[0]
        else:
            assert name in values, f"no seeded value for <{name}> in {rule.rule}: add it to security_world"
            args[name] = values[name]
    return rule.build(args)[1]


def docx_text(data: bytes) -> str:
    """The text of a Word document (paragraphs, tables, headers)."""
    import io

    from docx import Document as WordDocument

    doc = WordDocument(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def signed_in_client(app, world: World, role: str):
    """A test client signed in as this role (anonymous for "A"), with the reason for the closed-session
    case already given where the role may open it."""
    from marac_testing import login

    client = app.test_client()
    if role != "A":
        assert login(client, world.users[role]).status_code == 302
    if role in "CHR":
        r = client.post(f"/governance/cases/{world.values['case_id']}/reason", data={"reason": "Security test"})
        assert r.status_code == 302
    return client
