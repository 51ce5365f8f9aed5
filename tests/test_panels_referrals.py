"""Panels (issue 12) for referrals, the inbox and people matching: each panel's inbox, matches, repeats,
open cases and decisions are its own; another panel's referral is a 404 on every referral and inbox route.

Panel A is the install's own (the first panel), panel B a second one. Most rows of B are made inside
`with panels.using(B)`, so that they land in B by default as a B user's would. Fictional data only.
"""
from datetime import date, datetime

import pytest
from marac_testing import make_agency, make_case, make_person, make_referral, make_user
from test_referrals import DASH_14, fill, start
from test_referrals import _routes as _referral_routes  # every referral route of one referral

from marac import inbox, panels, people
from marac.db import db
from marac.models import (
    AuditEvent,
    Case,
    CasePerson,
    Panel,
    Person,
    PersonMatch,
    Referral,
    ReferralPerson,
    UserPanel,
)
from marac.risk import DASH

NOW = datetime(2026, 11, 2, 9, 0, 0)  # the fake_clock's time
DOB = date(1990, 5, 1)


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


@pytest.fixture
def two(app):
    """(A, B): the install's own panel and a second one."""
    return Panel.get_by_id(panels.default_panel_id()), Panel.create(name="Northshire West MARAC")


def pair(family="Samename"):
    """A victim (with a date of birth) and a perpetrator, in the panel in view."""
    return (make_person("Dana", family, date_of_birth=DOB, postcode="ZZ1 1ZZ"),
            make_person("Eli", family, date_of_birth=date(1988, 1, 2)))


def accepted(victim, perpetrator, on: date, **kw):
    """An earlier referral of this pair, accepted to a closed case of its own (in the panel in view)."""
    people_ = [(victim, "victim"), (perpetrator, "perpetrator")]
    case = make_case(people=people_, status=kw.pop("case_status", "closed"))
    return make_referral(people=people_, status="accepted", submitted_at=datetime(on.year, on.month, on.day, 10),
                         case=case, **kw)


def new(victim, perpetrator=None, **kw):
    people_ = [(victim, "victim")] + ([(perpetrator, "perpetrator")] if perpetrator else [])
    return make_referral(people=people_, submitted_at=kw.pop("submitted_at", NOW), **kw)


def submitted(*entries, **kw):
    """A submitted referral whose people are linked and matched as submit() does it."""
    referral = make_referral(data={"people": list(entries)}, submitted_at=NOW, **kw)
    with db.atomic():
        people.link_referral_people(referral)
    return Referral.get_by_id(referral.id)


def entry(given, family, dob="1990-05-01", role="victim", **kw):
    return {"role": role, "given_name": given, "family_name": family, "date_of_birth": dob, **kw}


def flags(referral):
    with panels.using(referral.panel_id):
        return {f.key: f for f in inbox.build_items([Referral.get_by_id(referral.id)])[0].flags}


def denials():
    return AuditEvent.select().where(AuditEvent.action == "access.denied").count()


# --- the inbox ---------------------------------------------------------------------------------------


def test_the_inbox_of_a_panel_never_lists_another_panels_referrals(two, client, sign_in):
    a, b = two
    police = make_agency(is_police=True)
    pj = dict(professional_judgement=True, qa_status="pending")
    ref_a = new(make_person("Ava", "Alphaside"), author=make_user(role="referrer", agency=police), **pj)
    coordinator_a, chair_a = make_user(role="coordinator"), make_user(role="chair")
    with panels.using(b.id):
        ref_b = new(make_person("Bea", "Betaside"), author=make_user(role="referrer", agency=police), **pj)
        coordinator_b = make_user(role="coordinator")
    assert (ref_a.panel_id, ref_b.panel_id, coordinator_b.panel_id) == (a.id, b.id, b.id)

    for user, mine, theirs in ((coordinator_a, ref_a, ref_b), (chair_a, ref_a, ref_b), (coordinator_b, ref_b, ref_a)):
        sign_in(user)
        for show in ("all", "qa", "linked"):
            body = client.get(f"/inbox/?show={show}").get_data(as_text=True)
            assert f"Referral {theirs.id}<" not in body, (user.role, show)
            assert ("Betaside" if theirs is ref_b else "Alphaside") not in body
        assert f"Referral {mine.id}<" in client.get("/inbox/").get_data(as_text=True)
        client.post("/logout")

    # The service itself: each panel's queue, whoever asks.
    with panels.using(a.id):
        assert [i.referral.id for i in inbox.queue(coordinator_a)] == [ref_a.id]
    with panels.using(b.id):
        assert [i.referral.id for i in inbox.queue(coordinator_a)] == [ref_b.id]
        assert [i.referral.id for i in inbox.queue(chair_a, "qa")] == [ref_b.id]


