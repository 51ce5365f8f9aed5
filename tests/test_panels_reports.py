"""Reports per panel and across panels (issue 12): the known borough of test_reports_data is panel A; a
second panel B holds a meeting, cases, a referral, attendance, research and an action in the same quarter,
with A's (shared) agencies. A's figures stay exactly as in test_reports, B's count only B's rows, the
report cache keeps the two apart, and the county report shows each panel and the sum to a user who may
work in both (and to nobody else)."""
import io
from datetime import date, datetime

import pytest
from marac_testing import login, make_case, make_listing, make_person, make_referral, make_user
from openpyxl import load_workbook
from test_reports import Q2, Q2_ARGS, TODAY, now  # noqa: F401 (now: the reports' clock fixture)
from test_reports_data import ACTIONS, ATTENDANCE, EXPECTED, REFERRALS, RESEARCH, seed

from marac import panels, reports
from marac.models import Action, Attendance, AuditEvent, CasePerson, Meeting, Panel, Research, UserPanel


@pytest.fixture
def world(app, now):  # noqa: F811 (now: the fixture imported from test_reports)
    """Panel A (the first one): the known borough. Panel B: two cases heard at one meeting in May, both
    repeats, one with a child; a police referral sent in May; attendance and research by A's agencies;
    an action due in May completed on time."""
    s = seed()
    s.panel_a = Panel.get_by_id(panels.default_panel_id())
    s.panel_b = Panel.create(name="Other MARAC")
    with panels.using(s.panel_b.id):
        s.b_coordinator = make_user("coordinator", agency=s.team, name="Bea Coordinator")
        meeting = Meeting.create(starts_at=datetime(2026, 5, 20, 10, 0), status="held")
        referral = make_referral(author=s.referrer["police"], status="accepted", submitted_at=datetime(2026, 5, 10, 9))
        first = make_case("OB-0001", people=[(make_person("Ola", "Testother"), "victim")])
        second = make_case("OB-0002", people=[(make_person("Pip", "Testother"), "victim")])
        CasePerson.create(case=second, person=make_person("Kit", "Testother"), role="child")
        listings = [make_listing(meeting, first, referral=referral, is_repeat=True),
                    make_listing(meeting, second, is_repeat=True)]
        for agency in (s.idva, s.housing, s.police):
            Attendance.create(meeting=meeting, agency=agency, user=s.rep["idva"] if agency == s.idva else None,
                              name="Fictional Attendee", capacity="representative", status="present")
        for listing in listings:
            Research.create(listing=listing, agency=s.health, user=s.rep["health"], victim_info="Fictional")
        Action.create(case=first, owner_agency=s.housing, description="Fictional task", due_date=date(2026, 5, 25),
                      status="done", completed_at=date(2026, 5, 24))
    s.b_meeting = meeting
    return s


def test_a_panels_figures_leave_out_the_other_panels_rows(world):
    figures = reports.summary(Q2)
    for key, expected in EXPECTED.items():
        if key != "repeat_rate":
            assert figures[key] == expected, key
    report = reports.build(Q2, TODAY)
    referrals = {row[0].text: [c.value for c in row[1:]] for row in report.tables["referrals"].rows}
    for name, expected in REFERRALS.items():
        assert referrals[name] == list(expected), name
    assert referrals["All agencies"] == [7, 4, 1, 2, 6]
    attendance = {r["name"]: r for r in reports.attendance(Q2)}
    for name, (expected, present, *_rest) in ATTENDANCE.items():
        assert (attendance[name]["expected"], attendance[name]["present"]) == (expected, present), name
    research = {r["name"]: (r["expected"], r["researched"]) for r in reports.research(Q2)}
    for name, expected in RESEARCH.items():
        assert research[name] == expected[:2], name
    actions = {row[0].text: [c.value for c in row[1:]] for row in report.tables["actions"].rows}
    for name, expected in ACTIONS.items():
        assert actions[name] == list(expected), name
    assert len(reports.safelives_rows(Q2)) == 3  # A's three meetings, not B's
    assert {m["label"]: m["heard"] for m in reports.trend(Q2)}["May 26"] == 2  # A's M2 only, not B's meeting


