"""The coordinator's inbox: flags with their edges, QA routing, decisions, access, audit."""
import json
from datetime import date, datetime

import pytest
from marac_testing import make_agency, make_case, make_person, make_referral, make_user

from marac import inbox, settings
from marac.db import db
from marac.models import AuditEvent, Case, CasePerson, Listing, Meeting, Referral
from marac.risk import PanelRules

NOW = datetime(2026, 11, 2, 9, 0, 0)  # the fake_clock's time


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


def at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 10, 0)


def pair(victim_dob=date(1990, 5, 1)):
    return make_person("Dana", date_of_birth=victim_dob), make_person("Eli", date_of_birth=date(1988, 1, 2))


def accepted(victim, perpetrator, on: date, **kw):
    """An earlier referral of this pair, accepted to a (closed) case of its own."""
    people = [(victim, "victim")] + ([(perpetrator, "perpetrator")] if perpetrator else [])
    case = make_case(people=people, status=kw.pop("case_status", "closed"))
    return make_referral(people=people, status="accepted", submitted_at=at(on), case=case, **kw)


def new(victim, perpetrator=None, **kw):
    people = [(victim, "victim")] + ([(perpetrator, "perpetrator")] if perpetrator else [])
    return make_referral(people=people, submitted_at=kw.pop("submitted_at", NOW), **kw)


def flags(referral):
    return {f.key: f for f in inbox.build_items([Referral.get_by_id(referral.id)])[0].flags}


def set_rules(**changes):
    settings.set_many({"rules": {**PanelRules().to_dict(), **changes}})


def actions():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def last_audit(action):
    return AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id.desc()).first()


# --- repeat: the window and what does not count -------------------------------------------------


def test_repeat_at_exactly_twelve_months(app):
    v, p = pair()
    earlier = accepted(v, p, date(2025, 11, 2))
    found = flags(new(v, p))
    assert found["repeat"].referral_id == earlier.id
    assert "2 November 2025" in found["repeat"].text


def test_not_a_repeat_one_day_past_twelve_months(app):
    v, p = pair()
    earlier = accepted(v, p, date(2025, 11, 1))
    found = flags(new(v, p))
    assert "repeat" not in found
    assert found["previously_referred"].referral_id == earlier.id


def test_different_perpetrator_is_not_a_repeat_but_a_cross_link(app):
    v, p = pair()
    other = make_person("Finn", date_of_birth=date(1985, 3, 3))
    earlier = accepted(v, other, date(2026, 9, 1))
    found = flags(new(v, p))
    assert "repeat" not in found and "previously_referred" not in found
    link = found["same_victim_new_perpetrator"]
    assert link.referral_id == earlier.id and link.case_id == earlier.case_id


def test_same_perpetrator_with_a_new_victim_is_a_cross_link(app):
    v, p = pair()
    earlier_victim = make_person("Gale", date_of_birth=date(1992, 7, 7))
    earlier = accepted(earlier_victim, p, date(2026, 9, 1))
    found = flags(new(v, p))
    assert "repeat" not in found
    assert found["same_perpetrator_new_victim"].referral_id == earlier.id


def test_information_only_listing_does_not_count(app):
    v, p = pair()
    earlier = accepted(v, p, date(2026, 8, 1))
    meeting = Meeting.create(starts_at=datetime(2026, 8, 20, 9, 30), status="held")
    Listing.create(meeting=meeting, case=earlier.case_id, referral=earlier, kind="information")
    found = flags(new(v, p))
    assert "repeat" not in found
    assert "previously_referred" in found
    # The same earlier referral heard in full is a repeat.
    Listing.update(kind="full").execute()
    assert "repeat" in flags(new(v, p))


def test_declined_or_transferred_earlier_referrals_do_not_make_a_repeat(app):
    v, p = pair()
    make_referral(people=[(v, "victim"), (p, "perpetrator")], status="declined", submitted_at=at(date(2026, 10, 1)))
    make_referral(people=[(v, "victim"), (p, "perpetrator")], status="transferred", transfer_area="Riverside MARAC",
                  submitted_at=at(date(2026, 10, 2)))
    assert "repeat" not in flags(new(v, p))


def test_liverpool_three_month_switch(app):
    set_rules(repeat_any_incident_months=3)
    v, p = pair()
    accepted(v, p, date(2026, 8, 2))  # exactly 3 months before
    assert "repeat" in flags(new(v, p))