def test_a_coordinator_of_two_panels_sees_the_inbox_of_the_panel_in_view(two, client, sign_in):
    a, b = two
    ref_a = new(make_person("Ava", "Alphaside"))
    with panels.using(b.id):
        ref_b = new(make_person("Bea", "Betaside"))
    coordinator = make_user(role="coordinator")
    UserPanel.create(user=coordinator, panel=b)
    sign_in(coordinator)
    body = client.get("/inbox/").get_data(as_text=True)
    assert f"Referral {ref_a.id}<" in body and f"Referral {ref_b.id}<" not in body
    assert client.post("/panel", data={"panel": str(b.id)}).status_code == 302
    body = client.get("/inbox/").get_data(as_text=True)
    assert f"Referral {ref_b.id}<" in body and f"Referral {ref_a.id}<" not in body
    assert client.get(f"/inbox/referrals/{ref_b.id}").status_code == 200
    assert client.get(f"/inbox/referrals/{ref_a.id}").status_code == 404


def test_declines_are_counted_per_panel(two):
    _a, b = two
    decided = dict(status="declined", decided_at=datetime(2026, 10, 1, 10, 0))
    author_a = make_user(role="referrer")
    for _ in range(2):
        new(make_person("Ava"), author=author_a, **decided)
    with panels.using(b.id):
        author_b = make_user(role="referrer")
        for _ in range(3):
            new(make_person("Bea"), author=author_b, **decided)
        counts_b = inbox.decline_counts()
    counts_a = inbox.decline_counts()
    assert [(r["id"], r["declines"]) for r in counts_a["referrers"]] == [(author_a.id, 2)]
    assert [(r["id"], r["declines"]) for r in counts_b["referrers"]] == [(author_b.id, 3)]
    assert [r["declines"] for r in counts_a["agencies"]] == [2]


# --- matching people ------------------------------------------------------------------------------------


def test_a_match_is_never_proposed_across_panels(two):
    _a, b = two
    with panels.using(b.id):
        known_b = make_person("Zoe", "Oneil", date_of_birth=DOB, postcode="ZZ1 1ZZ")
    referral_a = submitted(entry("Zoe", "Oneil", postcode="ZZ1 1ZZ"))
    assert PersonMatch.select().where(PersonMatch.referral == referral_a.id).count() == 0
    assert "duplicate_person" not in flags(referral_a)
    # The referral's own people are A's, made while A is in view.
    linked = Person.select().join(ReferralPerson).where(ReferralPerson.referral == referral_a.id)
    assert {p.panel_id for p in linked} == {referral_a.panel_id}

    # The same referral at B is matched to B's person (the rule still works inside a panel).
    with panels.using(b.id):
        referral_b = submitted(entry("Zoe", "Oneil", postcode="ZZ1 1ZZ"))
    assert [(m.candidate_id, m.reason) for m in PersonMatch.select().where(PersonMatch.referral == referral_b.id)] \
        == [(known_b.id, "name_dob,dob_postcode")]
    # ... and a later referral at A now is matched to A's first one only, never to B's.
    again_a = submitted(entry("Zoe", "Oneil", postcode="ZZ1 1ZZ"))
    candidates = [m.candidate_id for m in PersonMatch.select().where(PersonMatch.referral == again_a.id)]
    first_a = ReferralPerson.get(ReferralPerson.referral == referral_a.id).person_id
    assert candidates == [first_a]


