"""A referrer fills a referral in a real browser: live score, draft, check, send; others get 404.

Every name, date and address here is invented.
"""
import re

from marac_testing import make_user
from playwright.sync_api import expect

from marac import referrals, settings
from marac.risk import COMMUNITY_EXAMPLE, DASH, MERIT

# Breakdown q1, q2; Social q7-q10; Violence q22-q30: the 15th "yes" makes 2 x 4 x 9 = 72.
MERIT_YES = ["q1", "q2", "q7", "q8", "q9", "q10"] + [f"q{n}" for n in range(22, 31)]


def _answer(page, instrument, yes_ids):
    """Tick "Yes" for yes_ids (in order) and "No" for every other question."""
    index = {item.id: i for i, item in enumerate(instrument.items)}
    for item_id in yes_ids:
        page.locator(f"#item{index[item_id]}").check()
    for i, item in enumerate(instrument.items):
        if item.id not in yes_ids:
            page.locator(f"#item{i}-2").check()


def test_merit_referral_end_to_end(app, signed_in, assert_accessible, base_url):
    settings.set_many({"instrument_id": "merit"})
    referrer = make_user(role="referrer", name="Robin Referrer")
    outsider = make_user(role="referrer", name="Olly Otheragency")
    page = signed_in(referrer)

    page.get_by_role("link", name="Referrals").first.click()
    page.get_by_role("button", name="Start a new referral").click()
    page.get_by_role("button", name="Start referral").click()
    expect(page.get_by_role("heading", name="Make a referral")).to_be_visible()
    referral_id = int(re.search(r"/referrals/(\d+)/tasks", page.url).group(1))

    # Sending an empty draft shows every problem; the page with errors passes axe.
    page.get_by_role("link", name="Check your answers and send the referral").click()
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the victim's first name")
    assert_accessible(page)
    page.locator(".govuk-error-summary").get_by_role("link", name="Enter the victim's first name").click()
    expect(page.locator("#given_name")).to_be_focused()
    expect(page.locator(".govuk-error-message").first).to_be_visible()
    assert_accessible(page)

    # The victim (reached from the error; saving returns to check your answers).
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Testwood")
    page.get_by_label("Day", exact=True).fill("7")
    page.get_by_label("Month", exact=True).fill("3")
    page.get_by_label("Year", exact=True).fill("1990")
    page.get_by_label("Address").fill("1 Fictional Row\nAnytown")
    page.get_by_label("Postcode").fill("ZZ1 1ZZ")
    page.get_by_role("group", name="Does the victim live in the area").get_by_label("Yes").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()

    # The other sections, from the task list.
    def open_section(name):
        page.goto(f"/referrals/{referral_id}/tasks")
        page.get_by_role("link", name=name).click()

    open_section("Children in the household")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("First name").fill("Bram")
    page.get_by_label("Last name").fill("Examplesson")
    page.get_by_role("button", name="Save and continue").click()
    for field, value in (("sex", "female"), ("gender_identity", "same"), ("sexual_orientation", "not_known"),
                         ("ethnicity", "not_known"), ("disability", "no")):
        page.locator(f"#people-0-{field}").select_option(value)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("No").check()  # safe to post
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Yes, the victim agreed").check()
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("No").check()  # interpreter
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What happened").fill("A fictional incident.")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What is the risk now?").fill("Fictional risk.")
    page.get_by_label("What have you already done?").fill("Fictional safety plan.")
    page.get_by_role("button", name="Save and continue").click()

    # The checklist: the score panel follows each tick.
    expect(page.get_by_role("heading", name="Risk checklist and referral criteria")).to_be_visible()
    index = {item.id: i for i, item in enumerate(MERIT.items)}
    for item_id in MERIT_YES[:14]:
        page.locator(f"#item{index[item_id]}").check()
    expect(page.locator("#score-formula")).to_have_text("2 × 4 × 8 = 64")
    expect(page.locator("#score-band")).to_contain_text("SILVER")
    page.locator(f"#item{index[MERIT_YES[14]]}").check()
    expect(page.locator("#score-formula")).to_have_text("2 × 4 × 9 = 72")
    expect(page.locator("#score-total")).to_have_text("72")
    expect(page.locator("#score-band")).to_contain_text("GOLD")
    expect(page.locator("#score-threshold")).to_contain_text("At or over the threshold")
    for i, item in enumerate(MERIT.items):
        if item.id not in MERIT_YES:
            page.locator(f"#item{i}-2").check()
    expect(page.locator("#score-panel")).to_contain_text("Not answered: 0")
    assert_accessible(page)
    page.get_by_role("button", name="Save and return to the task list").click()

    # Come back later: the draft is under "My referrals".
    page.goto("/")
    page.get_by_role("link", name="Referrals").first.click()
    expect(page.get_by_role("heading", name="My referrals")).to_be_visible()
    page.get_by_role("link", name=f"Referral {referral_id}").click()
    expect(page.get_by_text("You have completed 10 of 10 sections")).to_be_visible()
    page.get_by_role("link", name="Check your answers and send the referral").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_text("Referral sent.")).to_be_visible()
    expect(page.locator("#referral-status")).to_contain_text("Submitted")
    page.get_by_role("link", name="Back to referrals").click()
    row = page.get_by_role("row").filter(has_text=f"Referral {referral_id}")
    expect(row).to_contain_text("Submitted")
    expect(row).to_contain_text("72 (GOLD)")

    # Someone from another agency cannot see it.
    other = signed_in(outsider)
    response = other.goto(f"/referrals/{referral_id}")
    assert response.status == 404
    expect(other.get_by_role("heading", name="Page not found")).to_be_visible()
    # The browser logs the expected 404 as a console error; anything else still fails the test.
    other.problems[:] = [p for p in other.problems if f"/referrals/{referral_id}'" not in p or "404" not in p]