def test_liverpool_between_three_and_twelve_months_depends_on_the_incident(app):
    set_rules(repeat_any_incident_months=3)
    v, p = pair()
    earlier = accepted(v, p, date(2026, 8, 1))  # 3 months and a day
    unknown = flags(new(v, p))
    assert "repeat" not in unknown and unknown["possible_repeat"].referral_id == earlier.id
    serious = flags(new(v, p, data={"criteria": {"serious_incident": True}}))
    assert serious["repeat"].referral_id == earlier.id
    minor = flags(new(v, p, data={"criteria": {"serious_incident": False}}))
    assert "repeat" not in minor and "possible_repeat" not in minor


def test_window_anchored_on_the_last_hearing(app):
    v, p = pair()
    earlier = accepted(v, p, date(2025, 10, 1))  # 13 months ago
    meeting = Meeting.create(starts_at=datetime(2025, 12, 3, 9, 30), status="held")
    Listing.create(meeting=meeting, case=earlier.case_id, referral=earlier, kind="full")
    assert "repeat" not in flags(new(v, p))
    settings.set_many({"repeat_anchor": "hearing"})
    assert flags(new(v, p))["repeat"].referral_id == earlier.id


# --- the other flags -----------------------------------------------------------------------------


def test_already_open_at_this_panel(app):
    v, p = pair()
    earlier = accepted(v, None, date(2026, 6, 1), case_status="listed")
    found = flags(new(v, p))
    assert found["open_case"].case_id == earlier.case_id
    assert found["open_case"].referral_id == earlier.id
    Case.update(status="closed").execute()
    assert "open_case" not in flags(new(v, p))


@pytest.mark.parametrize("born, flagged", [(date(2010, 11, 2), False), (date(2010, 11, 3), True)])
def test_under_the_age_limit(app, born, flagged):
    # Referred on 2 November 2026: 16 on the day is old enough; a day younger is not.
    v = make_person("Hana", date_of_birth=born)
    assert ("under_age" in flags(new(v))) is flagged


def test_out_of_area(app):
    v, p = pair()
    referral = make_referral(people=[(v, "victim"), (p, "perpetrator")], submitted_at=NOW)
    data = json.loads(referral.data)
    data["people"][0]["lives_in_area"] = "no"
    Referral.update(data=json.dumps(data)).execute()
    assert "out_of_area" in flags(referral)


def test_out_of_area_by_postcode_prefix(app):
    settings.set_many({"borough_postcode_prefixes": ["AT1"]})
    inside = make_person("Ira", date_of_birth=date(1990, 1, 1), postcode="AT1 2BB")
    outside = make_person("Jo", date_of_birth=date(1990, 1, 1), postcode="ZZ9 9ZZ")
    assert "out_of_area" not in flags(new(inside))
    assert "out_of_area" in flags(new(outside))


def test_honour_based_violence_closed_session(app):
    v, p = pair()
    assert "closed session" in flags(new(v, p, closed_session=True))["hbv"].text
    assert "hbv" in flags(new(v, p, data={"criteria": {"honour_based_violence": True}}))
    assert "hbv" not in flags(new(v, p))


def test_flags_are_computed_in_a_fixed_number_of_queries(app, monkeypatch):
    def build(n):
        referrals = []
        for _ in range(n):
            v, p = pair()
            accepted(v, p, date(2026, 9, 1))
            referrals.append(new(v, p, professional_judgement=True, qa_status="pending"))
        return [r for r in inbox._referrals().where(Referral.id.in_([r.id for r in referrals]))]

    counted = []
    real = db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        counted.append(sql)
        return real(sql, *args, **kwargs)

    few, many = build(2), build(12)
    monkeypatch.setattr(db.obj, "execute_sql", counting)
    items = inbox.build_items(few)
    small = len(counted)
    counted.clear()
    items = inbox.build_items(many)
    assert len(counted) == small
    assert all(i.has("repeat") and i.has("awaiting_qa") for i in items)


# --- the page -----------------------------------------------------------------------------------


def test_inbox_lists_new_referrals_in_arrival_order(client, sign_in, coordinator):
    v, p = pair()
    second = new(v, p, submitted_at=datetime(2026, 11, 1, 12, 0))
    first = new(make_person("Kit", date_of_birth=date(1991, 2, 2)), submitted_at=datetime(2026, 10, 30, 12, 0))
    make_referral(people=[(make_person("Lee"), "victim")], status="draft")
    decided = new(make_person("Mo"), status="declined")
    sign_in(coordinator)
    r = client.get("/inbox/")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert body.index(f"Referral {first.id}<") < body.index(f"Referral {second.id}<")
    assert f"Referral {decided.id}<" not in body
    assert "2 referrals" in body
    assert last_audit("inbox.view").user_id == coordinator.id


