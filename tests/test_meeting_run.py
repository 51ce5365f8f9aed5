"""Running the meeting (issue 6): attendance rules, observers, confidentiality gating, the case screen,
actions in place, standard actions per preset, the review of returning cases' actions. Fictional data."""
import re
from datetime import date, datetime

import pytest
from marac_testing import make_action, make_agency, make_agenda_case, make_listing, make_meeting, make_user

from marac import meeting_run, settings
from marac import standard_actions as std
from marac.db import db
from marac.meeting_run import RunError
from marac.models import (
    Action,
    ActionReview,
    Attendance,
    AuditEvent,
    CaseDiscussion,
    CasePerson,
    Research,
    SharedInfo,
)

MEMBER = {"isa_signed_on": date(2025, 1, 6), "isa_signatory": "A Signatory"}


class Panel:
    """A meeting with three listed cases (the third a closed session for police and IDVA)."""


@pytest.fixture
def panel(app, fake_clock):
    fake_clock.current = datetime(2026, 11, 18, 9, 25)  # November: UTC is UK time
    p = Panel()
    p.police = make_agency("Anytown Police", is_police=True, **MEMBER)
    p.idva = make_agency("Anytown IDVA Service", **MEMBER)
    p.children = make_agency("Children's Services", **MEMBER)
    p.asc = make_agency("Adult Social Care", **MEMBER)
    p.housing = make_agency("Anytown Homes", **MEMBER)
    p.outsider = make_agency("Corner Charity", kind="referrer")
    p.coordinator = make_user("coordinator", agency=make_agency("MARAC Team", **MEMBER), name="Casey Coord")
    p.chair = make_user("chair", agency=p.police, name="Chris Chair")
    p.rep_police = make_user("representative", agency=p.police, name="Pat Police")
    p.deputy_idva = make_user("representative", agency=p.idva, name="Dee Deputy", is_deputy=True)
    p.rep_housing = make_user("representative", agency=p.housing, name="Hal Housing")
    p.rep_children = make_user("representative", agency=p.children, name="Cat Children")
    p.meeting = make_meeting(datetime(2026, 11, 18, 9, 30), venue="Room 1")
    p.other_meeting = make_meeting(datetime(2026, 12, 9, 9, 30))
    p.case1 = make_agenda_case(children=2, number="MC-00101", agency=p.housing)
    p.case2 = make_agenda_case(number="MC-00102", agency=p.police)
    p.case3 = make_agenda_case(number="MC-00103", agency=p.idva)
    p.l1 = make_listing(p.meeting, p.case1, minutes_estimate=15)
    p.l2 = make_listing(p.meeting, p.case2, minutes_estimate=10)
    p.l3 = make_listing(p.meeting, p.case3, kind="closed", invited=[p.police, p.idva], minutes_estimate=15)
    for listing in (p.l1, p.l2, p.l3):
        listing.meeting = p.meeting
    return p


def audit_actions():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def run_url(p, rest=""):
    return f"/meetings/{p.meeting.id}/run{rest}"


def agree(p, user):
    with db.connection_context():
        meeting_run.agree_self(p.meeting, user)


# --- attendance ------------------------------------------------------------------------------------------


def test_deputy_is_marked_and_capacity_follows_the_role(panel):
    p = panel
    deputy = meeting_run.add_attendee(p.meeting, p.coordinator, user=p.deputy_idva)
    rep = meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_police)
    chair = meeting_run.add_attendee(p.meeting, p.coordinator, user=p.chair)
    other = meeting_run.add_attendee(p.meeting, p.coordinator, agency=p.housing, name="Sam Standin")
    assert (deputy.capacity, rep.capacity, chair.capacity, other.capacity) == (
        "deputy", "representative", "chair", "other")
    assert deputy.agency_id == p.idva.id and deputy.time_in == datetime(2026, 11, 18, 9, 25)
    with pytest.raises(RunError, match="already signed in"):
        meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_police)
    with pytest.raises(RunError, match="name"):
        meeting_run.add_attendee(p.meeting, p.coordinator, agency=p.housing, name=" ")


