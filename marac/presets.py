"""The five panels' presets, every panel setting described for the settings page, and their checks.

A preset fills every key of marac.settings.DEFAULTS (the referral criteria from
marac.risk.RULE_PRESETS). Where the panel's own documents (../shared/seeds, DOMAIN.md "Presets")
say nothing, the preset keeps a sensible default and marks it as such, so the coordinator knows
what to check. Applying a preset or saving the settings page writes one audit row per setting
changed; past referrals keep the rules and instrument they were judged by (they froze them).
"""
import copy
import re
from dataclasses import dataclass, field

from marac import audit, schedule, settings, standard_actions
from marac.db import db
from marac.risk import BUILTIN_INSTRUMENTS, RULE_PRESETS, PanelRules

BLANK = "blank"
PRESET_NAMES = {
    "merton": "Merton Community MARAC",
    "ealing": "Ealing Community Risk MARAC",
    "barking_dagenham": "Barking and Dagenham MARAC",
    "redbridge": "Redbridge Community MARAC",
    "liverpool": "Liverpool MARAC",
    BLANK: "Blank: start from the app's defaults",
}
PANEL_TYPES = {"domestic_abuse": "Domestic-abuse MARAC", "community": "Community MARAC (anti-social behaviour, "
                                                                      "hate crime and vulnerability)"}
AGENDA_ORDERS = {
    "children_first": "Cases with children or a pregnant victim first, information-only cases last",
    "highest_risk_first": "Highest risk score first, information-only cases last",
    "referral_order": "In the order the cases were referred",
}
REPEAT_ANCHORS = {"referral": "From the last referral (SafeLives)", "hearing": "From the last hearing"}
QA_BY = {"chair": "The chair", "coordinator": "The coordinator"}


# --- every setting, for the settings page -----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One setting on the settings page; `key` "rules.min_age" is a field of the setting "rules"."""

    key: str
    label: str
    group: str
    kind: str  # text, textarea, int, optional_int, choice, int_choice, bool, time, postcodes, standard_actions
    low: int = 0
    high: int = 0
    choices: dict = field(default_factory=dict)
    hint: str = ""
    required: bool = True

    @property
    def name(self) -> str:
        """The form field name (dots are not allowed there)."""
        return self.key.replace(".", "__")

    @property
    def help(self) -> str:
        return self.hint or settings.HELP.get(self.key, "")


GROUPS = {
    "panel": "The panel",
    "referrals": "Referrals and criteria",
    "meetings": "Meetings and deadlines",
    "agenda": "The agenda",
    "meeting": "At the meeting",
    "actions": "Actions and records",
}