def test_a_referral_of_another_panel_has_its_people_made_in_its_own_panel(two):
    """Linking is done in the referral's panel whatever the panel in view (a job, a command)."""
    _a, b = two
    with panels.using(b.id):
        referral = make_referral(data={"people": [entry("Bea", "Betaside")]}, submitted_at=NOW)
    with db.atomic():  # panel A in view
        people.link_referral_people(referral)
    linked = Person.select().join(ReferralPerson).where(ReferralPerson.referral == referral.id)
    assert [p.panel_id for p in linked] == [b.id]


def test_a_proposal_naming_another_panels_person_is_never_shown_or_confirmed(two, client, sign_in, coordinator):
    """A hand-made or imported proposal across panels: hidden from the inbox, its routes 404, no merge."""
    _a, b = two
    person_a = make_person("Ava", "Alphaside", date_of_birth=DOB)
    referral = new(person_a)
    with panels.using(b.id):
        person_b = make_person("Ava", "Alphaside", date_of_birth=DOB, postcode="NB9 9BB")
    match = PersonMatch.create(person=person_a, candidate=person_b, referral=referral, reason="name_dob")
    with pytest.raises(people.MatchError, match="different panels"):
        people.confirm_match(match.id, coordinator)

    sign_in(coordinator)
    page = client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert "NB9 9BB" not in page and "Possible duplicate person" not in page
    assert inbox.matches_for(referral) == []
    count = denials()
    for method, url in _match_routes(match.id):
        assert getattr(client, method)(url).status_code == 404, url
    assert denials() - count == len(_match_routes(match.id))
    assert ReferralPerson.get(ReferralPerson.referral == referral.id).person_id == person_a.id
    assert PersonMatch.get_by_id(match.id).status == "proposed"
    # The same proposal between two of A's people is shown and can be confirmed (so the panel is what decides).
    Person.update(panel=person_a.panel_id).where(Person.id == person_b.id).execute()
    assert "Possible duplicate person" in client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert client.post(f"/inbox/matches/{match.id}/confirm").status_code == 303
    assert ReferralPerson.get(ReferralPerson.referral == referral.id).person_id == person_b.id


# --- repeats and open cases --------------------------------------------------------------------------------


def test_a_repeat_is_detected_only_in_the_same_panel(two):
    _a, b = two
    # B heard the same names and dates of birth last month: different people records, not a repeat at A.
    with panels.using(b.id):
        vb, pb = pair()
        accepted(vb, pb, date(2026, 10, 1))
    va, pa = pair()
    referral = new(va, pa)
    found = flags(referral)
    assert not {"repeat", "previously_referred", "same_victim_new_perpetrator",
                "same_perpetrator_new_victim", "open_case"} & set(found)

    # Even a B referral naming A's very records (a bad import, a hand-made row) is no repeat at A...
    with panels.using(b.id):
        earlier = accepted(va, pa, date(2026, 10, 1))
    found = flags(referral)
    assert "repeat" not in found and "previously_referred" not in found
    links = list(ReferralPerson.select().where(ReferralPerson.referral == referral.id))
    assert people.previous_referrals(referral, links) == []
    # ... while the same earlier referral at A is one (so the panel is what decides).
    Referral.update(panel=referral.panel_id).where(Referral.id == earlier.id).execute()
    assert flags(referral)["repeat"].referral_id == earlier.id
    assert [p.victim_id for p in people.previous_referrals(referral, links)] == [va.id]