def test_attendance_page_shows_the_deputy_tag_and_the_missing_agencies(client, sign_in, panel):
    p = panel
    sign_in(p.coordinator)
    r = client.post(run_url(p, "/attendance"), data={"person": p.deputy_idva.id, "agency": 0, "name": "",
                                                      "time_in": "09:20"})
    assert r.status_code == 302
    row = Attendance.get(Attendance.user == p.deputy_idva.id)
    assert row.capacity == "deputy" and row.time_in == datetime(2026, 11, 18, 9, 20)
    page = client.get(run_url(p, "/attendance")).get_data(as_text=True)
    assert "Dee Deputy" in page and re.search(r"govuk-tag--purple\">\s*Deputy\s*<", page)
    assert "Member agencies not yet on the sheet" in page and "Children&#39;s Services" in page
    assert "Corner Charity" not in page.split("not yet on the sheet")[1].split("</ul>")[0]
    # Someone else without a name is refused beside the field.
    r = client.post(run_url(p, "/attendance"), data={"person": 0, "agency": p.housing.id, "name": ""})
    assert r.status_code == 200 and "Enter the name of the person attending" in r.get_data(as_text=True)


def test_apologies_and_written_information(panel):
    p = panel
    row = meeting_run.record_apologies(p.meeting, p.coordinator, agency=p.children, name="Cat Children",
                                       written_info=True)
    assert row.status == "apologies" and row.written_info and row.time_in is None
    assert p.children.id not in {a.id for a in meeting_run.absent_agencies(p.meeting)}
    assert p.children.id not in {a.id for a in meeting_run.present_agencies(p.meeting)}
    counts = meeting_run.attendance_by_agency(date(2026, 11, 1), date(2026, 11, 30))
    assert counts[p.children.id] == {"present": 0, "apologies": 1, "written_info": 1}


def test_leaving_early_records_the_last_case_heard(panel, fake_clock):
    p = panel
    row = meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_housing)
    fake_clock.advance(minutes=40)
    meeting_run.sign_out(row, p.coordinator, last_listing=p.l2)
    row = Attendance.get_by_id(row.id)
    assert row.time_out == datetime(2026, 11, 18, 10, 5) and row.last_listing_id == p.l2.id
    with pytest.raises(RunError, match="already signed out"):
        meeting_run.sign_out(row, p.coordinator)


def test_ending_the_meeting_signs_everyone_out(panel, fake_clock):
    p = panel
    meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_police)
    meeting_run.start_case(p.l1, p.coordinator)
    fake_clock.advance(minutes=90)
    meeting_run.end_meeting(p.meeting, p.coordinator)
    assert Attendance.get(Attendance.user == p.rep_police.id).time_out == datetime(2026, 11, 18, 10, 55)
    assert CaseDiscussion.get(CaseDiscussion.listing == p.l1.id).ended_at is not None
    assert type(p.meeting).get_by_id(p.meeting.id).status == "held"


# --- observers -----------------------------------------------------------------------------------------


def test_observer_limit_is_enforced(panel):
    p = panel
    assert settings.get("observer_limit") == 2
    first, second, third = (meeting_run.request_observer(p.meeting, p.coordinator, name=n, organisation="College")
                            for n in ("Olive Obs", "Omar Obs", "Orla Obs"))
    meeting_run.approve_observer(first, p.coordinator)
    meeting_run.approve_observer(second, p.coordinator)
    with pytest.raises(RunError, match="at most 2 observers"):
        meeting_run.approve_observer(third, p.coordinator)
    assert Attendance.get_by_id(third.id).observer_status == "requested"
    settings.set_many({"observer_limit": 0}, p.coordinator)
    meeting_run.refuse_observer(second, p.coordinator, "Room too small")
    with pytest.raises(RunError, match="does not allow observers"):
        meeting_run.approve_observer(third, p.coordinator)


def test_an_unapproved_observer_is_refused(panel, client, sign_in):
    p = panel
    row = meeting_run.request_observer(p.meeting, p.coordinator, name="Olive Obs")
    with pytest.raises(RunError, match="has not been approved"):
        meeting_run.observer_arrived(row, p.coordinator)
    meeting_run.refuse_observer(row, p.coordinator)
    with pytest.raises(RunError, match="has not been approved"):
        meeting_run.observer_arrived(row, p.coordinator)
    # Observers cannot be signed in as attendees either.
    observer = make_user("observer", agency=p.outsider)
    with pytest.raises(RunError, match="approved by the coordinator first"):
        meeting_run.add_attendee(p.meeting, p.coordinator, user=observer)
    sign_in(p.coordinator)
    r = client.post(run_url(p, f"/observers/{row.id}/arrived"), follow_redirects=True)
    assert "has not been approved" in r.get_data(as_text=True)
    assert Attendance.get_by_id(row.id).status == "expected"