def test_inbox_flags_link_to_the_earlier_referral(client, sign_in, coordinator):
    v, p = pair()
    earlier = accepted(v, p, date(2026, 9, 1))
    referral = new(v, p)
    sign_in(coordinator)
    assert "Repeat" in client.get("/inbox/").get_data(as_text=True)
    body = client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert f'href="/inbox/referrals/{earlier.id}"' in body
    assert last_audit("referral.view").object_id == str(referral.id)


def test_cross_links_link_to_the_earlier_referral_and_its_case(client, sign_in, coordinator):
    v, p = pair()
    earlier = accepted(v, make_person("Finn", date_of_birth=date(1985, 3, 3)), date(2026, 9, 1))
    referral = new(v, p)
    sign_in(coordinator)
    for url in (f"/inbox/referrals/{referral.id}", f"/inbox/referrals/{referral.id}/accept"):
        body = client.get(url).get_data(as_text=True)
        assert "Same victim, new perpetrator" in body and f'href="/inbox/referrals/{earlier.id}"' in body
        if "cases.show" in client.application.view_functions:
            assert f'href="/cases/{earlier.case_id}"' in body


def test_htmx_filter_gets_the_fragment(client, sign_in, coordinator):
    v, p = pair()
    pending = new(v, p, professional_judgement=True, qa_status="pending")
    plain = new(make_person("Ned"))
    sign_in(coordinator)
    r = client.get("/inbox/?show=qa", headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and 'id="inbox-queue"' in body
    assert f"Referral {pending.id}<" in body and f"Referral {plain.id}<" not in body
    assert "HX-Request" in r.headers["Vary"]


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["referrer", "representative", "observer"])
def test_only_coordinator_and_chair_see_the_inbox(client, sign_in, factory, role):
    referral = new(make_person("Ola"))
    sign_in(factory.user(role=role))
    assert client.get("/inbox/").status_code == 403
    assert client.get(f"/inbox/referrals/{referral.id}").status_code == 403
    assert client.post(f"/inbox/referrals/{referral.id}/accept").status_code == 403
    assert Referral.get_by_id(referral.id).status == "submitted"
    assert last_audit("access.denied") is not None


def test_the_referrers_own_referral_is_not_in_reach_through_the_inbox(client, sign_in):
    author = make_user(role="referrer")
    referral = new(make_person("Pat"), author=author)
    sign_in(author)
    assert client.get(f"/inbox/referrals/{referral.id}").status_code == 403
    assert client.post(f"/inbox/referrals/{referral.id}/decline",
                       data={"code": "other", "reason": "x"}).status_code == 403


