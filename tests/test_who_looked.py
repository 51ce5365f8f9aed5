"""Who has looked at this record (DOMAIN "Information governance", SECURITY.md check 22): on every case
and person the coordinator sees each view and change (who, agency, when, from where); opening a
closed-session case or one with restricted entries asks for a reason first, kept with the view."""
from datetime import date

import pytest
from marac_testing import make_agency, make_case, make_listing, make_meeting, make_note, make_person, make_user

from marac.models import AuditEvent, ViewReason


@pytest.fixture
def world(factory):
    coord_agency = make_agency("Community Safety", isa_signed_on=date(2025, 4, 1))
    police = make_agency("Anytown Police", isa_signed_on=date(2025, 4, 1))
    health = make_agency("Anytown Health", isa_signed_on=date(2025, 4, 1))
    coordinator = make_user("coordinator", coord_agency, name="Casey Coordinator")
    officer = make_user("representative", police, name="Pat Police")
    nurse = make_user("representative", health, name="Nell Nurse")
    victim = make_person("Ava", "Lookedat", date_of_birth=date(1990, 3, 27))
    case = make_case(people=[(victim, "victim")], lead_agency=police)
    return {"coordinator": coordinator, "officer": officer, "nurse": nurse, "victim": victim, "case": case,
            "police": police, "health": health}


def test_the_coordinator_sees_each_view_and_change_of_a_case(app, client, sign_in, world, fake_clock):
    case = world["case"]
    officer_client = app.test_client()
    from marac_testing import login

    login(officer_client, world["officer"])
    assert officer_client.get(f"/cases/{case.id}").status_code == 200
    fake_clock.advance(minutes=5)
    r = officer_client.post(f"/cases/{case.id}/notes/new", data={"category": "contact", "text": "Phoned."})
    assert r.status_code == 302
    sign_in(world["coordinator"])
    page = client.get(f"/governance/cases/{case.id}/history").get_data(as_text=True)
    assert "Who has looked at this record" in page
    assert page.count("Pat Police") == 2
    assert "Anytown Police" in page and "Opened the case" in page and "Added a note" in page
    assert "127.0.0.1" in page
    assert "02 Nov 2026 09:00" in page and "02 Nov 2026 09:05" in page
    # The look at the history is itself audited.
    assert AuditEvent.select().where(AuditEvent.action == "case.history").count() == 1
    # The case page links to it, for the coordinator only.
    assert f"/governance/cases/{case.id}/history" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/governance/cases/{case.id}/history" not in officer_client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_the_person_history_covers_their_cases_and_the_person(app, client, sign_in, world):
    from marac_testing import login

    case = world["case"]
    other_case = make_case(people=[(world["victim"], "victim")], lead_agency=world["health"])
    unrelated = make_case(people=[(make_person("Someone", "Else"), "victim")], lead_agency=world["police"])
    officer = app.test_client()
    login(officer, world["officer"])
    officer.get(f"/cases/{case.id}")
    officer.get(f"/cases/{unrelated.id}")
    nurse = app.test_client()
    login(nurse, world["nurse"])
    nurse.get(f"/cases/{other_case.id}")
    sign_in(world["coordinator"])
    person_page = client.get(f"/governance/people/{world['victim'].id}").get_data(as_text=True)
    assert "Ava Lookedat" in person_page and case.number in person_page and other_case.number in person_page
    page = client.get(f"/governance/people/{world['victim'].id}/history").get_data(as_text=True)
    assert "Pat Police" in page and "Nell Nurse" in page
    assert f"case {unrelated.id}" not in page
    assert page.count("Opened the case") == 2


def test_only_the_coordinator_sees_who_looked(app, client, sign_in, world):
    sign_in(world["officer"])
    assert client.get(f"/governance/cases/{world['case'].id}/history").status_code == 403
    assert client.get(f"/governance/people/{world['victim'].id}/history").status_code == 403
    assert client.get(f"/governance/people/{world['victim'].id}").status_code == 403


def test_a_closed_session_case_asks_for_a_reason_first(app, client, sign_in, world, fake_clock):
    case = world["case"]
    meeting = make_meeting()
    make_listing(meeting, case, kind="closed", invited=[world["police"]])
    sign_in(world["officer"])
    r = client.get(f"/cases/{case.id}")
    assert r.status_code == 302 and r.headers["Location"].startswith(f"/governance/cases/{case.id}/reason")
    assert not AuditEvent.select().where(AuditEvent.action == "case.view").exists()
    # htmx (the timeline's filters) is sent to the reason page too, not given a fragment.
    r = client.get(f"/cases/{case.id}/timeline", headers={"HX-Request": "true"})
    assert r.headers["HX-Redirect"].startswith(f"/governance/cases/{case.id}/reason")
    form = client.get(r.headers["HX-Redirect"])
    assert "Why do you need to open this case?" in form.get_data(as_text=True)
    # A reason is required.
    r = client.post(f"/governance/cases/{case.id}/reason?next=/cases/{case.id}", data={"reason": "  "})
    assert r.status_code == 200 and "Enter why you need to open this record" in r.get_data(as_text=True)
    r = client.post(f"/governance/cases/{case.id}/reason?next=/cases/{case.id}",
                    data={"reason": "Preparing the police action for Tuesday"})
    assert r.headers["Location"] == f"/cases/{case.id}"
    assert client.get(f"/cases/{case.id}").status_code == 200
    reason = ViewReason.get()
    assert (reason.user_id, reason.case_id) == (world["officer"].id, case.id)
    # The free-text reason is not in the append-only audit log; the fact it was given is.
    row = AuditEvent.select().where(AuditEvent.action == "case.view_reason").get()
    assert "Preparing" not in row.detail
    # The reason covers an hour of this sign-in; then it is asked again.
    fake_clock.advance(minutes=61)
    assert client.get(f"/cases/{case.id}").status_code == 302


