"""Security in a real browser (issue 8): second-factor enrolment and sign-in (SECURITY.md 4, 5), the XSS
corpus opening no dialog (15), each role's walk with no CSP violation and empty browser storage (20:
the page fixture fails on either), and axe on the governance pages (36). Fictional data only."""
from datetime import date, datetime, timedelta

import pyotp
import pytest
from marac_testing import TEST_PASSWORD, make_action
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from security_world import build_world
from xss_corpus import poison

from marac import clock, second_factor
from marac.models import Action, Agency, Attendance, Case, Research, User


@pytest.fixture
def world(app):
    return build_world(app)


def _give_reason(page, case_id):
    page.goto(f"/cases/{case_id}")
    expect(page.get_by_role("heading", name="Why do you need to open this case?")).to_be_visible()
    page.get_by_label("Why do you need to open this record?").fill("Browser test")
    page.get_by_role("button", name="Open the record").click()
    expect(page.get_by_role("heading", name="Why do you need to open this case?")).to_have_count(0)


def test_enrolment_and_sign_in_with_a_code(app, world, page_factory, base_url, assert_accessible):
    app.config["REQUIRE_SECOND_FACTOR"] = True
    user = world.users["R"]
    page = page_factory(base_url)
    page.goto("/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    assert_accessible(page)
    secret = second_factor.secret_of(User.get_by_id(user.id))
    page.get_by_label("Code from your authenticator app").fill("000000" if pyotp.TOTP(secret).now() != "000000"
                                                               else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("The code is not right").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    # Sign out and in again: the code page this time, with a fresh code.
    page.get_by_role("button", name="Sign out").click()
    step = second_factor._step(clock.now())
    User.update(totp_last_step=step - 2).where(User.id == user.id).execute()  # the next code is fresh
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def test_the_xss_corpus_opens_no_dialog(app, world, signed_in):
    poison(app, world)
    dialogs = []
    page = signed_in(world.users["C"])
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    v = world.values
    _give_reason(page, v["case_id"])
    for url in (f"/cases/{v['case_id']}", f"/meetings/{v['meeting_id']}", f"/meetings/{v['meeting_id']}/agenda",
                f"/meetings/{v['meeting_id']}/run/minutes", f"/meetings/{v['meeting_id']}/run/cases/{v['listing_id']}",
                f"/referrals/{v['referral_id']}", f"/inbox/referrals/{v['referral_id']}", "/admin/users",
                f"/governance/cases/{v['case_id']}/history", f"/governance/people/{v['person_id']}",
                f"/governance/releases/{v['release_id']}", "/actions/overview"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert dialogs == []


@pytest.mark.parametrize("role", ["C", "H", "R", "X", "F", "O"])
def test_each_roles_walk_has_no_csp_violation_and_leaves_no_storage(world, signed_in, role):
    """The page fixture fails the test on any CSP violation, console error or data left in storage."""
    v = world.values
    page = signed_in(world.users[role])
    walks = {
        "C": ["/", "/cases/", f"/meetings/{v['meeting_id']}", "/inbox/", "/governance/retention",
              "/governance/releases", f"/governance/people/{v['person_id']}"],
        "H": ["/", "/inbox/", f"/meetings/{v['meeting_id']}", "/governance/releases"],
        "R": ["/", "/actions/", f"/meetings/{v['meeting_id']}", "/cases/"],
        "X": ["/", f"/meetings/{v['meeting_id']}", f"/meetings/{v['meeting_id']}/agenda", "/actions/"],
        "F": ["/", "/referrals/", f"/referrals/{v['referral_id']}"],
        "O": ["/", f"/meetings/{v['meeting_id']}/run", f"/meetings/{v['meeting_id']}/run/review"],
    }
    if role in "CR":
        _give_reason(page, v["case_id"])
    for url in walks[role]:
        response = page.goto(url)
        assert response.status < 500, url
        page.wait_for_load_state("networkidle")


def _observer_journey(page, world):
    """An approved observer at the meeting: the confidentiality statement first (they agree, a posted
    form), then the meeting's overview and the review of returning actions, which is what they may see."""
    v = world.values
    Attendance.update(agreed_at=None).where(Attendance.id == v["attendance_id"]).execute()
    page.goto(f"/meetings/{v['meeting_id']}/run")
    expect(page.get_by_text("to see the cases")).to_be_visible()  # no case before the agreement
    page.get_by_role("link", name="this meeting's confidentiality statement").click()
    expect(page.get_by_role("heading", name="Confidentiality statement")).to_be_visible()
    page.get_by_role("button", name="I agree to the confidentiality statement").click()
    expect(page.get_by_text("your agreement is recorded for this meeting")).to_be_visible()
    assert Attendance.get_by_id(v["attendance_id"]).agreed_at is not None
    expect(page.get_by_text("to see the cases")).to_have_count(0)
    page.get_by_role("link", name="Review of returning cases' outstanding actions").click()
    expect(page.locator("h1")).to_be_visible()


def _other_agency_journey(page, world):
    """A representative of an agency not involved in the closed-session case: their agency's actions (one
    completed with a note, a posted form), and research for the open case on the agenda (saved)."""
    v = world.values
    action = make_action(world.objects["open_case"], Agency.get_by_id(v["agency_id"]),
                         "Offer a home-safety visit (fictional)", due_date=date.today() - timedelta(days=3))
    page.goto("/actions/")
    page.get_by_role("link", name="Done on another date, or add a note").click()
    page.get_by_label("Note (optional)").fill("Visit offered and accepted (fictional)")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text(f"Action on case {action.case.number} marked as done.")).to_be_visible()
    assert Action.get_by_id(action.id).status == "done"
    listing = world.objects["open_listing"]
    page.goto(f"/meetings/{v['meeting_id']}/listings/{listing.id}/research")
    page.get_by_label("What your agency holds on the victim").fill("Known to the housing team (fictional)")
    page.get_by_role("button", name="Save research").click()
    expect(page.get_by_text(f"Research saved for case {listing.case.number}.")).to_be_visible()
    assert Research.get((Research.listing == listing.id) & (Research.agency == v["agency_id"]))


@pytest.mark.parametrize("role", ["O", "X"])
def test_each_roles_journey_through_a_form_has_no_csp_violation_and_leaves_no_storage(world, signed_in, role):
    """The observer's and the other agency's representative's journeys, each posting a form; the page
    fixture fails the test on a CSP violation or console error, and on any key left in localStorage or
    sessionStorage (none at all: htmx's current-path key too, which static/js/app.js removes)."""
    page = signed_in(world.users[role])
    {"O": _observer_journey, "X": _other_agency_journey}[role](page, world)
    page.wait_for_load_state("networkidle")


def test_the_governance_pages_are_accessible(app, world, signed_in, assert_accessible):
    v = world.values
    Case.update(status="closed", closed_at=datetime(2025, 1, 10, 12, 0)).where(Case.id == v["case_id"]).execute()
    page = signed_in(world.users["C"])
    page.goto(f"/cases/{v['case_id']}")
    expect(page.get_by_role("heading", name="Why do you need to open this case?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Open the record").click()  # no reason: the error summary
    expect(page.get_by_text("Enter why you need to open this record").first).to_be_visible()
    assert_accessible(page)
    _give_reason(page, v["case_id"])
    for url in ("/governance/retention", f"/governance/retention/{v['case_id']}/keep",
                f"/governance/retention/{v['case_id']}/delete", f"/governance/cases/{v['case_id']}/history",
                f"/governance/people/{v['person_id']}", f"/governance/people/{v['person_id']}/history",
                f"/governance/people/{v['person_id']}/subject-access", "/governance/releases",
                f"/governance/releases/{v['release_id']}", f"/governance/cases/{v['case_id']}/releases/new",
                f"/admin/users/{v['user_id']}/second-factor"):
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        assert_accessible(page)
    # A keep with a past date: the error state.
    page.goto(f"/governance/retention/{v['case_id']}/keep")
    page.get_by_label("Why is the case being kept?").fill("Trial pending")
    page.get_by_label("Year").fill("2020")
    page.get_by_role("button", name="Keep the case").click()
    expect(page.get_by_text("The next review date must be in the future").first).to_be_visible()
    assert_accessible(page)
    # The chair's decision form.
    chair = signed_in(world.users["H"])
    chair.goto(f"/governance/releases/{v['release_id']}")
    expect(chair.get_by_role("group", name="Your decision")).to_be_visible()
    assert_accessible(chair)


@pytest.mark.parametrize("role", ["C", "R"])
def test_axe_on_every_page_a_role_can_open(app, world, signed_in, assert_accessible, role):
    """SECURITY.md 36: every GET route of the app (the seeded borough's objects in its URLs), opened as
    a full page by the coordinator (who can open nearly all) and by a representative."""
    from security_world import url_for_rule

    page = signed_in(world.users[role])
    if role in "CR":
        _give_reason(page, world.values["case_id"])
    checked, failures = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "GET" not in rule.methods or rule.endpoint in ("static", "health.healthz", "auth.logout"):
            continue
        url = url_for_rule(rule, world.values)
        try:
            response = page.goto(url)
        except PlaywrightError:  # a download (Word, spreadsheet, document): not a page
            continue
        if response is not None and response.status in (403, 404):
            # A page this role may not open (or a switched-off feature): expected here, so the browser's
            # "failed to load" console line for it is not a problem of the page.
            page.problems[:] = [p for p in page.problems if not (p.startswith("console: Failed to load resource")
                                                                 and f"{url}'" in p)]
            continue
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        try:
            assert_accessible(page)
        except AssertionError as exc:
            failures.append(str(exc))
        checked.append(url)
    assert len(checked) > (60 if role == "C" else 15), checked
    assert not failures, "\n\n".join(failures)