def test_observers_are_approved_before_the_meeting_starts(panel):
    p = panel
    row = meeting_run.request_observer(p.meeting, p.coordinator, name="Olive Obs")
    meeting_run.start_meeting(p.meeting, p.coordinator)
    with pytest.raises(RunError, match="before it starts"):
        meeting_run.approve_observer(row, p.coordinator)
    with pytest.raises(RunError, match="before it starts"):
        meeting_run.request_observer(p.meeting, p.coordinator, name="Omar Obs")


def test_an_observer_sees_only_the_meeting_they_were_approved_for(panel, client, sign_in):
    p = panel
    observer = make_user("observer", agency=p.outsider, name="Olive Obs")
    row = meeting_run.request_observer(p.meeting, p.coordinator, name="", user=observer)
    Research.create(listing=p.l1, agency=p.police, user=p.rep_police, victim_info="Police research (fictional)")
    sign_in(observer)
    assert client.get(run_url(p)).status_code == 404  # not approved yet
    meeting_run.approve_observer(row, p.coordinator)
    assert client.get(f"/meetings/{p.other_meeting.id}/run").status_code == 404
    # Approved, but not agreed: no case details.
    r = client.get(run_url(p, f"/cases/{p.l1.id}"))
    assert r.status_code == 302 and "/confidentiality" in r.headers["Location"]
    r = client.post(run_url(p, "/confidentiality"), data={"next": run_url(p, f"/cases/{p.l1.id}")})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{p.l1.id}")
    page = client.get(run_url(p, f"/cases/{p.l1.id}")).get_data(as_text=True)
    assert "MC-00101" in page
    assert "Testfield" not in page  # observers see initials, not names
    assert "Police research (fictional)" not in page and "not shown to observers" in page
    assert client.get(run_url(p, f"/cases/{p.l3.id}")).status_code == 404  # closed session
    assert "MC-00103" not in client.get(run_url(p)).get_data(as_text=True)
    assert client.get(run_url(p, "/minutes")).status_code == 403
    assert client.get(run_url(p, "/attendance")).status_code == 403
    assert Attendance.get_by_id(row.id).status == "present"


# --- confidentiality ---------------------------------------------------------------------------------------


def test_no_case_details_before_agreeing(panel, client, sign_in):
    p = panel
    sign_in(p.rep_housing)
    r = client.get(run_url(p, f"/cases/{p.l1.id}"))
    assert r.status_code == 302 and "/confidentiality" in r.headers["Location"]
    r = client.get(run_url(p, f"/cases/{p.l1.id}"), headers={"HX-Request": "true"})
    assert r.headers["HX-Redirect"].startswith(run_url(p, "/confidentiality"))
    assert b"MC-00101" not in r.data
    overview = client.get(run_url(p)).get_data(as_text=True)
    assert "MC-00101" not in overview and "to see the cases" in overview
    review = client.get(run_url(p, "/review"))
    assert review.status_code == 302
    assert "case.view" not in audit_actions()

    confidentiality = client.get(run_url(p, "/confidentiality")).get_data(as_text=True)
    assert "Everything shared at this meeting is confidential" in confidentiality
    client.post(run_url(p, "/confidentiality"))
    page = client.get(run_url(p, f"/cases/{p.l1.id}"))
    assert page.status_code == 200 and b"MC-00101" in page.data
    row = Attendance.get(Attendance.user == p.rep_housing.id)
    assert row.agreed_at is not None and row.status == "present" and row.capacity == "representative"
    assert {"confidentiality.agree", "case.view"} <= set(audit_actions())
    # The statement read at this meeting is frozen with the first agreement.
    settings.set_many({"confidentiality_statement": "A new statement"}, p.coordinator)
    assert meeting_run.statement(p.meeting).startswith("Everything shared")


def test_the_coordinator_records_agreement_for_someone_in_the_room(panel, client, sign_in):
    p = panel
    row = meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_police)
    assert not meeting_run.has_agreed(p.meeting, p.rep_police)
    sign_in(p.coordinator)
    client.post(run_url(p, f"/attendance/{row.id}/agree"))
    assert meeting_run.has_agreed(p.meeting, p.rep_police)
    assert not meeting_run.has_agreed(p.other_meeting, p.rep_police)  # agreement is per meeting
    # The coordinator has not agreed yet, so is sent to the statement too.
    assert client.get(run_url(p, f"/cases/{p.l1.id}")).status_code == 302


