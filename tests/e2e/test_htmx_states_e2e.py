"""Every htmx interaction in the templates, driven in a real browser (SECURITY.md 36, issue 8): after
each swap, axe finds no WCAG 2.2 A/AA violation in the new state, the change reaches a screen reader
(inside a live region that was already on the page, or focus moved into the new content) and focus is
not lost. A new hx-get/hx-post in a template fails test_every_htmx_interaction_is_covered until it
is added here. Fictional data only."""
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from marac_testing import make_action, make_agency, make_case, make_note, make_person, make_referral, make_user
from playwright.sync_api import expect

from marac import clock, meeting_run, referrals
from marac.models import Action, ActionReview, CaseDiscussion, PersonMatch

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HX_ATTR = re.compile(r"""hx-(get|post)="\{\{\s*(\w+)\s*\}\}|hx-(get|post)="\{\{\s*url_for\('([\w.]+)'""")
SET_URL = re.compile(r"""\{%\s*set\s+(\w+)\s*=\s*url_for\('([\w.]+)'""")

# (template, verb, endpoint) -> the test below that drives it.
COVERED = {
    ("actions/_row.html", "post", "actions.done"): "test_coordinator_desk",
    ("cases/_timeline_page.html", "get", "cases.timeline"): "test_coordinator_desk",
    ("cases/show.html", "get", "cases.show"): "test_coordinator_desk",
    ("inbox/index.html", "get", "inbox.index"): "test_coordinator_desk",
    ("inbox/_checks.html", "post", "inbox.match_decide"): "test_coordinator_desk",
    ("reports/_period_form.html", "get", "reports.index"): "test_coordinator_desk",
    ("instruments/show.html", "get", "instruments.show"): "test_checklist_editor",
    ("instruments/edit.html", "post", "instruments.preview"): "test_checklist_editor",
    ("instruments/_preview.html", "post", "instruments.preview_score"): "test_checklist_editor",
    ("referrals/checklist.html", "post", "referrals.score"): "test_referral_live_score",
    ("meetings/_agenda.html", "post", "meetings.order"): "test_meeting_screens",
    ("meetings/board.html", "post", "meetings.order_rule"): "test_meeting_screens",
    ("meeting_run/_review_item.html", "post", "meeting_run.review_action"): "test_meeting_screens",
    ("meeting_run/case.html", "post", "meeting_run.save_discussion"): "test_meeting_screens",
    ("meeting_run/_standard_actions.html", "get", "meeting_run.standard_actions"): "test_meeting_screens",
    ("meeting_run/_standard_actions.html", "post", "meeting_run.record_standard_actions"): "test_meeting_screens",
    ("meeting_run/_standard_actions.html", "post", "meeting_run.restore_standard_actions"): "test_meeting_screens",
    ("meeting_run/_actions.html", "post", "meeting_run.add_action"): "test_meeting_screens",
    ("cases/search.html", "post", "cases.search"): "test_case_search",
}


def htmx_interactions() -> set[tuple[str, str, str]]:
    """(template, verb, endpoint) for each hx-get/hx-post in templates/, resolving `{% set x = url_for(...) %}`."""
    found = set()
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        names = dict((name, endpoint) for name, endpoint in SET_URL.findall(text))
        for verb_var, var, verb_url, endpoint in HX_ATTR.findall(text):
            if verb_var:
                assert var in names, f"{path}: hx-{verb_var} uses {{{{ {var} }}}}, not set from url_for"
                found.add((str(path.relative_to(TEMPLATES)), verb_var, names[var]))
            else:
                found.add((str(path.relative_to(TEMPLATES)), verb_url, endpoint))
        # Any other way of writing one (hx-put, a literal URL...) must be added to the patterns above.
        assert len(re.findall(r"\bhx-(?:get|post|put|patch|delete)=", text)) == len(HX_ATTR.findall(text)), \
            f"{path}: an hx- request attribute this test cannot read"
    return found