def test_the_reason_is_shown_with_the_view(app, client, sign_in, world):
    from marac_testing import login

    case = world["case"]
    make_listing(make_meeting(), case, kind="closed", invited=[world["police"]])
    officer = app.test_client()
    login(officer, world["officer"])
    officer.post(f"/governance/cases/{case.id}/reason", data={"reason": "Checking the MASH referral"})
    officer.get(f"/cases/{case.id}")
    sign_in(world["coordinator"])
    client.post(f"/governance/cases/{case.id}/reason", data={"reason": "Audit of closed sessions"})
    page = client.get(f"/governance/cases/{case.id}/history").get_data(as_text=True)
    assert "Reason given: Checking the MASH referral" in page
    assert "Gave a reason to open the case" in page


def test_restricted_notes_of_another_agency_ask_the_coordinator_for_a_reason(client, sign_in, world):
    case = world["case"]
    make_note(case, world["officer"], text="Restricted police intelligence", restricted=True)
    sign_in(world["coordinator"])
    assert client.get(f"/cases/{case.id}").headers["Location"].startswith(f"/governance/cases/{case.id}/reason")
    page = client.get(f"/governance/cases/{case.id}/reason").get_data(as_text=True)
    assert "restricted" in page and "Restricted police intelligence" not in page


def test_the_agency_that_wrote_a_restricted_note_is_not_asked(client, sign_in, world):
    make_note(world["case"], world["officer"], text="Our own restricted note", restricted=True)
    sign_in(world["officer"])
    assert client.get(f"/cases/{world['case'].id}").status_code == 200


def test_the_reason_page_reveals_nothing_of_a_case_the_user_may_not_see(client, sign_in, world):
    case = world["case"]
    make_listing(make_meeting(), case, kind="closed", invited=[world["police"]])
    sign_in(world["nurse"])
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert client.get(f"/governance/cases/{case.id}/reason").status_code == 404
    assert client.post(f"/governance/cases/{case.id}/reason", data={"reason": "x"}).status_code == 404
    assert ViewReason.select().count() == 0


def test_an_open_case_needs_no_reason(client, sign_in, world):
    sign_in(world["officer"])
    assert client.get(f"/cases/{world['case'].id}").status_code == 200
    r = client.get(f"/governance/cases/{world['case'].id}/reason?next=/cases/{world['case'].id}")
    assert r.headers["Location"] == f"/cases/{world['case'].id}"


# --- SECURITY.md check 26: if the audit write fails, nothing is shown and nothing is changed ------------------


@pytest.fixture
def audit_fails(monkeypatch):
    """audit.record fails for the given actions (as a full disk would), from the moment it is called."""
    from peewee import OperationalError

    from marac import audit

    real = audit.record
    failing: set = set()

    def record(action, *args, **kwargs):
        if action in failing:
            raise OperationalError("database or disk is full")
        return real(action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", record)
    return failing


def test_no_audit_row_no_record_shown(client, sign_in, world, audit_fails):
    sign_in(world["coordinator"])
    audit_fails.update({"case.view", "person.view", "person.history", "case.history", "person.subject_access"})
    for method, url in (("GET", f"/cases/{world['case'].id}"),
                        ("GET", f"/governance/people/{world['victim'].id}"),
                        ("GET", f"/governance/people/{world['victim'].id}/history"),
                        ("GET", f"/governance/cases/{world['case'].id}/history"),
                        ("POST", f"/governance/people/{world['victim'].id}/subject-access")):
        r = client.open(url, method=method)
        assert r.status_code == 503, url
        body = r.get_data(as_text=True)
        assert "Lookedat" not in body and "Ava" not in body, url
        assert not r.headers["Content-Type"].startswith("application/vnd"), url


def test_no_audit_row_no_deletion(app, client, sign_in, world, audit_fails):
    from datetime import datetime

    from marac.models import Case, Person, RetentionDecision

    Case.update(status="closed", closed_at=datetime(2025, 1, 1, 12, 0)).where(Case.id == world["case"].id).execute()
    sign_in(world["coordinator"])
    audit_fails.add("case.retention_delete")
    r = client.post(f"/governance/retention/{world['case'].id}/delete", data={"reason": "Period passed"})
    assert r.status_code == 503
    assert Person.get_or_none(Person.id == world["victim"].id) is not None
    assert Case.get_by_id(world["case"].id).deleted_at is None
    assert not RetentionDecision.select().exists()


def test_no_audit_row_no_reason_kept_and_no_release(app, client, sign_in, world, audit_fails):
    from marac import releases
    from marac.models import ReleaseRequest

    make_listing(make_meeting(), world["case"], kind="closed", invited=[world["police"]])
    sign_in(world["coordinator"])
    audit_fails.update({"case.view_reason", "release.release"})
    r = client.post(f"/governance/cases/{world['case'].id}/reason", data={"reason": "Needed"})
    assert r.status_code == 503 and not ViewReason.select().exists()
    assert client.get(f"/cases/{world['case'].id}").status_code == 302  # still asks
    chair = make_user("chair", world["police"])
    row = releases.log_request(world["case"], world["coordinator"], requester_name="DHR chair",
                               requester_organisation="", basis="dhr", detail="", received_on=date(2026, 11, 2))
    releases.decide(row, chair, "approved", "Statutory review")
    r = client.post(f"/governance/releases/{row.id}/release")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/")
    assert ReleaseRequest.get_by_id(row.id).status == "approved"
