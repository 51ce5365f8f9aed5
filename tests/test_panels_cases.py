"""Panels (issue 12) in the case record, actions, search and governance: two panels in one database,
and nothing of panel B reaches a user working in panel A (search, actions lists and counts, case and
child ids, retention, subject access, releases, the audit log); a transfer between them shares no rows.

Fictional data only. Panel A is the install's own (id 1); panel B is added. Agencies are shared: the
same police force serves both, and its representative in A must still see only A's actions."""
import io
import zipfile
from datetime import date, datetime

import pytest
from docx import Document as WordDocument
from marac_testing import (
    CountQueries,
    login,
    make_action,
    make_agency,
    make_case,
    make_note,
    make_person,
    make_referral,
    make_user,
)
from postgres_testing import sqlite_only

from marac import actions, audit, cases, panels, retention, settings, subject_access
from marac.db import db, is_sqlite
from marac.models import (
    AuditEvent,
    Case,
    CasePerson,
    Document,
    Note,
    Panel,
    Person,
    Referral,
    ReleaseRequest,
    UserPanel,
)

VICTIM = {"given_name": "Wren", "family_name": "Panelsplit", "date_of_birth": date(1988, 6, 5), "postcode": "ZZ3 3ZZ"}


def _document(case, user, title):
    return Document.create(case=case, uploaded_by=user, agency=user.agency_id, title=title, filename="x.pdf",
                           content_type="application/pdf", size=10, stored_name=f"stored-{title}", sha256="0" * 64)


def _side(label, police, council):
    """One panel's users and a case closed in April 2025 (its retention review is due) with the same
    look-alike victim, a note, a restricted note, a document, an overdue action for the shared police
    force, and a request to release its minutes."""
    coordinator = make_user("coordinator", council, name=f"Coordinator {label}",
                            email=f"coord.{label.lower()}@example.test")
    chair = make_user("chair", council, name=f"Chair {label}")
    officer = make_user("representative", police, name=f"Officer {label}")
    victim = make_person(**VICTIM)
    case = make_case(number=f"{label}-2026-0001", people=[(victim, "victim")], lead_agency=police, status="closed",
                     closed_at=datetime(2025, 4, 1, 9, 0))
    note = make_note(case, officer, text=f"Note of panel {label}")
    restricted = make_note(case, officer, text=f"Restricted note of panel {label}", restricted=True)
    action = make_action(case, police, description=f"Action of panel {label}", due_date=date(2026, 10, 1))
    document = _document(case, officer, f"doc-{label}")
    release = ReleaseRequest.create(case=case, requester_name=f"Reviewer {label}", basis="dhr",
                                    received_on=date(2026, 10, 20), due_on=date(2026, 11, 3), logged_by=coordinator)
    return type(label, (), dict(coordinator=coordinator, chair=chair, officer=officer, victim=victim, case=case,
                                note=note, restricted=restricted, action=action, document=document, release=release))


@pytest.fixture
def two(app, fake_clock):
    """Panel A (id 1) and panel B, each with its own side; one police force and one council serve both."""
    police = make_agency("Shire Police", isa_signed_on=date(2025, 4, 1))
    council = make_agency("Shire Council", isa_signed_on=date(2025, 4, 1))
    b = Panel.create(name="Northshire East MARAC")
    a_side = _side("A", police, council)
    with panels.using(b.id):
        b_side = _side("B", police, council)
    assert (a_side.case.panel_id, b_side.case.panel_id, b_side.coordinator.panel_id) == (1, b.id, b.id)
    return type("Two", (), dict(a=a_side, b=b_side, panel_b=b, police=police, council=council))


def _last_denied():
    row = AuditEvent.select().where(AuditEvent.action == "access.denied").order_by(AuditEvent.id.desc()).first()
    return (row.object_type, row.object_id) if row else None


# --- search -------------------------------------------------------------------------------------------


def test_search_in_a_never_finds_bs_person(two, client, sign_in):
    sign_in(two.a.coordinator)
    dob = {"date_of_birth-day": "5", "date_of_birth-month": "6", "date_of_birth-year": "1988"}
    for terms in ({"name": "Wren Panelsplit"}, {"name": "Panelsplit"}, {"postcode": "ZZ3 3ZZ"}, dob,
                  {"number": "B-2026"}):
        page = client.post("/cases/", data=terms).get_data(as_text=True)
        assert "B-2026-0001" not in page, terms
    page = client.post("/cases/", data={"name": "Wren Panelsplit", **dob}).get_data(as_text=True)
    assert "A-2026-0001" in page


