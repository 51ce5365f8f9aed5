"""Person matching: proposals on submission, confirm, reject, split (with history kept)."""
import json
from datetime import date, datetime

import pytest
from marac_testing import make_case, make_person, make_referral, make_user

from marac import inbox, people
from marac.db import db
from marac.models import AuditEvent, CasePerson, PersonAlias, PersonMatch, Referral, ReferralPerson


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


def submitted(*entries, **kw):
    """A submitted referral whose people are linked (and matched) as submit() does it."""
    referral = make_referral(data={"people": list(entries)}, submitted_at=kw.pop("submitted_at",
                                                                                  datetime(2026, 11, 2, 8, 0)), **kw)
    with db.atomic():
        people.link_referral_people(referral)
    return referral


def entry(given, family, dob="1990-05-01", role="victim", **kw):
    return {"role": role, "given_name": given, "family_name": family, "date_of_birth": dob, **kw}


def proposals(referral):
    return [(m.candidate_id, m.reason, m.status) for m in
            PersonMatch.select().where(PersonMatch.referral == referral.id).order_by(PersonMatch.id)]


def link_of(referral, role="victim"):
    return ReferralPerson.get((ReferralPerson.referral == referral.id) & (ReferralPerson.role == role))


def last_audit(action):
    return AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id.desc()).first()


# --- proposals ---------------------------------------------------------------------------------


def test_same_name_and_date_of_birth_forgiving_case_spacing_hyphens_accents(app):
    known = make_person("Zoë", "O'Neil-Smith", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("zoe", "Oneil Smith"))
    assert proposals(referral) == [(known.id, "name_dob", "proposed")]
    assert last_audit("person_match.propose").object_type == "personmatch"


def test_same_date_of_birth_and_postcode(app):
    known = make_person("Kim", "Elsewhere", date_of_birth=date(1990, 5, 1), postcode="AT1 2BB")
    referral = submitted(entry("Kimberley", "Newname", postcode="at12bb"))
    assert proposals(referral) == [(known.id, "dob_postcode", "proposed")]


def test_a_known_alias_and_date_of_birth(app):
    known = make_person("Joanne", "Bloggsworth", date_of_birth=date(1990, 5, 1))
    PersonAlias.create(person=known, given_name="Jo", family_name="Bee", name_key=people.name_key("Jo", "Bee"))
    assert proposals(submitted(entry("Jo", "Bee"))) == [(known.id, "alias_dob", "proposed")]
    # And the other way round: the new referral gives the known name as an alias.
    other = make_person("Rowan", "Oldname", date_of_birth=date(1979, 2, 2))
    referral = submitted(entry("Ro", "Newname", dob="1979-02-02", aliases="Rowan Oldname"))
    assert proposals(referral) == [(other.id, "alias_dob", "proposed")]


@pytest.mark.parametrize("given, dob", [("Zoe", "1990-05-02"), ("Zoe", ""), ("Zed", "1990-05-01")])
def test_no_proposal_without_the_same_date_of_birth_and_name(app, given, dob):
    make_person("Zoe", "Smith", date_of_birth=date(1990, 5, 1))
    assert proposals(submitted(entry(given, "Smith", dob=dob))) == []


def test_nicknames_are_not_matched(app):
    make_person("William", "Testcase", date_of_birth=date(1990, 5, 1))
    assert proposals(submitted(entry("Bill", "Testcase"))) == []


def test_a_perpetrator_without_date_of_birth_is_matched_through_the_victim(app):
    victim = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    abuser = make_person("Eli", "Sampleton")
    make_referral(people=[(victim, "victim"), (abuser, "perpetrator")], status="accepted",
                  submitted_at=datetime(2026, 9, 1, 10))
    stranger = make_person("Eli", "Sampleton")  # the same name, never named with this victim
    make_referral(people=[(make_person("Nobody", "Related"), "victim"), (stranger, "perpetrator")],
                  status="accepted", submitted_at=datetime(2026, 9, 2, 10))
    referral = submitted(entry("Dana", "Examplefield"), entry("Eli", "Sampleton", dob="", role="perpetrator"))
    assert sorted(proposals(referral)) == sorted([(victim.id, "name_dob", "proposed"),
                                                  (abuser.id, "name_linked", "proposed")])


def test_a_different_known_date_of_birth_is_never_name_linked(app):
    victim = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    abuser = make_person("Eli", "Sampleton", date_of_birth=date(1980, 1, 1))
    make_referral(people=[(victim, "victim"), (abuser, "perpetrator")], status="accepted",
                  submitted_at=datetime(2026, 9, 1, 10))
    referral = submitted(entry("Dana", "Examplefield"), entry("Eli", "Sampleton", dob="1999-09-09",
                                                              role="perpetrator"))
    assert proposals(referral) == [(victim.id, "name_dob", "proposed")]