FIELDS: list[Field] = [
    Field("panel_name", "Panel name", "panel", "text", high=120),
    Field("panel_type", "Kind of panel", "panel", "choice", choices=PANEL_TYPES),
    Field("adult_female_population", "Adult female population of the area (16 and over; 0: not set)", "panel",
          "int", 0, 20_000_000),
    # Referrals and criteria
    Field("instrument_id", "Risk checklist", "referrals", "choice",
          hint="The checklist new referrals are scored with (Risk checklists has the borough's own forms). "
               "A referral keeps the version it was scored with."),
    Field("rules.high_risk_threshold", "High-risk threshold (leave empty to use the checklist's own)", "referrals",
          "optional_int", 1, 10_000,
          hint="Some areas refer DASH at 17 or more instead of 14. Applies to the panel's own checklist only."),
    Field("rules.require_checklist", "The risk checklist must be answered", "referrals", "bool",
          hint="A referral cannot be sent until every question has an answer (\"don't know\" counts)."),
    Field("rules.criteria_visible_high_risk", "Criterion: visible high risk (score at or over the threshold)",
          "referrals", "bool", hint="A score at or over the threshold meets the panel's threshold."),
    Field("rules.criteria_professional_judgement", "Criterion: professional judgement (with a reason, "
          "quality-assured)", "referrals", "bool",
          hint="The referrer believes the risk is high whatever the score, and says why; the referral is "
               "quality-assured before it is listed."),
    Field("rules.criteria_escalation", "Criterion: potential escalation", "referrals", "bool",
          hint="Incidents rising in frequency or severity, or the number of incidents below within the window."),
    Field("rules.escalation_incidents", "Escalation: this many incidents", "referrals", "int", 1, 50,
          hint="Potential escalation: this many incidents within the window below (B&D: 3)."),
    Field("rules.escalation_months", "Escalation: within this many months", "referrals", "int", 1, 60,
          hint="Usually 12; Kent uses 6."),
    Field("rules.criteria_automatic_categories", "Criterion: honour-based violence, forced marriage and FGM are "
          "always heard", "referrals", "bool", hint="B&D and Liverpool: yes. Community panels: usually no."),
    Field("rules.closed_session_hbv", "Honour-based violence cases are heard in a closed session", "referrals",
          "bool", hint="Liverpool: always."),
    Field("rules.criteria_repeat", "Criterion: repeat referrals are always heard", "referrals", "bool",
          hint="A repeat is heard whatever its score (SafeLives)."),
    Field("rules.repeat_months", "Repeat window in months", "referrals", "int", 1, 60,
          hint="The same victim and perpetrator within this many months is a repeat (SafeLives 12, Ealing 10)."),
    Field("rules.repeat_any_incident_months", "Any incident within this many months is a repeat (optional)",
          "referrals", "optional_int", 1, 60,
          hint="Liverpool: 3 (and within 12 months only violence, stalking or sexual abuse counts). Leave "
               "empty when any incident within the repeat window is a repeat."),
    Field("repeat_anchor", "Repeat window measured from", "referrals", "choice", choices=REPEAT_ANCHORS),
    Field("rules.min_age", "Youngest age the panel hears (leave empty for no limit)", "referrals", "optional_int",
          0, 120, hint="Adults only: 18. Ealing, B&D and Liverpool: 16."),
    Field("rules.require_in_area", "The person must live in the area the panel covers", "referrals", "bool",
          hint="Referrals for people living elsewhere go to their own area's MARAC."),
    Field("borough_postcode_prefixes", "Postcode areas the panel covers (optional)", "referrals", "postcodes",
          hint="Outward codes separated by commas or spaces, for example IG11, RM8. When empty, the referrer "
               "is asked whether the person lives in the area."),
    Field("qa_police_by", "Who quality-assures police professional-judgement referrals", "referrals", "choice",
          choices=QA_BY),
    # Meetings and deadlines
    Field("meeting_frequency", "How often the panel meets", "meetings", "choice", choices=schedule.FREQUENCIES),
    Field("meeting_weekday", "Day of the week", "meetings", "int_choice",
          choices={str(i): d for i, d in enumerate(schedule.WEEKDAYS[:5])}),
    Field("meeting_week_of_month", "Monthly meetings: which week of the month", "meetings", "int_choice",
          choices={str(k): v.capitalize() for k, v in schedule.WEEKS_OF_MONTH.items()}),
    Field("meeting_start_time", "Start time", "meetings", "time"),
    Field("meeting_venue", "Usual venue", "meetings", "text", high=200, required=False),
    Field("referral_deadline_working_days", "Referral deadline: working days before the meeting", "meetings",
          "int", 0, 30),
    Field("referral_deadline_time", "Referral deadline: time of day", "meetings", "time"),
    Field("circulation_working_days", "Agenda circulated: working days before the meeting", "meetings", "int",
          0, 30),
    Field("circulation_time", "Agenda circulated: time of day", "meetings", "time"),
    Field("written_info_days_before", "Written information from an absent agency: days before", "meetings",
          "int", 0, 30),
    Field("minutes_due_working_days", "Minutes or action summary out: working days after the meeting",
          "meetings", "int", 1, 30),
    # The agenda
    Field("minutes_per_case", "Minutes for each case", "agenda", "int", 1, 120),
    Field("minutes_per_information_case", "Minutes for an information-only case", "agenda", "int", 1, 120),
    Field("agenda_order", "Order of cases on the agenda", "agenda", "choice", choices=AGENDA_ORDERS),
    Field("move_request_limit", "Requests to move cases, per agency per meeting (0: no limit)", "agenda", "int",
          0, 50),
    # At the meeting
    Field("observer_limit", "Observers at one meeting (0: none)", "meeting", "int", 0, 20),
    Field("confidentiality_statement", "Confidentiality statement", "meeting", "textarea", high=5000),
    Field("standard_actions", "Standard actions", "meeting", "standard_actions",
          hint="One action a line: what is to be done | owner, owner | when | due in days. Owners are tried in "
               "order: police, referrer, lead, all (each agency present) or part of an agency's name. When: "
               "always, children, care_needs or hate_crime. Leave the days empty for the panel's usual due date. "
               "Nothing may be addressed to a perpetrator."),
    # Actions and records
    Field("action_due_days", "Actions: due this many days after the meeting", "actions", "int", 1, 365),
    Field("action_due_soon_days", "Actions: 'due soon' within this many days", "actions", "int", 0, 60),
    Field("reminder_due_days", "E-mail reminder this many days before an action is due", "actions", "int", 0, 60),
    Field("overdue_reminder_every_days", "Repeat the overdue e-mail every this many days", "actions", "int", 1, 60),
    Field("flag_months", "Flag and tag for this many months", "actions", "int", 1, 60),
    Field("retention_months", "Retention review: months after a case closes", "actions", "int_choice",
          choices={6: "6 months", 12: "12 months"}),
    Field("document_max_mb", "Largest document upload (MB)", "actions", "int", 1, 15),
]
FIELDS_BY_KEY = {f.key: f for f in FIELDS}