def _prefill(user, rules_person="victim"):
    """Every section except the checklist, through the service (the browser test is about ticking)."""
    referral = referrals.create_draft(user)
    values = {
        "person": {"given_name": "Cleo", "family_name": "Placeholder", "date_of_birth": "1985-05-05",
                   "address": "2 Sample Street", "postcode": "ZZ2 2ZZ", "lives_in_area": "yes"},
        "children": {"has_children": "no", "children": []},
        "perpetrators": {"perpetrators": [{"given_name": "Dex", "family_name": "Mockford"}]},
        "equality": {"people": [{"sex": "female", "gender_identity": "same", "sexual_orientation": "not_known",
                                 "ethnicity": "not_known", "disability": "no"}]},
        "contact": {"safe_to_post": "yes"},
        "consent": {"status": "given"},
        "barriers": {"interpreter": "no"},
        "incident": {"description": "A fictional incident."},
        "risk": {"current_risk": "Fictional.", "actions_taken": "Fictional."},
    }
    for slug, section_values in values.items():
        referrals.save_section(referral, user, slug, section_values)
    return referral


def _tick_and_send(page, referral, instrument, yes_ids, total_text, band):
    page.goto(f"/referrals/{referral.id}/section/checklist")
    _answer(page, instrument, yes_ids)
    expect(page.locator("#score-formula")).to_have_text(total_text)
    expect(page.locator("#score-band")).to_contain_text(band)
    expect(page.locator("#score-verdict")).to_contain_text("Meets the threshold on: Visible high risk")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    page.get_by_role("button", name="Send referral").click()
    expect(page.locator("#referral-status")).to_contain_text("Submitted")


def test_dash_referral_fourteen_ticks(app, signed_in, assert_accessible):
    referrer = make_user(role="referrer")
    referral = _prefill(referrer)
    page = signed_in(referrer)
    _tick_and_send(page, referral, DASH, [item.id for item in DASH.items[:14]], "14 yes answers", "High")


def test_community_checklist_nine_ticks(app, signed_in, assert_accessible):
    settings.set_many({"panel_type": "community", "instrument_id": "community_example"})
    referrer = make_user(role="representative")
    referral = _prefill(referrer)
    page = signed_in(referrer)
    _tick_and_send(page, referral, COMMUNITY_EXAMPLE, [item.id for item in COMMUNITY_EXAMPLE.items[:9]],
                   "9 yes answers", "High")
    assert_accessible(page)


def test_recalculate_without_javascript(app, page_factory, base_url, assert_accessible):
    from marac_testing import TEST_PASSWORD

    referrer = make_user(role="referrer")
    referral = _prefill(referrer)
    page = page_factory(base_url, java_script_enabled=False)
    page.goto("/login")
    page.get_by_label("E-mail address").fill(referrer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/referrals/{referral.id}/section/checklist")
    for i in range(3):
        page.locator(f"#item{i}").check()
    page.get_by_role("button", name="Recalculate").click()
    expect(page.locator("#score-formula")).to_have_text("3 yes answers")
    expect(page.locator("#item0")).to_be_checked()
