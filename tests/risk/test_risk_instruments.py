"""The built-in instruments, their JSON form, and the checks on imported instruments."""
import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marac.risk import (
    BUILTIN_INSTRUMENTS,
    COUNT_YES,
    DASH,
    MERIT,
    METHODS,
    PRODUCT_OF_SECTIONS,
    WEIGHTED_SUM,
    Band,
    Instrument,
    InstrumentError,
    Item,
)


def test_builtin_ids():
    assert set(BUILTIN_INSTRUMENTS) == {"dash", "merit", "community_example",
                                        "asb_matrix_example"}
    for key, instrument in BUILTIN_INSTRUMENTS.items():
        assert instrument.id == key
        assert instrument.version == 1


@pytest.mark.parametrize("instrument", BUILTIN_INSTRUMENTS.values(), ids=BUILTIN_INSTRUMENTS)
def test_builtins_are_valid(instrument):
    assert Instrument.validate(instrument.to_dict()) == []
    assert all(it.text.strip() and it.section in instrument.sections for it in instrument.items)


def test_dash_shape():
    assert DASH.method == COUNT_YES
    assert len(DASH.items) == 24
    # The DOMAIN.md topic order: injury first, criminal history last.
    ids = [it.id for it in DASH.items]
    assert ids[:3] == ["injury", "frightened", "fears"]
    assert ids[14] == "strangling"
    assert ids[-1] == "criminal_history"
    assert DASH.threshold == 14
    assert DASH.secondary_threshold == 10
    assert "IDSVA" in DASH.secondary_label
    assert [(b.name, b.min_score, b.max_score, b.high_risk) for b in DASH.bands] == [
        ("Standard", 0, 9, False), ("Medium", 10, 13, False), ("High", 14, None, True)]
    assert not DASH.example


def test_merit_sections_follow_the_form():
    # Seed 004, appendix 5: tallies printed after questions 6, 21 and 40.
    assert MERIT.method == PRODUCT_OF_SECTIONS
    assert MERIT.sections == ("Breakdown", "Social", "Violence")
    assert [it.id for it in MERIT.items] == [f"q{n}" for n in range(1, 41)]
    assert [it.id for it in MERIT.items_in("Breakdown")] == [f"q{n}" for n in range(1, 7)]
    assert [it.id for it in MERIT.items_in("Social")] == [f"q{n}" for n in range(7, 22)]
    assert [it.id for it in MERIT.items_in("Violence")] == [f"q{n}" for n in range(22, 41)]
    assert MERIT.threshold == 72
    assert [(b.name, b.min_score, b.max_score) for b in MERIT.bands] == [
        ("BRONZE", 1, 15), ("SILVER", 16, 71), ("GOLD", 72, None)]
    assert MERIT.max_score == 6 * 15 * 19


def test_examples_are_labelled_as_examples():
    community = BUILTIN_INSTRUMENTS["community_example"]
    matrix = BUILTIN_INSTRUMENTS["asb_matrix_example"]
    assert community.example and matrix.example
    for instrument in (community, matrix):
        assert "example" in instrument.description.lower()
        assert "replace" in instrument.description.lower()
    assert community.method == COUNT_YES and community.threshold == 9
    assert 16 <= len(community.items) <= 20
    assert matrix.method == WEIGHTED_SUM and matrix.threshold == 25
    assert all(1 <= it.points <= 5 for it in matrix.items)
    assert matrix.max_score > matrix.threshold


def test_item_ids_unique_and_texts_distinct():
    for instrument in BUILTIN_INSTRUMENTS.values():
        ids = [it.id for it in instrument.items]
        assert len(ids) == len(set(ids))
        assert len({it.text for it in instrument.items}) == len(ids)


@pytest.mark.parametrize("instrument", BUILTIN_INSTRUMENTS.values(), ids=BUILTIN_INSTRUMENTS)
def test_round_trip_through_json(instrument):
    data = json.loads(json.dumps(instrument.to_dict()))
    again = Instrument.from_dict(data)
    assert again == instrument
    assert again.to_dict() == instrument.to_dict()


def test_from_dict_fills_optional_fields():
    data = {
        "id": "mini", "name": "Mini", "version": 2, "method": "count_yes",
        "sections": ["A"], "items": [{"id": "a", "text": "Is it so?", "section": "A"}],
        "threshold": 1, "bands": [{"name": "High", "min_score": 1, "max_score": None}],
    }
    mini = Instrument.from_dict(data)
    assert mini.items == (Item("a", "Is it so?", "A"),)
    assert mini.bands == (Band("High", 1, None, False),)
    assert mini.example is False and mini.secondary_threshold is None


def _problems_after(change):
    data = copy.deepcopy(DASH.to_dict())
    change(data)
    return Instrument.validate(data)


def _set(key, value):
    def change(d):
        d[key] = value
    return change


def _drop(key):
    def change(d):
        del d[key]
    return change


def _duplicate_item(d):
    d["items"][1]["id"] = d["items"][0]["id"]


def _overlapping_bands(d):
    d["bands"][1]["min_score"] = 9


def _gap_in_bands(d):
    d["bands"][1]["min_score"] = 11


