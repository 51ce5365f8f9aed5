"""Referral criteria: each criterion alone, repeat windows, eligibility, and properties."""
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marac.risk import (
    AUTOMATIC_CATEGORY,
    BUILTIN_INSTRUMENTS,
    CRITERION_LABELS,
    DASH,
    ESCALATION,
    MERIT,
    NO,
    PROFESSIONAL_JUDGEMENT,
    REPEAT,
    RULE_PRESETS,
    VISIBLE_HIGH_RISK,
    YES,
    PanelRules,
    PreviousReferral,
    ReferralFacts,
    add_months,
    evaluate,
    months_before,
    score,
)

TODAY = date(2025, 3, 10)
VICTIM, ABUSER, OTHER_ABUSER, OTHER_VICTIM = 101, 201, 202, 102


def dash_score(yes):
    """DASH with the first `yes` questions ticked and every other answered no."""
    return score(DASH, {it.id: (YES if i < yes else NO) for i, it in enumerate(DASH.items)})


def facts(**changes):
    """A complete referral that meets no criterion, with the given changes."""
    base = ReferralFacts(referral_date=TODAY, score=dash_score(3), subject_age=34, in_area=True,
                         victim_id=VICTIM, perpetrator_ids=(ABUSER,))
    return replace(base, **changes)


def heard(when, victim=VICTIM, perpetrator=ABUSER, **kw):
    return PreviousReferral(date=when, victim_id=victim, perpetrator_id=perpetrator, **kw)


def keys(criteria):
    return [c.key for c in criteria]


# months_before --------------------------------------------------------------------------

@pytest.mark.parametrize("start, n, expected", [
    (date(2025, 3, 10), 12, date(2024, 3, 10)),
    (date(2024, 3, 31), 1, date(2024, 2, 29)),
    (date(2025, 3, 31), 1, date(2025, 2, 28)),
    (date(2024, 2, 29), 12, date(2023, 2, 28)),
    (date(2025, 1, 15), 3, date(2024, 10, 15)),
    (date(2025, 5, 31), 0, date(2025, 5, 31)),
])
def test_months_before(start, n, expected):
    assert months_before(start, n) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.integers(0, 240))
def test_months_before_is_calendar_months(d, n):
    earlier = months_before(d, n)
    assert (d.year * 12 + d.month) - (earlier.year * 12 + earlier.month) == n
    assert earlier.day <= d.day
    assert add_months(earlier, n) <= d


# Baseline and each criterion alone ------------------------------------------------------

def test_baseline_meets_nothing():
    verdict = evaluate(PanelRules(), facts())
    assert verdict.eligible and not verdict.meets_threshold
    assert verdict.met == []
    assert keys(verdict.not_met) == [VISIBLE_HIGH_RISK, PROFESSIONAL_JUDGEMENT, ESCALATION,
                                     AUTOMATIC_CATEGORY, REPEAT]
    assert verdict.missing == []
    assert verdict.reasons[0] == "No referral criterion is met yet."
    assert "The score of 3 is under the threshold of 14." in verdict.reasons
    assert verdict.summary == "Does not meet the threshold"


@pytest.mark.parametrize("yes, met", [(13, False), (14, True), (24, True)])
def test_visible_high_risk(yes, met):
    verdict = evaluate(PanelRules(), facts(score=dash_score(yes)))
    assert verdict.meets_threshold is met
    assert keys(verdict.met) == ([VISIBLE_HIGH_RISK] if met else [])


def test_idsva_note_at_ten():
    verdict = evaluate(PanelRules(), facts(score=dash_score(10)))
    assert not verdict.meets_threshold
    assert "The score of 10 is 10 or more: IDSVA referral (10+)." in verdict.reasons


def test_panel_threshold_overrides_its_own_instrument_only():
    rules = PanelRules(high_risk_threshold=17)
    assert not evaluate(rules, facts(score=dash_score(16))).meets_threshold
    assert evaluate(rules, facts(score=dash_score(17))).meets_threshold
    # A MeRIT form accepted by a DASH panel keeps MeRIT's own threshold of 72.
    merit_20 = score(MERIT, {"q1": YES, "q2": YES, "q7": YES, "q8": YES, "q22": YES,
                             "q23": YES, "q24": YES, "q25": YES, "q26": YES})
    assert merit_20.total == 20
    assert not evaluate(rules, facts(score=merit_20)).meets_threshold