def test_an_open_case_at_another_panel_is_not_already_open_here(two, coordinator):
    a, b = two
    victim = make_person("Ava", "Alphaside", date_of_birth=DOB)
    with panels.using(b.id):
        case_b = make_case(status="open", opened_at=NOW)
    CasePerson.create(case=case_b, person=victim, role="victim")  # A's record in B's case: never followed
    referral = new(victim)
    assert "open_case" not in flags(referral)
    saved = inbox.accept(referral.id, coordinator)
    assert saved.case_id != case_b.id and Case.get_by_id(saved.case_id).panel_id == a.id

    # The same case at A would be "already open" (so the panel is what decides).
    cy = make_person("Cy", "Alphaside", date_of_birth=DOB)
    other = new(cy)
    Case.update(panel=a.id).where(Case.id == case_b.id).execute()
    CasePerson.create(case=case_b, person=cy, role="victim")
    assert flags(other)["open_case"].case_id == case_b.id


# --- deciding ----------------------------------------------------------------------------------------------


def test_accepting_creates_the_case_and_its_people_in_the_referrals_panel(two, client, sign_in):
    _a, b = two
    with panels.using(b.id):
        coordinator_b = make_user(role="coordinator")
        victim, perpetrator = pair("Betaside")
        referral = new(victim, perpetrator)
    sign_in(coordinator_b)
    assert client.post(f"/inbox/referrals/{referral.id}/accept").status_code == 303
    saved = Referral.get_by_id(referral.id)
    case = Case.get_by_id(saved.case_id)
    assert saved.status == "accepted" and case.panel_id == b.id
    in_case = Person.select().join(CasePerson).where(CasePerson.case == case.id)
    assert sorted((p.id, p.panel_id) for p in in_case) == sorted([(victim.id, b.id), (perpetrator.id, b.id)])
    opened = AuditEvent.select().where(AuditEvent.action == "case.open").get()
    assert opened.object_id == str(case.id)


def test_a_decision_is_made_only_in_the_referrals_panel(two, coordinator):
    _a, b = two
    with panels.using(b.id):
        referral = new(make_person("Bea", "Betaside"))
    for decide in (lambda: inbox.accept(referral.id, coordinator),
                   lambda: inbox.decline(referral.id, coordinator, "other", "A reason."),
                   lambda: inbox.return_to_referrer(referral.id, coordinator, "More, please."),
                   lambda: inbox.transfer_out(referral.id, coordinator, "Elsewhere MARAC")):
        with pytest.raises(inbox.DecisionError, match="no such referral at this panel"):
            decide()  # panel A in view
    assert Referral.get_by_id(referral.id).status == "submitted"
    assert Case.select().count() == 0
    with panels.using(b.id):
        assert inbox.accept(referral.id, coordinator).status == "accepted"


def test_the_same_people_referred_to_two_panels_through_the_form(two, client, sign_in):
    """End to end: the same pair sent to A then to B through the referral form; B sees no match and no
    repeat, opens its own case; a second referral to B matches B's first only and is a repeat at B."""
    a, b = two
    coordinator_a, referrer_a = make_user(role="coordinator"), make_user(role="referrer")
    with panels.using(b.id):
        coordinator_b, referrer_b = make_user(role="coordinator"), make_user(role="referrer")

    def send(referrer, coordinator, accept=True):
        sign_in(referrer)
        rid = start(client)
        fill(client, rid, yes_ids=DASH_14)
        assert client.post(f"/referrals/{rid}/submit").status_code == 302
        client.post("/logout")
        sign_in(coordinator)
        page = client.get(f"/inbox/referrals/{rid}").get_data(as_text=True)
        if accept:
            assert client.post(f"/inbox/referrals/{rid}/accept").status_code == 303
        client.post("/logout")
        return Referral.get_by_id(rid), page

    first_a, _ = send(referrer_a, coordinator_a)
    first_b, page = send(referrer_b, coordinator_b)
    assert (first_a.panel_id, first_b.panel_id) == (a.id, b.id)
    assert "Possible duplicate person" not in page and "Repeat" not in page and "Already open" not in page
    assert PersonMatch.select().where(PersonMatch.referral == first_b.id).count() == 0
    case_b = Case.get_by_id(first_b.case_id)
    assert case_b.panel_id == b.id and case_b.id != first_a.case_id and not case_b.is_repeat

    second_b, page = send(referrer_b, coordinator_b, accept=False)
    matches = list(PersonMatch.select().where(PersonMatch.referral == second_b.id))
    b_people = {link.person_id for link in ReferralPerson.select().where(ReferralPerson.referral == first_b.id)}
    assert matches and {m.candidate_id for m in matches} <= b_people
    sign_in(coordinator_b)
    for match in matches:
        assert client.post(f"/inbox/matches/{match.id}/confirm").status_code == 303
    page = client.get(f"/inbox/referrals/{second_b.id}").get_data(as_text=True)
    assert "Repeat: the same victim and perpetrator" in page
    assert f'href="/inbox/referrals/{first_b.id}"' in page and f'href="/inbox/referrals/{first_a.id}"' not in page
    assert client.post(f"/inbox/referrals/{second_b.id}/accept").status_code == 303
    assert Referral.get_by_id(second_b.id).case_id == case_b.id  # attached to B's open case, not A's


