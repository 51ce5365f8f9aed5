"""The case record in a real browser: a representative finds their agency's overdue action,
completes it, adds a note and a document; the coordinator sees it done on the case timeline.
All people are fictional."""
from datetime import date, timedelta

import pytest
from marac_testing import make_action, make_agency, make_case, make_note, make_person, make_user
from playwright.sync_api import expect

from marac import clock
from marac.models import Action, Document, Note

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def seeded(app):
    today = clock.now().date()
    housing = make_agency("Fictional Housing Trust", isa_signed_on=date(2025, 1, 1))
    police = make_agency("Fictional Police", isa_signed_on=date(2025, 1, 1))
    victim = make_person("Rowan", "Inventedly", date_of_birth=date(1991, 2, 3), postcode="ZZ1 1ZZ")
    perp = make_person("Sol", "Nonesuch", date_of_birth=date(1987, 4, 5))
    case = make_case(number="TC-E2E-1", people=[(victim, "victim"), (perp, "perpetrator")], lead_agency=police)
    action = make_action(case, housing, "Fit a door-entry camera", due_date=today - timedelta(days=3))
    make_action(case, police, "Flag the address", due_date=today + timedelta(days=10))
    return {"case": case, "action": action,
            "rep": make_user("representative", agency=housing, name="Harper Housingrep"),
            "coordinator": make_user("coordinator", agency=police, name="Casey Coordinator")}


def test_representative_completes_an_overdue_action_then_adds_a_note_and_a_document(
        seeded, signed_in, assert_accessible, tmp_path):
    page = signed_in(seeded["rep"])
    page.get_by_role("link", name="Actions", exact=True).click()
    expect(page.get_by_role("heading", name="My agency's actions")).to_be_visible()
    row = page.locator(f"#action-{seeded['action'].id}")
    expect(row).to_contain_text("Fit a door-entry camera")
    expect(row).to_contain_text("Overdue")
    assert_accessible(page)

    row.get_by_role("button", name="Mark as done today").click()  # htmx swaps the row
    expect(row).to_contain_text("Marked as done today")
    expect(row.get_by_role("button")).to_have_count(0)
    assert Action.get_by_id(seeded["action"].id).status == "done"
    assert_accessible(page)

    row.get_by_role("link", name="TC-E2E-1").click()
    expect(page.get_by_role("heading", name="Case TC-E2E-1")).to_be_visible()
    expect(page.locator("#case-timeline")).to_contain_text("Action completed")
    assert_accessible(page)

    page.get_by_role("button", name="Add a note").click()
    page.get_by_label("Change in risk").check()
    page.get_by_label("Note", exact=True).fill("Camera fitted; tenant feels safer.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#case-timeline")).to_contain_text("Camera fitted; tenant feels safer.")
    assert Note.get().category == "risk_change"

    page.get_by_role("button", name="Upload a document").click()
    expect(page.get_by_role("heading", name="Upload a document")).to_be_visible()
    assert_accessible(page)
    upload = tmp_path / "camera-invoice.pdf"
    upload.write_bytes(PDF)
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_label("Title (optional)").fill("Camera invoice")
    page.get_by_role("button", name="Upload document").click()
    expect(page.locator("#case-timeline")).to_contain_text("Camera invoice")
    assert Document.get().content_type == "application/pdf"
    page.wait_for_load_state("networkidle")  # the server stops with the test: let the page finish loading
    assert_accessible(page)