def test_missing_checklist():
    for unanswered in (None, score(DASH, {})):
        verdict = evaluate(PanelRules(), facts(score=unanswered))
        assert "Answer the risk checklist" in verdict.missing
        assert "The risk checklist has not been answered yet." in verdict.reasons
    partial = evaluate(PanelRules(), facts(score=score(DASH, {"injury": YES})))
    assert partial.missing == ["Answer the remaining 23 questions of the risk checklist "
                               "(\"Don't know\" is an answer)"]
    assert evaluate(PanelRules(require_checklist=False), facts(score=None)).missing == []


def test_professional_judgement_with_reason():
    verdict = evaluate(PanelRules(), facts(professional_judgement=True,
                                           professional_judgement_reason="Victim minimises."))
    assert keys(verdict.met) == [PROFESSIONAL_JUDGEMENT]
    assert verdict.meets_threshold and verdict.needs_quality_assurance
    assert any("quality-assured" in r for r in verdict.reasons)


@pytest.mark.parametrize("reason", ["", "   "])
def test_professional_judgement_without_reason_is_missing(reason):
    verdict = evaluate(PanelRules(), facts(professional_judgement=True,
                                           professional_judgement_reason=reason))
    assert not verdict.meets_threshold
    assert "Give a reason for a professional-judgement referral" in verdict.missing
    assert PROFESSIONAL_JUDGEMENT in keys(verdict.not_met)


def test_professional_judgement_beside_high_score_needs_no_quality_assurance():
    verdict = evaluate(PanelRules(), facts(score=dash_score(15), professional_judgement=True,
                                           professional_judgement_reason="Weapons at home."))
    assert keys(verdict.met) == [VISIBLE_HIGH_RISK, PROFESSIONAL_JUDGEMENT]
    assert not verdict.needs_quality_assurance


@pytest.mark.parametrize("count, met", [(None, False), (2, False), (3, True), (7, True)])
def test_escalation_by_count(count, met):
    verdict = evaluate(PanelRules(), facts(incidents_last_12_months=count))
    assert keys(verdict.met) == ([ESCALATION] if met else [])


def test_escalation_when_referrer_says_rising():
    verdict = evaluate(PanelRules(), facts(escalating=True, incidents_last_12_months=1))
    assert keys(verdict.met) == [ESCALATION]
    assert "more frequent or more serious" in verdict.met[0].reason


def test_escalation_over_a_shorter_window_counts_dated_incidents():
    kent = PanelRules(escalation_incidents=3, escalation_months=6)
    in_window = (date(2024, 9, 10), date(2024, 12, 1), date(2025, 3, 1))
    assert keys(evaluate(kent, facts(incident_dates=in_window)).met) == [ESCALATION]
    one_too_old = (date(2024, 9, 9), date(2024, 12, 1), date(2025, 3, 1))
    assert evaluate(kent, facts(incident_dates=one_too_old)).met == []
    # A 12-month count cannot show 3 in 6 months.
    verdict = evaluate(kent, facts(incidents_last_12_months=5))
    assert verdict.met == []
    assert any("No count of incidents in the last 6 months" in r for r in verdict.reasons)


@pytest.mark.parametrize("flag, words", [
    ("honour_based_violence", "honour-based violence"),
    ("forced_marriage", "forced marriage"),
    ("fgm", "FGM"),
])
def test_automatic_categories(flag, words):
    verdict = evaluate(PanelRules(), facts(**{flag: True}))
    assert keys(verdict.met) == [AUTOMATIC_CATEGORY]
    assert words in verdict.met[0].reason
    assert not verdict.closed_session


def test_closed_session_for_honour_based_violence_only():
    rules = PanelRules(closed_session_hbv=True)
    assert evaluate(rules, facts(honour_based_violence=True)).closed_session
    assert not evaluate(rules, facts(fgm=True)).closed_session
    verdict = evaluate(rules, facts(honour_based_violence=True))
    assert "Honour-based violence cases are heard in a closed session." in verdict.reasons