def test_people_of_the_same_referral_are_not_proposed(app):
    referral = submitted(entry("Twin", "One", postcode="AT1 1AA"),
                         entry("Twin", "Two", role="perpetrator", postcode="AT1 1AA"))
    assert proposals(referral) == []


def test_a_merged_record_proposes_the_record_it_was_merged_into(app, coordinator):
    known = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    first = submitted(entry("Dana", "Example-Field"))
    people.confirm_match(PersonMatch.get(PersonMatch.referral == first.id).id, coordinator)
    later = submitted(entry("DANA", "EXAMPLEFIELD"))
    assert [c for c, _, _ in proposals(later)] == [known.id]


def test_a_rejected_pair_is_not_proposed_again_on_resubmission(app, coordinator):
    make_person("Ada", "Lookalike", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("Ada", "Lookalike"))
    people.reject_match(PersonMatch.get(PersonMatch.referral == referral.id).id, coordinator)
    with db.atomic():
        people.link_referral_people(referral)  # returned and resubmitted
    assert [s for _, _, s in proposals(referral)] == ["rejected"]


# --- decisions -----------------------------------------------------------------------------------


def test_confirm_points_the_referral_at_the_known_person_and_reveals_a_repeat(app, coordinator):
    victim = make_person("Dana", "Examplefield", date_of_birth=date(1990, 5, 1))
    abuser = make_person("Eli", "Sampleton", date_of_birth=date(1988, 1, 2))
    earlier = make_referral(people=[(victim, "victim"), (abuser, "perpetrator")], status="accepted",
                            submitted_at=datetime(2026, 9, 1, 10), case=make_case(status="closed"))
    referral = submitted(entry("Dana", "Examplefield"), entry("Eli", "Sampleton", dob="1988-01-02", role="perpetrator"))
    assert len(proposals(referral)) == 2
    as_referred = link_of(referral).person_id
    item = inbox.build_items([Referral.get_by_id(referral.id)])[0]
    assert item.has("duplicate_person") and not item.has("repeat")
    with pytest.raises(inbox.DecisionError, match="possible duplicate people"):
        inbox.accept(referral.id, coordinator)

    for match in PersonMatch.select().where(PersonMatch.referral == referral.id):
        people.confirm_match(match.id, coordinator)
    assert link_of(referral).person_id == victim.id
    assert link_of(referral, "perpetrator").person_id == abuser.id
    confirmed = PersonMatch.get((PersonMatch.referral == referral.id) & (PersonMatch.person == as_referred))
    assert (confirmed.status, confirmed.decided_by_id) == ("confirmed", coordinator.id)
    event = last_audit("person_match.confirm")
    assert json.loads(event.detail)["reason"] == "name_dob"
    item = inbox.build_items([Referral.get_by_id(referral.id)])[0]
    assert item.repeat_of == earlier.id and not item.has("duplicate_person")


def test_confirming_one_candidate_settles_the_persons_other_proposals(app, coordinator):
    first = make_person("Sam", "Double", date_of_birth=date(1990, 5, 1))
    second = make_person("Sammy", "Other", date_of_birth=date(1990, 5, 1), postcode="AT1 1AA")
    referral = submitted(entry("Sam", "Double", postcode="AT1 1AA"))
    ids = {m.candidate_id: m.id for m in PersonMatch.select().where(PersonMatch.referral == referral.id)}
    assert set(ids) == {first.id, second.id}
    people.confirm_match(ids[first.id], coordinator)
    assert PersonMatch.get_by_id(ids[second.id]).status == "superseded"
    with pytest.raises(people.MatchError):
        people.confirm_match(ids[second.id], coordinator)


def test_reject_keeps_the_referral_on_its_own_record(app, coordinator):
    make_person("Ada", "Lookalike", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("Ada", "Lookalike"))
    before = link_of(referral).person_id
    match = people.reject_match(PersonMatch.get(PersonMatch.referral == referral.id).id, coordinator)
    assert match.status == "rejected" and link_of(referral).person_id == before
    assert json.loads(last_audit("person_match.reject").detail)["reason"] == "different_people"


