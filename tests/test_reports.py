"""Steering-group reports (issue 9): every figure of a known borough, exactly, at the period's edges;
the cases behind a figure; spreadsheets; the SafeLives return; access and audit; query plans."""
import io
import json
import re
from datetime import date, datetime

import pytest
from marac_testing import Clock, make_user
from openpyxl import load_workbook
from test_reports_data import (
    ACTIONS,
    ACTIONS_TOTAL,
    ATTENDANCE,
    BENCHMARK,
    EXPECTED,
    PROFESSIONAL_JUDGEMENT,
    REFERRALS,
    RESEARCH,
    SAFELIVES,
    SAFELIVES_TOTAL,
    TODAY_UTC,
    seed,
)

from marac import clock, reports
from marac.db import db, is_sqlite
from marac.models import AuditEvent, Case, Listing

Q2 = reports.quarter_period(2026, 2)
TODAY = date(2026, 7, 10)
Q2_ARGS = "period=quarter&year=2026&quarter=2"


@pytest.fixture
def now(monkeypatch):
    c = Clock(TODAY_UTC)
    monkeypatch.setattr(clock, "now", c)
    return c


@pytest.fixture
def s(app, now):
    return seed()


def texts(table: reports.Table) -> dict:
    """A table as {row label: [cell texts]}."""
    return {row[0].text: [c.text for c in row[1:]] for row in table.rows}


def values(table: reports.Table) -> dict:
    return {row[0].text: [c.value for c in row[1:]] for row in table.rows}


def audit_rows(action):
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


# --- periods ---------------------------------------------------------------------------------------


def test_periods_and_their_bounds():
    assert (Q2.start, Q2.end, Q2.days, Q2.label) == (date(2026, 4, 1), date(2026, 6, 30), 91,
                                                     "April to June 2026 (quarter 2)")
    assert Q2.local_bounds() == (datetime(2026, 4, 1), datetime(2026, 7, 1))
    # British Summer Time: UK midnight is 23:00 UTC the day before.
    assert Q2.utc_bounds() == (datetime(2026, 3, 31, 23, 0), datetime(2026, 6, 30, 23, 0))
    assert reports.month_period(2026, 2).end == date(2026, 2, 28)
    assert reports.month_period(2024, 12).end == date(2024, 12, 31)
    assert reports.quarter_period(2026, 4).end == date(2026, 12, 31)
    assert Q2.shifted(-1) == reports.quarter_period(2026, 1)
    assert reports.quarter_period(2026, 1).shifted(-1) == reports.quarter_period(2025, 4)
    assert reports.month_period(2026, 1).shifted(-1) == reports.month_period(2025, 12)
    assert reports.year_period(2026).shifted(1).label == "January to December 2027"
    assert reports.custom_period(date(2026, 4, 1), date(2026, 4, 1)).shifted(1) is None
    with pytest.raises(reports.ReportError):
        reports.custom_period(date(2026, 4, 2), date(2026, 4, 1))
    with pytest.raises(reports.ReportError):
        reports.custom_period(date(2016, 1, 1), date(2026, 1, 1))
    assert reports.default_period(date(2026, 7, 10)) == reports.quarter_period(2026, 3)


def test_percentages_round_half_up():
    assert reports.percent(4, 7) == 57.1
    assert reports.percent(1, 8) == 12.5
    assert reports.percent(1, 3) == 33.3
    assert reports.percent(2, 3) == 66.7
    assert reports.percent(1, 16) == 6.3  # 6.25 rounds up, not to even
    assert reports.percent(0, 0) is None
    assert reports.repeat_position(28.9) == "below"
    assert reports.repeat_position(29.0) == reports.repeat_position(33.0) == "within"
    assert reports.repeat_position(33.1) == "above"


# --- every figure of the quarter --------------------------------------------------------------------