def test_switched_off_criteria_are_not_listed():
    rules = PanelRules(criteria_automatic_categories=False, criteria_escalation=False)
    verdict = evaluate(rules, facts(fgm=True, incidents_last_12_months=9))
    assert not verdict.meets_threshold
    assert keys(verdict.not_met) == [VISIBLE_HIGH_RISK, PROFESSIONAL_JUDGEMENT, REPEAT]


def test_all_criteria_off_still_explains():
    rules = PanelRules(criteria_visible_high_risk=False, criteria_professional_judgement=False,
                       criteria_escalation=False, criteria_automatic_categories=False,
                       criteria_repeat=False)
    verdict = evaluate(rules, facts(score=dash_score(20), fgm=True))
    assert not verdict.meets_threshold
    assert verdict.reasons[0] == "This panel has no referral criteria switched on."


# Repeats ---------------------------------------------------------------------------------

def test_repeat_exactly_twelve_months_after():
    verdict = evaluate(PanelRules(), facts(previous_referrals=[heard(date(2024, 3, 10))]))
    assert verdict.is_repeat
    assert keys(verdict.met) == [REPEAT]
    assert verdict.repeat_of.date == date(2024, 3, 10)
    assert "10 March 2024" in verdict.met[0].reason


def test_not_a_repeat_twelve_months_and_a_day_after():
    verdict = evaluate(PanelRules(), facts(referral_date=date(2025, 3, 11),
                                           previous_referrals=[heard(date(2024, 3, 10))]))
    assert not verdict.is_repeat
    assert verdict.met == []
    assert any("more than 12 months ago" in r for r in verdict.reasons)


def test_repeat_window_clamps_at_month_end():
    verdict = evaluate(PanelRules(), facts(referral_date=date(2025, 2, 28),
                                           previous_referrals=[heard(date(2024, 2, 29))]))
    assert verdict.is_repeat


def test_repeat_counts_from_the_last_referral():
    verdict = evaluate(PanelRules(), facts(previous_referrals=[
        heard(date(2023, 1, 5)), heard(date(2024, 11, 2)), heard(date(2022, 6, 1))]))
    assert verdict.repeat_of.date == date(2024, 11, 2)


def test_different_perpetrator_is_not_a_repeat_but_is_flagged():
    verdict = evaluate(PanelRules(), facts(previous_referrals=[
        heard(date(2024, 12, 1), perpetrator=OTHER_ABUSER)]))
    assert not verdict.is_repeat
    assert verdict.flags == ["Same victim, different perpetrator: referred on 1 December 2024."]


def test_same_perpetrator_new_victim_is_not_a_repeat_but_is_flagged():
    verdict = evaluate(PanelRules(), facts(previous_referrals=[
        heard(date(2024, 12, 1), victim=OTHER_VICTIM)]))
    assert not verdict.is_repeat
    assert verdict.flags == ["Same perpetrator, different victim: referred on 1 December 2024."]


def test_one_of_several_perpetrators_makes_a_repeat():
    verdict = evaluate(PanelRules(), facts(perpetrator_ids=(OTHER_ABUSER, ABUSER),
                                           previous_referrals=[heard(date(2024, 12, 1))]))
    assert verdict.is_repeat


@pytest.mark.parametrize("kind", [{"information_only": True}, {"other_marac": True},
                                  {"panel_heard": False}])
def test_listings_that_do_not_make_a_repeat(kind):
    verdict = evaluate(PanelRules(), facts(previous_referrals=[heard(date(2024, 12, 1), **kind)]))
    assert not verdict.is_repeat
    assert REPEAT in keys(verdict.not_met)


def test_repeat_flag_kept_when_the_criterion_is_off():
    verdict = evaluate(PanelRules(criteria_repeat=False),
                       facts(previous_referrals=[heard(date(2024, 12, 1))]))
    assert verdict.is_repeat and not verdict.meets_threshold
    assert any("This is a repeat" in r for r in verdict.reasons)


def test_ealing_ten_month_window():
    ealing = RULE_PRESETS["ealing"]
    eleven_months_ago = [heard(date(2024, 4, 10))]
    assert not evaluate(ealing, facts(previous_referrals=eleven_months_ago)).is_repeat
    assert evaluate(PanelRules(), facts(previous_referrals=eleven_months_ago)).is_repeat


