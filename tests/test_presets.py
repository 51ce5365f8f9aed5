"""The five panels' presets, the settings page (help, validation, audit per change), first-run choice."""
import html
import json

import pytest

from marac import presets, settings
from marac.forms.settings import actions_from_text, actions_to_text
from marac.models import AuditEvent, PanelSetting, Referral
from marac.risk import BUILTIN_INSTRUMENTS


def rows(action):
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


@pytest.fixture
def coord(coordinator, sign_in):
    return sign_in(coordinator)


def test_every_setting_is_in_every_preset_and_on_the_settings_page():
    for preset in presets.PRESETS.values():
        assert set(preset.values) == set(settings.DEFAULTS), preset.key
    assert presets.covered_keys() | {"preset"} == set(settings.DEFAULTS)
    for spec in presets.FIELDS:
        assert spec.help, f"{spec.key} has no help text"


def test_every_preset_passes_the_checks(app):
    for key, preset in presets.PRESETS.items():
        assert presets.check(preset.values) == {}, key


@pytest.mark.parametrize(("key", "expected"), [
    ("merton", {"panel_type": "community", "instrument_id": "community_example", "meeting_frequency": "monthly",
                "rules.min_age": 18, "referral_deadline_working_days": 8, "agenda_order": "referral_order"}),
    ("ealing", {"panel_type": "community", "instrument_id": "community_example", "meeting_frequency": "monthly",
                "rules.repeat_months": 10, "rules.min_age": 16}),
    ("barking_dagenham", {"panel_type": "domestic_abuse", "instrument_id": "dash",
                          "meeting_frequency": "three_weekly", "referral_deadline_working_days": 8,
                          "referral_deadline_time": "17:00", "circulation_working_days": 5,
                          "circulation_time": "12:00", "minutes_due_working_days": 5, "minutes_per_case": 15,
                          "agenda_order": "children_first", "rules.repeat_months": 12, "rules.min_age": 16,
                          "rules.escalation_incidents": 3, "observer_limit": 2}),
    ("redbridge", {"panel_type": "community", "instrument_id": "asb_matrix_example", "meeting_frequency": "monthly",
                   "referral_deadline_working_days": 8, "circulation_working_days": 5,
                   "minutes_due_working_days": 6, "rules.min_age": 18}),
    ("liverpool", {"panel_type": "domestic_abuse", "instrument_id": "merit", "meeting_frequency": "fortnightly",
                   "circulation_working_days": 5, "minutes_per_case": 10, "agenda_order": "highest_risk_first",
                   "rules.repeat_months": 12, "rules.repeat_any_incident_months": 3, "rules.min_age": 16,
                   "rules.closed_session_hbv": True, "action_due_days": 14}),
])
def test_presets_follow_the_presets_table(key, expected):
    preset = presets.PRESETS[key]
    for page_key, value in expected.items():
        assert presets.get_value(preset.values, page_key) == value, (key, page_key)
    thresholds = {"merton": 9, "ealing": 9, "barking_dagenham": 14, "redbridge": 25, "liverpool": 72}
    assert BUILTIN_INSTRUMENTS[preset.values["instrument_id"]].threshold == thresholds[key]
    community = preset.values["panel_type"] == "community"
    assert preset.values["rules"]["criteria_automatic_categories"] is not community
    assert {a["key"] for a in preset.values["standard_actions"]} >= {"flag_tag", "victim_feedback"}


def test_dashes_in_the_table_are_defaults_marked_as_such(app):
    ealing = presets.PRESETS["ealing"].values
    assert presets.status("referral_deadline_working_days", ealing)[0] == "default"
    assert presets.status("rules.repeat_months", ealing)[0] == "documented"
    bd = presets.PRESETS["barking_dagenham"].values
    assert presets.status("referral_deadline_time", bd) == ("documented", "From the preset (presets table: 5pm)")
    changed = dict(bd, minutes_per_case=20)
    assert presets.status("minutes_per_case", changed)[0] == "changed"
    assert presets.status("panel_name", dict(settings.DEFAULTS)) == ("", "")  # no preset chosen


def test_apply_fills_every_setting_audits_each_and_never_rewrites_referrals(app, coordinator):
    referral = Referral.create(author=coordinator, agency=coordinator.agency_id, status="submitted",
                               instrument_id="dash", instrument_version=1, score_total=15, threshold_met=True,
                               verdict=json.dumps({"threshold": 14, "rules": {"min_age": 16}}))
    changed = presets.apply("redbridge", coordinator)
    values = settings.all_settings()
    assert values == {**presets.PRESETS["redbridge"].values}
    assert set(changed) >= {"panel_name", "panel_type", "instrument_id", "rules", "preset", "standard_actions"}
    updates = rows("settings.update")
    assert [json.loads(e.detail)["keys"] for e in updates] == [[k] for k in changed]  # one row per setting
    assert json.loads(rows("settings.preset")[0].detail) == {"preset": "redbridge", "changed": len(changed)}
    assert "min_age" in json.loads(rows("settings.rules")[0].detail)["fields"]
    again = Referral.get_by_id(referral.id)
    assert again.verdict == referral.verdict and again.instrument_id == "dash"
    assert settings.panel_rules().min_age == 18 and settings.panel_rules().instrument_id == "asb_matrix_example"


