"""Meetings pages: who may see what, the board (page and htmx fragment), reordering without
JavaScript, listing, research, move requests, circulation and the Word copies."""
import io
import json
import re
from datetime import date, datetime

import pytest
from docx import Document
from marac_testing import CountQueries, make_agency, make_agenda_case, make_meeting, make_user

from marac import meetings
from marac.models import AuditEvent, Listing, Meeting, MoveRequest, Research

NOV_18 = datetime(2026, 11, 18, 9, 30)
HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, fake_clock, coordinator):
    """A meeting with three cases (one closed session), two member agencies (one invited), reps."""
    invited = make_agency("Invited Test Agency", isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")
    other = make_agency("Other Test Agency", isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")
    meeting = make_meeting(NOV_18, venue="Committee Room 1")
    cases = [make_agenda_case(victim=("Zelda", "Quarrington"), children=1),
             make_agenda_case(victim=("Yusuf", "Pemberton")),
             make_agenda_case(victim=("Xena", "Oakhurst"), closed_session=True)]
    listings = [meetings.list_case(c, user=coordinator, invites=[invited.id]) for c in cases]
    return {"meeting": meeting, "cases": cases, "listings": listings, "invited": invited, "other": other,
            "rep_in": make_user(agency=invited), "rep_out": make_user(agency=other)}


def body(r):
    return r.get_data(as_text=True)


def test_meetings_need_a_meeting_role(client, sign_in, factory):
    sign_in(factory.user(role="referrer"))
    assert client.get("/meetings/").status_code == 403


def test_index_lists_meetings_with_deadlines(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    r = client.get("/meetings/")
    assert r.status_code == 200
    assert "Wednesday 18 November 2026" in body(r) and "5pm on Friday 6 November 2026" in body(r)


def test_board_shows_initials_not_names_and_audits_the_view(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    r = client.get(f"/meetings/{setup['meeting'].id}")
    assert r.status_code == 200
    text = body(r)
    for c in setup["cases"]:
        assert c.number in text
    assert "ZQ" in text and "Quarrington" not in text and "Zelda" not in text
    assert "1 child" in text
    assert "Closed session" in text
    event = AuditEvent.select().where(AuditEvent.action == "meeting.board_view").get()
    assert sorted(json.loads(event.detail)["case_ids"]) == sorted(c.id for c in setup["cases"])


def test_board_children_first_and_timings(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    text = body(client.get(f"/meetings/{setup['meeting'].id}"))
    first, second, closed = (c.number for c in setup["cases"])
    assert text.index(first) < text.index(second) < text.index(closed)
    assert "estimated end <strong>10:15am</strong>" in text  # 3 x 15 minutes from 9:30


def test_representative_of_an_uninvited_agency_does_not_see_the_closed_case(client, sign_in, setup):
    sign_in(setup["rep_out"])
    r = client.get(f"/meetings/{setup['meeting'].id}")
    assert r.status_code == 200
    assert setup["cases"][2].number not in body(r)
    assert setup["cases"][0].number in body(r)
    closed = setup["listings"][2]
    r = client.get(f"/meetings/{setup['meeting'].id}/listings/{closed.id}")
    assert r.status_code == 404
    assert AuditEvent.select().where((AuditEvent.action == "access.denied")
                                     & (AuditEvent.object_type == "listing")).exists()


def test_invited_representative_sees_the_closed_case(client, sign_in, setup):
    sign_in(setup["rep_in"])
    assert setup["cases"][2].number in body(client.get(f"/meetings/{setup['meeting'].id}"))


def test_non_member_representative_gets_404_for_the_board(client, sign_in, setup):
    sign_in(make_user(agency=make_agency("Not Signed Agency")))
    assert client.get(f"/meetings/{setup['meeting'].id}").status_code == 404


def test_representative_cannot_reorder(client, sign_in, setup):
    sign_in(setup["rep_in"])
    listing = setup["listings"][1]
    r = client.post(f"/meetings/{setup['meeting'].id}/order", data={"move": f"{listing.id}:up"})
    assert r.status_code == 403


def test_move_up_without_javascript(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    second = setup["listings"][1]
    r = client.post(f"/meetings/{setup['meeting'].id}/order", data={"move": f"{second.id}:up"})
    assert r.status_code == 302 and r.headers["Location"].endswith("#agenda")
    assert Listing.get_by_id(second.id).position == 0
    page = body(client.get(r.headers["Location"]))
    assert f"Case {setup['cases'][1].number} is now number 1 of 3" in page
    meeting = Meeting.get_by_id(setup["meeting"].id)
    assert meeting.board_changed_by_id == coordinator.id


def test_move_with_htmx_returns_the_fragment_with_an_announcement(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    first = setup["listings"][0]
    r = client.post(f"/meetings/{setup['meeting'].id}/order", data={"move": f"{first.id}:down"}, headers=HX)
    text = body(r)
    assert r.status_code == 200 and "<html" not in text
    assert 'id="agenda"' in text and 'hx-swap-oob="innerHTML:#board-announcement"' in text
    assert 'id="research-grid" hx-swap-oob="true"' in text
    assert "is now number 2 of 3" in text
    assert "HX-Request" in r.headers["Vary"]


def test_closed_case_does_not_move_into_the_open_agenda(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    closed = setup["listings"][2]
    client.post(f"/meetings/{setup['meeting'].id}/order", data={"move": f"{closed.id}:up"})
    assert [x.id for x in meetings.case_lines(setup["meeting"])][-1] == closed.id


def test_drag_and_drop_order_is_saved(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    a, b, c = (x.id for x in setup["listings"])
    r = client.post(f"/meetings/{setup['meeting'].id}/order", data={"order": [b, a, c]}, headers=HX)
    assert r.status_code == 200
    assert [x.id for x in meetings.case_lines(setup["meeting"])] == [b, a, c]
    # A stale order (a case missing) is refused with the current order shown.
    r = client.post(f"/meetings/{setup['meeting'].id}/order", data={"order": [a, b]}, headers=HX)
    assert "Not changed: The agenda changed" in body(r)
    assert [x.id for x in meetings.case_lines(setup["meeting"])] == [b, a, c]


def test_order_by_panel_rule_undoes_manual_moves(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    a, b, c = (x.id for x in setup["listings"])
    client.post(f"/meetings/{setup['meeting'].id}/order", data={"order": [b, a, c]})
    client.post(f"/meetings/{setup['meeting'].id}/order/rule")
    assert [x.id for x in meetings.case_lines(setup["meeting"])] == [a, b, c]


def test_list_a_case_from_the_ready_list(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    case = make_agenda_case(victim=("Wren", "Nightingale"))
    r = client.get("/meetings/ready")
    assert case.number in body(r) and "Nightingale" not in body(r)
    r = client.get(f"/meetings/ready/{case.id}")
    assert r.status_code == 200 and "It is in time for the meeting of 9:30am on Wednesday 18 November 2026" in body(r)
    ready_view = AuditEvent.select().where(AuditEvent.action == "meeting.ready_view").get()
    assert case.id in json.loads(ready_view.detail)["case_ids"]
    assert AuditEvent.select().where((AuditEvent.action == "case.listing_view")
                                     & (AuditEvent.object_id == str(case.id))).exists()
    r = client.post(f"/meetings/ready/{case.id}", data={"meeting": 0, "kind": "full", "referrer_agrees": "yes",
                                                         "actions_requested": "no"})
    assert r.status_code == 302
    assert Listing.select().where(Listing.case == case.id).get().meeting_id == setup["meeting"].id


def test_information_only_refusal_is_shown_beside_the_field(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    case = make_agenda_case(children=2)
    r = client.post(f"/meetings/ready/{case.id}", data={"meeting": 0, "kind": "information",
                                                         "referrer_agrees": "yes", "actions_requested": "no"})
    assert r.status_code == 200
    assert "cannot be listed for information only: the case involves 2 children" in body(r)
    assert "govuk-error-summary" in body(r)


def test_representative_records_research(client, sign_in, setup):
    rep = setup["rep_out"]
    sign_in(rep)
    listing = setup["listings"][0]
    url = f"/meetings/{setup['meeting'].id}/listings/{listing.id}/research"
    assert client.get(url).status_code == 200
    r = client.post(url, data={"victim_info": "Known to the service since 2025 (fictional)"})
    assert r.status_code == 302
    row = Research.get()
    assert row.agency_id == rep.agency_id and row.user_id == rep.id
    board = body(client.get(f"/meetings/{setup['meeting'].id}"))
    assert "1 of 2 done by your agency" in board


def test_coordinator_reads_research_but_cannot_record_it(client, sign_in, setup, coordinator):
    listing = setup["listings"][0]
    meetings.save_research(listing, setup["rep_in"], nothing_known=True)
    sign_in(coordinator)
    url = f"/meetings/{setup['meeting'].id}/listings/{listing.id}/research"
    r = client.get(url)
    assert "Invited Test Agency" in body(r) and "Nothing known" in body(r)
    assert client.post(url, data={"nothing_known": "y"}).status_code == 403


def test_representative_sees_only_own_agencys_research(client, sign_in, setup):
    listing = setup["listings"][0]
    meetings.save_research(listing, setup["rep_in"], victim_info="Sentinel research text 123")
    sign_in(setup["rep_out"])
    r = client.get(f"/meetings/{setup['meeting'].id}/listings/{listing.id}/research")
    assert "Sentinel research text 123" not in body(r)


def test_move_request_past_the_limit_warns(client, sign_in, setup):
    sign_in(setup["rep_in"])
    for listing in setup["listings"]:
        r = client.post(f"/meetings/{setup['meeting'].id}/listings/{listing.id}/move-request",
                        data={"note": "Early please, leaving at 11"})
        assert r.status_code == 302
    assert MoveRequest.select().count() == 3
    page = body(client.get(f"/meetings/{setup['meeting'].id}"))
    assert "Invited Test Agency has asked to move 3 cases" in page


def test_circulate_and_download_each_agencys_word_copy(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    mid = setup["meeting"].id
    assert client.get(f"/meetings/{mid}/circulate").status_code == 200
    r = client.post(f"/meetings/{mid}/circulate")
    assert r.status_code == 302
    meeting = Meeting.get_by_id(mid)
    assert meeting.agenda_version == 1 and meeting.circulated_at is not None
    numbers = [c.number for c in setup["cases"]]

    def docx_text(agency):
        r = client.get(f"/meetings/{mid}/agenda.docx?agency={agency.id}")
        assert r.status_code == 200
        assert r.headers["Content-Disposition"] == (
            f'attachment; filename="agenda-2026-11-18-v1-{agency.id}.docx"')
        doc = Document(io.BytesIO(r.data))
        return [row.cells[2].text for t in doc.tables for row in t.rows[1:]], doc

    invited_rows, _ = docx_text(setup["invited"])
    assert invited_rows == numbers
    other_rows, doc = docx_text(setup["other"])
    assert other_rows == numbers[:2]
    full_text = "\n".join(p.text for p in doc.paragraphs) + "".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "Closed session" not in full_text and numbers[2] not in full_text
    assert "Quarrington" not in full_text and "Copy for: Other Test Agency" in full_text
    downloads = AuditEvent.select().where(AuditEvent.action == "agenda.download").count()
    assert downloads == 2


def test_representative_gets_only_their_agencys_copy(client, sign_in, setup, coordinator):
    meetings.circulate(setup["meeting"], coordinator)
    sign_in(setup["rep_out"])
    mid = setup["meeting"].id
    # Asking for the invited agency's copy still gives their own.
    r = client.get(f"/meetings/{mid}/agenda?agency={setup['invited'].id}")
    assert r.status_code == 200
    assert setup["cases"][2].number not in body(r) and "Copy for: Other Test Agency" in body(r)
    r = client.get(f"/meetings/{mid}/agenda.docx?agency={setup['invited'].id}")
    doc = Document(io.BytesIO(r.data))
    assert setup["cases"][2].number not in "".join(c.text for t in doc.tables for row in t.rows for c in row.cells)


def test_late_circulation_is_recorded_and_warned(client, sign_in, setup, coordinator, fake_clock):
    fake_clock.current = datetime(2026, 11, 11, 12, 30)  # 12:30 GMT, after the 12 noon circulation time
    sign_in(coordinator)
    mid = setup["meeting"].id
    assert "Circulating now is late" in body(client.get(f"/meetings/{mid}/circulate"))
    r = client.post(f"/meetings/{mid}/circulate", follow_redirects=True)
    assert "after the circulation time" in body(r)
    assert json.loads(AuditEvent.select().where(AuditEvent.action == "agenda.circulate").get().detail)["late"]


def test_changes_after_circulation_are_flagged(client, sign_in, setup, coordinator, fake_clock):
    meetings.circulate(setup["meeting"], coordinator)
    fake_clock.advance(minutes=5)
    sign_in(coordinator)
    second = setup["listings"][1]
    client.post(f"/meetings/{setup['meeting'].id}/order", data={"move": f"{second.id}:up"})
    assert "has changed since version 1 was circulated" in body(client.get(f"/meetings/{setup['meeting'].id}"))


def test_pattern_and_proposal_create_a_year_of_meetings(client, sign_in, app, fake_clock, coordinator):
    sign_in(coordinator)
    r = client.post("/meetings/pattern", data={
        "meeting_frequency": "three_weekly", "meeting_weekday": 2, "meeting_week_of_month": 2,
        "meeting_start_time": "9:30", "meeting_venue": "Town Hall", "referral_deadline_working_days": 8,
        "referral_deadline_time": "17:00", "circulation_working_days": 5, "circulation_time": "12:00",
        "minutes_due_working_days": 5, "minutes_per_case": 15, "minutes_per_information_case": 5,
        "agenda_order": "children_first", "move_request_limit": 0, "written_info_days_before": 2})
    assert r.status_code == 302 and r.headers["Location"].endswith("/meetings/proposal")
    r = client.get("/meetings/proposal")
    assert "Every three weeks on Wednesday at 9:30am" in body(r)
    assert "Moved from" in body(r) or "9:30am on Wednesday 4 November 2026" in body(r)
    r = client.post("/meetings/proposal", data={"starts": ["2026-11-04T09:30:00", "2026-11-25T09:30:00"]})
    assert r.status_code == 302
    assert [m.starts_at for m in Meeting.select().order_by(Meeting.starts_at)] == [
        datetime(2026, 11, 4, 9, 30), datetime(2026, 11, 25, 9, 30)]
    assert Meeting.select().first().venue == "Town Hall"


def test_add_an_emergency_meeting_and_refuse_a_bank_holiday(client, sign_in, app, fake_clock, coordinator):
    sign_in(coordinator)
    r = client.post("/meetings/new", data={"kind": "emergency", "day": ["28", "12", "2026"], "time": "10:00"})
    assert r.status_code == 200 and "bank holiday (Boxing Day (observed))" in body(r)
    r = client.post("/meetings/new", data={"kind": "emergency", "day": ["5", "11", "2026"], "time": "14:00",
                                           "venue": "Room 2"})
    assert r.status_code == 302
    assert Meeting.get().kind == "emergency" and Meeting.get().referral_deadline is None


def test_cancel_needs_confirmation(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    mid = setup["meeting"].id
    r = client.get(f"/meetings/{mid}/cancel")
    assert "Its 3 cases move to the next planned meeting" in body(r)
    r = client.post(f"/meetings/{mid}/cancel")
    assert r.status_code == 200 and "no later meeting" in body(r)
    assert Meeting.get_by_id(mid).status == "planned"


def test_listing_page_change_and_remove(client, sign_in, setup, coordinator):
    sign_in(coordinator)
    mid, listing = setup["meeting"].id, setup["listings"][1]
    r = client.get(f"/meetings/{mid}/listings/{listing.id}")
    assert r.status_code == 200
    r = client.post(f"/meetings/{mid}/listings/{listing.id}", data={
        "kind": "information", "referrer_agrees": "yes", "actions_requested": "no", "emergency_reason": ""})
    assert r.status_code == 302 and Listing.get_by_id(listing.id).kind == "information"
    r = client.post(f"/meetings/{mid}/listings/{listing.id}/remove")
    assert r.status_code == 302 and Listing.get_or_none(Listing.id == listing.id) is None


def test_representative_cannot_change_a_listing(client, sign_in, setup):
    sign_in(setup["rep_in"])
    mid, listing = setup["meeting"].id, setup["listings"][1]
    r = client.post(f"/meetings/{mid}/listings/{listing.id}", data={"kind": "information"})
    assert r.status_code == 403
    assert client.post(f"/meetings/{mid}/listings/{listing.id}/remove").status_code == 403


def _grid(page: str) -> dict:
    """The research grid as {case number: {agency name: cell text}}."""
    grid = page.split('id="research-grid"')[1].split("</table>")[0]
    agencies = re.findall(r'<th scope="col" class="govuk-table__header">([^<]*)</th>', grid)[1:]
    rows = {}
    for number, cells in re.findall(r'<th scope="row"[^>]*>.*?\d+\. ([^<]+)</a></th>(.*?)</tr>', grid, re.S):
        texts = re.findall(r'<td class="govuk-table__cell marac-research marac-research--\w+">([^<]*)</td>', cells)
        rows[number.strip()] = dict(zip(agencies, texts, strict=True))
    return rows


def test_research_grid_shows_each_agencys_state_for_each_case(client, sign_in, setup, coordinator, fake_clock):
    first, second, closed = setup["listings"]
    meetings.save_research(first, setup["rep_in"], nothing_known=True)
    meetings.save_research(first, setup["rep_out"], victim_info="Known since 2025 (fictional)")
    meetings.save_research(second, setup["rep_in"], victim_info="Letter (fictional)", written_submission=True)
    fake_clock.current = datetime(2026, 11, 17, 9, 0)  # after the written-information deadline
    meetings.save_research(second, setup["rep_out"], victim_info="Late letter (fictional)", written_submission=True)
    sign_in(coordinator)
    grid = _grid(body(client.get(f"/meetings/{setup['meeting'].id}")))
    number = {x.id: Listing.get_by_id(x.id).case.number for x in setup["listings"]}
    assert grid[number[first.id]] == {"Invited Test Agency": "Nothing known", "Other Test Agency": "Done"}
    assert grid[number[second.id]] == {"Invited Test Agency": "Written information",
                                       "Other Test Agency": "Written information (late)"}
    assert grid[number[closed.id]] == {"Invited Test Agency": "Missing", "Other Test Agency": "Not invited"}


def test_board_reads_a_fixed_number_of_queries_whatever_the_number_of_cases(setup, coordinator):
    def queries():
        with CountQueries() as counted:
            board = meetings.board(setup["meeting"], coordinator, audit_view=False)
        return len(counted.sql), len(board.lines)

    few = queries()
    for n in range(6):
        listing = meetings.list_case(make_agenda_case(children=n % 2), user=coordinator)
        meetings.save_research(listing, setup["rep_in"], nothing_known=True)
    many = queries()
    assert many[1] == few[1] + 6
    assert many[0] == few[0]