def test_the_other_panels_figures_are_its_own(world):
    with panels.using(world.panel_b.id):
        figures = reports.summary(Q2)
        assert (figures["heard"], figures["repeat"], figures["children"], figures["children_count"],
                figures["meetings"], figures["police"], figures["no_referral"]) == (2, 2, 1, 1, 1, 1, 1)
        report = reports.build(Q2, TODAY)
        referrals = {row[0].text: [c.value for c in row[1:]] for row in report.tables["referrals"].rows}
        assert referrals["All agencies"] == [1, 1, 0, 0, 1]
        actions = {row[0].text: [c.value for c in row[1:]] for row in report.tables["actions"].rows}
        assert actions == {"Anytown Homes": [1, 1, 0, 0, 0, 0, 100.0], "All agencies": [1, 1, 0, 0, 0, 0, 100.0]}
        attendance = {r["name"]: (r["expected"], r["present"]) for r in reports.attendance(Q2)}
        assert attendance["Anytown IDVA Service"] == (1, 1) and attendance["Anytown Health Trust"] == (1, 0)
        research = {r["name"]: (r["expected"], r["researched"]) for r in reports.research(Q2)}
        assert research["Anytown Health Trust"] == (2, 2)
        behind = reports.cases_behind(Q2, "heard", world.b_coordinator, today=TODAY)
        assert [r["number"] for r in behind.rows] == ["OB-0001", "OB-0002"] and behind.total == 2


def test_each_panels_coordinator_sees_their_own_report_and_cache(client, world):
    login(client, world.coordinator)
    a = client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
    assert 'id="table-cases"' in a
    client.post("/logout")
    login(client, world.b_coordinator)
    b = client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)  # within the cache's minute: a different key

    def heard(body):
        start = body.index('id="table-cases"')
        return body[start:start + 3000]

    assert ">7<" in heard(a) and ">2<" in heard(b) and ">7<" not in heard(b)
    r = client.get(f"/reports/cases?figure=heard&{Q2_ARGS}")
    assert "OB-0001" in r.get_data(as_text=True) and "RC-0001" not in r.get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(client.get(f"/reports/export/cases.xlsx?{Q2_ARGS}").data))["Cases heard"]
    assert [c.value for c in sheet[5]][:2] == ["Cases heard", 2]
    # B's coordinator has one panel: no county report, and the option is not offered.
    assert "/reports/county" not in b
    denied = client.get(f"/reports/county?{Q2_ARGS}")
    assert denied.status_code == 404
    assert AuditEvent.select().where((AuditEvent.request_id == denied.headers["X-Request-Id"])
                                     & (AuditEvent.action == "access.denied")).exists()
    assert client.get(f"/reports/county.xlsx?{Q2_ARGS}").status_code == 404


def test_the_county_report_shows_each_panel_and_the_sum(client, world):
    UserPanel.create(user=world.coordinator, panel=world.panel_b)
    table = reports.county_table(Q2, [world.panel_a, world.panel_b], TODAY)
    assert table.columns == ["Figure", world.panel_a.name, "Other MARAC", "All panels"]
    rows = {row[0].text: [c.value for c in row[1:]] for row in table.rows}
    assert rows["Cases heard"] == [7, 2, 9]
    assert rows["Meetings held"] == [3, 1, 4]
    assert rows["Repeat cases"] == [4, 2, 6]
    assert rows["Repeat rate (%)"] == [57.1, 100.0, 66.7]  # 6 / 9, worked out again, not 57.1 + 100
    assert rows["Referrals received"] == [7, 1, 8]
    assert rows["Children in those cases"] == [8, 1, 9]
    # The page: only for a user with several panels, each panel's figures and the total; audited.
    login(client, world.coordinator)
    index = client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
    assert "/reports/county" in index
    r = client.get(f"/reports/county?{Q2_ARGS}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Other MARAC" in body and "All panels" in body and "66.7%" in body
    view = AuditEvent.select().where(AuditEvent.request_id == r.headers["X-Request-Id"]).get()
    assert (view.action, view.object_id) == ("report.view", "county")
    fragment = client.get(f"/reports/county?{Q2_ARGS}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.startswith('<div id="report-page">') or fragment.lstrip().startswith('<div id="report-page">')
    sheet = load_workbook(io.BytesIO(client.get(f"/reports/county.xlsx?{Q2_ARGS}").data)).active
    assert [c.value for c in sheet[4]][-1] == "All panels"
    assert AuditEvent.select().where((AuditEvent.action == "report.export")
                                     & (AuditEvent.object_id == "county")).exists()
    # A bad period shows the errors, not a table.
    assert "There is a problem" in client.get("/reports/county?period=custom").get_data(as_text=True)


def test_the_county_report_has_only_the_panels_the_user_may_use(client, world):
    third = Panel.create(name="Third MARAC")
    with panels.using(third.id):
        meeting = Meeting.create(starts_at=datetime(2026, 5, 21, 10, 0), status="held")
        make_listing(meeting, make_case("OC-0001"))
    UserPanel.create(user=world.coordinator, panel=world.panel_b)
    login(client, world.coordinator)
    body = client.get(f"/reports/county?{Q2_ARGS}").get_data(as_text=True)
    assert "Other MARAC" in body and "Third MARAC" not in body
    # The chair of A may see reports, but has only panel A: refused; a representative: refused by role.
    for user, status in ((world.chair, 404), (world.rep["idva"], 403)):
        client.post("/logout")
        login(client, user)
        assert client.get(f"/reports/county?{Q2_ARGS}").status_code == status