def test_every_htmx_interaction_is_covered():
    found = htmx_interactions()
    assert len(found) >= 18
    assert found - set(COVERED) == set(), "htmx interactions with no browser test of their states"
    assert set(COVERED) - found == set(), "covered here but gone from the templates: update COVERED"
    for test_name in set(COVERED.values()):
        assert callable(globals().get(test_name)), test_name


# --- the coordinator's desk: actions, case timeline, inbox, reports -----------------------------------------


@pytest.fixture
def desk(app):
    today = clock.now().date()
    team = make_agency("MARAC Team", isa_signed_on=date(2025, 1, 1))
    coordinator = make_user("coordinator", agency=team, name="Casey Coordinator")
    victim = make_person("Rowan", "Inventedly", date_of_birth=date(1991, 2, 3), postcode="ZZ1 1ZZ")
    case = make_case(number="TC-HX-1", people=[(victim, "victim")])
    action = make_action(case, team, "Chase the housing repair (fictional)", due_date=today - timedelta(days=3))
    for n in range(27):  # one more page than TIMELINE_PAGE_SIZE
        make_note(case, coordinator, text=f"Fictional contact note {n + 1}")
    # Two possible duplicates on one referral: one confirmed, one rejected in place.
    referrer = make_user("referrer", agency=make_agency("Fictional Housing Trust"))
    known_a = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    known_b = make_person("Eli", "Sampleton", date_of_birth=date(1988, 1, 2))
    new_a = make_person("Dana", "Example-Field", date_of_birth=date(1990, 5, 1))
    new_b = make_person("Eli", "Sampleton", date_of_birth=date(1988, 1, 2))
    referral = make_referral(referrer, [(new_a, "victim"), (new_b, "perpetrator")],
                             submitted_at=clock.now() - timedelta(hours=2))
    matches = [PersonMatch.create(person=new_a, candidate=known_a, referral=referral, reason="name_dob"),
               PersonMatch.create(person=new_b, candidate=known_b, referral=referral, reason="name_dob")]
    return {"coordinator": coordinator, "case": case, "action": action, "referral": referral, "matches": matches}