def test_search_counts_only_the_panels_people_against_the_person_limit(two, monkeypatch):
    # With room for one person, B's look-alike must not take the place of A's (nor A's of B's).
    monkeypatch.setattr(cases, "PERSON_LIMIT", 1)
    result = cases.search(two.a.coordinator, name="Wren Panelsplit")
    assert [c.number for c in result.cases] == ["A-2026-0001"] and not result.more
    with panels.using(two.panel_b.id):
        result = cases.search(two.b.coordinator, name="Wren Panelsplit")
    assert [c.number for c in result.cases] == ["B-2026-0001"] and not result.more


@sqlite_only("EXPLAIN QUERY PLAN is SQLite's")
def test_search_and_the_case_pages_links_seek_not_walk_the_panel(two):
    # The panel is a filter there: as an equality on an index, SQLite (no ANALYZE) walked every case and
    # every person of the panel before the ids, the number or the name.
    with CountQueries() as q:
        cases.search(two.a.coordinator, name="Wren Panelsplit", date_of_birth=VICTIM["date_of_birth"])
        cases.search(two.a.coordinator, number="A-2026")
        cases.open_case(Case.get_by_id(two.a.case.id), two.a.coordinator)
    plans = [" | ".join(row[-1] for row in db.obj.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
             for sql, params in q.calls if sql.lstrip().upper().startswith("SELECT")
             and ('FROM "case"' in sql or 'FROM "person"' in sql or 'FROM "case_person"' in sql)]
    assert len(plans) >= 4, plans
    for plan in plans:
        assert "case_panel_id_status" not in plan and "person_panel_id" not in plan, plan


# --- actions --------------------------------------------------------------------------------------------


def test_the_shared_agencys_actions_and_counts_in_a_exclude_bs(two, client, sign_in):
    sign_in(two.a.officer)
    for tab in ("overdue", "open"):
        page = client.get(f"/actions/?tab={tab}").get_data(as_text=True)
        assert "Action of panel A" in page and "Action of panel B" not in page, tab
    assert actions.agency_counts(two.police.id) == {"overdue": 1, "soon": 0, "open": 1, "done": 0}
    with panels.using(two.panel_b.id):
        rows, _ = actions.agency_actions(two.police.id, "open")
        assert [a.id for a in rows] == [two.b.action.id]
        assert actions.agency_counts(two.police.id)["open"] == 1


def test_the_coordinators_overdue_lists_are_the_panels(two, client, sign_in):
    sign_in(two.a.coordinator)
    page = client.get("/actions/overview").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page
    page = client.get(f"/actions/overview?agency={two.police.id}").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page
    assert [(o.agency.id, o.count) for o in actions.overdue_by_agency()] == [(two.police.id, 1)]
    assert [a.id for a in actions.overdue_for_review(date(2026, 11, 18))] == [two.a.action.id]


def test_carry_over_takes_the_meetings_panels_actions(two):
    from marac_testing import make_meeting

    with panels.using(two.panel_b.id):
        meeting_b = make_meeting(starts_at=datetime(2026, 11, 18, 9, 30))
    # Run from panel A's side (or a job outside any panel): still B's actions only.
    assert [a.id for a in actions.carry_over(meeting_b)] == [two.b.action.id]


# --- another panel's ids are a 404 ------------------------------------------------------------------------


def _b_gets(b, a):
    return [f"/cases/{b.case.id}", f"/cases/{b.case.id}/timeline", f"/cases/{b.case.id}/notes/new",
            f"/cases/{b.case.id}/notes/{b.note.id}/correct", f"/cases/{a.case.id}/notes/{b.note.id}/correct",
            f"/cases/{b.case.id}/documents/new", f"/cases/documents/{b.document.id}",
            f"/actions/{b.action.id}", f"/actions/{b.action.id}/complete", f"/actions/{b.action.id}/cannot"]


def _b_coordinator_gets(b):
    return [f"/cases/{b.case.id}/close", f"/cases/{b.case.id}/reopen", f"/cases/{b.case.id}/transfer",
            f"/actions/{b.action.id}/escalate", f"/actions/new/{b.case.id}",
            f"/governance/cases/{b.case.id}/reason", f"/governance/cases/{b.case.id}/history",
            f"/governance/people/{b.victim.id}", f"/governance/people/{b.victim.id}/history",
            f"/governance/people/{b.victim.id}/subject-access", f"/governance/retention/{b.case.id}/keep",
            f"/governance/retention/{b.case.id}/delete", f"/governance/releases/{b.release.id}",
            f"/governance/cases/{b.case.id}/releases/new"]


def _assert_404(client, method, url, data=None):
    before = AuditEvent.select().where(AuditEvent.action == "access.denied").count()
    response = client.open(url, method=method, data=data or {})
    assert response.status_code == 404, (method, url, response.status_code)
    assert "Panelsplit" not in response.get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.action == "access.denied").count() == before + 1, url


