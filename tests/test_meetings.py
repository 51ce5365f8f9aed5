"""Meetings and listing rules (marac.meetings services): deadlines, late and emergency items,
information-only refusals, closed sessions and who sees them, cancelling, move requests, research."""
import json
from datetime import date, datetime

import pytest
from marac_testing import make_agency, make_agenda_case, make_meeting, make_user

from marac import access, meetings, settings
from marac.meetings import MeetingError
from marac.models import AuditEvent, Case, Listing, ListingInvite, Meeting, Research

NOV_18 = datetime(2026, 11, 18, 9, 30)  # referral deadline Fri 6 Nov 17:00, circulation Wed 11 Nov 12:00
DEC_9 = datetime(2026, 12, 9, 9, 30)  # referral deadline Fri 27 Nov 17:00


@pytest.fixture
def db_ready(app, fake_clock):
    """The app's database with the clock at Monday 2 November 2026, 09:00 UTC."""
    return fake_clock


@pytest.fixture
def two_meetings(db_ready):
    return make_meeting(NOV_18), make_meeting(DEC_9)


def member(name=None):
    return make_agency(name=name, isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")


def actions(name):
    return [json.loads(e.detail or "{}") for e in AuditEvent.select().where(AuditEvent.action == name)]


# --- meetings -----------------------------------------------------------------------------------------


def test_create_meeting_works_out_its_deadlines(db_ready, coordinator):
    meeting = meetings.create_meeting(NOV_18, venue="Committee Room 2", user=coordinator)
    assert meeting.referral_deadline == datetime(2026, 11, 6, 17, 0)
    assert meeting.circulation_due == datetime(2026, 11, 11, 12, 0)
    assert meeting.minutes_due == date(2026, 11, 25)
    assert meetings.written_info_due(meeting) == datetime(2026, 11, 16, 9, 30)
    assert actions("meeting.create") == [{"kind": "regular"}]


def test_deadline_times_come_from_the_settings(db_ready, coordinator):
    settings.set_many({"referral_deadline_working_days": 10, "referral_deadline_time": "12:00",
                       "circulation_time": "16:30", "minutes_due_working_days": 6}, coordinator)
    meeting = meetings.create_meeting(NOV_18, user=coordinator)
    assert meeting.referral_deadline == datetime(2026, 11, 4, 12, 0)
    assert meeting.circulation_due == datetime(2026, 11, 11, 16, 30)
    assert meeting.minutes_due == date(2026, 11, 26)


def test_a_meeting_on_a_bank_holiday_or_in_the_past_is_refused(db_ready, coordinator):
    with pytest.raises(MeetingError, match="bank holiday"):
        meetings.create_meeting(datetime(2026, 12, 28, 9, 30), user=coordinator)
    with pytest.raises(MeetingError, match="future"):
        meetings.create_meeting(datetime(2026, 10, 28, 9, 30), user=coordinator)


def test_emergency_meeting_has_no_referral_deadline(db_ready, coordinator):
    meeting = meetings.create_meeting(datetime(2026, 11, 5, 14, 0), kind="emergency", user=coordinator)
    assert meeting.referral_deadline is None and meeting.circulation_due is None


def test_create_year_skips_dates_that_already_have_a_meeting(db_ready, coordinator):
    make_meeting(NOV_18)
    made = meetings.create_year([NOV_18, DEC_9, datetime(2027, 1, 13, 9, 30)], venue="Town Hall", user=coordinator)
    assert [m.starts_at for m in made] == [DEC_9, datetime(2027, 1, 13, 9, 30)]
    assert Meeting.select().count() == 3


def test_moving_a_meeting_recomputes_its_deadlines(db_ready, coordinator):
    meeting = make_meeting(NOV_18)
    meetings.move_meeting(meeting, datetime(2026, 11, 19, 10, 0), venue="Room 4", user=coordinator)
    meeting = Meeting.get_by_id(meeting.id)
    assert meeting.referral_deadline == datetime(2026, 11, 9, 17, 0)
    assert meeting.venue == "Room 4"


def test_cancelling_moves_the_cases_to_the_next_meeting(two_meetings, coordinator):
    first, second = two_meetings
    listing = meetings.list_case(make_agenda_case(), user=coordinator)
    assert listing.meeting_id == first.id
    target = meetings.cancel_meeting(first, coordinator)
    assert target.id == second.id
    assert Listing.get_by_id(listing.id).meeting_id == second.id
    assert Meeting.get_by_id(first.id).status == "cancelled"


# --- listing: deadlines -------------------------------------------------------------------------------


def test_a_case_in_time_goes_to_the_next_meeting(two_meetings, coordinator):
    case = make_agenda_case(submitted_at=datetime(2026, 11, 2, 9, 0))
    listing = meetings.list_case(case, user=coordinator)
    assert listing.meeting_id == two_meetings[0].id
    assert not listing.emergency
    assert Case.get_by_id(case.id).status == "listed"
    assert actions("listing.create")[0]["case_id"] == case.id


def test_deadline_is_5pm_local_time(two_meetings, coordinator):
    # 16:59 UK time on Fri 6 Nov (GMT, so 16:59 UTC) meets the deadline; 17:01 misses it.
    in_time = make_agenda_case(submitted_at=datetime(2026, 11, 6, 16, 59))
    late = make_agenda_case(submitted_at=datetime(2026, 11, 6, 17, 1))
    assert meetings.list_case(in_time, user=coordinator).meeting_id == two_meetings[0].id
    assert meetings.list_case(late, user=coordinator).meeting_id == two_meetings[1].id


def test_a_late_case_goes_to_the_following_meeting(two_meetings, db_ready, coordinator):
    db_ready.current = datetime(2026, 11, 9, 10, 0)
    case = make_agenda_case(submitted_at=datetime(2026, 11, 9, 9, 0))
    assert meetings.list_case(case, user=coordinator).meeting_id == two_meetings[1].id


def test_a_late_case_at_the_first_meeting_needs_an_emergency_reason(two_meetings, db_ready, coordinator):
    db_ready.current = datetime(2026, 11, 9, 10, 0)
    case = make_agenda_case(submitted_at=datetime(2026, 11, 9, 9, 0))
    with pytest.raises(MeetingError, match="missed this meeting's deadline") as err:
        meetings.list_case(case, user=coordinator, meeting=two_meetings[0])
    assert err.value.field == "emergency_reason"
    listing = meetings.list_case(case, user=coordinator, meeting=two_meetings[0],
                                 emergency_reason="Perpetrator released from custody this week")
    assert listing.meeting_id == two_meetings[0].id and listing.emergency


def test_emergency_reason_without_a_meeting_takes_the_very_next_one(two_meetings, db_ready, coordinator):
    db_ready.current = datetime(2026, 11, 12, 10, 0)
    case = make_agenda_case(submitted_at=datetime(2026, 11, 12, 9, 0))
    listing = meetings.list_case(case, user=coordinator, emergency_reason="Escalating threats")
    assert listing.meeting_id == two_meetings[0].id and listing.emergency


def test_no_meeting_to_list_at(db_ready, coordinator):
    with pytest.raises(MeetingError, match="no planned meeting"):
        meetings.list_case(make_agenda_case(), user=coordinator)


def test_a_case_is_not_listed_twice_at_one_meeting(two_meetings, coordinator):
    case = make_agenda_case()
    meetings.list_case(case, user=coordinator)
    with pytest.raises(MeetingError, match="already"):
        meetings.list_case(case, user=coordinator, meeting=two_meetings[0])
    # Without a meeting it goes to the next one it is not on yet.
    assert meetings.list_case(case, user=coordinator).meeting_id == two_meetings[1].id


def test_review_listing_without_a_referral(two_meetings, coordinator):
    case = make_agenda_case(referral=False, status="review")
    listing = meetings.list_case(case, user=coordinator)
    assert listing.is_review and listing.meeting_id == two_meetings[0].id


def test_ready_to_list_shows_new_review_and_outstanding_action_cases(two_meetings, coordinator):
    from marac.models import Action

    new = make_agenda_case()
    review = make_agenda_case(status="review")
    heard = make_agenda_case(status="heard")
    Action.create(case=heard, owner_agency=make_agency(), description="Fictional action", due_date=date(2026, 11, 1))
    closed = make_agenda_case(status="closed")
    listed = make_agenda_case()
    meetings.list_case(listed, user=coordinator)
    ready = {r.case.id: r for r in meetings.ready_to_list()}
    assert set(ready) == {new.id, review.id, heard.id}
    assert closed.id not in ready
    assert ready[new.id].victim == "AT" and ready[new.id].suggested.id == two_meetings[0].id
    assert ready[heard.id].reason == "Actions outstanding"


# --- listing: information only --------------------------------------------------------------------------


def test_information_only_is_allowed_for_a_case_without_children(two_meetings, coordinator):
    listing = meetings.list_case(make_agenda_case(), user=coordinator, kind="information")
    assert listing.kind == "information" and listing.minutes_estimate == 5


@pytest.mark.parametrize("case_kw, call_kw, reason", [
    ({"children": 2}, {}, "involves 2 children"),
    ({"referral_instrument_id": "dash", "referral_answers": json.dumps({"pregnant": "yes"})}, {}, "pregnant"),
    ({"referral_data": json.dumps({"victim": {"vulnerable_adult": "yes"}})}, {}, "vulnerable adult"),
    ({"referral_data": json.dumps({"risk": {"actions_requested": "Housing move"}})}, {}, "specific actions"),
    ({}, {"actions_requested": True}, "specific actions"),
    # The referral form's own layout (marac.referrals): children named, or only "has children".
    ({"referral_data": json.dumps({"people": [{"role": "victim", "pregnant": False}, {"role": "child"},
                                              {"role": "child"}]})}, {}, "involves 2 children"),
    ({"referral_data": json.dumps({"people": [], "has_children": "yes"})}, {}, "involves 1 child"),
    ({"referral_data": json.dumps({"people": [{"role": "victim", "pregnant": True}]})}, {}, "pregnant"),
    ({}, {"referrer_agrees": False}, "does not agree"),
])
def test_information_only_is_refused_with_the_reason(two_meetings, coordinator, case_kw, call_kw, reason):
    case = make_agenda_case(**case_kw)
    with pytest.raises(MeetingError, match=reason) as err:
        meetings.list_case(case, user=coordinator, kind="information", **call_kw)
    assert err.value.field == "kind"
    assert not Listing.select().exists()


def test_changing_a_listing_to_information_only_checks_the_same_rules(two_meetings, coordinator):
    listing = meetings.list_case(make_agenda_case(children=1), user=coordinator)
    with pytest.raises(MeetingError, match="1 child"):
        meetings.change_listing(listing, coordinator, kind="information")
    assert Listing.get_by_id(listing.id).kind == "full"


# --- closed sessions --------------------------------------------------------------------------------------


def hbv_panel(coordinator):
    rules = dict(settings.get("rules"), closed_session_hbv=True)
    settings.set_many({"rules": rules}, coordinator)


def test_hbv_goes_to_a_closed_session_where_the_panel_says_so(two_meetings, coordinator):
    hbv_panel(coordinator)
    referring = member("Referring Agency")
    case = make_agenda_case(agency=referring, referral_data=json.dumps({"categories": {"honour_based_violence": True}}))
    listing = meetings.list_case(case, user=coordinator, kind="full")
    assert listing.kind == "closed"
    assert {i.agency_id for i in ListingInvite.select()} == {referring.id}


def test_hbv_is_an_open_listing_where_the_panel_does_not_close_it(two_meetings, coordinator):
    case = make_agenda_case(referral_data=json.dumps({"honour_based_violence": True}))
    assert meetings.list_case(case, user=coordinator).kind == "full"


def test_closed_session_listings_are_seen_only_by_invited_agencies(two_meetings, coordinator):
    invited, other = member("Invited Agency"), member("Other Agency")
    non_member = make_agency("Non-member Agency")
    open_case, closed_case = make_agenda_case(), make_agenda_case(closed_session=True)
    meetings.list_case(open_case, user=coordinator)
    closed = meetings.list_case(closed_case, user=coordinator, invites=[invited.id])
    assert closed.kind == "closed"
    rep_in = make_user(agency=invited)
    rep_out = make_user(agency=other)
    rep_non = make_user(agency=non_member)
    first = two_meetings[0]

    def seen(user):
        return {line.listing.case_id for line in meetings.case_lines(first, user)}

    assert seen(rep_in) == {open_case.id, closed_case.id}
    assert seen(rep_out) == {open_case.id}
    assert seen(rep_non) == set()
    assert seen(coordinator) == {open_case.id, closed_case.id}
    # Consistent with the case access policy: every listing shown is a case the user may open.
    for user in (rep_in, rep_out, rep_non):
        cases = {c.id for c in access.visible_cases(user)}
        assert seen(user) <= cases
    assert closed_case.id not in {c.id for c in access.visible_cases(rep_out)}


def test_a_closed_listing_cannot_be_opened(two_meetings, coordinator):
    case = make_agenda_case(closed_session=True)
    listing = meetings.list_case(case, user=coordinator, kind="full")
    assert listing.kind == "closed"
    with pytest.raises(MeetingError, match="closed session"):
        meetings.change_listing(listing, coordinator, kind="full")


def test_a_closed_meeting_lists_everything_closed(db_ready, coordinator):
    closed_meeting = make_meeting(NOV_18, kind="closed")
    listing = meetings.list_case(make_agenda_case(), user=coordinator, meeting=closed_meeting)
    assert listing.kind == "closed"


# --- move requests and research ----------------------------------------------------------------------------


def test_move_requests_warn_past_the_limit(two_meetings, coordinator):
    agency = member("Housing Test")
    rep = make_user(agency=agency)
    listings = [meetings.list_case(make_agenda_case(), user=coordinator) for _ in range(3)]
    results = [meetings.request_move(x, agency, rep, "Only here until 11") for x in listings]
    assert [(count, over) for _, count, over in results] == [(1, False), (2, False), (3, True)]
    board = meetings.board(two_meetings[0], coordinator)
    assert any("Housing Test has asked to move 3 cases" in w for w in board.warnings)
    assert board.moves[0].over


def test_research_is_recorded_by_a_member_agencys_representative(two_meetings, coordinator):
    agency = member("Police Test")
    rep = make_user(agency=agency)
    listing = meetings.list_case(make_agenda_case(), user=coordinator)
    with pytest.raises(MeetingError, match="Enter what your agency holds"):
        meetings.save_research(listing, rep)
    with pytest.raises(MeetingError, match="not both"):
        meetings.save_research(listing, rep, victim_info="Two call-outs", nothing_known=True)
    row = meetings.save_research(listing, rep, victim_info="Two call-outs in October (fictional)")
    again = meetings.save_research(listing, rep, nothing_known=True)
    assert row.id == again.id and Research.get_by_id(row.id).nothing_known
    with pytest.raises(MeetingError, match="representative"):
        meetings.save_research(listing, coordinator, nothing_known=True)
    non_member_rep = make_user(agency=make_agency())
    with pytest.raises(MeetingError):
        meetings.save_research(listing, non_member_rep, nothing_known=True)
    assert [a.action for a in AuditEvent.select().where(AuditEvent.action.startswith("research."))] == [
        "research.create", "research.update"]


def test_late_written_information_is_marked_late(two_meetings, db_ready, coordinator):
    agency = member("Probation Test")
    rep = make_user(agency=agency)
    listing = meetings.list_case(make_agenda_case(), user=coordinator)
    db_ready.current = datetime(2026, 11, 17, 9, 0)  # the day before: inside the two days
    meetings.save_research(listing, rep, perpetrator_info="On licence (fictional)", written_submission=True)
    board = meetings.board(two_meetings[0], coordinator)
    assert board.research[(listing.id, agency.id)] == "written_late"
    assert actions("research.create")[0]["late"] is True


def test_referral_flags_follow_the_referrals_text(app):
    """The flags are kept per referral text: the same text gives the same flags, a changed text new ones."""
    from marac.models import Referral

    data = {"people": [{"role": "victim", "pregnant": False}, {"role": "child"}, {"role": "child"}],
            "criteria": {"honour_based_violence": False}, "requested_actions": ""}
    referral = Referral(instrument_id="dash", data=json.dumps(data), answers=json.dumps({"pregnant": "no"}))
    first = meetings.referral_flags(referral)
    assert (first.children, first.pregnant, first.hbv, first.actions_requested) == (2, False, False, False)
    assert meetings.referral_flags(referral) == first
    data["people"][0]["pregnant"] = True
    data["criteria"]["honour_based_violence"] = True
    data["requested_actions"] = "Refer to the IDVA (fictional)"
    referral.data = json.dumps(data)
    amended = meetings.referral_flags(referral)
    assert (amended.children, amended.pregnant, amended.hbv, amended.actions_requested) == (2, True, True, True)
    referral.answers = json.dumps({"pregnant": "yes"})
    referral.data = json.dumps({"people": []})
    assert meetings.referral_flags(referral).pregnant and not meetings.referral_flags(referral).hbv
