"""Actions between meetings: my agency's actions, completion, cannot complete, chase, escalate,
overdue roll-over to the next meeting, the coordinator's overview, access."""
from datetime import date, datetime

import pytest
from marac_testing import make_action, make_agency, make_case, make_user

from marac import actions
from marac.models import Action, ActionUpdate, AuditEvent, Meeting

TODAY = date(2026, 11, 2)  # the fake clock's date


def audit_names():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


@pytest.fixture
def w(app, fake_clock):
    housing = make_agency("Test Housing")
    police = make_agency("Test Police")
    other = make_agency("Other Agency")
    case = make_case(number="TC-A-1")
    case2 = make_case(number="TC-A-2")
    return type("W", (), dict(
        housing=housing, police=police, other=other, case=case, case2=case2,
        coord=make_user("coordinator", name="Casey Coordinator"),
        chair=make_user("chair", agency=police, name="Charlie Chair"),
        rep=make_user("representative", agency=housing, name="Harper Housing"),
        police_rep=make_user("representative", agency=police, name="Parker Police"),
        outsider=make_user("representative", agency=other, name="Olive Outsider"),
        overdue=make_action(case, housing, "Overdue fictional action", due_date=date(2026, 10, 20)),
        soon=make_action(case2, housing, "Soon fictional action", due_date=date(2026, 11, 5)),
        later=make_action(case, housing, "Later fictional action", due_date=date(2026, 12, 20)),
        police_action=make_action(case, police, "Police fictional action", due_date=date(2026, 10, 1))))


def test_my_agency_tabs(client, sign_in, w):
    sign_in(w.rep)
    overdue = client.get("/actions/").get_data(as_text=True)
    assert "Overdue fictional action" in overdue and "Soon fictional action" not in overdue
    assert "Police fictional action" not in overdue  # another agency's
    for label in ("Overdue (1)", "Due soon (1)", "All open (3)", "Done (0)"):
        assert label in overdue
    soon = client.get("/actions/?tab=soon").get_data(as_text=True)
    assert "Soon fictional action" in soon and "Overdue fictional action" not in soon
    every = client.get("/actions/?tab=open").get_data(as_text=True)
    assert every.index("Overdue fictional") < every.index("Soon fictional") < every.index("Later fictional")


