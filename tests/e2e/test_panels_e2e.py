"""Several panels in a real browser (issue 12): the header's panel line, the switch page by keyboard,
the county report and the users page of a two-panel database, each checked by axe. Fictional data."""
import pytest
from marac_testing import make_case, make_person, make_user
from playwright.sync_api import expect

from marac import panels
from marac.models import Panel, UserPanel


@pytest.fixture
def two_panels(app):
    other = Panel.create(name="Northshire West MARAC")
    coordinator = make_user(role="coordinator", name="Casey Coordinator")
    UserPanel.create(user=coordinator, panel=other)
    make_case(number="A-00001", people=[(make_person("Ava", "Alphaside"), "victim")])
    with panels.using(other.id):
        make_case(number="B-00001", people=[(make_person("Bea", "Betaside"), "victim")])
    return coordinator, other


def test_switching_panel_by_keyboard_and_the_county_pages(two_panels, signed_in, assert_accessible):
    coordinator, other = two_panels
    page = signed_in(coordinator)
    expect(page.locator(".marac-user-bar")).to_contain_text("Panel: Anytown MARAC")
    page.get_by_role("link", name="switch panel").click()
    expect(page.get_by_role("heading", name="Your panels")).to_be_visible()
    assert_accessible(page)

    # Keyboard only: the select takes the panel, Tab reaches the button, Enter sends the form.
    select = page.get_by_role("combobox", name="Panel")
    select.focus()
    select.select_option(label="Northshire West MARAC")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Switch panel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are now working in Northshire West MARAC.")).to_be_visible()
    expect(page.locator(".marac-user-bar")).to_contain_text("Panel: Northshire West MARAC")
    assert_accessible(page)

    page.goto("/reports/county")
    expect(page.get_by_role("heading", name="Panels side by side")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Northshire West MARAC")
    expect(page.locator("main")).to_contain_text("Anytown MARAC")
    assert_accessible(page)

    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert_accessible(page)
