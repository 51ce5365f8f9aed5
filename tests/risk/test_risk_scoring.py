"""Scoring worked examples, band edges and properties for every built-in instrument."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marac.risk import (
    BUILTIN_INSTRUMENTS,
    DASH,
    DONT_KNOW,
    MERIT,
    NO,
    NOT_ASKED,
    YES,
    Answer,
    score,
)

COMMUNITY = BUILTIN_INSTRUMENTS["community_example"]
MATRIX = BUILTIN_INSTRUMENTS["asb_matrix_example"]


def first_yes(instrument, n, rest=NO):
    """The first n questions answered yes and the others `rest`."""
    return {it.id: (YES if i < n else rest) for i, it in enumerate(instrument.items)}


def merit_answers(breakdown, social, violence):
    """MeRIT with the first k questions of each section answered yes, the rest no."""
    answers = {}
    for section, k in zip(MERIT.sections, (breakdown, social, violence), strict=True):
        for i, item in enumerate(MERIT.items_in(section)):
            answers[item.id] = YES if i < k else NO
    return answers


def band_name(result):
    return result.band.name if result.band else None


@pytest.mark.parametrize("yes, band, high, idsva", [
    (0, "Standard", False, False),
    (9, "Standard", False, False),
    (10, "Medium", False, True),
    (13, "Medium", False, True),
    (14, "High", True, True),
    (24, "High", True, True),
])
def test_dash_band_edges(yes, band, high, idsva):
    result = score(DASH, first_yes(DASH, yes))
    assert result.total == yes
    assert band_name(result) == band
    assert result.threshold_met is high
    assert result.secondary_met is idsva
    assert result.formula == ("1 yes answer" if yes == 1 else f"{yes} yes answers")


def test_dash_worked_example():
    answers = {"injury": YES, "strangling": YES, "threats_to_kill": YES, "frightened": NO,
               "pregnant": DONT_KNOW}
    result = score(DASH, answers)
    assert result.total == 3
    assert result.yes_count == 3 and result.no_count == 1 and result.dont_know_count == 1
    assert result.not_asked_count == 19
    # Drivers follow the form's order, not the order answers arrived in.
    assert [it.id for it in result.drivers] == ["injury", "threats_to_kill", "strangling"]
    assert result.section_counts == {"Current situation": 1, "Pattern of abuse": 2,
                                     "The abuser": 0}
    assert result.instrument_id == "dash" and result.instrument_version == 1
    assert result.answers == {"injury": "yes", "strangling": "yes", "threats_to_kill": "yes",
                              "frightened": "no", "pregnant": "dont_know"}
    assert not result.complete


def test_merit_reaches_gold_on_the_fifteenth_yes():
    # Tick 2 breakdown, 4 social, then violence answers one by one: 2 x 4 x 9 = 72.
    answers = merit_answers(2, 4, 0)
    violence = MERIT.items_in("Violence")
    for n, item in enumerate(violence[:9], start=1):
        answers[item.id] = YES
        result = score(MERIT, answers)
        assert result.total == 8 * n
        assert result.yes_count == 6 + n
    assert result.yes_count == 15
    assert result.formula == "2 × 4 × 9 = 72"
    assert result.section_counts == {"Breakdown": 2, "Social": 4, "Violence": 9}
    assert band_name(result) == "GOLD" and result.threshold_met
    answers[violence[8].id] = NO
    previous = score(MERIT, answers)
    assert previous.total == 64 and band_name(previous) == "SILVER"
    assert not previous.threshold_met


@pytest.mark.parametrize("counts, total, band", [
    ((1, 1, 1), 1, "BRONZE"),
    ((1, 3, 5), 15, "BRONZE"),
    ((2, 2, 4), 16, "SILVER"),
    ((2, 5, 7), 70, "SILVER"),
    ((3, 4, 6), 72, "GOLD"),
    ((6, 15, 19), 1710, "GOLD"),
])
def test_merit_band_edges(counts, total, band):
    result = score(MERIT, merit_answers(*counts))
    assert result.total == total
    assert band_name(result) == band
    assert result.threshold_met is (total >= 72)


def test_merit_band_edges_that_no_answers_can_reach():
    # 71 is prime and above the largest section, so only the band table can show it.
    assert MERIT.band_for(71).name == "SILVER"
    assert MERIT.band_for(72).name == "GOLD"
    assert MERIT.band_for(15).name == "BRONZE"
    assert MERIT.band_for(16).name == "SILVER"


def test_merit_empty_section_is_zero_and_no_band():
    result = score(MERIT, merit_answers(6, 15, 0))
    assert result.total == 0
    assert result.yes_count == 21
    assert result.band is None
    assert result.formula == "6 × 15 × 0 = 0"
    assert result.summary == "0 (no band)"
    assert not result.threshold_met


@pytest.mark.parametrize("ids, total, band, high", [
    (["hate", "violence", "self_harm", "mental_health", "learning_disability", "repeated"],
     26, "High", True),
    (["hate", "violence", "self_harm", "mental_health", "learning_disability", "age"],
     25, "High", True),
    (["hate", "violence", "self_harm", "mental_health", "learning_disability", "group"],
     25, "High", True),
    (["hate", "violence", "self_harm", "mental_health", "learning_disability"],
     23, "Medium", False),
    (["hate", "violence", "self_harm", "mental_health", "physical_disability", "age"],
     24, "Medium", False),
    (["hate", "violence", "self_harm"], 15, "Medium", False),
    (["hate", "violence", "age"], 12, "Standard", False),
])
def test_matrix_band_edges(ids, total, band, high):
    result = score(MATRIX, {item_id: YES for item_id in ids})
    assert result.total == total
    assert band_name(result) == band
    assert result.threshold_met is high


def test_matrix_formula_shows_each_weight():
    result = score(MATRIX, {"mental_health": YES, "hate": YES, "violence": YES})
    assert result.formula == "4 + 5 + 5 = 14 points"
    assert result.section_counts == {"Vulnerability": 4, "Impact": 0, "Behaviour": 10}
    assert score(MATRIX, {"age": YES}).formula == "2 points"
    assert score(MATRIX, {}).formula == "0 points"


def test_community_example_threshold_is_nine_yes():
    assert not score(COMMUNITY, first_yes(COMMUNITY, 8)).threshold_met
    nine = score(COMMUNITY, first_yes(COMMUNITY, 9))
    assert nine.threshold_met and band_name(nine) == "High"
    assert band_name(score(COMMUNITY, first_yes(COMMUNITY, 5))) == "Standard"
    assert band_name(score(COMMUNITY, first_yes(COMMUNITY, 6))) == "Medium"


@pytest.mark.parametrize("instrument", BUILTIN_INSTRUMENTS.values(), ids=BUILTIN_INSTRUMENTS)
def test_dont_know_and_not_asked_never_score(instrument):
    for filler in (DONT_KNOW, NOT_ASKED, NO):
        result = score(instrument, {it.id: filler for it in instrument.items})
        assert result.total == 0
        assert result.drivers == []
    all_dont_know = score(instrument, {it.id: DONT_KNOW for it in instrument.items})
    assert all_dont_know.dont_know_count == len(instrument.items)
    assert all_dont_know.not_asked_count == 0 and all_dont_know.complete


def test_unknown_ids_and_answers_are_ignored():
    result = score(DASH, {"injury": "YES", "frightened": "maybe", "nonsense": YES,
                          "fears": None, "isolated": True, "depressed": YES})
    assert result.total == 1
    assert result.not_asked_count == 23
    assert result.answers == {"depressed": "yes"}


def test_answer_members_and_plain_strings_score_alike():
    assert score(DASH, {"injury": Answer.YES}) == score(DASH, {"injury": "yes"})


def test_to_dict_is_plain_data():
    data = score(MERIT, merit_answers(2, 4, 9)).to_dict()
    assert data["band"] == "GOLD"
    assert data["total"] == 72
    assert data["drivers"][:2] == ["q1", "q2"]


# Properties over every built-in instrument.
_answers = st.sampled_from([YES, NO, DONT_KNOW, NOT_ASKED, "junk"])


@st.composite
def filled_forms(draw):
    instrument = draw(st.sampled_from(list(BUILTIN_INSTRUMENTS.values())))
    answers = {it.id: draw(_answers) for it in instrument.items}
    return instrument, answers


@given(filled_forms(), st.data())
def test_one_more_yes_never_lowers_the_score(form, data):
    instrument, answers = form
    before = score(instrument, answers)
    item = data.draw(st.sampled_from(instrument.items))
    after = score(instrument, {**answers, item.id: YES})
    assert after.total >= before.total
    assert after.yes_count >= before.yes_count
    assert after.threshold_met or not before.threshold_met


@given(filled_forms())
def test_counts_add_up(form):
    instrument, answers = form
    result = score(instrument, answers)
    assert (result.yes_count + result.no_count + result.dont_know_count
            + result.not_asked_count) == len(instrument.items)
    assert len(result.drivers) == result.yes_count
    assert result.threshold_met is (result.total >= instrument.threshold)
    assert result.band == instrument.band_for(result.total)
    assert result.formula


@given(filled_forms())
def test_dont_know_scores_like_no(form):
    instrument, answers = form
    as_no = {k: (NO if v == DONT_KNOW else v) for k, v in answers.items()}
    assert score(instrument, answers).total == score(instrument, as_no).total