def test_community_subject_without_perpetrator_repeats():
    community = RULE_PRESETS["merton"]
    verdict = evaluate(community, facts(perpetrator_ids=(), previous_referrals=[
        heard(date(2024, 10, 1), perpetrator=None)]))
    assert verdict.is_repeat
    assert "same person referred" in verdict.met[0].reason


LIVERPOOL = PanelRules(repeat_any_incident_months=3)


@pytest.mark.parametrize("when, serious, repeat", [
    (date(2025, 1, 10), False, True),    # 2 months: any abuse is a repeat
    (date(2024, 12, 10), False, True),   # exactly 3 months
    (date(2024, 12, 9), False, False),   # 3 months and a day, not serious
    (date(2024, 10, 10), True, True),    # 5 months, violence or threats
    (date(2024, 3, 10), True, True),     # exactly 12 months, serious
    (date(2024, 3, 9), True, False),     # over 12 months
])
def test_liverpool_three_month_any_incident(when, serious, repeat):
    verdict = evaluate(LIVERPOOL, facts(previous_referrals=[heard(when)],
                                        serious_incident=serious))
    assert verdict.is_repeat is repeat
    assert verdict.missing == []


def test_liverpool_asks_about_the_incident_when_it_decides():
    verdict = evaluate(LIVERPOOL, facts(previous_referrals=[heard(date(2024, 10, 10))]))
    assert not verdict.is_repeat
    assert any("violence or threats, stalking or harassment, or sexual abuse" in m
               for m in verdict.missing)
    inside_three = evaluate(LIVERPOOL, facts(previous_referrals=[heard(date(2025, 1, 10))]))
    assert inside_three.is_repeat and inside_three.missing == []


# Eligibility -----------------------------------------------------------------------------

def test_under_age_is_ineligible_whatever_the_score():
    verdict = evaluate(PanelRules(), facts(subject_age=15, score=dash_score(20)))
    assert not verdict.eligible and not verdict.meets_threshold
    assert keys(verdict.met) == [VISIBLE_HIGH_RISK]
    assert verdict.ineligible_reasons == [
        "The victim is 15; this panel hears people aged 16 and over."]
    assert verdict.reasons[0] == verdict.ineligible_reasons[0]
    assert verdict.summary == "Not eligible for this panel"


def test_age_limits():
    assert evaluate(PanelRules(), facts(subject_age=16)).eligible
    adults = PanelRules(min_age=18, panel_type="community")
    assert evaluate(adults, facts(subject_age=17)).ineligible_reasons == [
        "The person referred is 17; this panel hears people aged 18 and over."]
    assert evaluate(PanelRules(min_age=None), facts(subject_age=12)).eligible
    assert "Give the victim's age" in evaluate(PanelRules(), facts(subject_age=None)).missing


def test_out_of_area_is_ineligible():
    verdict = evaluate(PanelRules(), facts(in_area=False, fgm=True))
    assert not verdict.eligible and not verdict.meets_threshold
    assert "does not live in the area" in verdict.ineligible_reasons[0]
    assert evaluate(PanelRules(require_in_area=False), facts(in_area=False)).eligible
    unknown = evaluate(PanelRules(), facts(in_area=None))
    assert unknown.eligible
    assert "Say whether the victim lives in the area the panel covers" in unknown.missing


# Rules and presets -----------------------------------------------------------------------

def test_presets_are_consistent():
    assert set(RULE_PRESETS) == {"merton", "ealing", "barking_dagenham", "redbridge",
                                 "liverpool"}
    for rules in RULE_PRESETS.values():
        assert rules.instrument_id in BUILTIN_INSTRUMENTS
        assert rules.problems() == []
    liverpool = RULE_PRESETS["liverpool"]
    assert liverpool.closed_session_hbv and liverpool.repeat_any_incident_months == 3
    assert RULE_PRESETS["redbridge"].min_age == 18


@pytest.mark.parametrize("bad", [{"panel_type": "gangs"}, {"escalation_incidents": 0},
                                 {"repeat_months": True}, {"repeat_any_incident_months": 0},
                                 {"min_age": -1}, {"high_risk_threshold": "14"}])
def test_rules_refuse_nonsense(bad):
    with pytest.raises(ValueError):
        PanelRules(**bad)


def test_rules_round_trip():
    rules = RULE_PRESETS["liverpool"]
    assert PanelRules.from_dict(rules.to_dict()) == rules
    assert PanelRules.from_dict({"repeat_months": 10, "retired_setting": 1}).repeat_months == 10


