"""Keyboard-only runs (SECURITY.md 36, issue 8): sign-in with the second factor, a referral from the
task list to "sent", and the coordinator's meeting from attendance to the next case, using only
Tab, Shift+Tab, arrow keys, Space, Enter and typing. After every key press focus is on an element
(tab_to fails when it falls back to the page body); no click, no fill. Fictional data only."""
import re
import time

import pyotp
import pytest
from marac_testing import TEST_PASSWORD, make_user
from playwright.sync_api import expect

from marac.models import Action, Attendance, CaseDiscussion, Referral, User
from marac.risk import DASH


@pytest.fixture
def keys(tab_to):
    """Keyboard moves that read like a user's path, built on tab_to."""

    class Keys:
        def __init__(self, page):
            self.page = page

        def to(self, locator, **kw):
            return tab_to(self.page, locator, **kw)

        def type_into(self, locator, text):
            self.to(locator)
            self.page.keyboard.type(text)

        def press(self, locator, key="Enter", back=False):
            """Tab (Shift+Tab when going back up the page) to a link or button and press it."""
            self.to(locator, key="Shift+Tab" if back else "Tab")
            self.page.keyboard.press(key)

        def choose(self, group, option):
            """Tab into a radio group (focus lands on its checked radio, else its first) and move with
            the arrow keys to `option`, which checks it."""
            self.to(group.locator("input[type=radio]:checked").or_(group.locator("input[type=radio]").first)
                    .first)
            for _ in range(group.locator("input[type=radio]").count()):
                if option.evaluate("el => el === document.activeElement"):
                    break
                self.page.keyboard.press("ArrowDown")
            expect(option).to_be_focused()
            self.page.keyboard.press("Space")
            expect(option).to_be_checked()

        def select(self, locator, text):
            """A closed <select>: type the start of an option's text (the browser's type-ahead)."""
            self.to(locator)
            self.page.keyboard.type(text)
            expect(locator.locator("option:checked")).to_contain_text(text)

    return Keys


def sign_in_by_keyboard(page, keys, user):
    page.goto("/login")
    k = keys(page)
    k.type_into(page.get_by_label("E-mail address"), user.email)
    k.type_into(page.get_by_label("Password", exact=True), TEST_PASSWORD)
    k.press(page.get_by_role("button", name="Sign in"))


def test_sign_in_with_the_second_factor(app, base_url, page_factory, keys, assert_accessible):
    app.config["REQUIRE_SECOND_FACTOR"] = True
    user = make_user("representative", name="Kim Keyboard")
    page = page_factory(base_url)
    page.set_default_timeout(5000)
    sign_in_by_keyboard(page, keys, user)

    # First sign-in: enrol. The key is on the page for typing into the app (the QR code's alternative).
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    secret = re.sub(r"\s", "", page.locator(".marac-secret-key").inner_text())
    k = keys(page)
    k.type_into(page.get_by_label("Code from your authenticator app"), pyotp.TOTP(secret).now())
    k.press(page.get_by_role("button", name="Continue"))
    expect(page.get_by_text("Signed in as Kim Keyboard")).to_be_visible()
    assert User.get_by_id(user.id).totp_enrolled_at is not None
    assert_accessible(page)

    # Sign out and in again: the code page. A code works once, so the app's next code (accepted for
    # clock drift) is typed this time.
    k.press(page.get_by_role("button", name="Sign out"))
    expect(page.get_by_label("E-mail address")).to_be_visible()
    sign_in_by_keyboard(page, keys, user)
    expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    k.type_into(page.get_by_label("Code from your authenticator app"), pyotp.TOTP(secret).at(time.time() + 30))
    k.press(page.get_by_role("button", name="Continue"))
    expect(page.get_by_text("Signed in as Kim Keyboard")).to_be_visible()


