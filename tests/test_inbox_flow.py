"""The inbox with referrals sent through the real referral form (issue 3): matching on submission,
a repeat revealed by confirming the matches, a return for more information, and the outcome the
referrer sees. The form-filling helpers are issue 3's own (tests/test_referrals.py)."""
import pytest
from test_referrals import DASH_14, fill, start

from marac.models import Case, PersonMatch, Referral


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


def send(client, yes_ids=DASH_14) -> int:
    rid = start(client)
    fill(client, rid, yes_ids=yes_ids)
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    return rid


def test_a_second_referral_of_the_same_pair_is_matched_then_accepted_as_a_repeat(client, factory, sign_in,
                                                                                 coordinator):
    referrer = factory.user(role="referrer")
    sign_in(referrer)
    first = send(client)
    client.post("/logout")
    sign_in(coordinator)
    assert client.post(f"/inbox/referrals/{first}/accept").status_code == 303
    client.post("/logout")

    sign_in(referrer)
    second = send(client, yes_ids=DASH_14[:5])  # under the threshold this time
    client.post("/logout")
    sign_in(coordinator)
    matches = list(PersonMatch.select().where(PersonMatch.referral == second).order_by(PersonMatch.id))
    # The victim by name, date of birth and postcode; the perpetrator (no date of birth given) by
    # name, because they were named with that victim before.
    assert [m.reason for m in matches] == ["name_dob,dob_postcode", "name_linked"]
    page = client.get(f"/inbox/referrals/{second}").get_data(as_text=True)
    assert "Possible duplicate person" in page and "Repeat:" not in page
    for match in matches:
        assert client.post(f"/inbox/matches/{match.id}/confirm").status_code == 303
    page = client.get(f"/inbox/referrals/{second}").get_data(as_text=True)
    assert "Repeat: the same victim and perpetrator" in page and f'href="/inbox/referrals/{first}"' in page
    assert client.post(f"/inbox/referrals/{second}/accept").status_code == 303
    saved = Referral.get_by_id(second)
    assert saved.status == "accepted" and saved.decision_code == "repeat"
    assert Case.get_by_id(saved.case_id).is_repeat
    client.post("/logout")

    sign_in(referrer)
    mine = client.get("/referrals/").get_data(as_text=True)
    assert "Accepted" in mine


def test_returned_for_more_information_then_sent_again(client, factory, sign_in, coordinator):
    referrer = factory.user(role="referrer")
    sign_in(referrer)
    rid = send(client)
    client.post("/logout")
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{rid}/return", data={"comment": "Please add the safe contact times."})
    assert r.status_code == 303
    assert f"Referral {rid}<" not in client.get("/inbox/").get_data(as_text=True)
    client.post("/logout")

    sign_in(referrer)
    assert "Please add the safe contact times." in client.get(f"/referrals/{rid}").get_data(as_text=True)
    client.post(f"/referrals/{rid}/section/contact", data={"phone": "00000 000000", "times": "Afternoons",
                                                           "safe_to_post": "no"})
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    client.post("/logout")
    sign_in(coordinator)
    assert f"Referral {rid}<" in client.get("/inbox/").get_data(as_text=True)
    assert PersonMatch.select().where(PersonMatch.referral == rid).count() == 0  # its own people, not duplicates