def _capped_top_band(d):
    d["bands"][2]["max_score"] = 20


def _unknown_section(d):
    d["items"][0]["section"] = "Nowhere"


def _empty_section(d):
    d["sections"].append("Unused")


def _band_upside_down(d):
    d["bands"][0]["max_score"] = -1


def _points_on_count(d):
    d["items"][0]["points"] = 3


def _blank_text(d):
    d["items"][3]["text"] = "  "


def _duplicate_band_name(d):
    d["bands"][1]["name"] = "Standard"


def _stray_item_field(d):
    d["items"][0]["weight"] = 2


@pytest.mark.parametrize("change, expected", [
    (_duplicate_item, "reuses the id 'injury'"),
    (_set("method", "average"), "scoring method 'average' is unknown"),
    (_drop("sections"), "'sections' is missing"),
    (_set("sections", []), "at least one section"),
    (_unknown_section, "not in the list of sections"),
    (_empty_section, "section 'Unused' has no questions"),
    (_overlapping_bands, "overlap"),
    (_gap_in_bands, "No band covers the scores 10"),
    (_capped_top_band, "stops at 20"),
    (_band_upside_down, "below the lowest"),
    (_duplicate_band_name, "used twice"),
    (_set("threshold", "14"), "threshold must be a whole number"),
    (_set("threshold", 14.0), "threshold must be a whole number"),
    (_set("threshold", True), "threshold must be a whole number"),
    (_set("threshold", 25), "can never be reached"),
    (_set("threshold", 0), "1 or more"),
    (_set("secondary_threshold", "10"), "secondary threshold must be a whole number"),
    (_set("secondary_label", ""), "label for the secondary threshold"),
    (_set("version", 0), "version must be a whole number"),
    (_set("id", ""), "id must be non-empty"),
    (_set("example", "yes"), "'example' must be true or false"),
    (_set("colour", "red"), "'colour' is not part of an instrument"),
    (_set("items", []), "at least one question"),
    (_set("bands", []), "at least one band"),
    (_points_on_count, "points must be 1"),
    (_blank_text, "needs its question text"),
    (_stray_item_field, "field 'weight'"),
    (_drop("threshold"), "'threshold' is missing"),
])
def test_validate_names_each_problem(change, expected):
    problems = _problems_after(change)
    assert any(expected in p for p in problems), problems


def test_validate_rejects_non_objects():
    assert Instrument.validate(["not", "an", "object"]) != []
    assert Instrument.validate(None) != []


def test_weighted_points_must_be_positive_whole_numbers():
    data = BUILTIN_INSTRUMENTS["asb_matrix_example"].to_dict()
    data["items"][0]["points"] = 0
    data["items"][1]["points"] = 2.5
    problems = Instrument.validate(data)
    assert any("points must be 1 or more" in p for p in problems)
    assert any("points must be a whole number" in p for p in problems)


def test_from_dict_raises_with_every_problem():
    data = DASH.to_dict()
    data["method"] = "guess"
    data["items"][1]["id"] = "injury"
    with pytest.raises(InstrumentError) as caught:
        Instrument.from_dict(data)
    assert len(caught.value.problems) >= 2
    assert "guess" in str(caught.value)


# Hypothesis: any well-formed instrument validates and round-trips exactly.
_names = st.text(alphabet="abcdefghij ", min_size=1, max_size=8).filter(str.strip)


@st.composite
def instruments(draw):
    method = draw(st.sampled_from(METHODS))
    sections = draw(st.lists(_names, min_size=1, max_size=3, unique=True))
    items = []
    for s_index, section in enumerate(sections):
        for i_index in range(draw(st.integers(1, 4))):
            points = draw(st.integers(1, 5)) if method == WEIGHTED_SUM else 1
            items.append(Item(f"s{s_index}i{i_index}", draw(_names), section, points,
                              draw(st.text(max_size=10))))
    probe = Instrument("x", "x", 1, method, tuple(items), tuple(sections), 1, ())
    top = probe.max_score
    cuts = sorted(draw(st.sets(st.integers(1, top), max_size=3)))
    bounds = [0, *cuts]
    bands = tuple(Band(f"b{n}", low, (bounds[n + 1] - 1) if n + 1 < len(bounds) else None,
                       draw(st.booleans()))
                  for n, low in enumerate(bounds))
    return Instrument(
        id=draw(_names), name=draw(_names), version=draw(st.integers(1, 50)), method=method,
        items=tuple(items), sections=tuple(sections), threshold=draw(st.integers(1, top)),
        bands=bands, example=draw(st.booleans()), description=draw(st.text(max_size=20)),
        secondary_threshold=None, secondary_label="",
    )


@given(instruments())
def test_generated_instruments_validate_and_round_trip(instrument):
    data = json.loads(json.dumps(instrument.to_dict()))
    assert Instrument.validate(data) == []
    assert Instrument.from_dict(data) == instrument


def test_a_missing_section_list_is_reported_once():
    data = DASH.to_dict()
    del data["sections"]
    assert Instrument.validate(data) == ["The field 'sections' is missing."]