def test_signed_out_goes_to_login(client):
    r = client.get("/inbox/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_drafts_and_unknown_referrals_are_404(client, sign_in, coordinator):
    draft = make_referral(people=[(make_person("Quinn"), "victim")], status="draft")
    sign_in(coordinator)
    assert client.get(f"/inbox/referrals/{draft.id}").status_code == 404
    assert client.get("/inbox/referrals/99999").status_code == 404
    denied = last_audit("access.denied")
    assert denied.object_type == "referral" and denied.object_id == "99999"


def test_chair_sees_only_police_referrals_routed_for_qa(client, sign_in, factory):
    police = make_agency(is_police=True)
    pj = dict(professional_judgement=True, qa_status="pending")
    police_ref = new(make_person("Rae"), author=make_user(role="referrer", agency=police), **pj)
    agency_ref = new(make_person("Sol"), **pj)
    ordinary = new(make_person("Tam"), author=make_user(role="referrer", agency=police))
    sign_in(factory.user(role="chair"))
    body = client.get("/inbox/").get_data(as_text=True)
    assert f"Referral {police_ref.id}<" in body
    assert f"Referral {agency_ref.id}<" not in body and f"Referral {ordinary.id}<" not in body
    assert client.get(f"/inbox/referrals/{police_ref.id}").status_code == 200
    assert client.get(f"/inbox/referrals/{agency_ref.id}").status_code == 404
    assert client.get(f"/inbox/referrals/{ordinary.id}").status_code == 404
    # The chair quality-assures; deciding the referral is the coordinator's.
    assert client.post(f"/inbox/referrals/{police_ref.id}/accept").status_code == 403


# --- quality assurance ---------------------------------------------------------------------------


def pj_referral(agency=None):
    author = make_user(role="referrer", agency=agency or make_agency())
    return new(make_person("Uma"), author=author, professional_judgement=True, qa_status="pending",
               threshold_met=True)


def test_police_professional_judgement_goes_to_the_chair(client, sign_in, factory, coordinator):
    referral = pj_referral(make_agency(is_police=True))
    chair = factory.user(role="chair")
    assert inbox.qa_route(referral) == "chair"
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/quality-assurance", data={"outcome": "accept"})
    assert r.status_code == 200 and "quality-assured by the chair" in r.get_data(as_text=True)
    assert Referral.get_by_id(referral.id).qa_status == "pending"
    client.post("/logout")
    sign_in(chair)
    r = client.post(f"/inbox/referrals/{referral.id}/quality-assurance", data={"outcome": "accept", "reason": "ok"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/")
    saved = Referral.get_by_id(referral.id)
    assert saved.qa_status == "accepted" and saved.qa_by_id == chair.id and saved.status == "submitted"
    event = last_audit("referral.qa_accept")
    assert json.loads(event.detail) == {"reason": "supported", "route": "chair"}


def test_agency_professional_judgement_goes_to_the_coordinator(client, sign_in, factory, coordinator):
    referral = pj_referral()
    assert inbox.qa_route(referral) == "coordinator"
    sign_in(factory.user(role="chair"))
    assert client.get(f"/inbox/referrals/{referral.id}/quality-assurance").status_code == 404
    client.post("/logout")
    sign_in(coordinator)
    assert "Quality-assure this referral" in client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    r = client.post(f"/inbox/referrals/{referral.id}/quality-assurance",
                    data={"outcome": "decline", "code": "pj_not_supported", "reason": "No risk identified yet."})
    assert r.status_code == 303
    saved = Referral.get_by_id(referral.id)
    assert (saved.status, saved.qa_status, saved.decision_reason) == ("declined", "declined", "No risk identified yet.")
    detail = json.loads(last_audit("referral.qa_decline").detail)
    assert detail == {"reason": "pj_not_supported", "route": "coordinator"}


def test_police_qa_by_the_coordinator_when_configured(app, coordinator):
    settings.set_many({"qa_police_by": "coordinator"})
    referral = pj_referral(make_agency(is_police=True))
    assert inbox.qa_route(referral) == "coordinator"
    inbox.quality_assure(referral.id, coordinator, "accept")
    assert Referral.get_by_id(referral.id).qa_status == "accepted"


def test_qa_decline_needs_a_reason(client, sign_in, coordinator):
    referral = pj_referral()
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/quality-assurance", data={"outcome": "decline"})
    assert r.status_code == 200 and "Explain the decision for the referrer" in r.get_data(as_text=True)
    assert Referral.get_by_id(referral.id).status == "submitted"


def test_accept_waits_for_quality_assurance(app, coordinator):
    referral = pj_referral()
    with pytest.raises(inbox.DecisionError, match="quality-assured first"):
        inbox.accept(referral.id, coordinator)
    inbox.quality_assure(referral.id, coordinator, "accept")
    saved = inbox.accept(referral.id, coordinator)
    assert saved.status == "accepted" and saved.decision_code == "quality_assured"


# --- decisions -----------------------------------------------------------------------------------


def test_accept_opens_a_numbered_case_with_the_referrals_people(client, sign_in, coordinator):
    v, p = pair()
    child = make_person("Vi", date_of_birth=date(2019, 4, 4))
    referral = make_referral(people=[(v, "victim"), (child, "child"), (p, "perpetrator")], submitted_at=NOW)
    other = new(make_person("Wyn"))
    sign_in(coordinator)
    assert client.get(f"/inbox/referrals/{referral.id}/accept").status_code == 200
    r = client.post(f"/inbox/referrals/{referral.id}/accept", data={})
    assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/")
    saved = Referral.get_by_id(referral.id)
    case = Case.get_by_id(saved.case_id)
    assert (saved.status, saved.decided_by_id, saved.decision_code) == ("accepted", coordinator.id, "threshold")
    assert case.number == "M-2026-0001" and case.status == "open" and not case.is_repeat
    assert {(cp.person_id, cp.role) for cp in CasePerson.select().where(CasePerson.case == case)} == {
        (v.id, "victim"), (child.id, "child"), (p.id, "perpetrator")}
    client.post(f"/inbox/referrals/{other.id}/accept")
    assert Case.get_by_id(Referral.get_by_id(other.id).case_id).number == "M-2026-0002"
    event = AuditEvent.get((AuditEvent.action == "referral.accept") & (AuditEvent.object_id == str(referral.id)))
    assert json.loads(event.detail)["reason"] == "threshold" and json.loads(event.detail)["case_id"] == case.id
    assert "case.open" in actions()


def test_a_repeat_is_accepted_whatever_its_score_and_marked(app, coordinator):
    v, p = pair()
    earlier = accepted(v, p, date(2026, 7, 1))
    referral = new(v, p, threshold_met=False, score_total=3)
    saved = inbox.accept(referral.id, coordinator)
    assert saved.is_repeat and saved.decision_code == "repeat"
    case = Case.get_by_id(saved.case_id)
    assert case.is_repeat and case.id != earlier.case_id
    assert json.loads(last_audit("referral.accept").detail)["repeat_of"] == earlier.id


def test_accept_attaches_to_the_victims_open_case(app, coordinator):
    v, p = pair()
    earlier = accepted(v, None, date(2026, 10, 1), case_status="listed")
    referral = new(v, p)
    cases_before = Case.select().count()
    saved = inbox.accept(referral.id, coordinator)
    assert saved.case_id == earlier.case_id and Case.select().count() == cases_before
    assert CasePerson.get_or_none(case=earlier.case_id, person=p.id, role="perpetrator") is not None
    assert json.loads(last_audit("referral.accept").detail)["attached"] is True
    assert "case.attach" in actions()


def test_accept_below_threshold_needs_the_coordinators_reason(client, sign_in, coordinator):
    referral = new(make_person("Xan"), threshold_met=False)
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/accept", data={"reason": ""})
    assert r.status_code == 200 and "meets no referral criterion" in r.get_data(as_text=True)
    assert Referral.get_by_id(referral.id).status == "submitted"
    r = client.post(f"/inbox/referrals/{referral.id}/accept", data={"reason": "Escalating pattern known to us."})
    assert r.status_code == 303
    saved = Referral.get_by_id(referral.id)
    assert saved.decision_code == "coordinator_judgement" and saved.decision_reason == "Escalating pattern known to us."


def test_decline_with_a_reason_the_referrer_sees(client, sign_in, coordinator):
    author = make_user(role="referrer")
    referral = new(make_person("Yas"), author=author)
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/decline", data={"code": "other_panel"})
    assert r.status_code == 200 and "Explain the decision for the referrer" in r.get_data(as_text=True)
    r = client.post(f"/inbox/referrals/{referral.id}/decline",
                    data={"code": "other_panel", "reason": "Already managed at MAPPA level 2."})
    assert r.status_code == 303
    saved = Referral.get_by_id(referral.id)
    assert (saved.status, saved.decision_code, saved.decision_reason) == (
        "declined", "other_panel", "Already managed at MAPPA level 2.")
    event = last_audit("referral.decline")
    assert json.loads(event.detail) == {"reason": "other_panel"}
    assert "MAPPA" not in event.detail  # free text stays out of the append-only log
    client.post("/logout")
    sign_in(author)
    if "referrals.show" in client.application.view_functions:  # issue 3's "My referrals" pages
        mine = client.get(f"/referrals/{referral.id}")
        assert mine.status_code == 200 and "Already managed at MAPPA level 2." in mine.get_data(as_text=True)


def test_return_to_referrer_with_a_comment(app, coordinator):
    referral = new(make_person("Zed"))
    saved = inbox.return_to_referrer(referral.id, coordinator, "Please add the children's schools.")
    assert (saved.status, saved.coordinator_comment) == ("returned", "Please add the children's schools.")
    assert json.loads(last_audit("referral.return").detail) == {"reason": "more_information"}


def test_transfer_to_another_marac(client, sign_in, coordinator):
    referral = new(make_person("Abe"))
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/transfer", data={"area": "Riverside MARAC"})
    assert r.status_code == 303
    saved = Referral.get_by_id(referral.id)
    assert (saved.status, saved.transfer_area) == ("transferred", "Riverside MARAC")
    detail = json.loads(last_audit("referral.transfer_out").detail)
    assert detail == {"reason": "other_marac", "area": "Riverside MARAC"}


def test_a_decided_referral_cannot_be_decided_again(client, sign_in, coordinator):
    referral = new(make_person("Bea"))
    inbox.decline(referral.id, coordinator, "below_threshold", "Score 4.")
    with pytest.raises(inbox.DecisionError, match="already been dealt with"):
        inbox.accept(referral.id, coordinator)
    sign_in(coordinator)
    r = client.post(f"/inbox/referrals/{referral.id}/accept", data={"reason": "x"})
    assert r.status_code == 200 and "already been dealt with" in r.get_data(as_text=True)
    assert Referral.get_by_id(referral.id).status == "declined"
    for url in (f"/inbox/referrals/{referral.id}/accept", f"/inbox/referrals/{referral.id}/quality-assurance"):
        r = client.get(url)
        assert r.status_code == 303 and r.headers["Location"].endswith(f"/inbox/referrals/{referral.id}")
    page = client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert "Declined on" in page and "Does not meet the panel&#39;s threshold" in page and "Score 4." in page


def test_extra_fields_change_nothing(client, sign_in, coordinator):
    referral = new(make_person("Cy"))
    sign_in(coordinator)
    client.post(f"/inbox/referrals/{referral.id}/decline",
                data={"code": "other", "reason": "r", "status": "accepted", "case_id": "1", "decided_by": "999"})
    saved = Referral.get_by_id(referral.id)
    assert saved.status == "declined" and saved.case_id is None and saved.decided_by_id == coordinator.id


def test_repeated_declines_are_counted_per_referrer_and_agency(client, sign_in, coordinator):
    agency = make_agency("Fictional Outreach Service")
    author = make_user(role="referrer", agency=agency, name="Robin Referrer")
    for _ in range(2):
        inbox.decline(new(make_person("Dee"), author=author, professional_judgement=True).id, coordinator,
                      "pj_not_supported", "Not supported.")
    once = make_user(role="referrer", name="Single Decline")
    inbox.decline(new(make_person("Ed"), author=once).id, coordinator, "other", "No.")
    counts = inbox.decline_counts()
    assert [(r["name"], r["declines"], r["pj_declines"]) for r in counts["referrers"]] == [("Robin Referrer", 2, 2)]
    assert [(a["name"], a["declines"]) for a in counts["agencies"]] == [("Fictional Outreach Service", 2)]
    sign_in(coordinator)
    body = client.get("/inbox/").get_data(as_text=True)
    assert "Repeated declines" in body and "Robin Referrer" in body and "Single Decline" not in body


# --- transfers in ---------------------------------------------------------------------------------


def test_record_a_transfer_from_another_marac(client, sign_in, coordinator):
    sign_in(coordinator)
    assert client.get("/inbox/transfers/new").status_code == 200
    r = client.post("/inbox/transfers/new", data={
        "area": "Riverside MARAC", "received_on": ["30", "10", "2026"],
        "summary": "Victim moved into a refuge in this borough.", "victim_given_name": "Ffion",
        "victim_family_name": "Fictional", "victim_date_of_birth": ["1", "2", "1993"],
        "victim_postcode": "at1 1aa", "perpetrator_given_name": "Gus",
        "perpetrator_family_name": "Madeup"})
    assert r.status_code == 303
    referral = Referral.select().order_by(Referral.id.desc()).get()
    assert (referral.source, referral.status, referral.transfer_area) == ("transfer_in", "submitted", "Riverside MARAC")
    assert sorted(link.role for link in referral.people) == ["perpetrator", "victim"]
    assert last_audit("referral.transfer_in").object_id == str(referral.id)
    body = client.get("/inbox/").get_data(as_text=True)
    assert f"Referral {referral.id}<" in body and "Transfer from Riverside MARAC" in body
    page = client.get(f"/inbox/referrals/{referral.id}").get_data(as_text=True)
    assert "Victim moved into a refuge" in page
    assert inbox.accept(referral.id, coordinator).decision_code == "transfer_in"


def test_transfer_form_errors(client, sign_in, coordinator):
    sign_in(coordinator)
    r = client.post("/inbox/transfers/new", data={"area": ""})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "govuk-error-summary" in body and "Enter the MARAC the case came from" in body
    assert Referral.select().count() == 0