def group_fields(group: str) -> list[Field]:
    return [f for f in FIELDS if f.group == group]


def covered_keys() -> set[str]:
    """The settings keys the page edits (top-level)."""
    return {f.key.split(".")[0] for f in FIELDS}


def get_value(values: dict, key: str):
    """A setting's value by page key ("rules.min_age" looks inside the rules)."""
    if "." in key:
        top, sub = key.split(".", 1)
        return (values.get(top) or {}).get(sub, getattr(PanelRules(), sub))
    return values.get(key)


def set_value(values: dict, key: str, value) -> None:
    if "." in key:
        top, sub = key.split(".", 1)
        values[top] = dict(values.get(top) or {})
        values[top][sub] = value
    else:
        values[key] = value


# --- the presets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    values: dict  # every settings key
    documented: dict  # page key -> where the value comes from; anything else is a default


def _base(panel_type: str) -> dict:
    values = copy.deepcopy(settings.DEFAULTS)
    values["panel_type"] = panel_type
    values["standard_actions"] = standard_actions.for_panel_type(panel_type)
    # Community panels hear no children-first rule: that order is a domestic-abuse rule.
    values["agenda_order"] = "children_first" if panel_type == "domestic_abuse" else "referral_order"
    return values


def _preset(key: str, panel_type: str, overrides: dict) -> Preset:
    """overrides: page key -> (value, source note)."""
    values = _base(panel_type)
    rules = RULE_PRESETS[key].to_dict() if key in RULE_PRESETS else PanelRules().to_dict()
    values["rules"] = rules
    documented = {}
    for page_key, (value, note) in overrides.items():
        set_value(values, page_key, value)
        documented[page_key] = note
    values["preset"] = key
    values["rules"]["instrument_id"] = values["instrument_id"]
    values["rules"]["panel_type"] = values["panel_type"]
    return Preset(key, PRESET_NAMES[key], values, documented)