def test_split_after_acceptance_restores_the_separate_person_with_history(app, coordinator):
    known = make_person("Lee", "Sameish", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("Lee", "Sameish"))
    match = PersonMatch.get(PersonMatch.referral == referral.id)
    people.confirm_match(match.id, coordinator)
    case_id = inbox.accept(referral.id, coordinator).case_id
    assert CasePerson.get(case=case_id).person_id == known.id

    people.split_match(match.id, coordinator)
    assert link_of(referral).person_id == match.person_id
    assert [(cp.person_id, cp.role) for cp in CasePerson.select().where(CasePerson.case == case_id)] == [
        (match.person_id, "victim")]
    kept = PersonMatch.get_by_id(match.id)
    assert kept.status == "split" and kept.candidate_id == known.id
    trail = [e.action for e in AuditEvent.select().where(
        (AuditEvent.object_type == "personmatch") & (AuditEvent.object_id == str(match.id))).order_by(AuditEvent.id)]
    assert trail == ["person_match.propose", "person_match.confirm", "person_match.split"]
    with pytest.raises(people.MatchError):
        people.split_match(match.id, coordinator)


def test_split_keeps_the_known_person_in_an_open_case_they_were_already_in(app, coordinator):
    known = make_person("Max", "Alreadyopen", date_of_birth=date(1990, 5, 1))
    case = make_case(people=[(known, "victim")], status="listed")
    make_referral(people=[(known, "victim")], status="accepted", case=case, submitted_at=datetime(2026, 10, 1, 10))
    referral = submitted(entry("Max", "Alreadyopen"))
    match = PersonMatch.get(PersonMatch.referral == referral.id)
    people.confirm_match(match.id, coordinator)
    assert inbox.accept(referral.id, coordinator).case_id == case.id  # attached to the open case
    people.split_match(match.id, coordinator)
    assert {cp.person_id for cp in CasePerson.select().where(CasePerson.case == case)} == {known.id, match.person_id}


# --- routes ------------------------------------------------------------------------------------


def test_confirm_and_reject_through_the_page(client, sign_in, coordinator):
    make_person("Ada", "Lookalike", date_of_birth=date(1990, 5, 1))
    make_person("Bo", "Lookalike", date_of_birth=date(1991, 1, 1))
    referral = submitted(entry("Ada", "Lookalike"), entry("Bo", "Lookalike", dob="1991-01-01", role="perpetrator"))
    first, second = PersonMatch.select().where(PersonMatch.referral == referral.id).order_by(PersonMatch.id)
    sign_in(coordinator)
    page = client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert "Possible duplicate people" in page and f"/inbox/matches/{first.id}/confirm" in page
    r = client.post(f"/inbox/matches/{first.id}/confirm", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and 'id="referral-checks"' in body
    assert "Match confirmed" in body and f"/inbox/matches/{first.id}/split" in body
    r = client.post(f"/inbox/matches/{second.id}/reject")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/inbox/referrals/{referral.id}")
    assert [m.status for m in PersonMatch.select().order_by(PersonMatch.id)] == ["confirmed", "rejected"]
    # A decided match cannot be decided again: the message is shown, nothing changes.
    r = client.post(f"/inbox/matches/{second.id}/confirm", headers={"HX-Request": "true"})
    assert "already been decided" in r.get_data(as_text=True)
    assert PersonMatch.get_by_id(second.id).status == "rejected"


def test_split_has_a_confirmation_page(client, sign_in, coordinator):
    make_person("Lee", "Sameish", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("Lee", "Sameish"))
    match = PersonMatch.get(PersonMatch.referral == referral.id)
    people.confirm_match(match.id, coordinator)
    sign_in(coordinator)
    r = client.get(f"/inbox/matches/{match.id}/split")
    assert r.status_code == 200 and "Are these different people?" in r.get_data(as_text=True)
    assert PersonMatch.get_by_id(match.id).status == "confirmed"  # GET changes nothing
    r = client.post(f"/inbox/matches/{match.id}/split")
    assert r.status_code == 303 and PersonMatch.get_by_id(match.id).status == "split"


def test_match_routes_are_the_coordinators(client, sign_in, factory):
    make_person("Ada", "Lookalike", date_of_birth=date(1990, 5, 1))
    referral = submitted(entry("Ada", "Lookalike"))
    match = PersonMatch.get(PersonMatch.referral == referral.id)
    sign_in(factory.user(role="representative"))
    assert client.post(f"/inbox/matches/{match.id}/confirm").status_code == 403
    client.post("/logout")
    sign_in(make_user(role="coordinator"))
    assert client.post("/inbox/matches/99999/confirm").status_code == 404
    assert PersonMatch.get_by_id(match.id).status == "proposed"
