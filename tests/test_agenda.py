"""Agenda order per panel rule, the frozen circulated versions, the Word document, and the board's
fixed number of queries (40 cases x 25 agencies with their research)."""
import io
import json
from datetime import date, datetime, timedelta

import pytest
from docx import Document
from marac_testing import make_agency, make_agenda_case, make_meeting, make_user

from marac import meetings, settings
from marac.db import db
from marac.meetings import Line, order_key, sort_lines
from marac.models import AgendaVersion, Listing, Research

NOV_18 = datetime(2026, 11, 18, 9, 30)


def line(n, kind="full", children=0, pregnant=False, score=None):
    return Line(listing=None, number=f"C{n}", kind=kind, position=n, children=children, pregnant=pregnant,
                score=score, sequence=(datetime(2026, 11, 1) + timedelta(hours=n), n))


# --- pure ordering --------------------------------------------------------------------------------------


def test_children_first_then_others_then_information_only_then_closed():
    lines = [line(1), line(2, kind="information"), line(3, children=2), line(4, kind="closed", children=1),
             line(5, pregnant=True), line(6)]
    assert [x.number for x in sort_lines("children_first", lines)] == ["C3", "C5", "C1", "C6", "C2", "C4"]


def test_highest_risk_first():
    lines = [line(1, score=16), line(2, score=80), line(3, kind="information", score=99), line(4),
             line(5, score=80), line(6, kind="closed", score=120)]
    assert [x.number for x in sort_lines("highest_risk_first", lines)] == ["C2", "C5", "C1", "C4", "C3", "C6"]


def test_referral_order_keeps_the_order_referred_with_closed_session_last():
    lines = [line(3), line(1, kind="closed"), line(2, kind="information")]
    assert [x.number for x in sort_lines("referral_order", lines)] == ["C2", "C3", "C1"]


def test_order_key_puts_closed_session_last_under_every_rule():
    for rule in meetings.ORDER_RULES:
        assert order_key(rule, line(1, kind="closed")) > order_key(rule, line(2, kind="information", score=1))


# --- ordering on a real agenda ----------------------------------------------------------------------------


@pytest.fixture
def meeting(app, fake_clock):
    return make_meeting(NOV_18)


def numbers(m):
    return [x.number for x in meetings.case_lines(m)]


def test_bd_preset_lists_children_and_pregnancy_first(meeting, coordinator):
    settings.set_many({"agenda_order": "children_first"}, coordinator)
    plain = make_agenda_case(number="BD-1")
    info = make_agenda_case(number="BD-2")
    kids = make_agenda_case(number="BD-3", children=1)
    pregnant = make_agenda_case(number="BD-4", referral_instrument_id="dash",
                                referral_answers=json.dumps({"pregnant": "yes"}))
    meetings.list_case(plain, user=coordinator)
    meetings.list_case(info, user=coordinator, kind="information")
    meetings.list_case(kids, user=coordinator)
    meetings.list_case(pregnant, user=coordinator)
    assert numbers(meeting) == ["BD-3", "BD-4", "BD-1", "BD-2"]
    lines = meetings.case_lines(meeting)
    assert [x.starts.strftime("%H:%M") for x in lines] == ["09:30", "09:45", "10:00", "10:15"]
    assert "pregnancy" in lines[1].summary and "1 child" in lines[0].summary


def test_liverpool_preset_lists_highest_risk_first_with_10_minutes(meeting, coordinator):
    settings.set_many({"agenda_order": "highest_risk_first", "minutes_per_case": 10}, coordinator)
    for number, score in (("LV-1", 80), ("LV-2", 150), ("LV-3", 96)):
        case = make_agenda_case(number=number, referral_instrument_id="merit", referral_score_total=score,
                                referral_band="GOLD", referral_criteria_met="visible_high_risk")
        meetings.list_case(case, user=coordinator)
    assert numbers(meeting) == ["LV-2", "LV-3", "LV-1"]
    board = meetings.board(meeting, coordinator)
    assert board.end == datetime(2026, 11, 18, 10, 0)
    assert board.lines[0].summary == "MeRIT 150 (GOLD); Visible high risk"


def test_a_new_case_keeps_the_coordinators_manual_order(meeting, coordinator):
    settings.set_many({"agenda_order": "children_first"}, coordinator)
    a, b = make_agenda_case(number="M-1"), make_agenda_case(number="M-2")
    la, lb = meetings.list_case(a, user=coordinator), meetings.list_case(b, user=coordinator)
    meetings.reorder(meeting, [lb.id, la.id], coordinator)
    meetings.list_case(make_agenda_case(number="M-3", children=2), user=coordinator)
    meetings.list_case(make_agenda_case(number="M-4"), user=coordinator)
    assert numbers(meeting) == ["M-3", "M-2", "M-1", "M-4"]


def test_reorder_and_move_are_audited_with_who_and_when(meeting, coordinator, fake_clock):
    la = meetings.list_case(make_agenda_case(number="R-1"), user=coordinator)
    lb = meetings.list_case(make_agenda_case(number="R-2"), user=coordinator)
    fake_clock.advance(minutes=3)
    message = meetings.move(meeting, lb.id, "up", coordinator)
    assert message == "Case R-2 is now number 1 of 2, estimated start 9:30am. Estimated end 10am."
    assert meetings.move(meeting, lb.id, "up", coordinator) == "That case is already at the top."
    board = meetings.board(meeting, coordinator)
    assert board.changed_by == coordinator.name
    assert board.meeting.board_changed_at == fake_clock.current
    assert [x.id for x in board.lines] == [lb.id, la.id]


