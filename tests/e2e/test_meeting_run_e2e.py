"""The coordinator runs a three-case meeting in a real browser, from attendance to minutes signed off
by the chair in a second browser; actions are added in place without a page reload. Fictional data."""
import io

import pytest
from docx import Document
from playwright.sync_api import expect

from marac.models import Action, CaseDiscussion, Meeting


@pytest.fixture
def seeded(meeting_world):
    return meeting_world


def add_action(page, owner, text):
    form = page.locator("form.marac-action-form")
    form.get_by_label("Owner agency").select_option(label=owner)
    form.get_by_label("What the agency will do").fill(text)
    form.get_by_role("button", name="Add action").click()
    expect(page.locator("#case-actions-table")).to_contain_text(text)
    expect(page.locator("#actions-status")).to_contain_text("Action added")


def test_coordinator_runs_a_three_case_meeting_to_signed_off_minutes(seeded, signed_in, assert_accessible):
    s = seeded
    run = f"/meetings/{s['meeting'].id}/run"
    page = signed_in(s["coordinator"])

    # Attendance: a named representative, a deputy (marked), the coordinator.
    page.goto(run + "/attendance")
    expect(page.get_by_role("heading", name="Attendance")).to_be_visible()
    for person in ("Anytown Police: Pat Police", "Anytown IDVA Service: Dee Deputy (deputy)",
                   "MARAC Team: Casey Coord (coordinator)"):
        page.get_by_label("Who is attending").select_option(label=person)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("signed in")
    sheet = page.get_by_role("table", name="Attendance sheet")
    expect(sheet.get_by_role("row", name="Dee Deputy")).to_contain_text("Deputy")
    page.get_by_role("button", name="Record agreement for Pat Police").click()
    page.get_by_role("button", name="Record agreement for Dee Deputy").click()
    assert_accessible(page)

    # Confidentiality: the coordinator agrees too before seeing any case.
    page.goto(run)
    expect(page.get_by_text("to see the cases")).to_be_visible()
    page.get_by_role("link", name="Confidentiality statement", exact=True).click()
    page.get_by_role("button", name="I agree to the confidentiality statement").click()
    page.get_by_role("button", name="Start the meeting").click()
    expect(page.get_by_role("timer")).to_contain_text("3 cases still to hear")

    # Review of the returning case's outstanding action, in place.
    page.get_by_role("link", name="Review of actions").click()
    card = page.locator(f"#action-{s['old_action'].id}")
    card.get_by_role("radio", name="Done").check()
    card.get_by_label("Reason").fill("Fitted last week")
    card.get_by_role("button", name="Record").click()
    expect(page.locator("#review-status")).to_contain_text("Review recorded")
    expect(page.locator(f"#action-{s['old_action'].id}")).to_contain_text("Fitted last week")

    page.get_by_role("button", name="Go to the first case").click()
    page.evaluate("window.__sameDocument = true")  # lost on any full page load
    expected = [("MC-00301", "Anytown Homes", "Change the locks (fictional)"),
                ("MC-00302", "Anytown Police", "Visit the address weekly (fictional)"),
                ("MC-00303", "Anytown IDVA Service", "Safety plan with the victim (fictional)")]
    for n, (number, owner, action) in enumerate(expected, 1):
        expect(page.get_by_role("heading", name=f"Case {number}")).to_be_visible()
        page.get_by_role("button", name="Start this case").click()
        expect(page.get_by_role("timer")).to_contain_text(f"Now hearing case {number}")
        page.evaluate("window.__sameDocument = true")
        page.get_by_label("Anytown Police").fill(f"Police shared about case {n} (fictional)")
        expect(page.locator("#save-status")).to_contain_text("Saved at")
        page.get_by_label("Risks to the victim").fill("Threats made this week (fictional)")
        page.get_by_role("radio", name="Actions agreed").check()
        page.get_by_role("radio", name="Yes").check()
        expect(page.locator("#save-status")).to_contain_text("Saved at")
        add_action(page, owner, action)
        if n == 1:
            # Children on the case: MASH is proposed; record the standard actions as proposed.
            expect(page.locator("#standard-actions")).to_contain_text("Multi-Agency Safeguarding Hub")
            page.get_by_role("button", name="Record standard actions").click()
            expect(page.locator("#actions-status")).to_contain_text("standard actions added")
            assert_accessible(page)  # the meeting screen, after in-place changes
        assert page.evaluate("window.__sameDocument === true"), "adding actions reloaded the page"
        page.get_by_role("button", name="Finish this case").click()

    expect(page.get_by_role("heading", name="Run the meeting")).to_be_visible()
    assert CaseDiscussion.select().where(CaseDiscussion.ended_at.is_null(False)).count() == 3
    page.get_by_role("button", name="End the meeting").click()
    page.get_by_role("button", name="End the meeting").click()
    expect(page.get_by_role("heading", name="Minutes")).to_be_visible()
    expect(page.locator("#minutes-body")).to_contain_text("Change the locks (fictional)")
    assert_accessible(page)

    # The chair signs off in a second browser.
    chair = signed_in(s["chair"])
    chair.goto(run + "/minutes")
    chair.get_by_role("button", name="Sign off the minutes").click()
    chair.get_by_role("button", name="Sign off the minutes").click()
    expect(chair.get_by_text("The minutes are signed off.")).to_be_visible()
    assert Meeting.get_by_id(s["meeting"].id).minutes_signed_off_by_id == s["chair"].id

    page.reload()
    expect(page.locator("main")).to_contain_text("Signed off")
    expect(page.get_by_role("heading", name="Add an amendment")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Word document").click()
    with open(download.value.path(), "rb") as f:
        doc = Document(io.BytesIO(f.read()))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for t in doc.tables for row in t.rows for c in row.cells])
    for _, _, action in expected:
        assert action in text
    assert "Signed off by Chris Chair" in text
    assert Action.select().where(Action.standard_key != "").count() >= 4


def test_the_other_meeting_pages_are_accessible(seeded, signed_in, assert_accessible):
    s = seeded
    run = f"/meetings/{s['meeting'].id}/run"
    page = signed_in(s["coordinator"])
    page.goto(run + "/observers")
    page.get_by_label("Observer's name").fill("Olive Observer")
    page.get_by_label("Organisation").fill("Fictional College")
    page.get_by_role("button", name="Add observer").click()
    page.get_by_role("button", name="Approve Olive Observer").click()
    expect(page.get_by_role("row", name="Olive Observer")).to_contain_text("Approved")
    assert_accessible(page)
    page.goto(run + "/confidentiality")
    assert_accessible(page)
    page.get_by_role("button", name="I agree to the confidentiality statement").click()
    for path in ("", "/review", "/minutes", "/minutes/print"):
        page.goto(run + path)
        assert_accessible(page)

    # A representative reads the record of an open case (and not the closed session's).
    rep = signed_in(s["rep"])
    rep.goto(run + f"/cases/{s['listings'][0].id}")
    rep.get_by_role("button", name="I agree to the confidentiality statement").click()
    expect(rep.get_by_role("heading", name="Case MC-00301")).to_be_visible()
    expect(rep.locator("form#record")).to_have_count(0)
    assert_accessible(rep)
