"""A coordinator works a seeded inbox in a real browser: a repeat (after confirming a duplicate
person), a same-victim new-perpetrator cross-link, and a professional-judgement referral.
All people are fictional."""
from datetime import date, timedelta

import pytest
from marac_testing import make_agency, make_case, make_person, make_referral, make_user
from playwright.sync_api import expect

from marac import clock
from marac.models import Case, PersonMatch, Referral


def settle(page):
    """Let the last page finish loading (its favicon too): the live server stops before the
    browser context closes, and a request cut off then is reported as a console error."""
    page.wait_for_load_state("networkidle")


@pytest.fixture
def seeded(app):
    now = clock.now()
    coordinator = make_user(role="coordinator", name="Casey Coordinator")
    referrer = make_user(role="referrer", agency=make_agency("Fictional Housing Trust"))

    # 1. A repeat: the pair was accepted two months ago; the new referral's victim is a new
    #    record proposed as the same person (same name and date of birth).
    victim = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    abuser = make_person("Eli", "Sampleton", date_of_birth=date(1988, 1, 2))
    earlier_case = make_case(people=[(victim, "victim"), (abuser, "perpetrator")], status="closed")
    make_referral(referrer, [(victim, "victim"), (abuser, "perpetrator")], status="accepted",
                  submitted_at=now - timedelta(days=60), case=earlier_case)
    again = make_person("Dana", "Example-Field", date_of_birth=date(1990, 5, 1))
    repeat = make_referral(referrer, [(again, "victim"), (abuser, "perpetrator")],
                           submitted_at=now - timedelta(hours=3),
                           threshold_met=False, score_total=6)
    PersonMatch.create(person=again, candidate=victim, referral=repeat, reason="name_dob")

    # 2. The same victim with a new perpetrator.
    second = make_person("Gale", "Placeholder", date_of_birth=date(1985, 9, 9))
    first_abuser = make_person("Hal", "Notreal", date_of_birth=date(1980, 3, 3))
    cross_case = make_case(people=[(second, "victim"), (first_abuser, "perpetrator")], status="closed")
    cross_earlier = make_referral(referrer, [(second, "victim"), (first_abuser, "perpetrator")], status="accepted",
                                  submitted_at=now - timedelta(days=400), case=cross_case)
    new_abuser = make_person("Ira", "Invented", date_of_birth=date(1983, 4, 4))
    cross = make_referral(referrer, [(second, "victim"), (new_abuser, "perpetrator")],
                          submitted_at=now - timedelta(hours=2), score_total=15)

    # 3. Professional judgement from a non-police agency: the coordinator quality-assures it.
    pj = make_referral(referrer, [(make_person("Jo", "Fabricated", date_of_birth=date(1995, 6, 6)), "victim")],
                       submitted_at=now - timedelta(hours=1), professional_judgement=True, qa_status="pending",
                       score_total=4)
    return {"coordinator": coordinator, "repeat": repeat, "cross": cross, "cross_earlier": cross_earlier, "pj": pj}


def test_coordinator_confirms_a_duplicate_then_accepts_the_repeat(seeded, signed_in, assert_accessible):
    page = signed_in(seeded["coordinator"])
    page.get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Referral inbox")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Possible duplicate person")
    assert_accessible(page)

    page.get_by_role("link", name=f"Referral {seeded['repeat'].id}", exact=True).click()
    checks = page.locator("#referral-checks")
    expect(checks).not_to_contain_text("Repeat:")
    page.get_by_role("button", name="Same person").click()  # htmx swaps the checks region
    expect(checks).to_contain_text("Match confirmed")
    expect(checks).to_contain_text("Repeat: the same victim and perpetrator")
    assert_accessible(page)

    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page.get_by_role("heading", name="Accept the referral")).to_be_visible()
    expect(page.get_by_text("Grounds: Repeat referral")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Accept referral").click()
    expect(page.get_by_text(f"Referral {seeded['repeat'].id} accepted.")).to_be_visible()
    settle(page)
    saved = Referral.get_by_id(seeded["repeat"].id)
    assert saved.status == "accepted" and saved.is_repeat and Case.get_by_id(saved.case_id).is_repeat


def test_coordinator_follows_a_cross_link_and_accepts(seeded, signed_in, assert_accessible):
    page = signed_in(seeded["coordinator"])
    page.goto("/inbox/")
    page.get_by_role("radio", name="Repeats, cross-links and possible duplicates").check()  # htmx filter
    queue = page.locator("#inbox-queue")
    expect(queue).not_to_contain_text(f"Referral {seeded['pj'].id}")
    expect(queue).to_contain_text("Same victim, new perpetrator")
    page.get_by_role("link", name=f"Referral {seeded['cross'].id}", exact=True).click()
    earlier = seeded["cross_earlier"].id
    page.get_by_role("link", name=f"Earlier referral {earlier}").click()
    expect(page.get_by_text(f"Referral {earlier}", exact=True)).to_be_visible()
    assert_accessible(page)
    page.go_back()
    page.get_by_role("button", name="Accept", exact=True).click()
    page.get_by_role("button", name="Accept referral").click()
    expect(page.get_by_text(f"Referral {seeded['cross'].id} accepted.")).to_be_visible()
    settle(page)


def test_coordinator_declines_a_professional_judgement_referral_at_qa(seeded, signed_in, assert_accessible):
    page = signed_in(seeded["coordinator"])
    page.goto(f"/inbox/referrals/{seeded['pj'].id}")
    expect(page.locator("#referral-checks")).to_contain_text("awaiting quality assurance by the coordinator")
    page.get_by_role("button", name="Quality-assure this referral").click()
    page.get_by_role("button", name="Save quality assurance").click()
    expect(page.get_by_role("alert")).to_contain_text("Select whether the professional judgement is supported")
    assert_accessible(page)
    page.get_by_role("radio", name="No: decline the referral").check()
    page.get_by_label("Comment (required when declining: the referrer sees it)").fill(
        "The checklist and history do not yet show high risk; please re-refer if incidents continue.")
    page.get_by_role("button", name="Save quality assurance").click()
    expect(page.get_by_text(f"Quality assurance of referral {seeded['pj'].id} saved.")).to_be_visible()
    settle(page)
    saved = Referral.get_by_id(seeded["pj"].id)
    assert (saved.status, saved.qa_status) == ("declined", "declined")
    assert saved.decision_reason.startswith("The checklist and history")


def test_coordinator_records_a_transfer_from_another_marac(app, signed_in, assert_accessible):
    page = signed_in(make_user(role="coordinator"))
    page.goto("/inbox/")
    page.get_by_role("button", name="Record a transfer from another MARAC").click()
    page.get_by_role("button", name="Add to the inbox").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the MARAC the case came from")
    assert_accessible(page)
    page.get_by_label("MARAC it came from").fill("Riverside MARAC")
    received = page.get_by_role("group", name="Received on")
    received.get_by_label("Day").fill("30")
    received.get_by_label("Month").fill("10")
    received.get_by_label("Year").fill("2026")
    page.get_by_label("Summary of the case and why it is transferred").fill("Moved into a refuge in this area.")
    victim = page.get_by_role("group", name="Victim")
    victim.get_by_label("Given name").fill("Kai")
    victim.get_by_label("Family name").fill("Madeupname")
    page.get_by_role("button", name="Add to the inbox").click()
    expect(page.get_by_role("heading", name="Transfer from Riverside MARAC")).to_be_visible()
    expect(page.locator("#referral-checks")).to_contain_text("Received from Riverside MARAC")
    settle(page)
    assert Referral.get(Referral.source == "transfer_in").status == "submitted"
