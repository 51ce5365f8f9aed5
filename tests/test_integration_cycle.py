"""The cycle across areas (DOMAIN "The cycle"), through the test client: a referral sent through the
real form, accepted in the inbox, listed on the next meeting's agenda. Every name is invented."""
from datetime import datetime

import pytest
from marac_testing import make_meeting
from test_referrals import DASH_14, fill, start

from marac.models import Listing, Referral


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


def _send(client, sign_in, referrer) -> int:
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14)
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    client.post("/logout")
    return rid


def test_accepting_lists_the_case_at_the_next_meeting_it_is_in_time_for(client, factory, sign_in, coordinator):
    make_meeting(datetime(2026, 11, 4, 9, 30))  # its referral deadline has passed
    in_time = make_meeting(datetime(2026, 11, 18, 9, 30))
    make_meeting(datetime(2026, 12, 9, 9, 30))
    referrer = factory.user(role="referrer")
    rid = _send(client, sign_in, referrer)

    sign_in(coordinator)
    page = client.post(f"/inbox/referrals/{rid}/accept", follow_redirects=True).get_data(as_text=True)
    referral = Referral.get_by_id(rid)
    listing = Listing.get(Listing.case == referral.case_id)
    assert listing.meeting_id == in_time.id and listing.referral_id == rid
    assert f"Case {referral.case.number} listed at the meeting" in page
    assert referral.case.status == "listed"
    board = client.get(f"/meetings/{in_time.id}").get_data(as_text=True)
    assert referral.case.number in board
    client.post("/logout")

    sign_in(referrer)
    assert "Accepted" in client.get("/referrals/").get_data(as_text=True)


def test_accepting_without_a_planned_meeting_points_to_cases_ready_to_list(client, factory, sign_in, coordinator):
    rid = _send(client, sign_in, factory.user(role="referrer"))

    sign_in(coordinator)
    page = client.post(f"/inbox/referrals/{rid}/accept", follow_redirects=True).get_data(as_text=True)
    referral = Referral.get_by_id(rid)
    assert referral.status == "accepted"
    assert not Listing.select().where(Listing.case == referral.case_id).exists()
    assert "List it from Cases ready to list" in page
    assert referral.case.number in client.get("/meetings/ready").get_data(as_text=True)


def test_the_decision_page_names_the_criterion_in_words(client, factory, sign_in, coordinator):
    rid = _send(client, sign_in, factory.user(role="referrer"))
    sign_in(coordinator)
    page = client.get(f"/inbox/referrals/{rid}/accept").get_data(as_text=True)
    assert "Met: Visible high risk" in page and "visible_high_risk" not in page
