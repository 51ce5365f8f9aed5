"""Meetings across panels (issue 12): two panels in one database with different settings. A panel's
meetings list, agenda board, listing, attendance, observers, minutes, schedule and reminders hold
only that panel's rows; another panel's meeting or listing is a 404 on every meeting route, exactly
like an id that does not exist, for the coordinator, the chair and a representative alike."""
from datetime import date, datetime

import pytest
import test_mail
from marac_testing import (
    login,
    make_action,
    make_agency,
    make_agenda_case,
    make_meeting,
    make_user,
)

from marac import mail, meeting_run, meetings, panels, settings
from marac.meeting_run import RunError
from marac.meetings import MeetingError
from marac.models import Attendance, AuditEvent, Listing, Meeting, Panel, UserPanel

NOV_18 = datetime(2026, 11, 18, 9, 30)  # a Wednesday: panel A's meeting
NOV_19 = datetime(2026, 11, 19, 14, 0)  # a Thursday: panel B's meeting
MISSING = 987654
smtp, app_config = test_mail.smtp, test_mail.app_config  # a real SMTP server (aiosmtpd) and the app's mail config


class World:
    pass


@pytest.fixture
def w(app, fake_clock):
    """Panel A (the install's own, renamed Merton) and panel B, with a shared police force; each panel
    its own meeting, case, listing, attendance line, action, research and circulated agenda."""
    x = World()
    x.a = Panel.get_by_id(panels.default_panel_id())
    x.police = make_agency("Shared Test Police", isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")
    x.housing = make_agency("Shared Test Housing", isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")
    with panels.using(x.a.id):
        settings.set_many({"panel_name": "Merton Test CMARAC", "meeting_weekday": 2, "reminder_due_days": 3})
        x.coord_a = make_user("coordinator", agency=x.housing, name="Coordinator Of A")
        x.chair_a = make_user("chair", agency=x.police, name="Chair Of A")
        x.rep_a = make_user("representative", agency=x.police, name="Representative Of A",
                            email="rep-a@police.example")
        x.meeting_a = make_meeting(NOV_18)
        x.case_a = make_agenda_case(victim=("Alma", "Panelone"), number="PA-0001")
        x.listing_a = meetings.list_case(x.case_a, user=x.coord_a)
    x.b = Panel.create(name="Other Test MARAC")
    with panels.using(x.b.id):
        settings.set_many({"panel_name": "Other Test MARAC", "meeting_weekday": 3, "reminder_due_days": 0})
        x.coord_b = make_user("coordinator", agency=x.housing, name="Coordinator Of B")
        x.chair_b = make_user("chair", agency=x.police, name="Chair Of B")
        x.rep_b = make_user("representative", agency=x.police, name="Representative Of B",
                            email="rep-b@police.example")
        x.observer_b = make_user("observer", agency=x.housing, name="Observer Of B")
        x.meeting_b = make_meeting(NOV_19, venue="Room B")
        x.case_b = make_agenda_case(victim=("Bryony", "Paneltwo"), number="PB-0001")
        x.listing_b = meetings.list_case(x.case_b, user=x.coord_b)
        x.attendance_b = Attendance.create(meeting=x.meeting_b, agency=x.police, name="Sat In B",
                                           capacity="other", status="present")
        x.observer_row_b = Attendance.create(meeting=x.meeting_b, user=x.observer_b, name="Observer Of B",
                                             capacity="observer", status="expected", observer_status="requested")
        x.action_b = make_action(x.case_b, x.police, listing=x.listing_b)
        meetings.circulate(x.meeting_b, x.coord_b)
    return x


def client_for(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


# --- lists ---------------------------------------------------------------------------------------------


def test_each_panels_meetings_list_shows_only_its_own_meetings(app, w):
    page_a = text(client_for(app, w.coord_a).get("/meetings/"))
    assert "Wednesday 18 November 2026" in page_a and "Thursday 19 November 2026" not in page_a
    page_b = text(client_for(app, w.coord_b).get("/meetings/"))
    assert "Thursday 19 November 2026" in page_b and "Wednesday 18 November 2026" not in page_b
    with panels.using(w.a.id):
        assert [m.id for m in meetings.listable_meetings()] == [w.meeting_a.id]
        assert meetings.next_planned(datetime(2026, 11, 1)).id == w.meeting_a.id
        assert [r.case.id for r in meetings.ready_to_list()] == []
    with panels.using(w.b.id):
        assert [m.id for m in meetings.listable_meetings()] == [w.meeting_b.id]


def test_the_board_and_agendas_carry_their_own_panels_cases_and_name(app, w):
    board = text(client_for(app, w.coord_a).get(f"/meetings/{w.meeting_a.id}"))
    assert "PA-0001" in board and "PB-0001" not in board
    b = client_for(app, w.coord_b)
    agenda = text(b.get(f"/meetings/{w.meeting_b.id}/agenda"))
    assert "Other Test MARAC: agenda" in agenda and "Merton Test CMARAC" not in agenda and "PB-0001" in agenda


# --- every meeting route refuses another panel's ids -----------------------------------------------------


def _urls(app, w):
    """(endpoint, method, url with panel B's ids, url with ids that do not exist) for every route of the
    meetings and meeting_run blueprints that names a meeting or a case (each value of a `step`)."""
    b_ids = {"meeting_id": w.meeting_b.id, "listing_id": w.listing_b.id, "attendance_id": w.attendance_b.id,
             "action_id": w.action_b.id, "case_id": w.case_b.id}
    found = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("meetings", "meeting_run"):
            continue
        if not rule.arguments & {"meeting_id", "case_id"}:
            continue
        assert rule.arguments <= set(b_ids) | {"step"}, rule.rule  # a new argument: seed a panel B value
        steps = sorted(rule._converters["step"].items) if "step" in rule.arguments else [None]
        for step in steps:
            values = {k: b_ids[k] for k in rule.arguments if k in b_ids}
            missing = {k: MISSING for k in values}
            if step is not None:
                values["step"] = missing["step"] = step
            urls = (adapter.build(rule.endpoint, values), adapter.build(rule.endpoint, missing))
            for method in sorted(rule.methods & {"GET", "POST"}):
                found.append((rule.endpoint, method, *urls))
    return found


def test_another_panels_ids_are_a_404_on_every_meeting_route_for_every_role(app, w):
    routes = _urls(app, w)
    endpoints = {r[0] for r in routes}
    assert len(endpoints) > 40 and {"meetings.board", "meeting_run.case", "meeting_run.sign_off",
                                    "meetings.list_case", "meeting_run.observer_step"} <= endpoints
    denied_before = AuditEvent.select().where(AuditEvent.action == "access.denied").count()
    for user in (w.coord_a, w.chair_a, w.rep_a):
        client = client_for(app, user)
        for endpoint, method, b_url, missing_url in routes:
            got = client.open(b_url, method=method, data={})
            same_as_missing = client.open(missing_url, method=method, data={}).status_code
            assert got.status_code in (403, 404), (user.role, endpoint, method, got.status_code)
            assert got.status_code == same_as_missing, (user.role, endpoint, method)
            assert "PB-0001" not in text(got) and "Room B" not in text(got)
    denied = AuditEvent.select().where(AuditEvent.action == "access.denied").count() - denied_before
    assert denied >= len(routes)  # every refusal audited (the missing ids too)
    # Nothing of panel B was changed by all those posts.
    assert Meeting.get_by_id(w.meeting_b.id).status == "planned"
    assert Attendance.get_by_id(w.attendance_b.id).status == "present"
    assert Listing.get_or_none(Listing.id == w.listing_b.id) is not None


def test_a_user_granted_panel_b_sees_its_meetings_only_after_switching_to_it(app, w):
    UserPanel.create(user=w.coord_a, panel=w.b, granted_by=w.coord_b)
    client = client_for(app, w.coord_a)
    assert client.get(f"/meetings/{w.meeting_b.id}").status_code == 404  # still working in A
    assert client.post("/panel", data={"panel": w.b.id}).status_code == 302
    board = text(client.get(f"/meetings/{w.meeting_b.id}"))
    assert "PB-0001" in board and "PA-0001" not in board
    assert client.get(f"/meetings/{w.meeting_a.id}").status_code == 404
    assert "Thursday 19 November 2026" in text(client.get("/meetings/"))


# --- listing --------------------------------------------------------------------------------------------


def test_a_case_of_another_panel_is_never_listed_or_offered(app, w):
    with panels.using(w.a.id):
        with pytest.raises(MeetingError):
            meetings.list_case(w.case_b, user=w.coord_a, meeting=w.meeting_a)
        with pytest.raises(MeetingError):
            meetings.list_case(w.case_a, user=w.coord_a, meeting=w.meeting_b)
    with panels.using(w.b.id):
        with pytest.raises(MeetingError):
            meetings.list_case(w.case_a, user=w.coord_b)  # the next meeting would be B's own
    assert Listing.select().where(Listing.case == w.case_b.id).count() == 1
    assert Listing.select().where(Listing.meeting == w.meeting_a.id).count() == 1
    client = client_for(app, w.coord_a)
    assert client.get(f"/meetings/ready/{w.case_b.id}").status_code == 404
    assert client.post(f"/meetings/ready/{w.case_b.id}", data={"meeting": w.meeting_a.id, "kind": "full"}).status_code \
        == 404
    # A's own case, offered only A's meeting (B's id posted by hand is not a choice).
    with panels.using(w.a.id):
        meetings.remove_listing(Listing.get_by_id(w.listing_a.id), w.coord_a)
        assert [r.case.id for r in meetings.ready_to_list()] == [w.case_a.id]
    form = text(client.get(f"/meetings/ready/{w.case_a.id}"))
    assert "18 November 2026" in form and "19 November 2026" not in form
    r = client.post(f"/meetings/ready/{w.case_a.id}", data={"meeting": w.meeting_b.id, "kind": "full",
                                                           "referrer_agrees": "yes", "actions_requested": "no"})
    assert r.status_code == 200
    assert Listing.select().where(Listing.meeting == w.meeting_b.id).count() == 1


def test_a_meeting_at_the_same_time_in_another_panel_is_no_clash(app, w):
    with panels.using(w.b.id):
        same = meetings.create_meeting(NOV_18, user=w.coord_b)
        assert same.panel_id == w.b.id
        with pytest.raises(MeetingError):
            meetings.create_meeting(NOV_18, user=w.coord_b)


def test_cancelling_moves_the_cases_only_to_the_panels_own_next_meeting(app, w):
    with panels.using(w.a.id):
        later_a = make_meeting(datetime(2026, 11, 25, 9, 30))
    with panels.using(w.b.id):
        with pytest.raises(MeetingError, match="no later meeting"):
            meetings.cancel_meeting(Meeting.get_by_id(w.meeting_b.id), w.coord_b)
        later_b = make_meeting(datetime(2026, 12, 3, 14, 0))
        assert meetings.cancel_meeting(Meeting.get_by_id(w.meeting_b.id), w.coord_b).id == later_b.id
    assert Listing.get_by_id(w.listing_b.id).meeting_id == later_b.id
    assert not Listing.select().where(Listing.meeting == later_a.id).exists()


# --- attendance and observers -------------------------------------------------------------------------


def test_attendance_offers_and_accepts_only_users_of_the_meetings_panel(app, w):
    client = client_for(app, w.coord_a)
    page = text(client.get(f"/meetings/{w.meeting_a.id}/run/attendance"))
    assert "Representative Of A" in page and "Representative Of B" not in page and "Chair Of B" not in page
    r = client.post(f"/meetings/{w.meeting_a.id}/run/attendance", data={"person": w.rep_b.id, "agency": 0})
    assert r.status_code == 200
    assert not Attendance.select().where(Attendance.user == w.rep_b.id).exists()
    with panels.using(w.a.id):
        with pytest.raises(RunError):
            meeting_run.add_attendee(w.meeting_a, w.coord_a, user=w.rep_b)
        with pytest.raises(RunError):
            meeting_run.request_observer(w.meeting_a, w.coord_a, name="Observer Of B", user=w.observer_b)
        UserPanel.create(user=w.rep_b, panel=w.a, granted_by=w.coord_a)  # a county officer serving both
        assert meeting_run.add_attendee(w.meeting_a, w.coord_a, user=w.rep_b).status == "present"
    page = text(client.get(f"/meetings/{w.meeting_a.id}/run/observers"))
    assert "Observer Of B" not in page


def test_attendance_for_reports_counts_the_panel_in_view_only(app, w):
    with panels.using(w.a.id):
        Attendance.create(meeting=w.meeting_a, agency=w.housing, name="Sat In A", capacity="other",
                          status="present")
        a = meeting_run.attendance_by_agency(date(2026, 11, 1), date(2026, 11, 30))
    with panels.using(w.b.id):
        b = meeting_run.attendance_by_agency(date(2026, 11, 1), date(2026, 11, 30))
    assert set(a) == {w.housing.id} and set(b) == {w.police.id}


def test_minutes_carry_the_meetings_panel_name(app, w):
    client = client_for(app, w.coord_b)
    page = text(client.get(f"/meetings/{w.meeting_b.id}/run/minutes/print"))
    assert "Other Test MARAC: minutes" in page and "Merton Test CMARAC" not in page


# --- the schedule ---------------------------------------------------------------------------------------


def test_each_panel_proposes_and_creates_its_meetings_on_its_own_weekday(app, w):
    made = {}
    for user, panel in ((w.coord_a, w.a), (w.coord_b, w.b)):
        client = client_for(app, user)
        page = text(client.get("/meetings/proposal"))
        day = "Wednesday" if panel is w.a else "Thursday"
        assert day in page and ("Thursday" if panel is w.a else "Wednesday") not in page.split("<table")[-1]
        with panels.using(panel.id):
            proposed = [p.starts_at.isoformat() for p in meetings.schedule.propose_year(meetings.pattern(),
                                                                                       date(2026, 12, 1))][:3]
        r = client.post("/meetings/proposal", data={"starts": proposed})
        assert r.status_code == 302
        made[panel.id] = list(Meeting.select().where((Meeting.panel == panel.id) & (Meeting.starts_at >= datetime(
            2026, 12, 1))))
    assert len(made[w.a.id]) == 3 and {m.starts_at.weekday() for m in made[w.a.id]} == {2}
    assert len(made[w.b.id]) == 3 and {m.starts_at.weekday() for m in made[w.b.id]} == {3}


# --- reminders ------------------------------------------------------------------------------------------


def test_reminders_are_sent_per_panel_with_its_settings_users_and_name(app, w, smtp, fake_clock):
    with panels.using(w.a.id):
        make_action(w.case_a, w.police, due_date=date(2026, 11, 4))  # due in two days
        make_action(w.case_a, w.police, description="late A", due_date=date(2026, 10, 20))
    with panels.using(w.b.id):
        make_action(w.case_b, w.police, due_date=date(2026, 11, 4))  # B's reminder_due_days is 0: not yet
        make_action(w.case_b, w.police, description="late B", due_date=date(2026, 10, 21))
    with app.app_context():
        result = mail.send_reminders_all(on=date(2026, 11, 2))
    assert result == {"due": 1, "overdue": 2}
    sent = [(set(to), m["Subject"], m.get_body(("plain",)).get_content()) for to, m, _ in smtp.messages]
    for to, subject, body in sent:
        if to == {"rep-a@police.example"}:
            assert subject.startswith("Merton Test CMARAC: ") and "PA-0001" in body and "PB-0001" not in body
        else:
            assert to == {"rep-b@police.example"}, to
            assert subject.startswith("Other Test MARAC: ") and "PB-0001" in body and "PA-0001" not in body
    assert sorted(s[1].split(":")[0] for s in sent) == ["Merton Test CMARAC", "Merton Test CMARAC",
                                                       "Other Test MARAC"]
    with app.app_context():
        assert mail.send_reminders_all(on=date(2026, 11, 2)) == {"due": 0, "overdue": 0}  # not repeated