def test_coordinator_sees_the_action_done_on_the_timeline_and_filters_it(seeded, signed_in, assert_accessible):
    from marac import actions

    actions.complete(seeded["action"], seeded["rep"], note="Camera fitted")
    for i in range(30):
        make_note(seeded["case"], seeded["rep"], f"Older fictional note {i}",
                  created_at=clock.now() - timedelta(days=40 - i))
    page = signed_in(seeded["coordinator"])
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_label("Name").fill("rowan inventedly")  # active search: no button press
    result = page.locator("#search-results")
    expect(result).to_contain_text("TC-E2E-1", timeout=15000)  # active search waits for a pause in typing
    assert_accessible(page)
    result.get_by_role("link", name="TC-E2E-1").click()

    timeline = page.locator("#case-timeline")
    expect(timeline).to_contain_text("Action completed: action for Fictional Housing Trust")
    expect(timeline).to_contain_text("Camera fitted")
    assert_accessible(page)

    page.get_by_role("link", name="Show older entries").click()  # htmx appends the next page
    expect(timeline).to_contain_text("Older fictional note 0")
    expect(page.get_by_role("link", name="Show older entries")).to_have_count(0)

    page.get_by_label("Show").select_option("action")
    page.get_by_role("button", name="Filter").click()
    expect(timeline).not_to_contain_text("Older fictional note")
    expect(timeline).to_contain_text("Action completed")
    assert "kind=action" in page.url
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def test_coordinator_pages_for_actions_and_closure_are_accessible(seeded, signed_in, assert_accessible):
    case, action = seeded["case"], seeded["action"]
    page = signed_in(seeded["coordinator"])
    for url in ("/actions/overview", f"/actions/{action.id}", f"/actions/{action.id}/complete",
                f"/actions/{action.id}/cannot", f"/actions/{action.id}/escalate", f"/actions/new/{case.id}",
                f"/cases/{case.id}/close", f"/cases/{case.id}/transfer", f"/cases/{case.id}/notes/new"):
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        assert_accessible(page)
    page.goto("/cases/")
    page.get_by_label("Name").fill("nobody at all")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results")).to_contain_text("No cases found")
    assert_accessible(page)
    # The overview's chase button works without JavaScript and comes back to the overview.
    page.goto("/actions/overview")
    page.get_by_role("button", name="Chase").first.click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Chase recorded")
    # Closing asks first; the error summary is accessible too.
    page.goto(f"/cases/{case.id}/close")
    page.get_by_role("button", name="Close the case").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select why the case is being closed")
    assert_accessible(page)
    page.get_by_label("Risk reduced").check()
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_role("heading", name="Case TC-E2E-1")).to_contain_text("Closed")
    page.wait_for_load_state("networkidle")


def test_search_posts_its_terms_with_and_without_javascript(seeded, signed_in, page_factory, base_url):
    """SECURITY.md check 29: the name, date of birth and postcode typed in the search never travel in
    a URL the browser asks for, with htmx (active search) or without JavaScript (a plain post)."""
    from marac_testing import TEST_PASSWORD

    def typed_in(url: str) -> bool:
        low = url.lower()
        return any(t in low for t in ("rowan", "inventedly", "zz1", "1991", "zz1+1zz"))

    with_js = signed_in(seeded["coordinator"])
    without_js = page_factory(base_url, java_script_enabled=False)
    without_js.goto("/login")
    without_js.get_by_label("E-mail address").fill(seeded["coordinator"].email)
    without_js.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    without_js.get_by_role("button", name="Sign in").click()
    without_js.wait_for_url(lambda url: "/login" not in url)
    for page in (with_js, without_js):
        requested = []
        page.on("request", lambda r, seen=requested: seen.append((r.method, r.url)))
        page.goto("/cases/")
        page.get_by_label("Name").fill("Rowan Inventedly")
        page.get_by_label("Day").fill("3")
        page.get_by_label("Month").fill("2")
        page.get_by_label("Year").fill("1991")
        page.get_by_label("Postcode").fill("ZZ1 1ZZ")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#search-results")).to_contain_text("TC-E2E-1")
        expect(page.locator("#search-results")).to_contain_text("Rowan Inventedly")
        page.wait_for_load_state("networkidle")
        assert ("POST", f"{base_url}/cases/") in requested
        assert not [u for _, u in requested if typed_in(u)], requested
        assert not typed_in(page.url) and page.get_by_label("Name").input_value() == "Rowan Inventedly"
