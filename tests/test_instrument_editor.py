"""The instrument editor and store: versions, the text format, preview, import/export, choice."""
import io
import json

import pytest

from marac import instrument_store, instruments, settings
from marac.models import AuditEvent, BoroughInstrument
from marac.risk import BUILTIN_INSTRUMENTS, COMMUNITY_EXAMPLE, DASH, InstrumentError

ITEMS = """Vulnerability | Does the person live alone? | 3
Vulnerability | Does the person have a mental health condition? | 4 | Diagnosed or suspected
Behaviour | Has there been violence? | 5
"""
BANDS = "Low | 0-4\nMedium | 5-8\nHigh | 9+ | high"


def editor_data(**overrides):
    data = {"name": "Northtown ASB matrix", "description": "Our matrix", "method": "weighted_sum",
            "items": ITEMS, "threshold": "9", "secondary_threshold": "", "secondary_label": "", "bands": BANDS}
    data.update(overrides)
    return data


def audit_actions():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


@pytest.fixture
def signed_in_coordinator(coordinator, sign_in):
    return sign_in(coordinator)


# --- store ------------------------------------------------------------------------------------


def test_saving_a_builtin_makes_version_two_and_keeps_version_one(app, coordinator):
    data = DASH.to_dict()
    data["threshold"] = 17
    saved = instrument_store.save(data, coordinator)
    assert saved.version == 2 and saved.threshold == 17
    assert instruments.get_instrument("dash").version == 2
    assert instruments.get_instrument("dash", 1) == DASH  # old referrals find theirs
    assert instruments.get_instrument("dash", 2).threshold == 17
    with pytest.raises(instruments.UnknownInstrument):
        instruments.get_instrument("dash", 3)
    assert [v.version for v in instrument_store.versions("dash")] == [2, 1]
    event = AuditEvent.select().where(AuditEvent.action == "instrument.editor").get()
    assert event.object_id == "dash" and json.loads(event.detail) == {"items": 24, "version": 2}


def test_a_new_instrument_starts_at_version_one_and_joins_the_list(app, coordinator):
    data = COMMUNITY_EXAMPLE.to_dict() | {"id": "northtown", "name": "Northtown checklist", "example": False}
    instrument_store.save(data, coordinator)
    instrument_store.save(data | {"threshold": 8}, coordinator)
    ids = [i.id for i in instruments.list_instruments()]
    assert ids[: len(BUILTIN_INSTRUMENTS)] == list(BUILTIN_INSTRUMENTS)
    assert ids[-1] == "northtown"
    assert instruments.get_instrument("northtown").version == 2
    assert instruments.get_instrument("northtown", 1).threshold == 9


def test_invalid_data_saves_nothing_and_names_each_problem(app, coordinator):
    data = COMMUNITY_EXAMPLE.to_dict() | {"id": "Bad Id!", "threshold": 99}
    with pytest.raises(InstrumentError) as caught:
        instrument_store.save(data, coordinator)
    text = " ".join(caught.value.problems)
    assert "can never be reached" in text and "lower-case letters" in text
    assert BoroughInstrument.select().count() == 0
    assert "instrument.editor" not in audit_actions()


def test_reserved_ids_are_refused(app):
    assert any("reserved" in p for p in instrument_store.problems(COMMUNITY_EXAMPLE.to_dict() | {"id": "new"}))
    assert instrument_store.new_id("New") == "new_2"


def test_text_format_round_trip_keeps_question_ids(app):
    text = instrument_store.items_to_text(DASH)
    items, sections, problems = instrument_store.items_from_text(text, DASH)
    assert not problems
    assert [i["id"] for i in items] == [i.id for i in DASH.items]
    assert sections == list(DASH.sections)
    bands, problems = instrument_store.bands_from_text(instrument_store.bands_to_text(DASH))
    assert not problems and bands == [b.to_dict() for b in DASH.bands]


def test_text_format_reports_bad_lines(app):
    items, _, problems = instrument_store.items_from_text("just a question\nA | Q | lots\nA | Fine")
    assert [i["text"] for i in items] == ["Fine"]
    assert problems[0].startswith("Question line 1") and "whole number" in problems[1]
    bands, problems = instrument_store.bands_from_text("High | nine\nLow | 0-3 | maybe\nTop | 9+ | high")
    assert bands == [{"name": "Top", "min_score": 9, "max_score": None, "high_risk": True}]
    assert "Band line 1" in problems[0] and "Band line 2" in problems[1]


