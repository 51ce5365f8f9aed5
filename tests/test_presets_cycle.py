"""Each preset through the whole cycle, with the services the screens use: referral, inbox, listing,
agenda order, the meeting, actions' due dates, minutes due date. Each asserts that panel's own rules."""
from datetime import date, datetime, time, timedelta

import pytest
from marac_testing import make_agency, make_agenda_case, make_user

from marac import inbox, instruments, meeting_run, meetings, minutes, presets, referrals, schedule, settings
from marac.models import Action, Listing
from marac.risk import YES

START = datetime(2026, 11, 2, 9, 0)  # a Monday, UTC


def _section_values(rules, born: str):
    da = rules.panel_type == "domestic_abuse"
    perpetrators = [{"given_name": "Bram", "family_name": "Examplesson"}]
    equality = {"sex": "female", "gender_identity": "same", "sexual_orientation": "not_known",
                "ethnicity": "not_known", "disability": "no"}
    return {
        "person": {"given_name": "Ada", "family_name": "Testwood", "date_of_birth": born,
                   "address": "1 Fictional Row, Anytown", "postcode": "ZZ1 1ZZ", "lives_in_area": "yes"},
        "children": {"has_children": "no", "children": []},
        "perpetrators": {"perpetrators": perpetrators},
        "equality": {"people": [dict(equality), dict(equality, sex="male")] if da else [dict(equality)]},
        "contact": {"phone": "00000 000000", "times": "Mornings", "safe_to_post": "no"},
        "consent": {"status": "given"},
        "barriers": {"interpreter": "no"},
        "incident": {"date": "2026-10-01", "description": "A fictional incident for a test."},
        "risk": {"current_risk": "Fictional risk.", "actions_taken": "Fictional safety plan."},
        "checklist": {"checklist": {"source": ""},
                      "criteria": {"professional_judgement": False, "incidents_last_12_months": 1,
                                   "escalating": False, "serious_incident": True}},
    }


def _referral(user, rules, instrument, born="1990-03-07"):
    referral = referrals.create_draft(user)
    answers = {item.id: YES for item in instrument.items}  # every "yes" meets any instrument's threshold
    for slug, values in _section_values(rules, born).items():
        referral = referrals.save_section(referral, user, slug, values,
                                          answers if slug == "checklist" else None)
    return referral


