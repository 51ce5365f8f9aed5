"""Subject access (SECURITY.md check 27): the coordinator exports everything held about one person as a
Word document, nothing about a look-alike (same name, another date of birth); audited; each entry
supplied by an agency is marked with its owner."""
import io
import json
from datetime import date, datetime

import pytest
from docx import Document as WordDocument
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

from marac.models import AuditEvent, CaseDiscussion, Research, SharedInfo


@pytest.fixture
def world(app, fake_clock):
    police = make_agency("Anytown Police", isa_signed_on=date(2025, 4, 1))
    health = make_agency("Anytown Health", isa_signed_on=date(2025, 4, 1))
    coordinator = make_user("coordinator", make_agency("Community Safety"))
    officer = make_user("representative", police)
    nurse = make_user("representative", health)
    person = make_person("Jordan", "Samename", date_of_birth=date(1990, 3, 27), address="1 Mine Street")
    lookalike = make_person("Jordan", "Samename", date_of_birth=date(1992, 8, 14), address="9 Other Road")
    case = make_case(people=[(person, "victim")])
    other = make_case(people=[(lookalike, "victim")])
    make_referral(author=officer, people=[(person, "victim")], case=case, data={"risk": {"current_risk": "MINE-REF"}})
    make_referral(author=nurse, people=[(lookalike, "victim")], case=other,
                  data={"risk": {"current_risk": "LOOKALIKE-REF"}})
    make_note(case, officer, text="MINE-NOTE")
    make_note(case, nurse, text="MINE-RESTRICTED-NOTE", restricted=True)
    make_note(other, nurse, text="LOOKALIKE-NOTE")
    make_action(case, health, description="MINE-ACTION")
    make_action(other, police, description="LOOKALIKE-ACTION")
    meeting = make_meeting(starts_at=datetime(2026, 10, 14, 9, 30))
    mine = make_listing(meeting, case)
    theirs = make_listing(meeting, other)
    Research.create(listing=mine, agency=health, user=nurse, victim_info="MINE-RESEARCH")
    Research.create(listing=theirs, agency=health, user=nurse, victim_info="LOOKALIKE-RESEARCH")
    SharedInfo.create(listing=mine, agency=police, text="MINE-SHARED")
    SharedInfo.create(listing=theirs, agency=police, text="LOOKALIKE-SHARED")
    CaseDiscussion.create(listing=mine, summary="MINE-MINUTES")
    CaseDiscussion.create(listing=theirs, summary="LOOKALIKE-MINUTES")
    return {"coordinator": coordinator, "officer": officer, "person": person, "lookalike": lookalike}


def docx_text(data: bytes) -> str:
    doc = WordDocument(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_everything_about_the_person_and_nothing_about_the_lookalike(client, sign_in, world):
    sign_in(world["coordinator"])
    person = world["person"]
    page = client.get(f"/governance/people/{person.id}/subject-access")
    assert page.status_code == 200 and "Download the Word document" in page.get_data(as_text=True)
    assert not AuditEvent.select().where(AuditEvent.action == "person.subject_access").exists()
    r = client.post(f"/governance/people/{person.id}/subject-access")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument")
    disposition = r.headers["Content-Disposition"]
    assert f"subject-access-person-{person.id}-" in disposition and "Samename" not in disposition
    text = docx_text(r.data)
    for mine in ("Jordan", "1 Mine Street", "27 Mar 1990", "MINE-REF", "MINE-NOTE", "MINE-RESTRICTED-NOTE",
                 "MINE-ACTION", "MINE-RESEARCH", "MINE-SHARED", "MINE-MINUTES"):
        assert mine in text, mine
    assert "LOOKALIKE" not in text and "9 Other Road" not in text and "1992" not in text
    # Each entry supplied by an agency is marked with its owner.
    assert "[Supplied by Anytown Police] Case" in text or "[Supplied by Anytown Police]" in text
    lines = text.splitlines()
    assert any(line.startswith("[Supplied by Anytown Police]") and "MINE-NOTE" in line for line in lines)
    assert any(line.startswith("[Supplied by Anytown Health]") and "MINE-RESTRICTED-NOTE" in line for line in lines)
    assert any(line.startswith("[Supplied by Anytown Health]") and "MINE-RESEARCH" in line for line in lines)
    assert any(line.startswith("[Supplied by Anytown Police]") and "MINE-SHARED" in line for line in lines)
    # Audited, with counts only.
    row = AuditEvent.select().where(AuditEvent.action == "person.subject_access").get()
    assert (row.user_id, row.object_type, row.object_id) == (world["coordinator"].id, "person", str(person.id))
    detail = json.loads(row.detail)
    assert detail["notes"] == 2 and detail["cases"] == 1 and "Jordan" not in row.detail


def test_only_the_coordinator_exports(client, sign_in, world):
    sign_in(world["officer"])
    assert client.get(f"/governance/people/{world['person'].id}/subject-access").status_code == 403
    assert client.post(f"/governance/people/{world['person'].id}/subject-access").status_code == 403
    assert not AuditEvent.select().where(AuditEvent.action == "person.subject_access").exists()


def test_an_unknown_person_is_a_404_audited(client, sign_in, world):
    sign_in(world["coordinator"])
    assert client.post("/governance/people/9999/subject-access").status_code == 404
    assert AuditEvent.select().where((AuditEvent.action == "access.denied")
                                     & (AuditEvent.object_type == "person")).exists()


def test_the_case_page_links_the_coordinator_to_each_person(client, sign_in, world):
    from marac.models import CasePerson

    sign_in(world["coordinator"])
    case_id = CasePerson.get(CasePerson.person == world["person"].id).case_id
    client.post(f"/governance/cases/{case_id}/reason", data={"reason": "Subject access request"})  # restricted note
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/governance/people/{world['person'].id}" in page
