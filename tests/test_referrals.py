"""The referral form: drafts, validation, the live score, submission, access, amendments, audit.

Every name, date and address here is invented.
"""
import json
from datetime import date

import pytest
from marac_testing import login

from marac import people, referrals, settings
from marac.models import AuditEvent, Person, PersonAlias, Referral, ReferralAmendment, ReferralPerson
from marac.risk import DASH, MERIT

TODAY = date(2026, 11, 2)  # fake_clock


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


@pytest.fixture
def referrer(factory):
    return factory.user(role="referrer", name="Robin Referrer")


def audit_actions(object_id=None):
    query = AuditEvent.select().order_by(AuditEvent.id)
    if object_id is not None:
        query = query.where((AuditEvent.object_type == "referral") & (AuditEvent.object_id == str(object_id)))
    return [e.action for e in query]


def start(client) -> int:
    r = client.post("/referrals/new")
    assert r.status_code == 302
    return int(r.headers["Location"].split("/")[2])


SECTIONS = {
    "person": {"given_name": "Ada", "family_name": "Testwood", "aliases": "Addy Testwood",
               "date_of_birth": ["7", "3", "1990"], "address": "1 Fictional Row\nAnytown", "postcode": "ZZ1 1ZZ",
               "lives_in_area": "yes"},
    "children": {"has_children": "no"},
    "perpetrators": {"perpetrators-0-given_name": "Bram", "perpetrators-0-family_name": "Examplesson",
                     "perpetrators-0-date_of_birth": ["", "", ""], "perpetrators-0-address": "",
                     "perpetrators-0-postcode": ""},
    "equality": {"people-0-sex": "female", "people-0-gender_identity": "same",
                 "people-0-sexual_orientation": "not_known", "people-0-ethnicity": "not_known",
                 "people-0-disability": "no"},
    "contact": {"phone": "00000 000000", "times": "Mornings", "safe_to_post": "no"},
    "consent": {"status": "given"},
    "barriers": {"interpreter": "no"},
    "incident": {"date": ["1", "10", "2026"], "description": "A fictional incident for a test."},
    "risk": {"current_risk": "Fictional risk.", "actions_taken": "Fictional safety plan."},
}


def checklist_post(instrument, yes_ids=(), rest="no", **extra):
    data = {f"item{i}": ("yes" if item.id in yes_ids else rest) for i, item in enumerate(instrument.items)}
    data = {k: v for k, v in data.items() if v}
    data.update(extra)
    return data


def fill(client, rid, instrument=DASH, yes_ids=(), skip=(), **overrides):
    for slug, data in SECTIONS.items():
        if slug in skip:
            continue
        data = {**data, **overrides.get(slug, {})}
        r = client.post(f"/referrals/{rid}/section/{slug}", data=data)
        assert r.status_code == 302, (slug, r.get_data(as_text=True)[:500])
    if "checklist" not in skip:
        r = client.post(f"/referrals/{rid}/section/checklist",
                        data=checklist_post(instrument, yes_ids, **overrides.get("checklist", {})))
        assert r.status_code == 302


DASH_14 = [item.id for item in DASH.items[:14]]
# 2 Breakdown, 4 Social, 9 Violence: 2 x 4 x 9 = 72, GOLD.
MERIT_72 = ["q1", "q2", "q7", "q8", "q9", "q10"] + [f"q{n}" for n in range(22, 31)]


# --- people.py ------------------------------------------------------------------------------------


def test_name_key_is_forgiving():
    assert people.name_key("Zoë", "O'Brien-Smith") == people.name_key("zoe", "obrien smith") == "zoeobriensmith"
    assert people.name_key(" Ann  Marie ", "") == "annmarie"
    assert people.postcode_key(" zz1 1zz ") == "ZZ11ZZ"
    assert people.outward_code("ig11 7ab") == "IG11" and people.outward_code("AB") == ""


# --- starting and saving a draft ----------------------------------------------------------------------


def test_observer_cannot_start_a_referral(client, factory, sign_in):
    sign_in(factory.user(role="observer"))
    assert client.get("/referrals/").status_code == 403
    assert client.post("/referrals/new").status_code == 403