@pytest.mark.parametrize("key", ["merton", "ealing", "barking_dagenham", "redbridge", "liverpool"])
def test_whole_cycle_follows_the_preset(app, fake_clock, key):
    fake_clock.current = START
    coordinator = make_user(role="coordinator", name="Casey Coordinator")
    presets.apply(key, coordinator)
    values = settings.all_settings()
    preset = presets.PRESETS[key].values
    rules = settings.panel_rules()
    instrument = instruments.current_instrument()
    assert instrument.id == preset["instrument_id"]
    signed = {"isa_signed_on": date(2025, 4, 1), "isa_signatory": "Head of service"}
    police = make_agency("Anytown Police", is_police=True, **signed)
    make_agency("Anytown IDVA Service", **signed)
    make_agency("Anytown Adult Social Care", **signed)
    housing = make_agency("Anytown Housing", **signed)
    referrer = make_user(role="representative", agency=housing, name="Robin Referrer")

    # Meetings on the preset's pattern; deadlines in working days and times of day from the preset.
    pattern = meetings.pattern()
    dates = schedule.meeting_dates(pattern, date(2026, 11, 16), date(2027, 3, 31))
    gap = (dates[1] - dates[0]).days
    expected_gap = {"weekly": [7], "fortnightly": [14], "three_weekly": [21], "monthly": [28, 35]}
    assert gap in expected_gap[values["meeting_frequency"]]
    start_time = schedule.parse_time(values["meeting_start_time"])
    first = meetings.create_meeting(datetime.combine(dates[0], start_time), user=coordinator)
    meetings.create_meeting(datetime.combine(dates[1], start_time), user=coordinator)
    assert first.referral_deadline.time() == schedule.parse_time(values["referral_deadline_time"])
    assert schedule.working_days_between(first.referral_deadline.date(), dates[0]) == \
        values["referral_deadline_working_days"] == preset["referral_deadline_working_days"]
    assert schedule.working_days_between(first.circulation_due.date(), dates[0]) == values["circulation_working_days"]

    # The age limit: a 17-year-old is refused by an adults-only panel, heard by a 16+ one.
    young = _referral(referrer, rules, instrument, born="2009-01-15")
    ctx = referrals.context(young)
    age_errors = [e.message for e in referrals.validate(referrals.load(young), referrals.load_answers(young), ctx)
                  if e.field == "date_of_birth"]
    if rules.min_age == 18:
        assert age_errors == ["The person referred is 17: this panel hears people aged 18 and over"]
    else:
        assert rules.min_age == 16 and age_errors == []

    # Referral: scored with the preset's instrument against its threshold, and sent.
    referral = referrals.submit(_referral(referrer, rules, instrument), referrer)
    assert referral.instrument_id == instrument.id and referral.threshold_met
    verdict = referrals.load_verdict(referral)
    assert verdict["threshold"] == instrument.threshold
    assert "visible_high_risk" in referral.criteria_met.split(",")
    assert verdict["rules"]["min_age"] == rules.min_age  # frozen with the referral

    # Inbox: accepted, opened as a case.
    referral = inbox.accept(referral.id, coordinator)
    case = referral.case

    # Listing: at the first meeting whose referral deadline it meets, timed by the preset.
    listing = meetings.list_case(case, user=coordinator)
    assert listing.meeting_id == first.id
    assert listing.minutes_estimate == preset["minutes_per_case"]

    # Agenda order: two more cases, one with children referred first, one at a higher score.
    kids = make_agenda_case(number="K-1", children=2, referral_score_total=1, referral_instrument_id=instrument.id,
                            submitted_at=START - timedelta(days=3))
    high = make_agenda_case(number="H-1", referral_score_total=100_000, referral_instrument_id=instrument.id,
                            submitted_at=START - timedelta(days=2))
    meetings.list_case(kids, user=coordinator, meeting=first)
    meetings.list_case(high, user=coordinator, meeting=first)
    meetings.order_by_rule(first, coordinator)
    order = [row.case_id for row in Listing.select().where(Listing.meeting == first.id).order_by(Listing.position)]
    expected = {"children_first": kids.id, "highest_risk_first": high.id, "referral_order": kids.id}
    assert order[0] == expected[values["agenda_order"]]
    if values["agenda_order"] == "highest_risk_first":
        assert order == [high.id, case.id, kids.id]

    # The meeting: standard actions of the preset, due after the preset's days.
    fake_clock.current = datetime.combine(dates[0], time(9, 0))
    meeting_run.start_meeting(first, coordinator)
    proposals = meeting_run.proposals(listing)
    assert {p.key for p in proposals} == {item["key"] for item in preset["standard_actions"]
                                          if item["when"] == "always"}
    created = meeting_run.record_standard_actions(listing, coordinator, {p.key: None for p in proposals if p.owners})
    assert created
    by_key = {item["key"]: item for item in preset["standard_actions"]}
    for action in created:
        days = by_key[action.standard_key]["due_days"]
        assert action.due_date == dates[0] + timedelta(days=days if days is not None else preset["action_due_days"])
    if key == "liverpool":
        idva = Action.get(Action.standard_key == "idva_referral")
        assert idva.due_date == dates[0] + timedelta(days=3)
    if any(p.key == "tacau" for p in proposals):
        assert Action.get(Action.standard_key == "tacau").owner_agency_id == police.id

    # Minutes: due the preset's working days after the meeting.
    assert minutes.due_date(first) == schedule.working_days_after(dates[0], preset["minutes_due_working_days"])