# --- pages ------------------------------------------------------------------------------------


def test_list_labels_builtins_examples_and_the_one_in_use(client, signed_in_coordinator):
    r = client.get("/instruments/")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert body.count("Example: replace with your borough&#39;s form") == 2
    assert body.count("Built in") == 4
    assert "In use" in body


def test_create_checklist_saves_version_one(client, signed_in_coordinator):
    r = client.post("/instruments/new", data=editor_data(save="1"))
    assert r.status_code == 302 and r.headers["Location"] == "/instruments/northtown_asb_matrix"
    saved = instruments.get_instrument("northtown_asb_matrix")
    assert saved.version == 1 and saved.method == "weighted_sum" and not saved.example
    assert [i.points for i in saved.items] == [3, 4, 5]
    assert saved.items[1].help == "Diagnosed or suspected"
    assert saved.sections == ("Vulnerability", "Behaviour")
    assert "instrument.editor" in audit_actions()
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Northtown ASB matrix" in page and "Borough form" in page


def test_preview_button_scores_ticks_without_saving(client, signed_in_coordinator):
    r = client.post("/instruments/new", data=editor_data(preview="1", tick=["does_the_person_live_alone",
                                                                             "has_there_been_violence"]))
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert '<p class="marac-score-panel__score">8</p>' in body
    assert "3 + 5 = 8 points" in body
    assert BoroughInstrument.select().count() == 0


def test_htmx_preview_and_score_fragments(client, signed_in_coordinator):
    hx = {"HX-Request": "true"}
    r = client.post("/instruments/preview", data=editor_data(tick=["has_there_been_violence"]), headers=hx)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and 'id="instrument-preview"' in body
    assert 'value="has_there_been_violence" checked' in body
    r = client.post("/instruments/preview/score", headers=hx,
                    data=editor_data(tick=["has_there_been_violence", "does_the_person_live_alone"]))
    body = r.get_data(as_text=True)
    assert body.startswith('<div id="instrument-score"') and ">8</p>" in body
    assert "Under the high-risk threshold of 9" in body and "band <strong>Medium</strong>" in body
    assert "HX-Request" in r.headers["Vary"]
    # A definition that cannot be read yet: the preview says so instead of failing.
    r = client.post("/instruments/preview", data=editor_data(bands="nonsense"), headers=hx)
    assert r.status_code == 200 and "The preview appears when" in r.get_data(as_text=True)


def test_invalid_definition_shows_every_problem_and_saves_nothing(client, signed_in_coordinator):
    r = client.post("/instruments/new", data=editor_data(save="1", threshold="40",
                                                         bands="Low | 0-4\nHigh | 9+ | high"))
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "govuk-error-summary" in body
    assert "can never be reached" in body  # threshold above the highest possible score (12)
    assert "No band covers the scores 5-8" in body
    assert BoroughInstrument.select().count() == 0


def test_edit_saves_a_new_version_and_keeps_question_ids(client, signed_in_coordinator):
    r = client.get("/instruments/community_example/edit")
    assert r.status_code == 200 and "Saving makes version 2" in r.get_data(as_text=True)
    data = editor_data(name=COMMUNITY_EXAMPLE.name, method="count_yes",
                       items=instrument_store.items_to_text(COMMUNITY_EXAMPLE) + "\nPerson | Is there a new worry?",
                       threshold="10", bands="Standard | 0-5\nMedium | 6-9\nHigh | 10+ | high", save="1")
    r = client.post("/instruments/community_example/edit", data=data)
    assert r.status_code == 302
    new = instruments.get_instrument("community_example")
    assert new.version == 2 and new.threshold == 10 and len(new.items) == len(COMMUNITY_EXAMPLE.items) + 1
    assert [i.id for i in new.items[:-1]] == [i.id for i in COMMUNITY_EXAMPLE.items]
    assert instruments.get_instrument("community_example", 1) == COMMUNITY_EXAMPLE
    assert "Person" in new.sections