def test_a_coordinator_of_a_gets_404_for_every_b_id(two, client, sign_in):
    b = two.b
    sign_in(two.a.coordinator)
    # A's own case holds the police's restricted note: its pages ask the coordinator for a reason first.
    client.post(f"/governance/cases/{two.a.case.id}/reason", data={"reason": "Checking a correction"})
    for url in _b_gets(b, two.a) + _b_coordinator_gets(b):
        _assert_404(client, "GET", url)
    posts = [(f"/cases/{b.case.id}/lead", {"lead_agency": "0"}), (f"/actions/{b.action.id}/done", {}),
             (f"/actions/{b.action.id}/chase", {}), (f"/actions/{b.action.id}/reopen", {}),
             (f"/cases/{b.case.id}/reopen", {"text": "x"}), (f"/cases/{b.case.id}/notes/new",
                                                              {"category": "contact", "text": "x"}),
             (f"/governance/retention/{b.case.id}/delete", {"reason": "x", "confirm": "y"}),
             (f"/governance/releases/{b.release.id}/release", {}),
             (f"/governance/people/{b.victim.id}/subject-access", {})]
    for url, data in posts:
        _assert_404(client, "POST", url, data)
    # Nothing of B changed.
    assert Case.get_by_id(b.case.id).deleted_at is None and Case.get_by_id(b.case.id).status == "closed"
    assert Note.select().where(Note.case == b.case.id).count() == 2
    assert not AuditEvent.select().where(AuditEvent.action == "action.chase").exists()


def test_a_representative_of_the_shared_agency_in_a_gets_404_for_bs_case_action_note_document(two, client, sign_in):
    sign_in(two.a.officer)  # B's action is their agency's, B's notes and document their agency's: still B's
    for url in _b_gets(two.b, two.a):
        _assert_404(client, "GET", url)
    _assert_404(client, "POST", f"/actions/{two.b.action.id}/done")
    assert _last_denied() == ("action", str(two.b.action.id))


def test_a_chair_of_a_gets_404_for_bs_case_and_release(two, client, sign_in):
    sign_in(two.a.chair)
    _assert_404(client, "GET", f"/cases/{two.b.case.id}")
    _assert_404(client, "GET", f"/governance/releases/{two.b.release.id}")
    page = client.get("/governance/releases").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page


def test_a_user_granted_b_works_there_after_switching(two, client, sign_in):
    UserPanel.create(user=two.a.officer, panel=two.panel_b)
    sign_in(two.a.officer)
    assert client.get(f"/actions/{two.b.action.id}").status_code == 404
    assert client.post("/panel", data={"panel": str(two.panel_b.id)}).status_code == 302
    page = client.get("/actions/?tab=open").get_data(as_text=True)
    assert "Action of panel B" in page and "Action of panel A" not in page
    assert client.get(f"/actions/{two.b.action.id}").status_code == 200
    assert client.get(f"/actions/{two.a.action.id}").status_code == 404


# --- retention --------------------------------------------------------------------------------------------


def test_the_retention_queue_is_the_panels(two, client, sign_in):
    sign_in(two.a.coordinator)
    page = client.get("/governance/retention").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page
    with panels.using(two.panel_b.id):
        assert [i.case.id for i in retention.queue(date(2026, 11, 2))] == [two.b.case.id]


def test_retention_deletes_per_panel(two, app):
    with app.app_context():  # the documents' files are under the app's instance folder
        retention.delete(Case.get_by_id(two.a.case.id), two.a.coordinator, "Review: no longer needed")
    assert Case.get_by_id(two.a.case.id).deleted_at is not None
    assert Person.get_or_none(Person.id == two.a.victim.id) is None
    # B's case, its people and its notes are untouched, and it is still due in B.
    assert Case.get_by_id(two.b.case.id).deleted_at is None
    assert Person.get_by_id(two.b.victim.id).family_name == "Panelsplit"
    assert Note.select().where(Note.case == two.b.case.id).count() == 2
    assert retention.queue(date(2026, 11, 2)) == []
    with panels.using(two.panel_b.id):
        assert [i.case.id for i in retention.queue(date(2026, 11, 2))] == [two.b.case.id]