def test_a_referral_from_the_task_list_to_sent(app, base_url, page_factory, keys, assert_accessible):
    referrer = make_user("referrer", name="Robin Referrer")
    page = page_factory(base_url)
    page.set_default_timeout(5000)
    sign_in_by_keyboard(page, keys, referrer)
    k = keys(page)
    k.press(page.get_by_role("link", name="Referrals").first)
    k.press(page.get_by_role("button", name="Start a new referral"))
    k.press(page.get_by_role("button", name="Start referral"))
    expect(page.get_by_role("heading", name="Make a referral")).to_be_visible()
    referral_id = int(re.search(r"/referrals/(\d+)/tasks", page.url).group(1))

    def save_and_continue():
        k.press(page.get_by_role("button", name="Save and continue"))

    # The task list's first section; each "Save and continue" opens the next one.
    k.press(page.get_by_role("link", name="The victim"))
    k.type_into(page.get_by_label("First name"), "Ada")
    k.type_into(page.get_by_label("Last name"), "Testwood")
    k.type_into(page.get_by_label("Day", exact=True), "7")
    k.type_into(page.get_by_label("Month", exact=True), "3")
    k.type_into(page.get_by_label("Year", exact=True), "1990")
    k.type_into(page.get_by_label("Address"), "1 Fictional Row")
    k.type_into(page.get_by_label("Postcode"), "ZZ1 1ZZ")
    lives = page.get_by_role("group", name="Does the victim live in the area")
    k.choose(lives, lives.get_by_label("Yes"))
    save_and_continue()

    def one_question(heading, group, option):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        k.choose(group, group.get_by_label(option))
        save_and_continue()

    one_question("Children in the household", page.locator("main fieldset").first, "No")
    expect(page.get_by_role("heading", name="The perpetrator")).to_be_visible()
    k.type_into(page.get_by_label("First name"), "Bram")
    k.type_into(page.get_by_label("Last name"), "Examplesson")
    save_and_continue()

    expect(page.get_by_role("heading", name="Equality details")).to_be_visible()
    for field, text in (("sex", "Female"), ("gender_identity", "Same"), ("sexual_orientation", "Not"),
                        ("ethnicity", "Not"), ("disability", "No")):
        k.select(page.locator(f"#people-0-{field}"), text)
    save_and_continue()

    one_question("Safe contact", page.get_by_role("group", name=re.compile("safe to send letters")), "No")
    one_question("Consent", page.locator("main fieldset").first, "Yes, the victim agreed")
    one_question(re.compile("Interpreter"), page.get_by_role("group", name="Is an interpreter needed?"), "No")
    k.type_into(page.get_by_label("What happened"), "A fictional incident.")
    save_and_continue()
    k.type_into(page.get_by_label("What is the risk now?"), "Fictional risk.")
    k.type_into(page.get_by_label("What have you already done?"), "Fictional safety plan.")
    save_and_continue()

    # The checklist: the first 14 questions "Yes" (Space), the rest "No" (arrow key); the score follows.
    expect(page.get_by_role("heading", name="Risk checklist and referral criteria")).to_be_visible()
    for i, _item in enumerate(DASH.items):
        group = page.locator(f"fieldset:has(#item{i})")
        k.choose(group, page.locator(f"#item{i}" if i < 14 else f"#item{i}-2"))
    expect(page.locator("#score-formula")).to_have_text("14 yes answers")
    expect(page.locator("#score-band")).to_contain_text("High")
    assert_accessible(page)
    save_and_continue()

    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    k.press(page.get_by_role("button", name="Send referral"))
    expect(page.get_by_text("Referral sent.")).to_be_visible()
    referral = Referral.get_by_id(referral_id)
    assert (referral.status, referral.score_total, referral.threshold_met) == ("submitted", 14, True)


def test_the_coordinator_runs_the_meeting(meeting_world, base_url, page_factory, keys, assert_accessible):
    s = meeting_world
    page = page_factory(base_url)
    page.set_default_timeout(5000)
    sign_in_by_keyboard(page, keys, s["coordinator"])
    k = keys(page)

    # From the meetings list to the meeting, then attendance.
    k.press(page.get_by_role("link", name="Meetings", exact=True))
    k.press(page.locator("main").get_by_role("link", name=re.compile(f"{s['meeting'].starts_at.day} \\w+ "
                                                                    f"{s['meeting'].starts_at.year}")).first)
    k.press(page.get_by_role("link", name=re.compile("Run the meeting")))
    k.press(page.get_by_role("link", name=re.compile("Attendance")).first)
    for person in ("Anytown Police: Pat Police", "MARAC Team: Casey Coord (coordinator)"):
        k.select(page.get_by_label("Who is attending"), person)
        k.press(page.get_by_role("button", name="Sign in"))
        expect(page.locator(".govuk-notification-banner")).to_contain_text("signed in")
    k.press(page.get_by_role("button", name="Record agreement for Pat Police"))
    expect(page.get_by_role("table", name="Attendance sheet").get_by_role("row", name="Pat Police")) \
        .to_contain_text("Agreed")

    # The coordinator agrees to the confidentiality statement and starts the meeting.
    k.press(page.get_by_role("navigation", name="This meeting").get_by_role("link", name="Overview"), back=True)
    k.press(page.get_by_role("link", name="Confidentiality statement", exact=True))
    k.press(page.get_by_role("button", name="I agree to the confidentiality statement"))
    k.press(page.get_by_role("button", name="Start the meeting"))
    expect(page.get_by_role("timer")).to_contain_text("3 cases still to hear")
    k.press(page.get_by_role("button", name="Go to the first case"))

    # The first case: start it, record the discussion (saved as it is typed) and an action, finish it.
    expect(page.get_by_role("heading", name="Case MC-00301")).to_be_visible()
    k.press(page.get_by_role("button", name="Start this case"))
    expect(page.get_by_role("timer")).to_contain_text("Now hearing case MC-00301")
    k.type_into(page.get_by_label("Anytown Police"), "Police shared a call-out last week (fictional)")
    k.type_into(page.get_by_label("Risks to the victim"), "Threats made this week (fictional)")
    decision = page.get_by_role("group", name="Decision")
    k.choose(decision, decision.get_by_role("radio", name="Actions agreed"))
    expect(page.locator("#save-status")).to_contain_text("Saved at")
    form = page.locator("form.marac-action-form")
    k.select(form.get_by_label("Owner agency"), "Anytown Homes")
    k.type_into(form.get_by_label("What the agency will do"), "Change the locks (fictional)")
    k.press(form.get_by_role("button", name="Add action"))
    expect(page.locator("#actions-status")).to_contain_text("Action added")
    expect(page.locator("form.marac-action-form").get_by_label("Owner agency")).to_be_focused()
    assert_accessible(page)
    k.press(page.get_by_role("button", name="Finish this case"), back=True)  # and on to the next case
    expect(page.get_by_role("heading", name="Case MC-00302")).to_be_visible()
    k.press(page.get_by_role("button", name="Start this case"))
    expect(page.get_by_role("timer")).to_contain_text("Now hearing case MC-00302")

    listing = s["listings"][0]
    discussion = CaseDiscussion.get(CaseDiscussion.listing == listing.id)
    assert discussion.ended_at is not None and discussion.decision
    assert "Threats made this week" in discussion.risk_victim
    assert Action.get(Action.listing == listing.id).description == "Change the locks (fictional)"
    assert Attendance.select().where(Attendance.agreed_at.is_null(False)).count() == 2