def test_hearing_figures_of_the_quarter(s):
    figures = reports.summary(Q2)
    for key, expected in EXPECTED.items():
        if key != "repeat_rate":
            assert figures[key] == expected, key
    report = reports.build(Q2, TODAY)
    assert report.repeat_rate == EXPECTED["repeat_rate"]
    assert report.repeat_position == "above"
    cases = texts(report.tables["cases"])
    assert cases["Cases heard"] == ["7"]
    assert cases["Repeat rate (%)"] == ["57.1%"]
    assert cases["Children in those cases"] == ["8"]
    assert cases["Review listings (not counted as cases heard)"] == ["1"]
    assert cases["Meetings held"] == ["3"]
    equality = values(report.tables["equality"])
    assert equality["Victims who are Black, Asian or racially minoritised"] == [4, 57.1]
    assert equality["Victims who are LGBT+"] == [2, 28.6]
    assert equality["Victims with a disability"] == [1, 14.3]
    assert equality["Male victims"] == [2, 28.6]
    assert equality["Victims aged 16 or 17"] == [2, 28.6]
    assert equality["Perpetrators aged 17 or under"] == [1, 14.3]
    timeliness = values(report.tables["timeliness"])
    assert timeliness["Average days"] == [14.2] and timeliness["Median days"] == [12.0]
    assert timeliness["Longest (days)"] == [30]


def test_repeat_rate_and_on_time_at_the_edges_of_the_period(s):
    """A meeting on the first and on the last day of the period counts; the day before and after do not;
    so do actions due on the first and last days."""
    april = reports.build(reports.month_period(2026, 4), TODAY)
    assert (april.figures["heard"], april.figures["repeat"], april.repeat_rate) == (3, 1, 33.3)
    assert texts(april.tables["actions"])["All agencies"] == ["2", "2", "0", "0", "0", "0", "100.0%"]
    june = reports.build(reports.month_period(2026, 6), TODAY)
    assert (june.figures["heard"], june.figures["repeat"], june.repeat_rate) == (2, 2, 100.0)
    # Due 1 and 30 June: one late, one still open past its date (due the last day), one late.
    assert texts(june.tables["actions"])["All agencies"] == ["3", "0", "2", "0", "1", "0", "0.0%"]
    march = reports.build(reports.month_period(2026, 3), TODAY)
    assert (march.figures["heard"], march.repeat_rate) == (1, 100.0)
    july = reports.build(reports.month_period(2026, 7), TODAY)
    assert (july.figures["heard"], july.repeat_rate) == (1, 100.0)
    one_day = reports.summary(reports.custom_period(date(2026, 4, 1), date(2026, 4, 1)))
    assert (one_day["heard"], one_day["repeat"], one_day["victim_16_17"]) == (3, 1, 2)
    last_day = reports.summary(reports.custom_period(date(2026, 6, 30), date(2026, 6, 30)))
    # The victim of RC-0001 turns 18 on the day of that meeting: no longer 16-17.
    assert (last_day["heard"], last_day["repeat"], last_day["victim_16_17"]) == (2, 2, 0)


def test_volume_against_the_safelives_benchmark(s):
    report = reports.build(Q2, TODAY)
    assert {k: report.benchmark[k] for k in BENCHMARK} == BENCHMARK
    bench = values(report.tables["benchmark"])
    assert bench["Cases expected at 40 a year per 10,000 women"] == [99.7]
    assert bench["The panel's cases a year per 10,000 women"] == [2.8]
    assert bench["Cases heard as a percentage of that (%)"] == [7.0]
    year = reports.benchmark(reports.year_period(2026), 400, 100_000)
    assert (year["expected"], year["rate"], year["of_benchmark"]) == (400.0, 40.0, 100.0)


def test_no_population_no_benchmark(app, now):
    report = reports.build(Q2, TODAY)
    assert report.benchmark == {"population": 0}
    assert "Set the adult female population" in report.tables["benchmark"].note


def test_trend_of_twelve_months(s):
    months = reports.trend(Q2)
    assert len(months) == 12
    assert months[0]["period"] == reports.month_period(2025, 7)
    assert months[-1]["period"] == reports.month_period(2026, 6)
    by_month = {m["period"].start.month: (m["heard"], m["repeat"], m["rate"]) for m in months}
    assert by_month[3] == (1, 1, 100.0)
    assert by_month[4] == (3, 1, 33.3)
    assert by_month[5] == (2, 1, 50.0)  # the cancelled meeting of 20 May counts nothing
    assert by_month[6] == (2, 2, 100.0)
    assert by_month[1] == (0, 0, None)


def test_referrals_by_agency_and_professional_judgement(s):
    report = reports.build(Q2, TODAY)
    referrals = values(report.tables["referrals"])
    for name, expected in REFERRALS.items():
        assert referrals[name] == list(expected), name
    assert referrals["Police"] == [5, 4, 0, 1, 4]
    assert referrals["Partner agencies"] == [2, 0, 1, 1, 2]
    assert referrals["All agencies"] == [7, 4, 1, 2, 6]
    pj = values(report.tables["professional_judgement"])
    for side, expected in PROFESSIONAL_JUDGEMENT.items():
        assert pj[side] == list(expected), side