# --- circulation and the Word document ---------------------------------------------------------------------


def test_circulation_freezes_the_version(meeting, coordinator):
    agency = make_agency(isa_signed_on=date(2025, 1, 1))
    la = meetings.list_case(make_agenda_case(number="F-1"), user=coordinator)
    meetings.list_case(make_agenda_case(number="F-2"), user=coordinator)
    v1 = meetings.circulate(meeting, coordinator)
    assert v1.version == 1 and not v1.late
    meetings.move(meeting, la.id, "down", coordinator)
    copy = meetings.agenda_copy(meeting, AgendaVersion.get_by_id(v1.id), agency)
    assert [x["number"] for x in copy.lines] == ["F-1", "F-2"]  # as circulated, not as now
    v2 = meetings.circulate(meeting, coordinator)
    assert v2.version == 2
    assert [x["number"] for x in meetings.agenda_copy(meeting, v2, agency).lines] == ["F-2", "F-1"]


def test_empty_agenda_cannot_be_circulated(meeting, coordinator):
    with pytest.raises(meetings.MeetingError, match="no cases"):
        meetings.circulate(meeting, coordinator)


def test_word_document_holds_the_cases_in_order_and_nothing_the_recipient_may_not_see(meeting, coordinator):
    invited = make_agency("Invited Word Agency", isa_signed_on=date(2025, 1, 1))
    uninvited = make_agency("Uninvited Word Agency", isa_signed_on=date(2025, 1, 1))
    meetings.list_case(make_agenda_case(number="W-1", victim=("Quinn", "Sentinelname")), user=coordinator)
    meetings.list_case(make_agenda_case(number="W-2", children=1), user=coordinator)
    meetings.list_case(make_agenda_case(number="W-3", closed_session=True), user=coordinator, invites=[invited.id])
    version = meetings.circulate(meeting, coordinator)

    def read(agency):
        data = meetings.agenda_docx(meetings.agenda_copy(meeting, version, agency), "Anytown MARAC")
        doc = Document(io.BytesIO(data))
        rows = [[c.text for c in row.cells] for t in doc.tables for row in t.rows[1:]]
        text = "\n".join(p.text for p in doc.paragraphs) + "\n".join("|".join(r) for r in rows)
        return rows, text

    rows, text = read(invited)
    assert [r[2] for r in rows] == ["W-2", "W-1", "W-3"]  # children first; closed session last
    assert [r[1] for r in rows] == ["9:30am", "9:45am", "10am"]
    assert "Closed session" in text and "Copy for: Invited Word Agency" in text
    rows, text = read(uninvited)
    assert [r[2] for r in rows] == ["W-2", "W-1"]
    assert "W-3" not in text and "Closed session" not in text
    assert "Estimated end: 10am" in text  # the end of the part this agency sees
    assert "Sentinelname" not in text and "Quinn" not in text and "QS" in text


# --- a fixed number of queries ----------------------------------------------------------------------------


class QueryCounter:
    def __init__(self, monkeypatch):
        self.count = 0
        real = db.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            self.count += 1
            return real(sql, params, *args, **kwargs)

        monkeypatch.setattr(db.obj, "execute_sql", counting)


def board_queries(client, meeting):
    with pytest.MonkeyPatch.context() as patch:
        counter = QueryCounter(patch)
        r = client.get(f"/meetings/{meeting.id}")
    assert r.status_code == 200
    return counter.count, r.get_data(as_text=True)


def test_board_with_40_cases_and_25_agencies_uses_a_fixed_number_of_queries(
        app, client, sign_in, fake_clock, coordinator):
    agencies = [make_agency(f"Member Agency {i:02d}", isa_signed_on=date(2025, 1, 1)) for i in range(25)]
    rep = make_user(agency=agencies[0])
    small, large = make_meeting(NOV_18), make_meeting(datetime(2026, 12, 9, 9, 30))
    for i in range(2):
        meetings.list_case(make_agenda_case(children=i, referral_score_total=15), user=coordinator, meeting=small)
    listings = []
    for i in range(40):
        case = make_agenda_case(children=i % 3, closed_session=(i % 10 == 9), referral_score_total=14 + i % 10,
                                referral_instrument_id="dash")
        listings.append(meetings.list_case(case, user=coordinator, meeting=large, invites=[agencies[0].id]))
    Research.insert_many([{"listing": x.id, "agency": a.id, "user": rep.id, "victim_info": "Fictional",
                           "nothing_known": False} for x in listings[:20] for a in agencies]).execute()
    for x in listings[:5]:
        meetings.request_move(x, agencies[1], rep, "Early please")
    assert Listing.select().where(Listing.meeting == large.id).count() == 40

    sign_in(coordinator)
    small_count, _ = board_queries(client, small)
    large_count, page = board_queries(client, large)
    assert large_count == small_count
    assert large_count <= 25, large_count
    assert page.count('data-listing-id="') == 40
    # Of the first 20 cases, 2 are closed-session cases to which only one agency is invited.
    assert page.count("marac-research--done") == 18 * 25 + 2 * 1
    assert page.count("marac-research--na") == 4 * 24

    sign_in(rep)
    rep_small, _ = board_queries(client, small)
    rep_large, _ = board_queries(client, large)
    assert rep_small == rep_large