def test_a_cases_review_date_follows_its_own_panels_setting(two):
    Case.update(closed_at=datetime(2026, 3, 1, 9, 0)).where(Case.id.in_([two.a.case.id, two.b.case.id])).execute()
    with panels.using(two.panel_b.id):
        settings.set_many({"retention_months": 6}, two.b.coordinator)
    assert settings.get("retention_months") == 12
    # Read while panel A is in view, B's case still takes B's six months.
    assert retention.review_due(Case.get_by_id(two.b.case.id)) == date(2026, 9, 1)
    assert retention.review_due(Case.get_by_id(two.a.case.id)) == date(2027, 3, 1)
    assert retention.queue(date(2026, 11, 2)) == []
    with panels.using(two.panel_b.id):
        assert [i.case.id for i in retention.queue(date(2026, 11, 2))] == [two.b.case.id]


# --- subject access -----------------------------------------------------------------------------------


def test_subject_access_of_a_never_includes_bs_records(two, client, sign_in):
    a, b = two.a, two.b
    # Even were A's person linked to B's case or named in B's referral, A's export stays A's.
    CasePerson.create(case=b.case, person=a.victim, role="victim")
    with panels.using(two.panel_b.id):
        make_referral(author=b.officer, people=[(a.victim, "victim")], case=b.case,
                      data={"current_risk": "Referral text of panel B"})
    held = subject_access.gather(Person.get_by_id(a.victim.id))
    assert [c.id for c in held.cases] == [a.case.id]
    assert {n.case_id for n in held.notes} == {a.case.id} and held.referrals == []
    assert [x.id for x in held.actions] == [a.action.id] and [d.id for d in held.documents] == [a.document.id]

    sign_in(a.coordinator)
    response = client.post(f"/governance/people/{a.victim.id}/subject-access")
    assert response.status_code == 200
    text = "\n".join(p.text for p in WordDocument(io.BytesIO(response.data)).paragraphs)
    assert "Note of panel A" in text
    assert "panel B" not in text and "B-2026-0001" not in text


def test_the_person_page_lists_only_the_panels_cases(two, client, sign_in):
    CasePerson.create(case=two.b.case, person=two.a.victim, role="victim")
    sign_in(two.a.coordinator)
    page = client.get(f"/governance/people/{two.a.victim.id}").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page


# --- releases -----------------------------------------------------------------------------------------


def test_the_release_requests_are_the_panels(two, client, sign_in):
    sign_in(two.a.coordinator)
    page = client.get("/governance/releases").get_data(as_text=True)
    assert "A-2026-0001" in page and "B-2026-0001" not in page
    ReleaseRequest.update(status="refused").where(ReleaseRequest.id == two.b.release.id).execute()
    page = client.get("/governance/releases").get_data(as_text=True)
    assert "B-2026-0001" not in page


# --- transfer between two panels of one database ----------------------------------------------------------