def test_attendance_per_agency(s):
    rows = {r["name"]: r for r in reports.attendance(Q2)}
    assert set(rows) == set(ATTENDANCE)  # the coordinator's team and observers are not agencies attending
    for name, (expected, present, deputy, apologies, absent, written, rate) in ATTENDANCE.items():
        r = rows[name]
        assert (r["expected"], r["present"], r["deputy"], r["apologies"], r["absent"], r["written"], r["rate"]) == \
            (expected, present, deputy, apologies, absent, written, rate), name


def test_research_returned_per_agency(s):
    rows = {r["name"]: r for r in reports.research(Q2)}
    assert set(rows) == set(RESEARCH)
    for name, expected in RESEARCH.items():
        r = rows[name]
        assert (r["expected"], r["researched"], r["nothing_known"], r["written"], r["missing"], r["rate"]) == \
            expected, name


def test_actions_on_time_late_not_completed_per_agency(s):
    report = reports.build(Q2, TODAY)
    actions = values(report.tables["actions"])
    for name, expected in ACTIONS.items():
        assert actions[name] == list(expected), name
    assert actions["All agencies"] == list(ACTIONS_TOTAL)
    cannot = values(report.tables["cannot"])
    assert cannot == {"Anytown Homes": [0, 1, 0, 1, 2], "Anytown IDVA Service": [1, 0, 0, 0, 1]}
    assert report.tables["cannot"].columns[1:] == ["No contact could be made", "The person declined",
                                                   "Not our agency's remit", "Other", "All reasons"]


def test_actions_not_yet_due_are_left_out_of_the_on_time_rate(s):
    q3 = reports.actions_by_agency(reports.quarter_period(2026, 3), TODAY)
    rows = {r["name"]: r for r in q3}
    assert (rows["Anytown Police"]["overdue"], rows["Anytown Police"]["on_time_pct"]) == (1, 0.0)
    assert (rows["Anytown IDVA Service"]["not_due"], rows["Anytown IDVA Service"]["on_time_pct"]) == (1, None)


def test_the_safelives_return_per_meeting(s):
    table = reports.safelives_table(Q2)
    assert [row[0].value for row in table.rows[:-1]] == [d for d, _ in SAFELIVES]
    for row, (_, expected) in zip(table.rows, SAFELIVES, strict=False):
        assert [c.value for c in row[1:]] == expected
    assert table.rows[-1][0].value == "Total"
    assert [c.value for c in table.rows[-1][1:]] == SAFELIVES_TOTAL
    # The period's figures are the sums of the meetings' rows.
    figures = reports.summary(Q2)
    keys = [k for k, _ in reports.SAFELIVES_COLUMNS]
    assert [figures[k] for k in keys] == SAFELIVES_TOTAL


# --- the cases behind a figure ----------------------------------------------------------------------


def numbers(behind):
    return [r["number"] for r in behind.rows]


def test_cases_behind_figures(s):
    coord = s.coordinator
    assert numbers(reports.cases_behind(Q2, "repeat", coord)) == ["RC-0001", "RC-0005", "RC-0001", "RC-0007"]
    assert numbers(reports.cases_behind(Q2, "heard", coord)) == ["RC-0001", "RC-0002", "RC-0003", "RC-0005",
                                                                 "RC-0006", "RC-0001", "RC-0007"]
    assert numbers(reports.cases_behind(Q2, "victim_16_17", coord)) == ["RC-0001", "RC-0003"]
    assert numbers(reports.cases_behind(Q2, "perpetrator_under_18", coord)) == ["RC-0002"]
    assert numbers(reports.cases_behind(Q2, "no_referral", coord)) == ["RC-0006"]
    assert numbers(reports.cases_behind(Q2, "review", coord)) == ["RC-0004"]
    police = s.police.id
    assert numbers(reports.cases_behind(Q2, "late", coord, agency_id=police, today=TODAY)) == ["RC-0002"]
    assert numbers(reports.cases_behind(Q2, "overdue", coord, today=TODAY)) == ["RC-0007"]
    assert numbers(reports.cases_behind(Q2, "accepted", coord, agency_id=police)) == ["RC-0005", "RC-0007",
                                                                                      "RC-0001", "RC-0009"]
    health = s.health.id
    assert numbers(reports.cases_behind(Q2, "heard_from", coord, agency_id=health)) == ["RC-0003"]
    assert numbers(reports.cases_behind(Q2, "not_researched", coord, agency_id=s.housing.id)) == [
        "RC-0001", "RC-0003", "RC-0004", "RC-0001"]
    partner = reports.cases_behind(Q2, "pj_received", coord, side="partner")
    assert (partner.total, partner.without_case, partner.rows) == (2, 2, [])
    # Each list is as long as its figure.
    report = reports.build(Q2, TODAY)
    for table in report.tables.values():
        for row in table.rows:
            for cell in row[1:]:
                if cell.linked and cell.exact:
                    behind = reports.cases_behind(cell.period or Q2, cell.figure, coord, agency_id=cell.agency,
                                                  side=cell.side, today=TODAY)
                    assert behind.total == cell.value, (table.key, row[0].text, cell.figure)