def test_first_run_asks_for_the_preset(client, coord):
    assert "Choose its preset" in client.get("/").get_data(as_text=True)
    page = html.unescape(client.get("/settings/preset").get_data(as_text=True))
    for name in presets.PRESET_NAMES.values():
        assert name in page
    r = client.post("/settings/preset", data={"preset": "barking_dagenham"})
    assert r.status_code == 302 and r.headers["Location"] == "/settings/"
    assert settings.get("preset") == "barking_dagenham" and settings.get("meeting_frequency") == "three_weekly"
    assert "Choose its preset" not in client.get("/").get_data(as_text=True)
    assert "replaces every setting" in client.get("/settings/preset").get_data(as_text=True)


def test_settings_page_shows_values_help_and_markers(client, coord, coordinator):
    presets.apply("ealing", coordinator)
    body = html.unescape(client.get("/settings/").get_data(as_text=True))
    assert "Ealing Community Risk MARAC" in body
    assert "A default: check it" in body
    assert settings.HELP["referral_deadline_working_days"] in body
    for title in presets.GROUPS.values():
        assert title in body


def post_group(client, group, **changes):
    """Post a group's form with its current values, changed as given."""
    from marac.forms.settings import to_text

    values = settings.all_settings()
    data = {}
    for spec in presets.group_fields(group):
        value = to_text(spec, presets.get_value(values, spec.key))
        if spec.kind == "bool":
            if value:
                data[spec.name] = "y"
        else:
            data[spec.name] = value
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(f"/settings/{group}", data=data)


def test_saving_a_group_audits_each_change(client, coord, coordinator):
    presets.apply("barking_dagenham", coordinator)
    before = len(rows("settings.update"))
    r = post_group(client, "agenda", minutes_per_case="12", move_request_limit="3")
    assert r.status_code == 302
    assert settings.get("minutes_per_case") == 12 and settings.get("move_request_limit") == 3
    new = rows("settings.update")[before:]
    assert sorted(json.loads(e.detail)["keys"][0] for e in new) == ["minutes_per_case", "move_request_limit"]
    assert "Changed since the preset" in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize(("group", "changes", "message"), [
    ("meetings", {"referral_deadline_working_days": "4"}, "The referral deadline must come before the agenda"),
    ("meetings", {"referral_deadline_working_days": "0", "referral_deadline_time": "17:00"},
     "The referral deadline cannot be after the meeting starts"),
    ("meetings", {"circulation_working_days": "0", "circulation_time": "12:00"},
     "The agenda must be circulated before the meeting starts"),
    ("meetings", {"meeting_start_time": "25:00"}, "as hours and minutes"),
    ("agenda", {"minutes_per_case": "lots"}, "must be a whole number"),
    ("agenda", {"minutes_per_information_case": "30"}, "cannot take longer than a full case"),
    ("referrals", {"rules__repeat_any_incident_months": "12"}, "must be shorter than the repeat window"),
    ("referrals", {"rules__high_risk_threshold": "30"}, "can never be reached"),
    ("referrals", {"borough_postcode_prefixes": "IG11, nonsense"}, "NONSENSE"),
    ("meeting", {"standard_actions": "Write to the perpetrator to tell them the outcome | police"},
     "nothing may be addressed to the perpetrator"),
    ("panel", {"panel_name": ""}, "Enter the panel name"),
])
def test_invalid_settings_are_refused_and_change_nothing(client, coord, coordinator, group, changes, message):
    presets.apply("barking_dagenham", coordinator)
    before = {row.key: row.value for row in PanelSetting.select()}
    audits = AuditEvent.select().count()
    r = post_group(client, group, **changes)
    body = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 200 and "govuk-error-summary" in body
    assert message in body
    assert {row.key: row.value for row in PanelSetting.select()} == before
    assert AuditEvent.select().count() == audits


def test_criteria_switches_and_optional_numbers(client, coord, coordinator):
    presets.apply("liverpool", coordinator)
    r = post_group(client, "referrals", rules__closed_session_hbv=None, rules__repeat_any_incident_months="",
                   rules__min_age="", borough_postcode_prefixes="l1 l2,L3")
    assert r.status_code == 302
    rules = settings.panel_rules()
    assert rules.closed_session_hbv is False and rules.repeat_any_incident_months is None and rules.min_age is None
    assert settings.get("borough_postcode_prefixes") == ["L1", "L2", "L3"]


def test_standard_actions_text_round_trip():
    items = presets.PRESETS["liverpool"].values["standard_actions"]
    again = actions_from_text(actions_to_text(items), items)
    assert again == items
    edited = actions_from_text(actions_to_text(items) + "\nCheck the housing file | Housing | always | 7", items)
    assert edited[-1] == {"key": "check_the_housing_file", "text": "Check the housing file", "owner": ["Housing"],
                          "when": "always", "due_days": 7}


def test_settings_are_the_coordinators(client, factory, sign_in):
    sign_in(factory.user(role="chair"))
    for url in ["/settings/", "/settings/preset", "/settings/agenda"]:
        assert client.get(url).status_code == 403
    assert client.post("/settings/preset", data={"preset": "merton"}).status_code == 403
    assert settings.get("preset") == ""


def test_unknown_group_is_404(client, coord):
    assert client.get("/settings/nothing").status_code == 404


@pytest.mark.parametrize("key", list(presets.PRESETS))
def test_every_group_saves_as_shown(client, coord, coordinator, key):
    """Each group's form, posted as shown, passes its checks and changes nothing."""
    presets.apply(key, coordinator)
    before = settings.all_settings()
    for group in presets.GROUPS:
        r = post_group(client, group)
        assert r.status_code == 302, (group, html.unescape(r.get_data(as_text=True))[:3000])
    assert settings.all_settings() == before