def _build() -> dict[str, Preset]:
    table = "presets table"
    presets = {
        "merton": _preset("merton", "community", {
            "panel_name": ("Merton Community MARAC", "the panel's name"),
            "panel_type": ("community", f"{table}: community (ASB)"),
            "instrument_id": ("community_example", f"{table}: community risk checklist, 9+ yes (an example to "
                                                   "replace with Merton's form)"),
            "rules.min_age": (18, f"{table}: adults"),
            "rules.criteria_automatic_categories": (False, "community panel"),
            "meeting_frequency": ("monthly", f"{table}: monthly"),
            "referral_deadline_working_days": (8, f"{table}: 10 days before (8 working days)"),
        }),
        "ealing": _preset("ealing", "community", {
            "panel_name": ("Ealing Community Risk MARAC", "the panel's name"),
            "panel_type": ("community", f"{table}: community (ASB)"),
            "instrument_id": ("community_example", f"{table}: community risk checklist (RIC), 9+ (an example "
                                                   "to replace with Ealing's form)"),
            "rules.repeat_months": (10, f"{table}: repeat within 10 months"),
            "rules.min_age": (16, f"{table}: 16+"),
            "rules.criteria_automatic_categories": (False, "community panel"),
            "meeting_frequency": ("monthly", f"{table}: monthly"),
        }),
        "barking_dagenham": _preset("barking_dagenham", "domestic_abuse", {
            "panel_name": ("Barking and Dagenham MARAC", "the panel's name"),
            "panel_type": ("domestic_abuse", f"{table}: domestic abuse"),
            "instrument_id": ("dash", f"{table}: DASH RIC, 14+ (IDVA 10+)"),
            "rules.escalation_incidents": (3, "toolkit: 3 incidents in 12 months"),
            "rules.repeat_months": (12, f"{table}: 12 months"),
            "rules.min_age": (16, f"{table}: 16+"),
            "meeting_frequency": ("three_weekly", f"{table}: three-weekly"),
            "referral_deadline_working_days": (8, f"{table}: 8 working days"),
            "referral_deadline_time": ("17:00", f"{table}: 5pm"),
            "circulation_working_days": (5, f"{table}: 5 working days"),
            "circulation_time": ("12:00", f"{table}: 12 noon"),
            "minutes_due_working_days": (5, f"{table}: actions within 5 days"),
            "minutes_per_case": (15, f"{table}: 15 minutes a case"),
            "agenda_order": ("children_first", f"{table}: children/pregnant first, info-only last"),
            "observer_limit": (2, "toolkit: at most two observers"),
            "standard_actions": (standard_actions.for_preset("barking_dagenham"), "toolkit: action planning"),
        }),
        "redbridge": _preset("redbridge", "community", {
            "panel_name": ("Redbridge Community MARAC", "the panel's name"),
            "panel_type": ("community", f"{table}: community (ASB)"),
            "instrument_id": ("asb_matrix_example", f"{table}: ASB risk matrix, 25+ (an example to replace "
                                                    "with Redbridge's matrix)"),
            "rules.min_age": (18, f"{table}: adults only"),
            "rules.criteria_automatic_categories": (False, "community panel"),
            "meeting_frequency": ("monthly", f"{table}: monthly"),
            "referral_deadline_working_days": (8, f"{table}: 8 working days"),
            "circulation_working_days": (5, f"{table}: 5 working days"),
            "minutes_due_working_days": (6, f"{table}: minutes within 6 working days"),
            "standard_actions": (standard_actions.for_preset("redbridge"), "terms of reference"),
        }),
        "liverpool": _preset("liverpool", "domestic_abuse", {
            "panel_name": ("Liverpool MARAC", "the panel's name"),
            "panel_type": ("domestic_abuse", f"{table}: domestic abuse"),
            "instrument_id": ("merit", f"{table}: MeRIT, 72+ (bands)"),
            "rules.repeat_months": (12, f"{table}: 12 months"),
            "rules.repeat_any_incident_months": (3, f"{table}: any abuse within 3 months"),
            "rules.min_age": (16, f"{table}: 16+"),
            "rules.closed_session_hbv": (True, f"{table}: HBV always in a closed session"),
            "meeting_frequency": ("fortnightly", f"{table}: fortnightly"),
            "circulation_working_days": (5, f"{table}: 5 working days"),
            "minutes_per_case": (10, f"{table}: 10 minutes a case"),
            "agenda_order": ("highest_risk_first", f"{table}: highest risk first"),
            "action_due_days": (14, f"{table}: actions done within 14 days"),
            "move_request_limit": (2, "protocol: 2"),
            "written_info_days_before": (2, "protocol: written information 2 days before"),
            "standard_actions": (standard_actions.for_preset("liverpool"), "protocol: IDVA referral within 3 days"),
        }),
    }
    blank = _base(settings.DEFAULTS["panel_type"])
    blank["preset"] = BLANK
    presets[BLANK] = Preset(BLANK, PRESET_NAMES[BLANK], blank, {})
    return presets


PRESETS: dict[str, Preset] = _build()


def status(key: str, values: dict) -> tuple[str, str]:
    """(kind, text) of a setting against the panel's preset: documented, default, changed, or ""."""
    preset = PRESETS.get(values.get("preset") or "")
    if preset is None:
        return "", ""
    if get_value(values, key) != get_value(preset.values, key):
        return "changed", "Changed since the preset"
    if key in preset.documented:
        return "documented", f"From the preset ({preset.documented[key]})"
    return "default", "A default: the panel's documents do not say. Check it"


# --- checks -----------------------------------------------------------------------------------------

_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


def instrument_choices() -> dict:
    from marac import instruments

    return {i.id: i.name + (" (example)" if i.example else "") for i in instruments.available()}


def _another_panel_named(name: str) -> bool:
    """True when a panel other than the one in view already has this name (panel names are unique)."""
    from marac import panels
    from marac.models import Panel

    return Panel.select().where((Panel.name == name) & (Panel.id != panels.current_panel_id())).exists()