def test_coordinator_desk(desk, signed_in, assert_accessible, announced):
    page = signed_in(desk["coordinator"])
    page.set_default_timeout(5000)

    # actions/_row.html: "Mark as done today" replaces the row (in the table's live region); focus goes
    # to its status message, not back to the top of the page.
    page.goto("/actions/")
    row = page.locator(f"#action-{desk['action'].id}")
    with announced(page, f"#action-{desk['action'].id} [role=status]", how=("live",)):
        row.get_by_role("button", name="Mark as done today").click()
        expect(row).to_contain_text("Marked as done today")
    expect(row.get_by_role("status")).to_be_focused()
    assert Action.get_by_id(desk["action"].id).status == "done"
    assert_accessible(page)

    # cases/show.html: the timeline filter; cases/_timeline_page.html: "Show older entries".
    page.goto(f"/cases/{desk['case'].id}")
    with announced(page, "#case-timeline", how=("live",)):
        page.get_by_label("Show").select_option(label="Case notes")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"kind=note"))
        expect(page.locator("#case-timeline")).to_contain_text("Fictional contact note 27")
    assert_accessible(page)
    with announced(page, ".marac-timeline__page .marac-timeline__page", how=("focus",)):
        page.get_by_role("link", name="Show older entries").click()
        expect(page.locator("#case-timeline")).to_contain_text("Fictional contact note 1")
    expect(page.locator(".marac-timeline__page .marac-timeline__page .marac-timeline__entry").first).to_be_focused()
    assert_accessible(page)

    # inbox/index.html: the "Show" radios filter the queue as soon as one is chosen.
    page.goto("/inbox/")
    with announced(page, "#inbox-queue", how=("live",)):
        page.get_by_label("Awaiting quality assurance").check()
        expect(page.locator("#inbox-queue")).to_contain_text("No new referrals")
    assert_accessible(page)

    # inbox/_checks.html: "Same person" and "Different people" refresh the checks in place.
    page.goto(f"/inbox/referrals/{desk['referral'].id}")
    for verdict in ("Same person", "Different people"):
        with announced(page, "#referral-checks [role=status]"):
            page.locator("#referral-checks").get_by_role("button", name=verdict).first.click()
            expect(page.locator("#referral-checks [role=status]")).to_be_visible()
        assert_accessible(page)
    assert sorted(m.status for m in PersonMatch.select()) == ["confirmed", "rejected"]

    # reports/_period_form.html: a new period replaces the form and the report; a wrong year is an error.
    page.goto("/reports/")
    with announced(page, "#report-page .govuk-error-summary", how=("focus",)):
        page.get_by_label("A year").check()
        page.locator("#year").fill("1066")
        page.get_by_role("button", name="Show the report").click()
        expect(page.locator("#report-page .govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.locator("#year").fill(str(clock.now().year))
    with announced(page, "#report-status", how=("live",)):
        page.get_by_role("button", name="Show the report").click()
        expect(page).to_have_url(re.compile(r"period=year"))
        expect(page.locator("#report-status")).to_have_text("The report below now shows the period you chose.")
    expect(page.locator("#report-heading")).to_contain_text(str(clock.now().year))
    assert_accessible(page)


# --- the checklist editor ------------------------------------------------------------------------------------


def test_checklist_editor(app, signed_in, assert_accessible, announced):
    page = signed_in(make_user("coordinator", name="Casey Coordinator"))
    page.set_default_timeout(5000)

    # instruments/show.html: "Try it": each tick re-scores.
    page.goto("/instruments/dash")
    score = page.locator("#instrument-score")
    with announced(page, "#instrument-score", how=("live",)):
        page.locator("#tick-1-1").check()
        expect(score.locator(".marac-score-panel__score")).to_have_text("1")
    assert_accessible(page)

    # instruments/edit.html: a changed definition redraws the preview; _preview.html: its ticks re-score.
    page.goto("/instruments/dash/edit")
    with announced(page, "#instrument-preview", how=("live",)):
        page.get_by_label("High-risk threshold").fill("2")
        page.get_by_label("High-risk threshold").press("Tab")
        expect(page.locator("#instrument-preview")).to_contain_text("threshold of 2")
    assert_accessible(page)
    with announced(page, "#instrument-score", how=("live",)):
        page.locator("#instrument-preview #tick-1-1").check()
        page.locator("#instrument-preview #tick-1-2").check()
        expect(score).to_contain_text("At or over the high-risk threshold of 2")
    assert_accessible(page)


# --- a referrer's live score ----------------------------------------------------------------------------------


def test_referral_live_score(app, signed_in, assert_accessible, announced):
    referrer = make_user("referrer")
    referral = referrals.create_draft(referrer)
    page = signed_in(referrer)
    page.set_default_timeout(5000)
    page.goto(f"/referrals/{referral.id}/section/checklist")
    with announced(page, "#score-panel #score-total", how=("live",)):
        page.locator("#item0").check()
        expect(page.locator("#score-total")).to_have_text("1")
    assert_accessible(page)


# --- the agenda board and the meeting screens -----------------------------------------------------------------


def test_meeting_screens(meeting_world, signed_in, assert_accessible, announced):
    s = meeting_world
    meeting = s["meeting"]
    page = signed_in(s["coordinator"])
    page.set_default_timeout(5000)

    # meetings/_agenda.html: Move down keeps focus on the case's button; board.html: the panel's order.
    page.goto(f"/meetings/{meeting.id}")
    with announced(page, "#board-announcement", how=("live",)):
        page.get_by_role("button", name="Move down case MC-00301").click()
        expect(page.locator("#board-announcement")).not_to_be_empty()
        expect(page.get_by_role("button", name="Move up case MC-00301")).to_be_focused()
    assert_accessible(page)
    with announced(page, "#board-announcement", how=("live",)):
        page.get_by_role("button", name="Put cases in the panel's order").click()
        expect(page.locator("#board-announcement")).to_contain_text("order")
    assert_accessible(page)

    meeting_run.agree_self(meeting, s["coordinator"])
    meeting_run.start_meeting(meeting, s["coordinator"])
    run = f"/meetings/{meeting.id}/run"

    # meeting_run/_review_item.html: the outstanding action's review, recorded in place.
    page.goto(run + "/review")
    card = page.locator(f"#action-{s['old_action'].id}")
    with announced(page, f"#action-{s['old_action'].id}", how=("focus",)):  # the error state first
        card.get_by_role("button", name="Record").click()
        expect(card.locator(".govuk-error-message").first).to_be_visible()
    expect(card.locator(".govuk-form-group--error").first.locator("input").first).to_be_focused()
    assert_accessible(page)
    with announced(page, "#review-status", how=("live",)):
        card.get_by_role("radio", name="Done").check()
        card.get_by_label("Reason").fill("Fitted last week (fictional)")
        card.get_by_role("button", name="Record").click()
        expect(page.locator("#review-status")).to_contain_text("Review recorded")
    assert ActionReview.select().count() == 1
    assert_accessible(page)

    # meeting_run/case.html: the record saves as it is typed.
    page.goto(run + f"/cases/{s['listings'][0].id}")
    with announced(page, "#save-status-message", how=("live",)):
        page.get_by_label("Risks to the victim").fill("Threats made this week (fictional)")
        page.get_by_label("Risks to the victim").press("Tab")  # leaving the box saves it (change)
        expect(page.locator("#save-status")).to_contain_text("Saved at")
    assert_accessible(page)

    # _standard_actions.html (hx-get): ticking care needs proposes one more standard action in place.
    std = page.locator("#standard-actions")
    before = std.get_by_role("checkbox").count()
    with announced(page, "#standard-actions", how=("live",)):
        page.get_by_label("An adult has care and support needs").check()
        expect(std.get_by_role("checkbox")).to_have_count(before + 1)
    assert CaseDiscussion.get().care_needs
    assert_accessible(page)

    # _standard_actions.html (record, then propose again): one unticked is removed, the rest added.
    with announced(page, "#actions-status", how=("live",)):
        std.get_by_role("checkbox").first.uncheck()
        std.get_by_role("button", name="Record standard actions").click()
        expect(page.locator("#actions-status")).to_contain_text("standard")
    assert_accessible(page)
    with announced(page, "#actions-status", how=("live",)):
        std.get_by_role("button", name="Propose the removed standard actions again").click()
        expect(page.locator("#actions-status")).to_contain_text("proposed again")
        expect(std.get_by_role("button", name="Record standard actions")).to_be_visible()
    assert_accessible(page)

    # meeting_run/_actions.html: an empty action is refused (the error summary takes focus); one added
    # in place sends focus back to the form's first field.
    added = Action.select().where(Action.listing == s["listings"][0].id).count()
    form = page.locator("form.marac-action-form")
    with announced(page, "#case-actions .govuk-error-summary", how=("focus",)):
        form.get_by_role("button", name="Add action").click()
        expect(page.locator("#case-actions .govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    with announced(page, "#actions-status", how=("live",)):
        form.get_by_label("Owner agency").select_option(label="Anytown Homes")
        form.get_by_label("What the agency will do").fill("Change the locks (fictional)")
        form.get_by_role("button", name="Add action").click()
        expect(page.locator("#actions-status")).to_contain_text("Action added")
        expect(page.locator("form.marac-action-form").get_by_label("Owner agency")).to_be_focused()
    assert Action.select().where(Action.listing == s["listings"][0].id).count() == added + 1
    assert_accessible(page)


# --- case search (last: its form is being changed) ---------------------------------------------------------------


def test_case_search(app, signed_in, assert_accessible, announced):
    coordinator = make_user("coordinator")
    make_case(number="TC-HX-2", people=[(make_person("Quinn", "Madeupson", date_of_birth=date(1980, 1, 2)), "victim")])
    page = signed_in(coordinator)
    page.set_default_timeout(5000)
    page.goto("/cases/")
    with announced(page, "#search-results", how=("live",)):
        page.get_by_label("Name").fill("Madeupson")
        expect(page.locator("#search-results")).to_contain_text("TC-HX-2")
    expect(page.get_by_label("Name")).to_be_focused()
    assert_accessible(page)