def test_deleted_cases_still_count_but_are_not_listed(s):
    Case.update(deleted_at=datetime(2026, 7, 1)).where(Case.number == "RC-0005").execute()
    assert reports.summary(Q2)["repeat"] == 4
    behind = reports.cases_behind(Q2, "repeat", s.coordinator)
    assert (numbers(behind), behind.total, behind.hidden) == (["RC-0001", "RC-0001", "RC-0007"], 4, 1)


# --- pages, access, audit -----------------------------------------------------------------------


def test_reports_page_for_the_coordinator(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get(f"/reports/?{Q2_ARGS}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "April to June 2026 (quarter 2)" in body
    assert "57.1%, above the national range of 29-33%" in body
    assert 'role="img"' in body and 'id="chart-trend"' in body and 'id="chart-actions"' in body
    assert "National range 29-33%" in body
    for key in reports.TABLE_ORDER:
        assert f'id="table-{key}"' in body, key
    assert "Anytown IDVA Service" in body
    # A figure links to its cases; nothing personal appears (names, dates of birth).
    assert "/reports/cases?figure=repeat" in body
    for name in ("Ama", "Testone", "2008-06-30"):
        assert name not in body
    row = audit_rows("report.view")[-1]
    assert (row.object_type, row.object_id, row.user_id) == ("report", "report", s.coordinator.id)
    assert json.loads(row.detail) == {"period": "quarter", "start": "2026-04-01", "end": "2026-06-30"}


def test_the_chair_sees_reports_others_do_not(client, sign_in, s):
    sign_in(s.chair)
    assert client.get(f"/reports/?{Q2_ARGS}").status_code == 200
    assert client.get("/reports/safelives").status_code == 200


@pytest.mark.parametrize("role", ["representative", "referrer", "observer"])
def test_other_roles_are_refused(client, sign_in, s, role):
    sign_in(make_user(role, agency=s.police))
    for url in (f"/reports/?{Q2_ARGS}", f"/reports/export/all.xlsx?{Q2_ARGS}",
                f"/reports/cases?figure=repeat&{Q2_ARGS}", "/reports/safelives", "/reports/safelives.xlsx?year=2026"):
        assert client.get(url).status_code == 403, url
    assert not audit_rows("report.view") and not audit_rows("report.export")


def test_signed_out_goes_to_login(client, s):
    r = client.get("/reports/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_default_period_is_the_quarter_so_far(client, sign_in, s):
    sign_in(s.coordinator)
    body = client.get("/reports/").get_data(as_text=True)
    assert "July to September 2026 (quarter 3)" in body


def test_bench_style_year_url(client, sign_in, s):
    sign_in(s.coordinator)
    body = client.get("/reports/?period=year&year=2026").get_data(as_text=True)
    assert "January to December 2026" in body


def test_custom_dates_and_errors(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get("/reports/?period=custom&start=1&start=4&start=2026&end=30&end=6&end=2026")
    assert r.status_code == 200 and "1 April 2026 to 30 June 2026" in r.get_data(as_text=True)
    r = client.get("/reports/?period=custom&start=1&start=7&start=2026&end=30&end=6&end=2026")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "govuk-error-summary" in body
    assert "The end date must be the same as or after the start date" in body
    assert 'id="report-heading"' not in body
    r = client.get("/reports/?period=month&year=20x6&month=4")
    assert r.status_code == 200 and "govuk-error-summary" in r.get_data(as_text=True)
    # A partial date post does not crash the page.
    assert client.get("/reports/?period=custom&start=1&end=2").status_code == 200


def test_htmx_gets_the_fragment(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get(f"/reports/?{Q2_ARGS}", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and body.lstrip().startswith('<div id="report-page">')
    assert "HX-Request" in r.headers["Vary"]


def test_a_report_is_kept_for_a_minute_and_worked_out_again_on_request(client, sign_in, s):
    sign_in(s.coordinator)
    assert "7 at 3 meetings" in client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
    Listing.update(is_review=True).where(Listing.id == s.listings[2].id).execute()  # now a review: not heard
    assert "7 at 3 meetings" in client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
    body = client.get(f"/reports/?{Q2_ARGS}&fresh=1").get_data(as_text=True)
    assert "6 at 3 meetings" in body and "Figures worked out at 10:00 on 10 Jul 2026 (UK time)" in body
    assert len(audit_rows("report.view")) == 3  # every view is audited, cached or not


def test_a_report_asked_for_by_many_at_once_is_worked_out_once(app, s, monkeypatch):
    """Requests for a period being worked out wait for that result instead of each working it out."""
    import threading
    import time

    from marac_testing import login

    built = []
    real_build = reports.build

    def slow_build(period):
        built.append(period)
        time.sleep(0.3)  # long enough for every other request to arrive meanwhile
        return real_build(period)

    monkeypatch.setattr(reports, "build", slow_build)
    clients = [app.test_client() for _ in range(4)]
    for c in clients:
        assert login(c, s.coordinator).status_code == 302
    bodies = [None] * len(clients)

    def open_report(n):
        bodies[n] = clients[n].get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)

    threads = [threading.Thread(target=open_report, args=(n,)) for n in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert built == [Q2]
    assert all("7 at 3 meetings" in body for body in bodies)
    assert len(audit_rows("report.view")) == 4  # each view is still audited


def test_the_period_picker_shows_each_querys_own_choice(client, sign_in, s):
    """The picker's markup is kept per query string: each query shows its own values, errors are not kept."""
    sign_in(s.coordinator)
    custom = "period=custom&start=1&start=4&start=2026&end=30&end=6&end=2026"
    for _ in range(2):
        page = client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
        assert re.search(r'value="quarter" checked', page) and '<option value="2" selected>' in page
        page = client.get(f"/reports/?{custom}").get_data(as_text=True)
        assert re.search(r'value="custom" checked', page)
        assert 'id="start-month" name="start" type="text" value="4"' in page
    bad = "period=custom&start=1&start=7&start=2026&end=30&end=6&end=2026"
    for _ in range(2):
        assert "govuk-error-summary" in client.get(f"/reports/?{bad}").get_data(as_text=True)


def test_cases_page_lists_numbers_for_the_figure(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get(f"/reports/cases?figure=late&agency={s.police.id}&{Q2_ARGS}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Actions completed late" in body and "Anytown Police" in body
    assert f'href="/cases/{s.cases[2].id}"' in body and "RC-0002" in body and "30 Jun 2026" in body
    assert "Testtwo" not in body
    row = audit_rows("report.view")[-1]
    assert row.object_id == "cases"
    assert json.loads(row.detail)["figure"] == "late"
    assert client.get(f"/reports/cases?figure=nonsense&{Q2_ARGS}").status_code == 404
    assert client.get(f"/reports/cases?figure=not_researched&{Q2_ARGS}").status_code == 404  # needs an agency
    r = client.get(f"/reports/cases?figure=pj_received&side=partner&{Q2_ARGS}")
    assert "2 referrals have no case yet" in r.get_data(as_text=True)


def test_every_link_on_the_page_opens(client, sign_in, s):
    sign_in(s.coordinator)
    body = client.get(f"/reports/?{Q2_ARGS}").get_data(as_text=True)
    links = set(re.findall(r'href="(/reports/[^"]+)"', body))
    assert len(links) > 40
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


# --- spreadsheets -----------------------------------------------------------------------------------


def sheet_rows(ws, first=reports.HEADER_ROW):
    return [list(r) for r in ws.iter_rows(min_row=first, values_only=True)]


def test_whole_report_spreadsheet_holds_the_figures(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get(f"/reports/export/all.xlsx?{Q2_ARGS}")
    assert r.status_code == 200 and r.headers["Content-Type"] == reports.XLSX
    assert r.headers["Content-Disposition"] == 'attachment; filename="marac-report-2026-04-01-to-2026-06-30.xlsx"'
    wb = load_workbook(io.BytesIO(r.data))
    assert len(wb.sheetnames) == len(reports.TABLE_ORDER)
    cases = {row[0]: row[1] for row in sheet_rows(wb["Cases heard"])[1:] if row[0]}
    assert cases["Cases heard"] == 7 and cases["Repeat cases"] == 4 and cases["Repeat rate (%)"] == 57.1
    assert cases["Children in those cases"] == 8
    ws = wb["Attendance"]
    assert ws["A1"].value == "Attendance at meetings, by agency" and ws["A2"].value == \
        "Anytown MARAC: April to June 2026 (quarter 2)"
    attendance = {row[0]: tuple(row[1:8]) for row in sheet_rows(ws)[1:] if row[0] in ATTENDANCE}
    assert attendance == ATTENDANCE
    actions = {row[0]: tuple(row[1:8]) for row in sheet_rows(wb["Actions"])[1:] if row[0]}
    assert actions["All agencies"] == ACTIONS_TOTAL
    for name, expected in ACTIONS.items():
        assert actions[name] == expected
    row = audit_rows("report.export")[-1]
    assert (row.object_id, json.loads(row.detail)["start"]) == ("all", "2026-04-01")


def test_one_table_spreadsheet(client, sign_in, s):
    sign_in(s.coordinator)
    r = client.get(f"/reports/export/equality.xlsx?{Q2_ARGS}")
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["Equality"]
    rows = sheet_rows(wb.active)
    assert rows[0] == ["Figure", "Cases", "Percentage of cases heard (%)"]
    assert rows[1] == ["Victims who are Black, Asian or racially minoritised", 4, 57.1]
    assert client.get(f"/reports/export/nonsense.xlsx?{Q2_ARGS}").status_code == 404
    r = client.get("/reports/export/cases.xlsx?period=custom&start=1")
    assert r.status_code == 302 and "/reports/" in r.headers["Location"]
    assert [e.object_id for e in audit_rows("report.export")] == ["equality"]


def test_safelives_return_page_and_spreadsheet(client, sign_in, s):
    sign_in(s.coordinator)
    body = client.get("/reports/safelives?year=2026&quarter=2").get_data(as_text=True)
    assert "MARAC data return: April to June 2026 (quarter 2)" in body and "13 May 2026" in body
    r = client.get("/reports/safelives.xlsx?year=2026&quarter=2")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="marac-safelives-return-2026-04-01-to-2026-06-30.xlsx"'
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = sheet_rows(ws)
    assert rows[0] == ["Meeting date"] + [label for _, label in reports.SAFELIVES_COLUMNS]
    assert [(row[0].date(), row[1:]) for row in rows[1:4]] == SAFELIVES
    assert rows[4] == ["Total"] + SAFELIVES_TOTAL
    assert [e.object_id for e in audit_rows("report.export")] == ["safelives"]
    # Default: the last whole quarter.
    body = client.get("/reports/safelives").get_data(as_text=True)
    assert "April to June 2026 (quarter 2)" in body


# --- speed: every query uses an index ----------------------------------------------------------------


def test_report_queries_use_indexes(app, now):
    """No report query scans a big table: each starts from an indexed date range."""
    from marac.models import Action, Agency, Referral

    lo, hi = Q2.local_bounds()
    queries = {
        "hearings": reports._hearings(reports._hearing_columns(list(reports.HEARING_FIGURES)), lo, hi),
        "referrals": Referral.select(*reports._referral_columns()).join(Agency, on=(Referral.agency == Agency.id))
        .where(reports._received(Q2)).group_by(Agency.id),
        "actions": Action.select(Action.id).join(Case, on=(Action.case == Case.id)).where(reports._due_in(Q2)),
    }
    big = ("listing", "referral", "action", "research", "case_person", "person", "attendance", "case")
    with db.connection_context():
        if not is_sqlite():
            # PostgreSQL's planner scans tables this small whatever the indexes: make a scan its last resort,
            # so one is left only where no index serves.
            db.execute_sql("SET enable_seqscan = off")
        for name, query in queries.items():
            sql, params = query.sql()
            if is_sqlite():
                plan = [row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
                scans = [p for p in plan if p.startswith("SCAN") and any(f" {t}" in p or f'"{t}"' in p for t in big)]
            else:
                plan = [row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall()]
                scans = [p for p in plan if "Seq Scan on" in p and any(f"Seq Scan on {t} " in p + " "
                                                                       or f'Seq Scan on "{t}"' in p for t in big)]
            assert not scans, (name, plan)