def check(values: dict) -> dict[str, list[str]]:
    """Problems with a complete set of settings, by page key; empty when they can be saved."""
    found: dict[str, list[str]] = {}

    def bad(key, message):
        found.setdefault(key, []).append(message)

    if not str(values.get("panel_name") or "").strip():
        bad("panel_name", "Enter the panel's name")
    elif _another_panel_named(str(values["panel_name"]).strip()):
        bad("panel_name", "Another panel in this database has that name: choose a different one")
    if values.get("instrument_id") not in instrument_choices():
        bad("instrument_id", "Choose a risk checklist")
    try:
        rules = PanelRules.from_dict({**(values.get("rules") or {}), "instrument_id": values.get("instrument_id"),
                                      "panel_type": values.get("panel_type")})
    except (TypeError, ValueError) as exc:
        bad("rules.repeat_months", f"The referral criteria cannot be used: {exc}")
        rules = None
    if rules is not None:
        if rules.repeat_any_incident_months is not None and rules.repeat_any_incident_months >= rules.repeat_months:
            bad("rules.repeat_any_incident_months", "The short repeat window must be shorter than the repeat window")
        if not any((rules.criteria_visible_high_risk, rules.criteria_professional_judgement,
                    rules.criteria_escalation, rules.criteria_automatic_categories, rules.criteria_repeat)):
            bad("rules.criteria_visible_high_risk", "Switch on at least one referral criterion")
        instrument = BUILTIN_INSTRUMENTS.get(values.get("instrument_id"))
        if rules.high_risk_threshold is not None and instrument is not None \
                and rules.high_risk_threshold > instrument.max_score:
            bad("rules.high_risk_threshold", f"The threshold can never be reached: the checklist's highest score "
                                             f"is {instrument.max_score}")
    for prefix in values.get("borough_postcode_prefixes") or []:
        if not _OUTWARD.match(prefix):
            bad("borough_postcode_prefixes", f"'{prefix}' is not the first part of a postcode (like IG11 or RM8)")
    found.update(_check_deadlines(values))
    if int(values.get("minutes_per_information_case") or 0) > int(values.get("minutes_per_case") or 0):
        bad("minutes_per_information_case", "An information-only case cannot take longer than a full case")
    items = values.get("standard_actions")
    for problem in standard_actions.problems(items):
        bad("standard_actions", problem)
    return found


def _check_deadlines(values: dict) -> dict[str, list[str]]:
    """The referral deadline comes before circulation, and both before the meeting starts."""
    found: dict[str, list[str]] = {}
    try:
        start = schedule.parse_time(values["meeting_start_time"])
        referral = (int(values["referral_deadline_working_days"]),
                    schedule.parse_time(values["referral_deadline_time"]))
        circulation = (int(values["circulation_working_days"]), schedule.parse_time(values["circulation_time"]))
    except (KeyError, TypeError, ValueError):
        return found  # the fields themselves are reported as invalid
    if referral[0] == 0 and referral[1] >= start:
        found["referral_deadline_working_days"] = ["The referral deadline cannot be after the meeting starts"]
    if circulation[0] == 0 and circulation[1] >= start:
        found["circulation_working_days"] = ["The agenda must be circulated before the meeting starts"]
    # More working days before the meeting = earlier; on the same day, the earlier time first.
    if (-referral[0], referral[1]) > (-circulation[0], circulation[1]):
        found.setdefault("referral_deadline_working_days", []).append(
            "The referral deadline must come before the agenda is circulated")
    return found


# --- saving -------------------------------------------------------------------------------------------


class SettingsInvalid(ValueError):
    def __init__(self, problems: dict[str, list[str]]):
        super().__init__("; ".join(p for ps in problems.values() for p in ps))
        self.problems = problems


def save(new_values: dict, user) -> list[str]:
    """Store a complete set of settings if they pass the checks; one audit row per setting changed."""
    found = check(new_values)
    if found:
        raise SettingsInvalid(found)
    current = settings.all_settings()
    changed = [k for k in settings.DEFAULTS if k in new_values and new_values[k] != current.get(k)]
    with db.atomic():
        for key in changed:
            settings.set_many({key: new_values[key]}, user)
            if key == "rules":
                old, new = current.get("rules") or {}, new_values["rules"]
                audit.record("settings.rules", object_type="settings", object_id="rules", user=user,
                             detail={"fields": sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))})
    return changed


def apply(preset_key: str, user, **extra) -> list[str]:
    """Fill every setting from a preset (extra values on top); audited."""
    preset = PRESETS[preset_key]
    values = copy.deepcopy(preset.values)
    values.update(extra)
    with db.atomic():
        changed = save(values, user)
        audit.record("settings.preset", object_type="settings", object_id="preset", user=user,
                     detail={"preset": preset_key, "changed": len(changed)})
    return changed


def needs_choice() -> bool:
    """True until a preset (or blank) has been chosen for this panel."""
    return not settings.get("preset")