# Properties -------------------------------------------------------------------------------

_dates = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 12, 31))
_people = st.sampled_from([VICTIM, OTHER_VICTIM, ABUSER, OTHER_ABUSER, None])

rules_strategy = st.builds(
    PanelRules,
    panel_type=st.sampled_from(["domestic_abuse", "community"]),
    instrument_id=st.sampled_from(list(BUILTIN_INSTRUMENTS)),
    high_risk_threshold=st.none() | st.integers(1, 40),
    require_checklist=st.booleans(),
    criteria_visible_high_risk=st.booleans(),
    criteria_professional_judgement=st.booleans(),
    criteria_escalation=st.booleans(),
    escalation_incidents=st.integers(1, 6),
    escalation_months=st.integers(1, 24),
    criteria_automatic_categories=st.booleans(),
    closed_session_hbv=st.booleans(),
    criteria_repeat=st.booleans(),
    repeat_months=st.integers(1, 24),
    repeat_any_incident_months=st.none() | st.integers(1, 12),
    min_age=st.none() | st.integers(0, 21),
    require_in_area=st.booleans(),
)


@st.composite
def facts_strategy(draw):
    instrument = draw(st.sampled_from(list(BUILTIN_INSTRUMENTS.values())))
    answers = {it.id: draw(st.sampled_from(["yes", "no", "dont_know", "not_asked"]))
               for it in instrument.items}
    return ReferralFacts(
        referral_date=draw(_dates),
        score=draw(st.none() | st.just(score(instrument, answers))),
        professional_judgement=draw(st.booleans()),
        professional_judgement_reason=draw(st.sampled_from(["", " ", "Worried."])),
        incidents_last_12_months=draw(st.none() | st.integers(0, 10)),
        incident_dates=draw(st.lists(_dates, max_size=4)),
        escalating=draw(st.booleans()),
        honour_based_violence=draw(st.booleans()),
        forced_marriage=draw(st.booleans()),
        fgm=draw(st.booleans()),
        subject_age=draw(st.none() | st.integers(0, 99)),
        in_area=draw(st.none() | st.booleans()),
        victim_id=draw(_people),
        perpetrator_ids=draw(st.lists(_people.filter(lambda p: p is not None), max_size=2)),
        serious_incident=draw(st.none() | st.booleans()),
        previous_referrals=draw(st.lists(st.builds(
            PreviousReferral, date=_dates, victim_id=_people, perpetrator_id=_people,
            panel_heard=st.booleans(), information_only=st.booleans(),
            other_marac=st.booleans()), max_size=4)),
    )


@given(rules_strategy, facts_strategy())
def test_a_verdict_always_explains_itself(rules, referral):
    verdict = evaluate(rules, referral)
    assert len(verdict.reasons) >= 1
    assert all(isinstance(r, str) and r.strip() for r in verdict.reasons)
    assert verdict.meets_threshold is (verdict.eligible and bool(verdict.met))
    assert verdict.eligible is (verdict.ineligible_reasons == [])
    listed = keys(verdict.met) + keys(verdict.not_met)
    assert len(listed) == len(set(listed))
    assert set(listed) <= set(CRITERION_LABELS)
    assert (REPEAT in keys(verdict.met)) is (rules.criteria_repeat and verdict.is_repeat)
    if verdict.repeat_of is not None:
        assert verdict.repeat_of.date <= referral.referral_date
        assert verdict.repeat_of.date >= months_before(
            referral.referral_date,
            max(rules.repeat_months, rules.repeat_any_incident_months or 0))


@given(rules_strategy, facts_strategy(), st.integers(1, 400))
def test_an_older_last_referral_is_never_more_of_a_repeat(rules, referral, days):
    prev = heard(referral.referral_date - timedelta(days=days))
    near = evaluate(rules, replace(referral, victim_id=VICTIM, perpetrator_ids=(ABUSER,),
                                   previous_referrals=[prev]))
    older = evaluate(rules, replace(referral, victim_id=VICTIM, perpetrator_ids=(ABUSER,),
                                    previous_referrals=[replace(prev, date=prev.date
                                                                - timedelta(days=1))]))
    assert near.is_repeat or not older.is_repeat