def test_start_page_then_draft_with_audit(client, referrer, sign_in):
    sign_in(referrer)
    page = client.get("/referrals/new")
    assert page.status_code == 200 and b"Start referral" in page.data
    assert Referral.select().count() == 0  # GET changes nothing
    rid = start(client)
    referral = Referral.get_by_id(rid)
    assert referral.status == "draft" and referral.author_id == referrer.id and referral.instrument_id == "dash"
    assert audit_actions(rid) == ["referral.create"]
    tasks = client.get(f"/referrals/{rid}/tasks")
    assert tasks.status_code == 200 and b"Not yet started" in tasks.data and b"govuk-task-list" in tasks.data
    assert audit_actions(rid)[-1] == "referral.view"


def test_section_saves_and_continues(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    r = client.post(f"/referrals/{rid}/section/person", data=SECTIONS["person"])
    assert r.status_code == 302 and r.headers["Location"] == f"/referrals/{rid}/section/children"
    main = referrals.main_person(referrals.load(Referral.get_by_id(rid)))
    assert main["given_name"] == "Ada" and main["date_of_birth"] == "1990-03-07" and main["role"] == "victim"
    assert main["address"] == "1 Fictional Row\nAnytown" and main["ref"]
    r = client.post(f"/referrals/{rid}/section/consent", data={"status": "given", "action": "tasks"})
    assert r.headers["Location"] == f"/referrals/{rid}/tasks"
    assert audit_actions(rid).count("referral.save") == 2
    detail = AuditEvent.select().where(AuditEvent.action == "referral.save").order_by(AuditEvent.id).first().detail
    assert json.loads(detail) == {"section": "person"}  # no personal data in the audit row
    tasks = client.get(f"/referrals/{rid}/tasks").get_data(as_text=True)
    assert "Completed" in tasks and "2 of 10" in tasks


def test_invalid_input_is_kept_in_the_draft(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    data = {**SECTIONS["person"], "given_name": "", "date_of_birth": ["31", "2", "1990"]}
    r = client.post(f"/referrals/{rid}/section/person", data=data)
    assert r.status_code == 302  # a draft takes anything
    main = referrals.main_person(referrals.load(Referral.get_by_id(rid)))
    assert main["date_of_birth"] == "" and main["date_of_birth_input"] == ["31", "2", "1990"]
    page = client.get(f"/referrals/{rid}/section/person").get_data(as_text=True)
    assert 'value="31"' in page and 'value="1990"' in page and "Testwood" in page
    # The submit fails, says why, and the draft still holds what was typed.
    r = client.post(f"/referrals/{rid}/submit")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "govuk-error-summary" in body
    assert "Date of birth must be a real date" in body and "Enter the victim&#39;s first name" in body
    assert f"/referrals/{rid}/section/person?check=1#date_of_birth-day" in body
    assert Referral.get_by_id(rid).status == "draft"
    assert referrals.main_person(referrals.load(Referral.get_by_id(rid)))["date_of_birth_input"] == ["31", "2", "1990"]
    # The section page reached from the error shows the errors beside the fields.
    page = client.get(f"/referrals/{rid}/section/person?check=1").get_data(as_text=True)
    assert "govuk-error-summary" in page and "govuk-error-message" in page and 'href="#date_of_birth-day"' in page
    # Fixing it there goes back to check your answers.
    r = client.post(f"/referrals/{rid}/section/person?check=1", data=SECTIONS["person"])
    assert r.headers["Location"] == f"/referrals/{rid}/check"
    assert "date_of_birth_input" not in referrals.main_person(referrals.load(Referral.get_by_id(rid)))


def test_check_mode_keeps_showing_errors_until_fixed(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    r = client.post(f"/referrals/{rid}/section/consent?check=1", data={"status": "not_given", "reason": ""})
    assert r.status_code == 200 and b"Give the reason for sharing without consent" in r.data
    assert referrals.load(Referral.get_by_id(rid))["consent"]["status"] == "not_given"  # saved all the same


def test_draft_survives_sign_out(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    client.post(f"/referrals/{rid}/section/incident", data={"description": "Typed before signing out."})
    client.post("/logout")
    assert client.get(f"/referrals/{rid}/section/incident").status_code == 302  # to the sign-in page
    login(client, referrer)
    page = client.get(f"/referrals/{rid}/section/incident")
    assert b"Typed before signing out." in page.data


def test_add_and_remove_perpetrators_and_children(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    page = client.get(f"/referrals/{rid}/section/perpetrators").get_data(as_text=True)
    assert 'name="perpetrators-0-given_name"' in page and 'name="perpetrators-1-given_name"' not in page
    r = client.post(f"/referrals/{rid}/section/perpetrators",
                    data={**SECTIONS["perpetrators"], "action": "add"})
    assert r.status_code == 302 and "add=1" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="perpetrators-1-given_name"' in page and 'value="Bram"' in page
    ref = referrals.people_in(referrals.load(Referral.get_by_id(rid)), "perpetrator")[0]["ref"]
    client.post(f"/referrals/{rid}/section/perpetrators", data={
        "perpetrators-0-ref": ref, "perpetrators-0-given_name": "Bram", "perpetrators-0-family_name": "Examplesson",
        "perpetrators-1-given_name": "Cato", "perpetrators-1-family_name": "Samplewright"})
    names = [p["given_name"] for p in referrals.people_in(referrals.load(Referral.get_by_id(rid)), "perpetrator")]
    assert names == ["Bram", "Cato"]
    data = referrals.load(Referral.get_by_id(rid))
    refs = [p["ref"] for p in referrals.people_in(data, "perpetrator")]
    client.post(f"/referrals/{rid}/section/perpetrators", data={
        "perpetrators-0-ref": refs[0], "perpetrators-0-given_name": "Bram",
        "perpetrators-1-ref": refs[1], "perpetrators-1-given_name": "Cato", "remove": "0"})
    left = referrals.people_in(referrals.load(Referral.get_by_id(rid)), "perpetrator")
    assert [p["given_name"] for p in left] == ["Cato"] and left[0]["ref"] == refs[1]
    client.post(f"/referrals/{rid}/section/children", data={
        "has_children": "yes", "children-0-given_name": "Dot", "children-0-family_name": "Testwood",
        "children-0-date_of_birth": ["4", "9", "2019"], "children-0-school": "Fictional Primary"})
    child = referrals.people_in(referrals.load(Referral.get_by_id(rid)), "child")[0]
    assert child["school"] == "Fictional Primary" and child["date_of_birth"] == "2019-09-04"


def test_extra_form_fields_change_nothing(client, referrer, factory, sign_in):
    sign_in(referrer)
    rid = start(client)
    other = factory.user(role="referrer")
    client.post(f"/referrals/{rid}/section/consent", data={"status": "given", "author": other.id,
                                                           "status_": "submitted", "agency": 999})
    referral = Referral.get_by_id(rid)
    assert referral.author_id == referrer.id and referral.status == "draft" and referral.agency_id == referrer.agency_id


# --- validation on submit ---------------------------------------------------------------------------


def test_empty_draft_lists_every_missing_answer(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    body = client.post(f"/referrals/{rid}/submit").get_data(as_text=True)
    for message in ["Enter the victim&#39;s first name", "Enter the victim&#39;s date of birth",
                    "Enter the victim&#39;s address", "Select whether the victim lives in the area",
                    "Select whether there are children in the household", "Enter the perpetrator&#39;s name",
                    "Select whether it is safe to send letters",
                    "Select whether the victim agreed to the referral", "Select whether an interpreter is needed",
                    "Describe what happened", "Describe the current risk", "Say what you have already done",
                    f"Answer every question of the risk checklist: {len(DASH.items)} questions are not"]:
        assert message in body, message
    assert Referral.get_by_id(rid).status == "draft"


def test_equality_details_are_required_for_the_victim(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14, skip=("equality",))
    body = client.post(f"/referrals/{rid}/submit").get_data(as_text=True).replace("&#39;", "'")
    assert "Select the victim's sex" in body
    assert "Select the victim's ethnicity" in body and f"/referrals/{rid}/section/equality?check=1#people-0-sex" in body
    page = client.get(f"/referrals/{rid}/section/equality?check=1").get_data(as_text=True)
    assert page.count("govuk-error-message") == 5 and 'name="people-1-sex"' in page  # the perpetrator's too


@pytest.mark.parametrize(("section", "data", "message"), [
    ("person", {"date_of_birth": ["1", "1", "2030"]}, "Date of birth must be today or in the past"),
    ("person", {"date_of_birth": ["1", "1", "2012"]}, "The victim is 14: this panel hears people aged 16 and over"),
    ("person", {"lives_in_area": "no"}, "This panel only hears people who live in its area"),
    ("consent", {"status": "not_asked", "reason": " "}, "Give the reason for sharing without consent"),
    ("children", {"has_children": "yes"}, "Enter the details of each child in the household"),
    ("children", {"has_children": "yes", "children-0-given_name": "Dot", "children-0-family_name": "Testwood",
                  "children-0-date_of_birth": ["1", "1", "2031"]}, "Date of birth of the child must be today or in"),
    ("barriers", {"interpreter": "yes"}, "Enter the language needed"),
    ("checklist", {"professional_judgement": "y"}, "Give your reason for a professional-judgement referral"),
    ("checklist", {"incidents_last_12_months": "three"}, "The number of incidents must be a whole number"),
])
def test_submit_refuses_with_a_message(client, referrer, sign_in, section, data, message):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14, **{section: data})
    r = client.post(f"/referrals/{rid}/submit")
    assert r.status_code == 200 and message in r.get_data(as_text=True).replace("&#39;", "'")
    assert Referral.get_by_id(rid).status == "draft"


def test_postcode_list_decides_the_area(client, referrer, sign_in):
    settings.set_many({"borough_postcode_prefixes": ["ZZ9", "ZZ8"]})
    sign_in(referrer)
    rid = start(client)
    assert b"lives_in_area" not in client.get(f"/referrals/{rid}/section/person").data
    fill(client, rid, yes_ids=DASH_14)
    body = client.post(f"/referrals/{rid}/submit").get_data(as_text=True)
    assert "This postcode is outside the area this panel covers" in body
    client.post(f"/referrals/{rid}/section/person", data={**SECTIONS["person"], "postcode": "zz9 1aa"})
    r = client.post(f"/referrals/{rid}/submit")
    assert r.status_code == 302 and Referral.get_by_id(rid).status == "submitted"


# --- the live score -----------------------------------------------------------------------------------


def test_score_fragment_for_htmx_and_page_without(client, referrer, sign_in):
    settings.set_many({"instrument_id": "merit"})
    sign_in(referrer)
    rid = start(client)
    before_audit = AuditEvent.select().count()
    before = Referral.get_by_id(rid)
    post = checklist_post(MERIT, MERIT_72, rest="")
    r = client.post(f"/referrals/{rid}/score", data=post, headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and body.lstrip().startswith("<div id=\"score-panel-body\">")
    assert "2 × 4 × 9 = 72" in body and "GOLD" in body and "At or over the threshold" in body
    assert "Visible high risk" in body and "HX-Request" in r.headers["Vary"]
    # One fewer violence answer: 2 x 4 x 8 = 64, SILVER.
    r = client.post(f"/referrals/{rid}/score", data=checklist_post(MERIT, MERIT_72[:-1], rest=""),
                    headers={"HX-Request": "true"})
    assert "2 × 4 × 8 = 64" in r.get_data(as_text=True) and "SILVER" in r.get_data(as_text=True)
    # Without JavaScript ("Recalculate"): the whole page, the answers as posted, nothing saved.
    r = client.post(f"/referrals/{rid}/score", data=post)
    body = r.get_data(as_text=True)
    assert "<html" in body and "Recalculate" in body and "2 × 4 × 9 = 72" in body
    assert body.count('value="yes" checked') == 15
    assert AuditEvent.select().count() == before_audit  # a pure calculation: no audit row, no write
    after = Referral.get_by_id(rid)
    assert after.answers == before.answers and after.updated_at == before.updated_at


def test_score_panel_shows_drivers_and_verdict_reasons(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    r = client.post(f"/referrals/{rid}/score", data=checklist_post(DASH, DASH_14[:10], rest="",
                                                                    professional_judgement="y"),
                    headers={"HX-Request": "true"})
    body = r.get_data(as_text=True).replace("&#39;", "'")
    assert "10 yes answers" in body and "Under the threshold of 14" in body
    assert DASH.items[0].text in body  # a driver
    assert "Give a reason for a professional-judgement referral" in body  # still missing
    assert "IDSVA" in body  # DASH's secondary threshold of 10


def test_checklist_page_is_wired_for_htmx(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    page = client.get(f"/referrals/{rid}/section/checklist").get_data(as_text=True)
    assert f'hx-post="/referrals/{rid}/score"' in page and 'hx-trigger="change"' in page
    assert 'aria-live="polite"' in page and 'formaction="/referrals/' in page
    assert page.count('type="radio"') == 3 * len(DASH.items)


# --- submitting ---------------------------------------------------------------------------------------


def test_submit_freezes_score_and_links_people(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14)
    r = client.post(f"/referrals/{rid}/submit")
    assert r.status_code == 302 and r.headers["Location"] == f"/referrals/{rid}"
    referral = Referral.get_by_id(rid)
    assert referral.status == "submitted" and referral.submitted_at is not None
    assert referral.score_total == 14 and referral.band == "High" and referral.threshold_met
    assert referral.instrument_id == "dash" and referral.instrument_version == DASH.version
    assert json.loads(referral.instrument_json)["id"] == "dash"
    assert referral.criteria_met == "visible_high_risk" and referral.qa_status == ""
    verdict = json.loads(referral.verdict)
    assert verdict["meets_threshold"] and verdict["score"]["total"] == 14 and verdict["rules"]["min_age"] == 16
    links = list(ReferralPerson.select().where(ReferralPerson.referral == rid).order_by(ReferralPerson.position))
    assert [link.role for link in links] == ["victim", "perpetrator"]
    victim = links[0].person
    assert victim.name_key == "adatestwood" and victim.date_of_birth == date(1990, 3, 7)
    assert victim.postcode_key == "ZZ11ZZ" and victim.sex == "female"
    assert [a.name_key for a in PersonAlias.select().where(PersonAlias.person == victim)] == ["addytestwood"]
    assert audit_actions(rid)[-1] == "referral.submit"
    submit_detail = json.loads(AuditEvent.select().where(AuditEvent.action == "referral.submit").get().detail)
    assert submit_detail["score"] == 14 and "Ada" not in json.dumps(submit_detail)
    show = client.get(f"/referrals/{rid}").get_data(as_text=True)
    assert "Referral sent" in show and "Submitted" in show and "Ada Testwood" in show
    listing = client.get("/referrals/").get_data(as_text=True)
    assert "My referrals" in listing and f"Referral {rid}" in listing and "Submitted" in listing
    # Sent: no more editing, the author is sent to the read-only page.
    r = client.get(f"/referrals/{rid}/section/person")
    assert r.status_code == 302 and r.headers["Location"] == f"/referrals/{rid}"
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    assert Referral.get_by_id(rid).submitted_at == referral.submitted_at


def test_professional_judgement_goes_to_quality_assurance(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14[:5], checklist={"professional_judgement": "y",
                                                      "professional_judgement_reason": "Fictional reason."})
    client.post(f"/referrals/{rid}/submit")
    referral = Referral.get_by_id(rid)
    assert referral.status == "submitted" and referral.professional_judgement
    assert referral.criteria_met == "professional_judgement" and referral.qa_status == "pending"


def test_instrument_change_does_not_change_a_sent_referral(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14)
    client.post(f"/referrals/{rid}/submit")
    settings.set_many({"instrument_id": "merit"})
    page = client.get(f"/referrals/{rid}").get_data(as_text=True)
    assert "DASH risk identification checklist" in page and "14 (14 yes answers)" in page


def test_community_panel_wording_and_optional_perpetrator(client, referrer, sign_in):
    settings.set_many({"panel_type": "community", "instrument_id": "community_example"})
    sign_in(referrer)
    rid = start(client)
    page = client.get(f"/referrals/{rid}/section/person").get_data(as_text=True)
    assert "The person referred" in page and "pregnant" not in page
    from marac.risk import COMMUNITY_EXAMPLE

    nine = [item.id for item in COMMUNITY_EXAMPLE.items[:9]]
    fill(client, rid, instrument=COMMUNITY_EXAMPLE, yes_ids=nine, skip=("perpetrators",),
         person={"pregnant": "y"})
    r = client.post(f"/referrals/{rid}/submit")
    assert r.status_code == 302, r.get_data(as_text=True)
    referral = Referral.get_by_id(rid)
    assert referral.score_total == 9 and referral.band == "High" and referral.criteria_met == "visible_high_risk"
    assert [link.role for link in ReferralPerson.select().where(ReferralPerson.referral == rid)] == ["subject"]


def test_returned_referral_is_edited_and_sent_again(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14)
    client.post(f"/referrals/{rid}/submit")
    Referral.update(status="returned", coordinator_comment="Please add the children's schools.").where(
        Referral.id == rid).execute()
    tasks = client.get(f"/referrals/{rid}/tasks").get_data(as_text=True)
    assert "Please add the children&#39;s schools." in tasks
    client.post(f"/referrals/{rid}/section/consent", data={"status": "not_given", "reason": "Fictional risk."})
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    assert Referral.get_by_id(rid).status == "submitted"
    assert ReferralPerson.select().where(ReferralPerson.referral == rid).count() == 2  # linked once, not twice
    assert Person.select().count() == 2


# --- access -------------------------------------------------------------------------------------------


def _routes(rid):
    return [("get", f"/referrals/{rid}"), ("get", f"/referrals/{rid}/tasks"),
            ("get", f"/referrals/{rid}/section/person"), ("post", f"/referrals/{rid}/section/person"),
            ("post", f"/referrals/{rid}/score"), ("get", f"/referrals/{rid}/check"),
            ("post", f"/referrals/{rid}/submit"), ("get", f"/referrals/{rid}/amend"),
            ("get", f"/referrals/{rid}/amend/consent"), ("post", f"/referrals/{rid}/amend/consent")]


def test_another_referrer_gets_404_everywhere_and_it_is_audited(client, referrer, factory, sign_in):
    sign_in(referrer)
    draft = start(client)
    sent = start(client)
    fill(client, sent, yes_ids=DASH_14)
    client.post(f"/referrals/{sent}/submit")
    client.post("/logout")
    sign_in(factory.user(role="referrer"))
    for rid in (draft, sent):
        for method, url in _routes(rid):
            assert getattr(client, method)(url).status_code == 404, url
    denied = AuditEvent.select().where(AuditEvent.action == "access.denied").count()
    assert denied == 2 * len(_routes(0))
    assert b"Referral " not in client.get("/referrals/").data.split(b"<main")[1]
    assert Referral.get_by_id(draft).data == Referral.get_by_id(draft).data  # unchanged


def test_same_agency_representative_gets_404(client, referrer, factory, sign_in):
    sign_in(referrer)
    rid = start(client)
    client.post("/logout")
    sign_in(factory.user(role="representative", agency=referrer.agency))
    assert client.get(f"/referrals/{rid}").status_code == 404


def test_coordinator_sees_all_and_chair_sees_sent(client, referrer, factory, sign_in, coordinator):
    sign_in(referrer)
    draft = start(client)
    sent = start(client)
    fill(client, sent, yes_ids=DASH_14)
    client.post(f"/referrals/{sent}/submit")
    client.post("/logout")
    sign_in(coordinator)
    listing = client.get("/referrals/").get_data(as_text=True)
    assert f"Referral {draft}" in listing and f"Referral {sent}" in listing and "Robin Referrer" in listing
    assert client.get(f"/referrals/{draft}").status_code == 200  # a draft: the coordinator may look
    assert client.get(f"/referrals/{draft}/section/person").status_code == 404  # but not edit it
    filtered = client.get("/referrals/?status=draft").get_data(as_text=True)
    assert f"Referral {draft}" in filtered and f"Referral {sent}<" not in filtered
    list_row = AuditEvent.select().where(AuditEvent.action == "referral.list").order_by(AuditEvent.id.desc()).get()
    assert sorted(json.loads(list_row.detail)["ids"]) == [draft]
    client.post("/logout")
    sign_in(factory.user(role="chair"))
    assert client.get(f"/referrals/{draft}").status_code == 404
    assert client.get(f"/referrals/{sent}").status_code == 200
    assert client.get(f"/referrals/{sent}/amend").status_code == 404


def test_every_view_is_audited(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    for url in (f"/referrals/{rid}/tasks", f"/referrals/{rid}/section/risk", f"/referrals/{rid}/check",
                f"/referrals/{rid}"):
        before = AuditEvent.select().where(AuditEvent.action == "referral.view").count()
        assert client.get(url).status_code == 200
        assert AuditEvent.select().where(AuditEvent.action == "referral.view").count() == before + 1, url


# --- amendments ---------------------------------------------------------------------------------------


def _sent(client, referrer, sign_in, **kw):
    sign_in(referrer)
    rid = start(client)
    fill(client, rid, yes_ids=DASH_14, **kw)
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    return rid


def test_author_amends_before_a_decision_and_it_is_recorded(client, referrer, sign_in):
    rid = _sent(client, referrer, sign_in)
    page = client.get(f"/referrals/{rid}/amend/person")
    assert page.status_code == 200 and b"Why are you making this correction?" in page.data
    data = {**SECTIONS["person"], "family_name": "Testwood-Smith"}
    r = client.post(f"/referrals/{rid}/amend/person", data={**data, "amend_reason": ""})
    assert r.status_code == 200 and b"Give the reason for the correction" in r.data
    assert b"Testwood-Smith" in r.data  # what was typed is still there
    assert ReferralAmendment.select().count() == 0
    r = client.post(f"/referrals/{rid}/amend/person", data={**data, "amend_reason": "Spelling of the surname."})
    assert r.status_code == 302
    amendment = ReferralAmendment.get()
    changes = json.loads(amendment.changes)
    [(path, values)] = changes.items()
    assert path.endswith(".family_name") and values == ["Testwood", "Testwood-Smith"]
    assert amendment.user_id == referrer.id and amendment.reason == "Spelling of the surname."
    assert referrals.main_person(referrals.load(Referral.get_by_id(rid)))["family_name"] == "Testwood-Smith"
    victim = ReferralPerson.get((ReferralPerson.referral == rid) & (ReferralPerson.role == "victim")).person
    assert victim.family_name == "Testwood-Smith"  # the referral's own Person record follows
    event = AuditEvent.select().where(AuditEvent.action == "referral.amend").get()
    assert "Testwood" not in event.detail and json.loads(event.detail)["amendment"] == amendment.id
    show = client.get(f"/referrals/{rid}").get_data(as_text=True)
    assert "Spelling of the surname." in show and "Victim: last name" in show and "Testwood-Smith" in show


def test_amending_the_checklist_rescores_with_the_frozen_instrument(client, referrer, sign_in):
    rid = _sent(client, referrer, sign_in)
    post = checklist_post(DASH, DASH_14[:13], amend_reason="Question 14 was ticked by mistake.")
    assert client.post(f"/referrals/{rid}/amend/checklist", data=post).status_code == 302
    referral = Referral.get_by_id(rid)
    assert referral.score_total == 13 and not referral.threshold_met and referral.band == "Medium"
    changes = json.loads(ReferralAmendment.get().changes)
    assert changes[f"answers.{DASH_14[13]}"] == ["yes", "no"] and changes["score_total"] == [14, 13]


def test_nothing_changed_records_nothing(client, referrer, sign_in):
    rid = _sent(client, referrer, sign_in)
    r = client.post(f"/referrals/{rid}/amend/consent", data={"status": "given", "amend_reason": "No change really."})
    assert r.status_code == 302 and ReferralAmendment.select().count() == 0


def test_after_a_decision_only_the_coordinator_amends(client, referrer, sign_in, coordinator):
    rid = _sent(client, referrer, sign_in)
    Referral.update(status="accepted", decided_at=TODAY).where(Referral.id == rid).execute()
    assert client.get(f"/referrals/{rid}/amend").status_code == 404
    assert b"Correct this referral" not in client.get(f"/referrals/{rid}").data
    client.post("/logout")
    sign_in(coordinator)
    r = client.post(f"/referrals/{rid}/amend/consent", data={"status": "not_given", "reason": "",
                                                            "amend_reason": "Fictional."})
    assert r.status_code == 200  # reason for sharing without consent is missing in the section
    r = client.post(f"/referrals/{rid}/amend/contact",
                    data={**SECTIONS["contact"], "safe_to_post": "yes", "amend_reason": "Moved to a safe address."})
    assert r.status_code == 302
    assert ReferralAmendment.get().user_id == coordinator.id


def test_drafts_cannot_be_amended(client, referrer, sign_in, coordinator):
    sign_in(referrer)
    rid = start(client)
    assert client.get(f"/referrals/{rid}/amend").status_code == 404


def test_service_refuses_edits_by_others(referrer, factory):
    referral = referrals.create_draft(referrer)
    with pytest.raises(referrals.NotAllowed):
        referrals.save_section(referral, factory.user(role="coordinator"), "consent", {"status": "given"})
    with pytest.raises(referrals.NotAllowed):
        referrals.amend(referral, factory.user(role="coordinator"), {"consent": {"status": "given"}}, "x")


def test_amending_the_people_keeps_the_person_links_in_step(client, referrer, sign_in):
    two = {"perpetrators-1-given_name": "Cato", "perpetrators-1-family_name": "Samplewright"}
    rid = _sent(client, referrer, sign_in, perpetrators=two)
    links = ReferralPerson.select().where(ReferralPerson.referral == rid)
    assert sorted(link.role for link in links) == ["perpetrator", "perpetrator", "victim"]
    refs = [p["ref"] for p in referrals.people_in(referrals.load(Referral.get_by_id(rid)), "perpetrator")]
    r = client.post(f"/referrals/{rid}/amend/perpetrators", data={
        "perpetrators-0-ref": refs[0], "perpetrators-0-given_name": "Bram", "perpetrators-0-family_name": "Examplesson",
        "amend_reason": "The second person was entered by mistake."})
    assert r.status_code == 302
    assert ReferralPerson.select().where(ReferralPerson.referral == rid).count() == 2
    assert Person.select().count() == 2  # the removed entry's own record went with it
    changes = json.loads(ReferralAmendment.get().changes)
    assert [v for k, v in changes.items() if k.endswith(".given_name")] == [["Cato", ""]]


def test_dashboard_offers_a_referral(client, referrer, sign_in):
    sign_in(referrer)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/referrals/new"' in home and 'href="/referrals/"' in home


def test_draft_survives_a_server_restart(app, client, referrer, sign_in, app_config, tmp_path):
    from marac import create_app

    sign_in(referrer)
    rid = start(client)
    client.post(f"/referrals/{rid}/section/risk", data={"current_risk": "Typed before the restart."})
    restarted = create_app({"TESTING": True, "SECRET_KEY": "t" * 40, "WTF_CSRF_ENABLED": False,
                            "REQUIRE_SECOND_FACTOR": False,
                            "DATABASE_URL": app.config["DATABASE_URL"]},  # the same database, SQLite or not
                           instance_path=str(tmp_path / "instance"))
    other_client = restarted.test_client()
    login(other_client, referrer)
    assert b"Typed before the restart." in other_client.get(f"/referrals/{rid}/section/risk").data


def test_children_typed_then_no_are_kept_in_the_draft_but_not_sent(client, referrer, sign_in):
    sign_in(referrer)
    rid = start(client)
    child = {"children-0-given_name": "Dot", "children-0-family_name": "Testwood",
             "children-0-date_of_birth": ["4", "9", "2019"], "children-0-school": "Fictional Primary"}
    fill(client, rid, yes_ids=DASH_14, children={"has_children": "no", **child})
    assert len(referrals.people_in(referrals.load(Referral.get_by_id(rid)), "child")) == 1
    assert client.post(f"/referrals/{rid}/submit").status_code == 302
    assert referrals.people_in(referrals.load(Referral.get_by_id(rid)), "child") == []
    assert ReferralPerson.select().where(ReferralPerson.role == "child").count() == 0


def test_community_task_list_counts_a_saved_empty_section(client, referrer, sign_in):
    settings.set_many({"panel_type": "community", "instrument_id": "community_example"})
    sign_in(referrer)
    rid = start(client)
    client.post(f"/referrals/{rid}/section/perpetrators", data={"perpetrators-0-given_name": ""})
    tasks = client.get(f"/referrals/{rid}/tasks").get_data(as_text=True)
    assert "1 of 10" in tasks
