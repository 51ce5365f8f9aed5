"""Release of minutes (DHR, SAR, court order): logged with requester and basis, the chair decides, a
release hands out the case's minutes extracts and action plan and is recorded with its date; the
10-working-day deadline is shown (bank holidays skipped)."""
import io
import zipfile
from datetime import date, datetime

import pytest
from docx import Document as WordDocument
from marac_testing import make_action, make_agency, make_case, make_listing, make_meeting, make_user

from marac import releases
from marac.models import AuditEvent, CaseDiscussion, ReleaseRequest


@pytest.fixture
def world(fake_clock):
    police = make_agency("Anytown Police", isa_signed_on=date(2025, 4, 1))
    coordinator = make_user("coordinator", make_agency("Community Safety"))
    chair = make_user("chair", police)
    officer = make_user("representative", police)
    case = make_case()
    meeting = make_meeting(starts_at=datetime(2026, 10, 14, 9, 30))
    listing = make_listing(meeting, case)
    CaseDiscussion.create(listing=listing, summary="Summary agreed at the meeting")
    make_action(case, police, description="Police to check bail conditions", listing=listing)
    return {"coordinator": coordinator, "chair": chair, "officer": officer, "case": case}


def test_the_deadline_is_ten_working_days_skipping_bank_holidays():
    # Received Monday 21 December 2026: Christmas Day, Boxing Day (substitute Monday 28th) and
    # New Year's Day are not working days.
    assert releases.due_on(date(2026, 12, 21)) == date(2027, 1, 7)
    assert releases.due_on(date(2026, 11, 2)) == date(2026, 11, 16)


def test_a_request_is_logged_decided_by_the_chair_and_released(app, world, fake_clock):
    case = world["case"]
    coord = app.test_client()
    from marac_testing import login

    login(coord, world["coordinator"])
    form = coord.get(f"/governance/cases/{case.id}/releases/new")
    assert form.status_code == 200
    r = coord.post(f"/governance/cases/{case.id}/releases/new", data={
        "requester_name": "Dana Reviewer", "requester_organisation": "Anytown DHR panel", "basis": "dhr",
        "detail": "DHR 2026/03", "received_on": ["2", "11", "2026"]})
    assert r.status_code == 302
    row = ReleaseRequest.get()
    assert (row.requester_name, row.basis, row.status, row.due_on) == ("Dana Reviewer", "dhr", "requested",
                                                                       date(2026, 11, 16))
    assert row.logged_by_id == world["coordinator"].id
    page = coord.get(r.headers["Location"]).get_data(as_text=True)
    assert "Domestic Homicide Review" in page and "16 Nov 2026" in page and "10 working days left" in page
    assert "Waiting for the chair" in page
    # The coordinator cannot decide, nor release before the decision.
    assert coord.post(f"/governance/releases/{row.id}", data={"decision": "approved", "reason": "x"}).status_code == 403
    r = coord.post(f"/governance/releases/{row.id}/release")
    assert r.status_code == 302 and ReleaseRequest.get().released_at is None
    # The chair decides.
    chair = app.test_client()
    login(chair, world["chair"])
    listing = chair.get("/governance/releases").get_data(as_text=True)
    assert case.number in listing and "10 working days left" in listing
    r = chair.post(f"/governance/releases/{row.id}", data={"decision": "approved", "reason": "Statutory review"})
    assert r.status_code == 302
    row = ReleaseRequest.get()
    assert (row.status, row.decided_by_id, row.decision_reason) == ("approved", world["chair"].id, "Statutory review")
    # A second decision is refused.
    r = chair.post(f"/governance/releases/{row.id}", data={"decision": "refused", "reason": "Changed my mind"})
    assert "already been decided" in r.get_data(as_text=True)
    # The release: a zip with the minutes extracts and the action plan, recorded with its date.
    fake_clock.advance(days=3)
    login(coord, world["coordinator"])
    r = coord.post(f"/governance/releases/{row.id}/release")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        assert sorted(archive.namelist()) == sorted(releases.FILES)
        minutes = "\n".join(p.text for p in WordDocument(io.BytesIO(archive.read("minutes-extracts.docx"))).paragraphs)
        plan = WordDocument(io.BytesIO(archive.read("action-plan.docx")))
    assert "Summary agreed at the meeting" in minutes
    assert any("Police to check bail conditions" in c.text for t in plan.tables for r_ in t.rows for c in r_.cells)
    row = ReleaseRequest.get()
    assert row.status == "released" and row.released_at == fake_clock() and row.released_by_id == world[
        "coordinator"].id
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.action.startswith("release."))]
    assert actions.count("release.request") == 1 and actions.count("release.decide") == 1
    assert actions.count("release.release") == 1
    # Free text (the requester, the reason) stays out of the audit log.
    dump = " ".join(e.detail for e in AuditEvent.select())
    assert "Dana" not in dump and "Statutory" not in dump


def test_a_refused_request_cannot_be_released(app, client, sign_in, world):
    row = releases.log_request(world["case"], world["coordinator"], requester_name="Court clerk",
                               requester_organisation="", basis="court", detail="", received_on=date(2026, 11, 2))
    releases.decide(row, world["chair"], "refused", "No order attached")
    sign_in(world["coordinator"])
    r = client.post(f"/governance/releases/{row.id}/release")
    assert r.status_code == 302
    assert ReleaseRequest.get().released_at is None


def test_representatives_and_others_cannot_see_requests(client, sign_in, world):
    row = releases.log_request(world["case"], world["coordinator"], requester_name="SAR author",
                               requester_organisation="", basis="sar", detail="", received_on=date(2026, 11, 2))
    sign_in(world["officer"])
    assert client.get("/governance/releases").status_code == 403
    assert client.get(f"/governance/releases/{row.id}").status_code == 403
    assert client.post(f"/governance/releases/{row.id}/release").status_code == 403


def test_a_late_request_shows_how_late(client, sign_in, world, fake_clock):
    releases.log_request(world["case"], world["coordinator"], requester_name="SAR author", requester_organisation="",
                         basis="sar", detail="", received_on=date(2026, 10, 1))
    sign_in(world["coordinator"])
    page = client.get("/governance/releases").get_data(as_text=True)
    assert "working days late" in page