# --- another panel's referral is a 404 ----------------------------------------------------------------


def _inbox_routes(rid):
    routes = [("get", f"/inbox/referrals/{rid}"), ("get", f"/inbox/referrals/{rid}/quality-assurance"),
              ("post", f"/inbox/referrals/{rid}/quality-assurance")]
    for outcome in ("accept", "decline", "return", "transfer"):
        routes += [("get", f"/inbox/referrals/{rid}/{outcome}"), ("post", f"/inbox/referrals/{rid}/{outcome}")]
    return routes


def _match_routes(mid):
    return [("post", f"/inbox/matches/{mid}/confirm"), ("post", f"/inbox/matches/{mid}/reject"),
            ("get", f"/inbox/matches/{mid}/split"), ("post", f"/inbox/matches/{mid}/split")]


def _coordinator_only(url):
    return "/matches/" in url or url.rsplit("/", 1)[1] in ("accept", "decline", "return", "transfer")


POSTED = {"status": "given", "outcome": "accept", "reason": "A reason.", "code": "other", "comment": "More.",
          "area": "Elsewhere MARAC", "amend_reason": "A reason.", "given_name": "Changed"}


@pytest.fixture
def b_world(two):
    """B's referrals: a draft, a submitted one with a proposed match, a police one awaiting the chair's QA,
    and the author of the draft (a referrer of A granted B, who wrote it while B was in view)."""
    _a, b = two
    police = make_agency(is_police=True)
    author = make_user(role="referrer")
    UserPanel.create(user=author, panel=b)
    with panels.using(b.id):
        make_person("Bea", "Betaside", date_of_birth=DOB)
        draft = make_referral(author=author, status="draft", data={"people": [entry("Bea", "Betaside")]},
                              instrument_id=DASH.id)
        sent = submitted(entry("Bea", "Betaside"), author=author)
        qa = new(make_person("Bo", "Betaside"), author=make_user(role="referrer", agency=police),
                 professional_judgement=True, qa_status="pending")
    match = PersonMatch.get(PersonMatch.referral == sent.id)
    return {"panel": b, "author": author, "draft": draft, "sent": sent, "qa": qa, "match": match}


