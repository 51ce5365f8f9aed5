"""Steering-group reports in a real browser: the SVG charts render with their tables, the period
picker works with htmx and without, a figure opens its cases, axe finds nothing. Fictional data."""
import pytest
from marac_testing import Clock
from playwright.sync_api import expect
from test_reports_data import TODAY_UTC, seed

from marac import clock

Q2 = "/reports/?period=quarter&year=2026&quarter=2"


@pytest.fixture
def borough(app, monkeypatch):
    monkeypatch.setattr(clock, "now", Clock(TODAY_UTC))
    return seed()


def test_report_charts_tables_and_accessibility(borough, signed_in, assert_accessible):
    page = signed_in(borough.coordinator)
    page.goto(Q2)
    expect(page.get_by_role("heading", name="April to June 2026 (quarter 2)")).to_be_visible()

    # Each chart is an image with a name, drawn (it has a size), with its bars, and a table beside it.
    for chart_id, name in (("chart-trend", "Cases heard each month"), ("chart-repeat-rate", "Repeat rate each month"),
                           ("chart-actions", "Actions completed on time, by owner agency")):
        chart = page.locator(f"svg#{chart_id}")
        expect(chart).to_be_visible()
        expect(page.get_by_role("img", name=name)).to_have_count(1)
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, (chart_id, box)
    # Trend: bars for March, April, May and June 2026 only; repeat rate: the national band and the same months.
    assert page.locator("svg#chart-trend rect.marac-chart__bar").count() == 4
    assert page.locator("svg#chart-repeat-rate rect.marac-chart__bar").count() == 4
    expect(page.locator("svg#chart-repeat-rate")).to_contain_text("National range 29-33%")
    assert page.locator("svg#chart-actions rect.marac-chart__bar").count() == 2  # Homes: 0% on time, no bar
    expect(page.locator("svg#chart-actions")).to_contain_text("Anytown Police")

    trend = page.get_by_role("table", name="Cases heard and repeat rate, month by month")
    expect(trend.get_by_role("row", name="April 2026")).to_contain_text("33.3%")
    expect(trend.get_by_role("row", name="June 2026")).to_contain_text("100.0%")
    actions = page.get_by_role("table", name="Actions due in the period, by owner agency")
    expect(actions.get_by_role("row", name="Anytown Police")).to_contain_text("66.7%")
    expect(actions.get_by_role("row", name="All agencies")).to_contain_text("33.3%")
    cases = page.get_by_role("table", name="Cases heard", exact=True)
    expect(cases.get_by_role("row", name="Repeat rate (%)")).to_contain_text("57.1%")
    assert_accessible(page)

    # Printed, the charts are still there.
    page.emulate_media(media="print")
    expect(page.locator("svg#chart-trend")).to_be_visible()
    page.emulate_media(media="screen")

    # A figure opens the cases behind it, by case number.
    cases.get_by_role("row", name="Repeat cases").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Repeat cases")).to_be_visible()
    expect(page.get_by_role("link", name="RC-0005")).to_be_visible()
    expect(page.get_by_role("link", name="RC-0001")).to_have_count(2)
    assert_accessible(page)


def test_period_picker_with_htmx_and_the_safelives_return(borough, signed_in, assert_accessible):
    page = signed_in(borough.coordinator)
    page.goto("/reports/")
    expect(page.get_by_role("heading", name="July to September 2026 (quarter 3)")).to_be_visible()
    page.get_by_role("radio", name="A month").check()
    page.locator("#year").fill("2026")
    page.get_by_role("combobox", name="Month").select_option(label="April")
    page.get_by_role("button", name="Show the report").click()
    expect(page.get_by_role("heading", name="April 2026", exact=True)).to_be_visible()
    assert "period=month" in page.url  # htmx pushed the report's address
    heard = page.get_by_role("table", name="Cases heard", exact=True).get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Cases heard", exact=True))
    expect(heard.get_by_role("cell")).to_have_text("3 (Cases heard, Number): show the cases")

    # An impossible custom range: the error summary, no report.
    page.get_by_role("radio", name="Dates of your choice").check()
    page.locator("input[name=start]").nth(0).fill("1")
    page.locator("input[name=start]").nth(1).fill("7")
    page.locator("input[name=start]").nth(2).fill("2026")
    page.locator("input[name=end]").nth(0).fill("1")
    page.locator("input[name=end]").nth(1).fill("6")
    page.locator("input[name=end]").nth(2).fill("2026")
    page.get_by_role("button", name="Show the report").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The end date must be the same as or after")
    assert_accessible(page)

    page.goto("/reports/safelives?year=2026&quarter=2")
    table = page.get_by_role("table", name="MARAC data return: April to June 2026 (quarter 2)")
    expect(table.get_by_role("row", name="13 May 2026")).to_be_visible()
    expect(table.get_by_role("row", name="Total")).to_contain_text("7")
    assert_accessible(page)
