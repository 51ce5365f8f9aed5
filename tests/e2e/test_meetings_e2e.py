"""The agenda board in a real browser: the coordinator lists three cases, drags the last to the top
(SortableJS, htmx posts the order and the timings update in place), moves one with the keyboard
buttons, circulates; a representative records research on one case. axe-core on the board
before and after the htmx swaps. CSRF protection is on."""
from datetime import date, datetime, timedelta

from marac_testing import make_agency, make_agenda_case, make_meeting, make_user
from playwright.sync_api import expect

from marac import clock, meetings, schedule
from marac.models import AgendaVersion, Listing, Research


def future_meeting_start() -> datetime:
    """A working day about four weeks ahead, so every referral made today is in time."""
    day = schedule.next_working_day(schedule.uk_local(clock.now()).date() + timedelta(days=28))
    return datetime.combine(day, datetime.min.time()).replace(hour=9, minute=30)


def rows(page):
    return page.locator("#agenda tbody tr[data-listing-id]")


def setup_cases():
    coordinator = make_user(role="coordinator", name="Casey Coordinator", agency=make_agency("Fictional Council"))
    meeting = make_meeting(future_meeting_start(), venue="Committee Room 1")
    submitted = clock.now() - timedelta(hours=1)
    cases = [make_agenda_case(number=f"E2E-{n}", victim=(given, "Fictionalsurname"), submitted_at=submitted)
             for n, given in ((1, "Avery"), (2, "Blake"), (3, "Corin"))]
    return coordinator, meeting, cases


def test_coordinator_lists_three_cases_drags_one_to_the_top_and_circulates(signed_in, assert_accessible):
    coordinator, meeting, cases = setup_cases()

    page = signed_in(coordinator)
    for case in cases:
        page.goto("/meetings/ready")
        page.get_by_role("link", name=f"List case {case.number}").click()
        expect(page.get_by_role("heading", name=f"List case {case.number}")).to_be_visible()
        page.get_by_role("button", name="List the case").click()
        expect(page.get_by_text(f"Case {case.number} listed.")).to_be_visible()

    expect(rows(page)).to_have_count(3)
    expect(page.locator("#agenda-counts")).to_contain_text("estimated end 10:15am")
    expect(page.locator("#agenda")).not_to_contain_text("Fictionalsurname")
    assert_accessible(page)

    # Drag the third case to the top by its handle.
    last = page.locator('#agenda tr[data-listing-id] .marac-drag-handle').nth(2)
    first_row = rows(page).nth(0)
    last.hover()
    page.mouse.down()
    box = first_row.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 5, steps=12)
    page.mouse.move(box["x"] + 20, box["y"] + 2, steps=4)
    page.mouse.up()
    announcement = page.locator("#board-announcement")
    expect(announcement).to_contain_text("Case E2E-3 is now number 1 of 3")
    expect(rows(page).nth(0)).to_contain_text("E2E-3")
    expect(rows(page).nth(0)).to_contain_text("9:30am")
    expect(rows(page).nth(1)).to_contain_text("9:45am")
    assert [x.case.number for x in Listing.select().order_by(Listing.position)] == ["E2E-3", "E2E-1", "E2E-2"]
    expect(page.get_by_text("Last changed")).to_contain_text("by Casey Coordinator")
    assert_accessible(page)

    # The keyboard way: Move down, and focus stays on the moved case's button.
    page.get_by_role("button", name="Move down case E2E-3").click()
    expect(announcement).to_contain_text("Case E2E-3 is now number 2 of 3")
    expect(page.get_by_role("button", name="Move down case E2E-3")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Move up case E2E-3
    expect(announcement).to_contain_text("Case E2E-3 is now number 1 of 3")
    expect(rows(page).nth(0)).to_contain_text("E2E-3")

    # Circulate.
    page.get_by_role("link", name="Circulate the agenda").click()
    assert_accessible(page)
    page.get_by_role("button", name="Circulate the agenda").click()
    expect(page.get_by_text("Agenda version 1 circulated.")).to_be_visible()
    assert AgendaVersion.select().where(AgendaVersion.meeting == meeting.id).count() == 1
    page.get_by_role("link", name="View the circulated agenda").click()
    expect(page.locator("main table").first).to_contain_text("E2E-3")


def test_a_representative_records_research_on_a_listed_case(signed_in, assert_accessible):
    coordinator, meeting, cases = setup_cases()
    for case in cases:
        meetings.list_case(case, user=coordinator)
    meetings.circulate(meeting, coordinator)
    agency = make_agency("Fictional Housing Service", isa_signed_on=date(2025, 1, 1), isa_signatory="Head of Housing")
    rep = make_user(role="representative", name="Robin Representative", agency=agency)

    rep_page = signed_in(rep)
    rep_page.goto(f"/meetings/{meeting.id}")
    assert_accessible(rep_page)
    rep_page.get_by_role("link", name="Record research for case E2E-1").click()
    expect(rep_page.get_by_role("heading", name="Research on case E2E-1")).to_be_visible()
    rep_page.get_by_label("What your agency holds on the victim").fill("Tenancy since 2024 (fictional).")
    rep_page.get_by_role("button", name="Save research").click()
    expect(rep_page.get_by_text("Research saved for case E2E-1.")).to_be_visible()
    expect(rep_page.locator("#research-grid")).to_contain_text("1 of 3 done by your agency")
    assert Research.select().where(Research.agency == agency.id).count() == 1
    assert_accessible(rep_page)


def test_meeting_pages_are_accessible(signed_in, assert_accessible):
    coordinator, meeting, cases = setup_cases()
    listing = meetings.list_case(cases[0], user=coordinator)
    page = signed_in(coordinator)
    for url in ("/meetings/", "/meetings/pattern", "/meetings/proposal", "/meetings/new", "/meetings/ready",
                f"/meetings/ready/{cases[1].id}", f"/meetings/{meeting.id}/listings/{listing.id}",
                f"/meetings/{meeting.id}/listings/{listing.id}/research", f"/meetings/{meeting.id}/cancel"):
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        assert_accessible(page)
    # A refused information-only listing shows its reason in the error summary.
    page.goto(f"/meetings/ready/{cases[1].id}")
    page.get_by_label("Information only").check()
    page.get_by_role("group", name="Has the referrer asked for specific actions?").get_by_label("Yes").check()
    page.get_by_role("button", name="List the case").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("the referrer asked for specific actions")
    assert_accessible(page)