@pytest.mark.parametrize("role", ["coordinator", "chair"])
def test_panel_a_coordinator_and_chair_get_404_for_panel_b_referrals_on_every_route(b_world, client, sign_in,
                                                                                  role):
    sign_in(make_user(role=role))
    before = [(r.id, r.status, r.qa_status, r.data, r.updated_at) for r in Referral.select().order_by(Referral.id)]
    routes = [route for key in ("draft", "sent", "qa")
              for route in _referral_routes(b_world[key].id) + _inbox_routes(b_world[key].id)]
    routes += _match_routes(b_world["match"].id)
    count = denials()
    for method, url in routes:
        response = getattr(client, method)(url, data=POSTED) if method == "post" else client.get(url)
        # The chair's answer on the coordinator's own routes (decisions, matches) is 403 for any id.
        expected = 403 if role == "chair" and _coordinator_only(url) else 404
        assert response.status_code == expected, (role, method, url, response.status_code)
        assert "Betaside" not in response.get_data(as_text=True)
    assert denials() - count == len(routes)  # every refusal audited
    after = [(r.id, r.status, r.qa_status, r.data, r.updated_at) for r in Referral.select().order_by(Referral.id)]
    assert after == before
    assert PersonMatch.get_by_id(b_world["match"].id).status == "proposed"
    for show in ("all", "qa"):
        assert "Betaside" not in client.get(f"/inbox/?show={show}").get_data(as_text=True)
    assert "Betaside" not in client.get("/referrals/").get_data(as_text=True)


def test_a_referrer_sees_their_panel_b_referrals_only_while_b_is_in_view(b_world, client, sign_in):
    author, b = b_world["author"], b_world["panel"]
    sign_in(author)
    for key in ("draft", "sent"):
        for method, url in _referral_routes(b_world[key].id):
            response = getattr(client, method)(url, data=POSTED) if method == "post" else client.get(url)
            assert response.status_code == 404, (method, url)
    listed = client.get("/referrals/").get_data(as_text=True)
    assert f"Referral {b_world['draft'].id}<" not in listed and f"Referral {b_world['sent'].id}<" not in listed

    assert client.post("/panel", data={"panel": str(b.id)}).status_code == 302
    assert client.get(f"/referrals/{b_world['draft'].id}/tasks").status_code == 200
    assert client.get(f"/referrals/{b_world['sent'].id}").status_code == 200
    listed = client.get("/referrals/").get_data(as_text=True)
    assert f"Referral {b_world['sent'].id}<" in listed and f"Referral {b_world['draft'].id}<" in listed


def test_a_new_referral_goes_to_the_panel_in_view(b_world, client, sign_in):
    author, b = b_world["author"], b_world["panel"]
    sign_in(author)
    in_a = start(client)
    assert client.post("/panel", data={"panel": str(b.id)}).status_code == 302
    in_b = start(client)
    assert (Referral.get_by_id(in_a).panel_id, Referral.get_by_id(in_b).panel_id) == (author.panel_id, b.id)
    assert author.panel_id != b.id
    assert f"Referral {in_b}<" in client.get("/referrals/").get_data(as_text=True)


def test_a_transfer_in_is_recorded_in_the_panel_in_view_with_its_people(two, client, sign_in):
    _a, b = two
    with panels.using(b.id):
        coordinator_b = make_user(role="coordinator")
        known_b = make_person("Bea", "Betaside", date_of_birth=DOB)
    make_person("Bea", "Betaside", date_of_birth=DOB)  # A's namesake: never proposed at B
    sign_in(coordinator_b)
    r = client.post("/inbox/transfers/new", data={
        "area": "Riverside MARAC", "received_on": ["30", "10", "2026"], "summary": "Moved into Bshire.",
        "victim_given_name": "Bea", "victim_family_name": "Betaside", "victim_date_of_birth": ["1", "5", "1990"]})
    assert r.status_code == 303
    referral = Referral.select().order_by(Referral.id.desc()).get()
    assert (referral.source, referral.panel_id) == ("transfer_in", b.id)
    linked = Person.select().join(ReferralPerson).where(ReferralPerson.referral == referral.id)
    assert [p.panel_id for p in linked] == [b.id]
    assert [m.candidate_id for m in PersonMatch.select().where(PersonMatch.referral == referral.id)] == [known_b.id]
    assert f"Referral {referral.id}<" in client.get("/inbox/").get_data(as_text=True)