def test_a_transfer_from_a_to_b_is_a_pack_and_shares_no_rows(two, client, sign_in):
    settings.set_many({"panel_name": "Southshire MARAC"}, two.a.coordinator)
    in_b = lambda: [m.select().where(m.panel == two.panel_b.id).count() for m in (Case, Person, Referral)]  # noqa: E731
    before = in_b()
    sign_in(two.a.coordinator)
    response = client.post(f"/cases/{two.a.case.id}/transfer", data={"area": "Northshire East MARAC"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as pack:
        referral_doc = WordDocument(io.BytesIO(pack.read(pack.namelist()[0])))
    text = "\n".join(p.text for p in referral_doc.paragraphs)
    assert "From Southshire MARAC" in text and "Northshire East" not in text
    assert in_b() == before  # nothing was written into B: its coordinator enters the referral from the pack
    assert Case.get_by_id(two.a.case.id).panel_id == 1


# --- the audit log -----------------------------------------------------------------------------------------


def test_events_record_the_panel_in_view(two, client, sign_in):
    UserPanel.create(user=two.a.coordinator, panel=two.panel_b)
    sign_in(two.a.coordinator)
    client.post("/panel", data={"panel": str(two.panel_b.id)})
    client.post(f"/governance/cases/{two.b.case.id}/reason", data={"reason": "Covering the East panel"})
    assert client.get(f"/cases/{two.b.case.id}").status_code == 200
    view = AuditEvent.select().where(AuditEvent.action == "case.view").order_by(AuditEvent.id.desc()).get()
    assert (view.object_id, view.panel_id) == (str(two.b.case.id), two.panel_b.id)
    # Outside a request: the `using` block's panel, else the first panel.
    with panels.using(two.panel_b.id):
        assert audit.record("test.event").panel_id == two.panel_b.id
    assert audit.record("test.event").panel_id == 1


def test_a_failed_sign_in_is_recorded_in_the_accounts_home_panel(two, client):
    login(client, two.b.officer, password="wrong-password-1234")
    failed = AuditEvent.select().where(AuditEvent.action == "auth.login_failed").order_by(AuditEvent.id.desc()).get()
    assert failed.panel_id == two.panel_b.id


def _view_in(panel_id, case, user):
    with panels.using(panel_id):
        return audit.record("case.view", case, user=user)


def test_the_audit_log_shows_a_coordinator_only_their_panels_events(two, app, client, sign_in):
    a_event = _view_in(1, two.a.case, two.a.officer)
    b_event = _view_in(two.panel_b.id, two.b.case, two.b.officer)
    sign_in(two.a.coordinator)
    page = client.get(f"/admin/audit?object_type=case&object_id={two.b.case.id}").get_data(as_text=True)
    assert "No events match." in page
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"<td class=\"govuk-table__cell\">{a_event.id}</td>" in page
    assert f"<td class=\"govuk-table__cell\">{b_event.id}</td>" not in page
    assert "Officer B" not in page and "Coordinator B" not in page  # nor in the user filter's list

    other = app.test_client()
    assert login(other, two.b.coordinator).status_code == 302
    page = other.get("/admin/audit").get_data(as_text=True)
    assert f"<td class=\"govuk-table__cell\">{b_event.id}</td>" in page
    assert f"<td class=\"govuk-table__cell\">{a_event.id}</td>" not in page
    assert "Officer A" not in page


def test_events_of_no_panel_are_the_first_panels(two):
    # A row written before m1110 (no panel): hashed without one, it still verifies, and only the
    # install's own (first) panel's log shows it.
    first = _view_in(1, two.a.case, two.a.officer)
    row = {"at": datetime(2026, 1, 1, 9, 0), "user_id": None, "user_name": "", "role": "", "agency_id": None,
           "action": "legacy.event", "object_type": "", "object_id": "", "detail": "", "ip": "", "request_id": "",
           "prev_hash": first.hash}
    row["hash"] = audit.row_hash(row)
    legacy = AuditEvent.create(**row)
    assert legacy.panel_id is None
    _view_in(two.panel_b.id, two.b.case, two.b.officer)
    assert audit.verify().ok
    assert AuditEvent.select().where(audit.panel_where(1) & (AuditEvent.id == legacy.id)).exists()
    assert not AuditEvent.select().where(audit.panel_where(two.panel_b.id) & (AuditEvent.id == legacy.id)).exists()


def test_moving_an_event_to_another_panel_breaks_the_chain(two):
    event = _view_in(two.panel_b.id, two.b.case, two.b.officer)
    audit.record("test.after")
    on = "" if is_sqlite() else " ON audit_event"
    db.execute_sql("DROP TRIGGER audit_event_no_update" + on)
    AuditEvent.update(panel_id=1).where(AuditEvent.id == event.id).execute()
    result = audit.verify()
    assert (result.ok, result.first_bad_id) == (False, event.id)


# --- demo data --------------------------------------------------------------------------------------------


def test_the_demo_borough_is_one_panel(app, monkeypatch):
    from argon2 import PasswordHasher

    from marac import demo, passwords
    from marac.models import User

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    made = demo.load()
    assert Panel.select().count() == 1
    assert {u.panel_id for u in User.select()} == {1} and len(made) == User.select().count()
    assert {e.panel_id for e in AuditEvent.select().where(AuditEvent.action == "user.create")} == {1}


def test_the_audit_logs_object_types_are_the_panels(two, app, client, sign_in):
    with panels.using(two.panel_b.id):
        audit.record("settings.update", object_type="settings", object_id="panel", user=two.b.coordinator)
    _view_in(1, two.a.case, two.a.officer)
    assert "settings" not in audit.object_types() and "case" in audit.object_types()
    assert "settings" in audit.object_types(two.panel_b.id)
    sign_in(two.a.coordinator)
    assert 'value="settings"' not in client.get("/admin/audit").get_data(as_text=True)
    other = app.test_client()
    assert login(other, two.b.coordinator).status_code == 302
    assert 'value="settings"' in other.get("/admin/audit").get_data(as_text=True)


@sqlite_only("EXPLAIN QUERY PLAN is SQLite's")
def test_the_audit_logs_object_types_are_index_seeks(two):
    with CountQueries() as q:
        audit.object_types()
    seeks = [c for c in q.calls if "MIN" in c[0]]
    assert seeks
    for sql, params in seeks:
        plan = " | ".join(row[-1] for row in db.obj.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        assert "auditevent_panel_id_object_type" in plan, plan