def test_a_closed_session_case_is_hidden_from_uninvited_agencies(panel, client, sign_in):
    p = panel
    agree(p, p.rep_housing)
    sign_in(p.rep_housing)
    assert client.get(run_url(p, f"/cases/{p.l3.id}")).status_code == 404
    assert "access.denied" in audit_actions()
    assert "MC-00103" not in client.get(run_url(p)).get_data(as_text=True)
    agree(p, p.rep_police)
    client.post("/logout")
    sign_in(p.rep_police)
    assert client.get(run_url(p, f"/cases/{p.l3.id}")).status_code == 200


def test_a_non_member_agency_sees_no_meeting(panel, client, sign_in):
    p = panel
    sign_in(make_user("representative", agency=p.outsider))
    assert client.get(run_url(p)).status_code == 404


# --- the case screen ------------------------------------------------------------------------------------


@pytest.fixture
def running(panel, client, sign_in):
    """The coordinator, agreed and signed in, with police and IDVA present."""
    p = panel
    meeting_run.add_attendee(panel.meeting, p.coordinator, user=p.rep_police)
    meeting_run.add_attendee(panel.meeting, p.coordinator, user=p.deputy_idva)
    agree(p, p.coordinator)
    sign_in(p.coordinator)
    return p


def test_the_case_screen_shows_the_summary_research_and_record(running, client):
    p = running
    Research.create(listing=p.l1, agency=p.police, user=p.rep_police, victim_info="Two call-outs (fictional)")
    page = client.get(run_url(p, f"/cases/{p.l1.id}")).get_data(as_text=True)
    assert "Case 1 of 3" in page and "Two call-outs (fictional)" in page
    assert f'name="shared-{p.police.id}"' in page and f'name="shared-{p.idva.id}"' in page
    assert 'hx-trigger="submit, change, keyup changed delay:1s"' in page
    assert 'role="timer"' in page and "Expected finish" in page
    assert "Record standard actions" in page and "Add action" in page


def test_autosave_saves_the_fields_sent_and_answers_with_the_status(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l1.id}/discussion"), headers={"HX-Request": "true"},
                    data={"risk_victim": "Threats this week (fictional)", f"shared-{p.police.id}": "Two call-outs"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "Saved at 09:25" in body
    d = CaseDiscussion.get(CaseDiscussion.listing == p.l1.id)
    assert d.risk_victim == "Threats this week (fictional)"
    assert SharedInfo.get(SharedInfo.listing == p.l1.id).text == "Two call-outs"
    # A later save of another field leaves the first alone.
    client.post(run_url(p, f"/cases/{p.l1.id}/discussion"), headers={"HX-Request": "true"},
                data={"decision": "actions", "returns_for_review": "yes"})
    d = CaseDiscussion.get_by_id(d.id)
    assert (d.risk_victim, d.decision, d.returns_for_review) == ("Threats this week (fictional)", "actions", True)
    saves = AuditEvent.select().where(AuditEvent.action == "listing.discussion_save")
    assert saves.count() == 2
    assert all("Threats" not in e.detail and "call-outs" not in e.detail for e in saves)


def test_an_invalid_autosave_answers_200_with_the_reason(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l1.id}/discussion"), headers={"HX-Request": "true"},
                    data={"decision": "banish"})
    assert r.status_code == 200 and "Not saved" in r.get_data(as_text=True)
    r = client.post(run_url(p, f"/cases/{p.l1.id}/discussion"), data={"risk_victim": "x" * 10001})
    assert r.status_code == 200 and "govuk-error-summary" in r.get_data(as_text=True)


def test_a_tick_that_brings_a_standard_action_refreshes_the_proposals(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l2.id}/discussion"), headers={"HX-Request": "true"},
                    data={"facts": "1", "care_needs": "y"})
    assert r.headers.get("HX-Trigger") == "proposals-changed"
    fragment = client.get(run_url(p, f"/cases/{p.l2.id}/standard-actions"), headers={"HX-Request": "true"})
    assert "adult safeguarding referral" in fragment.get_data(as_text=True)
    r = client.post(run_url(p, f"/cases/{p.l2.id}/discussion"), headers={"HX-Request": "true"},
                    data={"facts": "1", "care_needs": "y", "summary": "x"})
    assert "HX-Trigger" not in r.headers


