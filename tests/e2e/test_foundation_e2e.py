"""The foundation in a real browser: the first coordinator is created through the one-time setup
link; a coordinator signs in, adds an agency (after one validation error) and a user, reads the
audit log and signs out; axe-core checks every page on the way. CSRF protection is on."""
import re

from marac_testing import make_agency, make_user
from playwright.sync_api import expect

from marac import accounts, passwords
from marac.models import Agency, AuditEvent, User


def nav(page, name):
    return page.get_by_role("navigation", name="Main menu").get_by_role("link", name=name, exact=True)


def error_summary_has_focus(page) -> bool:
    return page.evaluate("() => !!document.activeElement && "
                         "!!document.activeElement.closest('.govuk-error-summary')")


def test_coordinator_creates_an_agency_and_a_user(signed_in, page_factory, base_url, assert_accessible):
    coordinator = make_user(role="coordinator", name="Casey Coordinator",
                            agency=make_agency("Fictional Community Safety Team"))

    # The login page, before signing in.
    login_page = page_factory(base_url)
    login_page.goto("/login")
    expect(login_page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(login_page)
    login_page.close()

    page = signed_in(coordinator)
    expect(page.get_by_text("Signed in as Casey Coordinator")).to_be_visible()
    assert_accessible(page)

    # Agencies: one validation error first, then a good submission.
    nav(page, "Agencies").click()
    expect(page.get_by_role("heading", name="Agencies")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Add an agency").click()
    expect(page.get_by_role("heading", name="Add an agency")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Core member").check()
    page.get_by_role("button", name="Save agency").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the agency name")
    expect(page).to_have_title(re.compile(r"^Error: "))
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.govuk-error-summary')")
    assert error_summary_has_focus(page)
    assert_accessible(page)
    # The summary link takes the user to the field.
    summary.get_by_role("link", name="Enter the agency name").click()
    expect(page.get_by_label("Agency name")).to_be_focused()
    page.get_by_label("Agency name").fill("Fictional Housing Trust")
    page.get_by_role("group", name="Information sharing agreement signed on").get_by_label("Day").fill("3")
    page.get_by_role("group", name="Information sharing agreement signed on").get_by_label("Month").fill("4")
    page.get_by_role("group", name="Information sharing agreement signed on").get_by_label("Year").fill("2025")
    page.get_by_label("Signatory").fill("Head of Housing (fictional)")
    page.get_by_role("button", name="Save agency").click()
    expect(page.get_by_text("Agency Fictional Housing Trust added.")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Fictional Housing Trust")
    assert_accessible(page)

    # Users.
    nav(page, "Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Add a user").click()
    expect(page.get_by_role("heading", name="Add a user")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Full name").fill("Robin Example")
    page.get_by_label("Work e-mail address").fill("robin.example@housing.example")
    page.get_by_label("Agency", exact=True).select_option(label="Fictional Housing Trust")
    page.get_by_label("Agency representative").check()
    page.get_by_label("Deputy for their agency's lead representative").check()
    page.get_by_label("Temporary password").fill("lilac engine river forty")
    page.get_by_role("button", name="Save user").click()
    expect(page.get_by_text("User Robin Example added.")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Robin Example")
    assert_accessible(page)

    # The audit log shows the changes.
    nav(page, "Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("user.create")
    expect(page.get_by_role("table")).to_contain_text("agency.create")
    assert_accessible(page)
    page.get_by_label("User", exact=True).select_option(label="Casey Coordinator (Fictional Community Safety Team)")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table")).to_contain_text("auth.login")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    agency = Agency.get(Agency.name == "Fictional Housing Trust")
    assert agency.isa_signatory == "Head of Housing (fictional)" and agency.is_member
    user = User.get(User.email == "robin.example@housing.example")
    assert (user.role, user.agency_id, user.is_deputy) == ("representative", agency.id, True)
    assert passwords.verify_password(user.password_hash, "lilac engine river forty")
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions[-4:] == ["auth.login", "agency.create", "user.create", "auth.logout"]


def test_first_coordinator_is_created_through_the_setup_link(page_factory, base_url, assert_accessible):
    token = accounts.new_setup_token()
    page = page_factory(base_url)
    page.goto(f"/setup/{token}")
    expect(page.get_by_role("heading", name="Set up the first coordinator account")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Your full name").fill("Sam Firstperson")
    page.get_by_label("Work e-mail address").fill("sam.firstperson@council.example")
    page.get_by_label("Your team or agency").fill("Fictional Community Safety")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Create coordinator account").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Password must be 12 characters or more")
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.govuk-error-summary')")
    assert_accessible(page)
    page.get_by_label("Password", exact=True).fill("harbour pebble cinnamon seven")
    page.get_by_label("Confirm password").fill("harbour pebble cinnamon seven")
    page.get_by_role("button", name="Create coordinator account").click()
    expect(page.get_by_role("heading", name="Agencies")).to_be_visible()
    expect(page.get_by_text("Signed in as Sam Firstperson")).to_be_visible()
    assert_accessible(page)
    user = User.get(User.email == "sam.firstperson@council.example")
    assert user.role == "coordinator"

    # The link works once.
    again = page_factory(base_url)
    response = again.goto(f"/setup/{token}")
    assert response.status == 404
    expect(again.get_by_role("heading", name="Page not found")).to_be_visible()
    assert_accessible(again)
    # Chromium logs every 4xx page load as a console error; this one is the expected answer.
    expected = [p for p in again.problems if "status of 404" in p and f"/setup/{token}" in p]
    assert len(expected) == 1
    again.problems.remove(expected[0])