def test_copy_makes_a_new_checklist(client, signed_in_coordinator):
    r = client.get("/instruments/new?copy=asb_matrix_example")
    assert "Example ASB vulnerability matrix (copy)" in r.get_data(as_text=True)
    data = editor_data(name="Redbridge matrix", method="weighted_sum",
                       items=instrument_store.items_to_text(BUILTIN_INSTRUMENTS["asb_matrix_example"]),
                       threshold="25", bands="Standard | 0-14\nMedium | 15-24\nHigh | 25+ | high", save="1",
                       copy="asb_matrix_example")
    r = client.post("/instruments/new?copy=asb_matrix_example", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/instruments/redbridge_matrix")
    assert instruments.get_instrument("asb_matrix_example").version == 1  # the original is untouched


def test_show_page_scores_as_boxes_are_ticked(client, signed_in_coordinator):
    r = client.get("/instruments/merit?tick=" + "&tick=".join(
        i.id for i in BUILTIN_INSTRUMENTS["merit"].items[:8]), headers={"HX-Request": "true"})
    body = r.get_data(as_text=True)
    assert "<html" not in body and "Breakdown: 6" in body and "Social: 2" in body and "Violence: 0" in body
    assert "no band" in body
    assert client.get("/instruments/nothing-here").status_code == 404
    assert client.get("/instruments/dash?version=7").status_code == 404


def test_export_then_import_round_trip(client, signed_in_coordinator):
    r = client.get("/instruments/asb_matrix_example/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert 'filename="asb_matrix_example-v1.json"' in r.headers["Content-Disposition"]
    data = json.loads(r.data)
    assert data == BUILTIN_INSTRUMENTS["asb_matrix_example"].to_dict()
    data.update(id="shared_matrix", name="Matrix shared by Southtown", version=7)
    r = client.post("/instruments/import", data={"file": (io.BytesIO(json.dumps(data).encode()), "m.json")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    imported = instruments.get_instrument("shared_matrix")
    assert imported.version == 1 and imported.name == "Matrix shared by Southtown"  # numbered here
    assert "instrument.import" in audit_actions() and "instrument.export" in audit_actions()


@pytest.mark.parametrize(("content", "expected"), [
    (b"{not json", ["The file is not valid JSON"]),
    (b"\xff\xfe\x00bad", ["not text in UTF-8"]),
    (json.dumps({"id": "x", "name": "", "method": "guess", "items": [], "sections": ["A"],
                 "threshold": 0, "bands": []}).encode(),
     ["The instrument name must be non-empty text.", "The scoring method 'guess' is unknown",
      "at least one question", "The threshold must be 1 or more.", "at least one band"]),
    (json.dumps([1, 2]).encode(), ["must be a JSON object"]),
])
def test_invalid_import_names_each_problem_and_changes_nothing(client, signed_in_coordinator, content, expected):
    before = AuditEvent.select().count()
    r = client.post("/instruments/import", data={"file": (io.BytesIO(content), "form.json")},
                    content_type="multipart/form-data")
    body = r.get_data(as_text=True).replace("&#39;", "'")
    assert r.status_code == 200 and "The file was not imported, and nothing has changed" in body
    for text in expected:
        assert text in body
    assert BoroughInstrument.select().count() == 0
    assert AuditEvent.select().count() == before


def test_import_without_a_file(client, signed_in_coordinator):
    r = client.post("/instruments/import", data={}, content_type="multipart/form-data")
    assert "Choose a .json file to import." in r.get_data(as_text=True)


def test_choose_the_panel_instrument(client, signed_in_coordinator):
    instrument_store.save(COMMUNITY_EXAMPLE.to_dict() | {"id": "northtown", "name": "Northtown"}, None)
    r = client.post("/instruments/northtown/use")
    assert r.status_code == 302
    assert settings.get("instrument_id") == "northtown"
    assert instruments.current_instrument().id == "northtown"
    assert "settings.update" in audit_actions()
    assert client.post("/instruments/missing/use").status_code == 404


@pytest.mark.parametrize("role", ["chair", "representative", "referrer", "observer"])
def test_only_the_coordinator_may_use_the_editor(client, factory, sign_in, role):
    sign_in(factory.user(role=role))
    for method, url in [("get", "/instruments/"), ("get", "/instruments/dash"), ("get", "/instruments/new"),
                        ("get", "/instruments/dash/edit"), ("get", "/instruments/dash/export"),
                        ("get", "/instruments/import"), ("post", "/instruments/preview"),
                        ("post", "/instruments/preview/score"), ("post", "/instruments/dash/use")]:
        assert getattr(client, method)(url).status_code == 403, url
    assert settings.get("instrument_id") == "dash"