def test_an_action_is_added_in_place_with_the_default_due_date(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l1.id}/actions"), headers={"HX-Request": "true"},
                    data={"owner_agency": p.housing.id, "description": "Check the locks (fictional)",
                          "due_date": ["2", "12", "2026"],
                          "priority": "high"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and 'id="case-actions"' in body
    assert "Check the locks (fictional)" in body and 'hx-swap-oob="innerHTML"' in body
    action = Action.get(Action.listing == p.l1.id)
    assert (action.owner_agency_id, action.due_date, action.priority, action.case_id) == (
        p.housing.id, date(2026, 12, 2), "high", p.case1.id)
    page = client.get(run_url(p, f"/cases/{p.l2.id}")).get_data(as_text=True)
    assert 'value="2"' in page and 'value="12"' in page  # 18 Nov + 14 days = 2 Dec 2026
    assert meeting_run.default_due_date() == date(2026, 12, 2)


def test_an_invalid_action_answers_200_with_errors(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l1.id}/actions"), headers={"HX-Request": "true"},
                    data={"owner_agency": 0, "description": "", "priority": "normal"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body
    assert "Enter what the agency is to do" in body and "Select the agency that owns the action" in body
    assert Action.select().count() == 0
    # Without JavaScript the whole page comes back with the errors.
    r = client.post(run_url(p, f"/cases/{p.l1.id}/actions"), data={"owner_agency": 0, "description": ""})
    assert "<html" in r.get_data(as_text=True) and "govuk-error-summary" in r.get_data(as_text=True)


def test_a_closed_session_action_must_belong_to_an_invited_agency(running):
    p = running
    with pytest.raises(RunError, match="invited"):
        meeting_run.add_action(p.l3, p.coordinator, owner_agency=p.housing, description="x")
    meeting_run.add_action(p.l3, p.coordinator, owner_agency=p.idva, description="Safety plan (fictional)")


def test_removing_an_action_added_by_mistake(running, client):
    p = running
    action = meeting_run.add_action(p.l1, p.coordinator, owner_agency=p.police, description="Wrong one")
    confirm = client.get(run_url(p, f"/cases/{p.l1.id}/actions/{action.id}/remove"))
    assert confirm.status_code == 200 and "Wrong one" in confirm.get_data(as_text=True)
    assert client.post(run_url(p, f"/cases/{p.l1.id}/actions/{action.id}/remove")).status_code == 302
    assert Action.get_or_none(Action.id == action.id) is None
    assert "action.remove" in audit_actions()


def test_timings_and_expected_finish(running, fake_clock):
    p = running
    listings = meeting_run.agenda(p.meeting)
    t = meeting_run.timings(p.meeting, listings, meeting_run.discussions(listings))
    assert t.expected_finish == datetime(2026, 11, 18, 10, 10)  # 9:30 + 15 + 10 + 15
    meeting_run.start_case(p.l1, p.coordinator)
    fake_clock.advance(minutes=20)
    t = meeting_run.timings(p.meeting, listings, meeting_run.discussions(listings))
    assert t.current.listing.id == p.l1.id and t.current.elapsed == 20
    assert t.expected_finish == datetime(2026, 11, 18, 10, 10)  # 9:45 now, over time: + 10 + 15
    meeting_run.start_case(p.l2, p.coordinator)  # the first case ends when the next starts
    assert CaseDiscussion.get(CaseDiscussion.listing == p.l1.id).ended_at == datetime(2026, 11, 18, 9, 45)


def test_finishing_a_case_sets_its_status_and_moves_on(running, client):
    p = running
    meeting_run.save_discussion(p.l1, p.coordinator, {"decision": "actions", "returns_for_review": True})
    client.post(run_url(p, f"/cases/{p.l1.id}/start"))
    r = client.post(run_url(p, f"/cases/{p.l1.id}/finish"))
    assert r.headers["Location"].endswith(f"/cases/{p.l2.id}")
    assert type(p.case1).get_by_id(p.case1.id).status == "review"


# --- standard actions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(std.PRESETS))
def test_standard_actions_per_preset(panel, preset):
    p = panel
    settings.set_many({"standard_actions": std.for_preset(preset)}, p.coordinator)
    meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_police)
    meeting_run.add_attendee(p.meeting, p.coordinator, user=p.rep_housing)
    # Case 2 has no children and nobody with care needs: only the 'always' actions.
    plain = {x.key: x for x in meeting_run.proposals(p.l2)}
    with_children = {x.key: x for x in meeting_run.proposals(p.l1)}
    meeting_run.save_discussion(p.l1, p.coordinator, {"care_needs": True, "hate_crime": True})
    everything = {x.key for x in meeting_run.proposals(p.l1)}
    assert "mash" not in plain and "mash" in with_children
    assert "adult_safeguarding" not in with_children and "adult_safeguarding" in everything
    assert {x.owners[0].id for x in plain.values() if not x.each} <= {p.police.id, p.idva.id, p.housing.id}
    assert plain["flag_tag"].each and {a.id for a in plain["flag_tag"].owners} == {p.police.id, p.housing.id}
    for x in with_children.values():
        assert "perpetrator" not in " ".join(a.name for a in x.owners).lower()
        assert not std._TO_PERPETRATOR.search(x.text) or std._NEGATED.search(x.text)
    if preset in ("barking_dagenham", "liverpool"):
        assert set(plain) == {"flag_tag", "tacau", "idva_referral", "victim_feedback"}
        assert plain["tacau"].owners == [p.police] and plain["idva_referral"].owners == [p.idva]
        assert plain["victim_feedback"].owners == [p.idva]
        idva_days = (plain["idva_referral"].due_date - date(2026, 11, 18)).days
        assert idva_days == (3 if preset == "liverpool" else 14)
    else:
        assert set(plain) == {"flag_tag", "victim_feedback"}
        assert plain["victim_feedback"].owners == [p.police]  # no lead agency: the referrer
        assert "hate_crime" in everything


def test_ticked_standard_actions_are_added_and_the_others_removed(running, client):
    p = running
    r = client.post(run_url(p, f"/cases/{p.l1.id}/standard-actions"), headers={"HX-Request": "true"},
                    data={"standard": ["flag_tag", "tacau", "mash"], "owner-mash": str(p.children.id)})
    assert r.status_code == 200
    actions = list(Action.select().where(Action.listing == p.l1.id))
    flags = [a for a in actions if a.standard_key == "flag_tag"]
    assert {a.owner_agency_id for a in flags} == {p.police.id, p.idva.id}  # each agency present
    assert [a.owner_agency_id for a in actions if a.standard_key == "tacau"] == [p.police.id]
    assert [a.owner_agency_id for a in actions if a.standard_key == "mash"] == [p.children.id]
    states = {x.key: x.state for x in meeting_run.proposals(p.l1)}
    assert states == {"flag_tag": "added", "tacau": "added", "idva_referral": "removed",
                      "victim_feedback": "removed", "mash": "added"}
    assert "standard actions added" in r.get_data(as_text=True)
    meeting_run.restore_standard_actions(p.l1, p.coordinator)
    assert {x.key for x in meeting_run.proposals(p.l1) if x.state == "proposed"} == {"idva_referral",
                                                                                    "victim_feedback"}


def test_standard_action_lists_never_address_the_perpetrator():
    for items in std.PRESETS.values():
        assert std.problems(items) == []
    bad = std.for_preset("barking_dagenham") + [
        {"key": "tell_him", "text": "Send feedback on the outcome to the perpetrator", "owner": ["police"],
         "when": "always", "due_days": None},
        {"key": "his_job", "text": "Do something", "owner": ["perpetrator"], "when": "always", "due_days": None}]
    found = std.problems(bad)
    assert any("addressed to the perpetrator" in f for f in found)
    assert any("cannot own an action" in f for f in found)
    assert std.problems([{"key": "ok", "text": "Never tell the perpetrator about the meeting",
                          "owner": ["police"], "when": "always"}]) == []


def test_an_unusable_standard_actions_setting_falls_back_to_the_panel_type(panel):
    p = panel
    settings.set_many({"standard_actions": [{"key": "Bad Key"}], "panel_type": "community"}, p.coordinator)
    assert [i["key"] for i in meeting_run.standard_action_list()] == [i["key"] for i in std.COMMUNITY]


# --- review of returning cases' actions -----------------------------------------------------------


def test_outstanding_actions_of_returning_cases_are_reviewed(running, client, fake_clock):
    p = running
    old_meeting = make_meeting(datetime(2026, 10, 21, 9, 30))
    old_listing = make_listing(old_meeting, p.case1)
    done = make_action(p.case1, p.housing, "Fit a doorbell camera (fictional)", listing=old_listing)
    carried = make_action(p.case1, p.police, "Visit the address (fictional)", listing=old_listing)
    escalated = make_action(p.case2, p.children, "Assess the children (fictional)")
    make_action(p.case3, p.idva, "Closed-session action", listing=old_listing)
    make_action(p.case2, p.police, "Already done", status="done")
    items = meeting_run.outstanding_actions(p.meeting)
    assert {i.action.id for i in items} >= {done.id, carried.id, escalated.id}
    page = client.get(run_url(p, "/review")).get_data(as_text=True)
    assert "Fit a doorbell camera (fictional)" in page and "Already done" not in page

    r = client.post(run_url(p, f"/review/{done.id}"), headers={"HX-Request": "true"},
                    data={f"a{done.id}-outcome": "done", f"a{done.id}-reason": "Fitted last week"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "Fitted last week" in body
    assert Action.get_by_id(done.id).status == "done"
    r = client.post(run_url(p, f"/review/{carried.id}"), headers={"HX-Request": "true"},
                    data={f"a{carried.id}-outcome": "carried", f"a{carried.id}-reason": "No answer"})
    assert "Enter the new due date" in r.get_data(as_text=True)
    meeting_run.review_action(p.meeting, carried, p.coordinator, outcome="carried", reason="No answer",
                              new_due_date=date(2026, 12, 9))
    assert Action.get_by_id(carried.id).due_date == date(2026, 12, 9)
    with pytest.raises(RunError, match="reason"):
        meeting_run.review_action(p.meeting, escalated, p.coordinator, outcome="escalated", reason=" ")
    meeting_run.review_action(p.meeting, escalated, p.coordinator, outcome="escalated", reason="Third miss")
    assert Action.get_by_id(escalated.id).escalated_at is not None
    assert {r.outcome for r in ActionReview.select()} == {"done", "carried", "escalated"}
    # Reviewed actions stay on the list with their outcome (the done one is no longer open).
    assert {i.action.id: bool(i.review) for i in meeting_run.outstanding_actions(p.meeting)}[done.id] is True


def test_a_representative_reviews_only_what_their_agency_may_see(running, client, sign_in):
    p = running
    make_action(p.case3, p.idva, "Closed-session action (fictional)")
    make_action(p.case1, p.housing, "Open action (fictional)")
    agree(p, p.rep_housing)
    client.post("/logout")
    sign_in(p.rep_housing)
    page = client.get(run_url(p, "/review")).get_data(as_text=True)
    assert "Open action (fictional)" in page and "Closed-session action" not in page
    assert client.post(run_url(p, "/review/1"), data={}).status_code == 403


# --- access -------------------------------------------------------------------------------------------


def test_every_run_route_needs_sign_in_and_refuses_referrers(app, client, sign_in, panel):
    p = panel
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("meeting_run.")]
    assert len(rules) >= 25
    values = {"meeting_id": p.meeting.id, "listing_id": p.l1.id, "attendance_id": 1, "action_id": 1,
              "step": "start"}

    def urls():
        for rule in rules:
            args = {k: values[k] for k in rule.arguments}
            if "step" in rule.arguments:
                args["step"] = "approve" if "observers" in rule.rule else "start"
            with app.test_request_context():
                from flask import url_for
                yield rule, url_for(rule.endpoint, **args)

    for rule, url in urls():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = client.open(url, method=method)
            assert r.status_code == 302 and "/login" in r.headers["Location"], (method, url)
    sign_in(make_user("referrer", agency=p.housing))
    for rule, url in urls():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert client.open(url, method=method).status_code == 403, (method, url)


def test_the_tables_match_the_models(app):
    from marac.models import ActionReview, MeetingRecord, MinutesAmendment

    with db.connection_context():
        for model in (MeetingRecord, Attendance, CaseDiscussion, SharedInfo, ActionReview, MinutesAmendment):
            columns = {c.name for c in db.get_columns(model._meta.table_name)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, model


def test_case_people_are_in_the_fixture(panel):
    assert CasePerson.select().where(CasePerson.case == panel.case1.id, CasePerson.role == "child").count() == 2