def test_one_click_completion_plain_and_htmx(client, sign_in, w):
    sign_in(w.rep)
    r = client.post(f"/actions/{w.overdue.id}/done", data={"tab": "overdue"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/actions/?tab=overdue")
    a = Action.get_by_id(w.overdue.id)
    assert (a.status, a.completed_at, a.completed_by_id) == ("done", TODAY, w.rep.id)
    assert "Done (1)" in client.get("/actions/?tab=done").get_data(as_text=True)
    r = client.post(f"/actions/{w.soon.id}/done", data={"tab": "soon"}, headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and f'id="action-{w.soon.id}"' in body
    assert "Marked as done today" in body and "Done" in body
    assert [u.kind for u in ActionUpdate.select().order_by(ActionUpdate.id)] == ["completed", "completed"]
    assert audit_names().count("action.complete") == 2


def test_complete_with_a_date_and_note_and_not_in_the_future(client, sign_in, w):
    sign_in(w.rep)
    assert client.get(f"/actions/{w.overdue.id}/complete").status_code == 200
    r = client.post(f"/actions/{w.overdue.id}/complete", data={"completed_on": ["1", "12", "2026"]})
    assert r.status_code == 200 and b"must be today or in the past" in r.data
    r = client.post(f"/actions/{w.overdue.id}/complete", data={"completed_on": ["30", "10", "2026"],
                                                               "note": "Locks fitted"})
    assert r.status_code == 302
    a = Action.get_by_id(w.overdue.id)
    assert a.completed_at == date(2026, 10, 30) and a.completion_note == "Locks fitted"
    # Done once: a second completion is refused, nothing changes.
    client.post(f"/actions/{w.overdue.id}/done")
    assert ActionUpdate.select().where(ActionUpdate.kind == "completed").count() == 1


def test_cannot_complete_needs_a_reason_code(client, sign_in, w):
    sign_in(w.rep)
    r = client.post(f"/actions/{w.overdue.id}/cannot", data={})
    assert b"Select why the action cannot be completed" in r.data
    r = client.post(f"/actions/{w.overdue.id}/cannot", data={"reason": "other"})
    assert b"Say why the action cannot be completed" in r.data
    assert Action.get_by_id(w.overdue.id).status == "open"
    r = client.post(f"/actions/{w.overdue.id}/cannot", data={"reason": "no_contact", "text": "Three visits"})
    assert r.status_code == 302
    a = Action.get_by_id(w.overdue.id)
    assert (a.status, a.cannot_reason, a.completion_note) == ("cannot", "no_contact", "Three visits")
    update = ActionUpdate.get(ActionUpdate.kind == "cannot")
    assert update.text == "No contact could be made: Three visits"
    row = AuditEvent.get(AuditEvent.action == "action.cannot_complete")
    assert '"reason": "no_contact"' in row.detail and "visits" not in row.detail


def test_only_the_owner_agency_or_coordinator_records(client, sign_in, w):
    make_action(w.case, w.police)  # police can see the case
    sign_in(w.police_rep)
    assert client.get(f"/actions/{w.overdue.id}").status_code == 200  # may see it on the case
    for step in ("done", "complete", "cannot"):
        url = f"/actions/{w.overdue.id}/{step}"
        assert client.post(url, data={"reason": "declined"}).status_code == 403, url
    assert Action.get_by_id(w.overdue.id).status == "open"
    client.post("/logout")
    sign_in(w.coord)
    assert client.post(f"/actions/{w.overdue.id}/done").status_code == 302
    assert Action.get_by_id(w.overdue.id).status == "done"


def test_other_agency_gets_404_on_an_action_of_a_case_it_cannot_see(client, sign_in, w):
    sign_in(w.outsider)
    for url in (f"/actions/{w.overdue.id}", f"/actions/{w.overdue.id}/complete", f"/actions/{w.overdue.id}/cannot"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/actions/{w.overdue.id}/done").status_code == 404
    assert Action.get_by_id(w.overdue.id).status == "open"
    denied = AuditEvent.select().where(AuditEvent.action == "access.denied").order_by(AuditEvent.id.desc()).first()
    assert (denied.object_type, denied.object_id) == ("action", str(w.overdue.id))


def test_action_view_is_audited_and_shows_history(client, sign_in, w):
    sign_in(w.rep)
    actions.complete(w.overdue, w.rep, note="Done it")
    body = client.get(f"/actions/{w.overdue.id}").get_data(as_text=True)
    assert "Action completed" in body and "Done it" in body
    assert "action.view" in audit_names()


def test_coordinator_overview_chase_and_escalate(client, sign_in, w):
    sign_in(w.coord)
    body = client.get("/actions/overview").get_data(as_text=True)
    assert "Test Housing" in body and "Test Police" in body and "Overdue fictional action" in body
    assert "Soon fictional action" not in body
    by_agency = actions.overdue_by_agency(TODAY)
    assert [(r.agency.name, r.count, r.oldest_due) for r in by_agency] == [
        ("Test Housing", 1, date(2026, 10, 20)), ("Test Police", 1, date(2026, 10, 1))]
    body = client.get(f"/actions/overview?agency={w.police.id}").get_data(as_text=True)
    assert "Police fictional action" in body and "Overdue fictional action" not in body
    r = client.post(f"/actions/{w.overdue.id}/chase", data={"back": "overview"})
    assert r.status_code == 302 and "/actions/overview" in r.headers["Location"]
    assert Action.get_by_id(w.overdue.id).last_chased_at == datetime(2026, 11, 2, 9, 0)
    assert client.get(f"/actions/{w.overdue.id}/escalate").status_code == 200
    r = client.post(f"/actions/{w.overdue.id}/escalate", data={"text": "Third chase without reply"})
    assert r.status_code == 302 and Action.get_by_id(w.overdue.id).escalated_at is not None
    kinds = [u.kind for u in ActionUpdate.select().where(ActionUpdate.action == w.overdue.id)]
    assert kinds == ["chased", "escalated"]
    assert "action.chase" in audit_names() and "action.escalate" in audit_names()
    timeline = client.get(f"/cases/{w.case.id}").get_data(as_text=True)
    assert "Action chased by the coordinator" in timeline and "Action escalated to the chair" in timeline


def test_chase_and_escalate_are_coordinator_only(client, sign_in, w):
    sign_in(w.rep)
    assert client.post(f"/actions/{w.overdue.id}/chase").status_code == 403
    assert client.post(f"/actions/{w.overdue.id}/escalate").status_code == 403
    assert client.get("/actions/overview").status_code == 403
    assert Action.get_by_id(w.overdue.id).last_chased_at is None


def test_coordinator_adds_an_action_with_the_default_due_date(client, sign_in, w, app):
    sign_in(w.coord)
    page = client.get(f"/actions/new/{w.case.id}").get_data(as_text=True)
    assert 'value="16"' in page and 'value="11"' in page  # 14 days after 2 November
    r = client.post(f"/actions/new/{w.case.id}", data={"owner_agency": w.police.id, "description": "  ",
                                                       "due_date": ["16", "11", "2026"], "priority": "high"})
    assert b"Enter what the agency is to do" in r.data
    r = client.post(f"/actions/new/{w.case.id}", data={"owner_agency": w.police.id,
                                                       "description": "Fictional safety visit",
                                                       "due_date": ["16", "11", "2026"], "priority": "high"})
    assert r.status_code == 302
    a = Action.get(Action.description == "Fictional safety visit")
    assert (a.owner_agency_id, a.due_date, a.priority, a.created_by_id) == (w.police.id, date(2026, 11, 16),
                                                                            "high", w.coord.id)
    with app.app_context():
        assert actions.default_due_date(date(2026, 1, 1)) == date(2026, 1, 15)


def test_overdue_for_review_and_carry_over_to_the_next_meeting(w, fake_clock):
    meeting = Meeting.create(starts_at=datetime(2026, 11, 10, 9, 30))
    actions.complete(w.police_action, w.police_rep)
    review = list(actions.overdue_for_review(meeting.starts_at.date()))
    # Open and due before the meeting: the overdue one and the one due on 5 November, not the done one.
    assert [a.id for a in review] == [w.overdue.id, w.soon.id]
    assert review[0].case.number == "TC-A-1" and review[0].owner_agency.name == "Test Housing"
    carried = actions.carry_over(meeting, w.coord)
    assert {a.id for a in carried} == {w.overdue.id, w.soon.id}
    actions.carry_over(meeting, w.coord)  # idempotent
    updates = list(ActionUpdate.select().where(ActionUpdate.kind == "carried"))
    assert len(updates) == 2 and all(u.meeting_id == meeting.id for u in updates)
    assert "10 November 2026" in updates[0].text
    # Completed before the next meeting: no longer carried.
    actions.complete(w.soon, w.rep)
    later = Meeting.create(starts_at=datetime(2026, 12, 1, 9, 30))
    assert [a.id for a in actions.carry_over(later)] == [w.overdue.id]


def test_my_actions_is_a_fixed_number_of_queries(w, app):
    from marac.db import db

    for i in range(30):
        make_action(w.case, w.housing, f"bulk {i}", due_date=date(2026, 10, 1))
    seen = []
    original = db.obj.execute_sql

    def counting(sql, params=None, *a, **kw):
        seen.append(sql)
        return original(sql, params, *a, **kw)

    db.obj.execute_sql = counting
    try:
        rows, _ = actions.agency_actions(w.housing.id, "overdue", on=TODAY)
        _ = [(a.case.number, a.owner_agency.name) for a in rows]
        actions.agency_counts(w.housing.id, TODAY)
    finally:
        db.obj.execute_sql = original
    assert len(rows) == 31 and len(seen) <= 7, seen  # settings, the list, four index-only counts
