"""Panel settings: one JSON value per key, with defaults here. Every change is audited.

Areas add their keys to DEFAULTS (with a label and help text in HELP); the presets of
the five panels (issue 10) fill them. Past decisions keep what they were judged by:
a referral freezes its instrument and verdict, so changing a setting never rewrites history.
"""
import json

from marac import audit, clock, panels, standard_actions
from marac.db import db
from marac.models import Panel, PanelSetting
from marac.risk import PanelRules

# Our own wording (issue 6), modelled on the confidentiality agreements MARACs sign at each meeting.
CONFIDENTIALITY_STATEMENT = (
    "Everything shared at this meeting is confidential. It is shared only to reduce the risk of harm to the "
    "people discussed, under the information sharing agreement. Do not pass it on except to colleagues who "
    "need it to carry out the actions agreed, and never tell a perpetrator what was discussed or that an action "
    "came from this meeting. Keep any notes secure and destroy them when the minutes arrive. If you hold "
    "information that would put someone at risk if shared, speak to the chair first."
)

DEFAULTS: dict[str, object] = {
    "panel_name": "Anytown MARAC",
    "panel_type": "domestic_abuse",  # domestic_abuse or community
    "preset": "",
    # Meetings and the agenda board (issue 5). Times are UK local "HH:MM"; days before a meeting are
    # working days (weekends and England & Wales bank holidays skipped) unless the name says otherwise.
    "meeting_frequency": "monthly",  # weekly, fortnightly, three_weekly, monthly
    "meeting_weekday": 2,  # Monday = 0
    "meeting_week_of_month": 2,  # monthly: 1-4, or -1 for the last
    "meeting_start_time": "09:30",
    "meeting_venue": "",
    "referral_deadline_working_days": 8,
    "referral_deadline_time": "17:00",
    "circulation_working_days": 5,
    "circulation_time": "12:00",
    "minutes_due_working_days": 5,
    "minutes_per_case": 15,
    "minutes_per_information_case": 5,
    "agenda_order": "children_first",  # children_first, highest_risk_first, referral_order
    "move_request_limit": 2,  # 0: no limit
    "written_info_days_before": 2,  # calendar days
    # Case record and actions (issue 7)
    "action_due_days": 14,
    "action_due_soon_days": 7,
    "reminder_due_days": 3,
    "overdue_reminder_every_days": 7,
    "document_max_mb": 10,
    "flag_months": 12,
    "retention_months": 12,  # issue 8: a closed case's retention review, 6 or 12 months after closure
    # Referral form (issue 3). The instrument new referrals are scored with (see
    # marac.instruments.get_instrument), and the panel's referral criteria (PanelRules as data;
    # its instrument_id and panel_type are taken from the two settings above, not from here).
    "instrument_id": "dash",
    "rules": PanelRules().to_dict(),
    # Outward codes (the part of a postcode before the space, e.g. "IG11") of the area the panel
    # covers. Empty: the referrer answers "does the person live in the area?" instead.
    "borough_postcode_prefixes": [],
    # Inbox (issue 4): where the repeat window is measured from, and who quality-assures
    # professional-judgement referrals from the police (other agencies': the coordinator).
    "repeat_anchor": "referral",  # referral or hearing
    "qa_police_by": "chair",  # chair or coordinator
    # Running the meeting (issue 6): observers allowed at one meeting (B&D: 2; 0: none), the
    # statement the chair reads and each attendee agrees to, and the panel's standard actions
    # (marac.standard_actions: a preset's list, or the domestic-abuse list by default).
    "observer_limit": 2,
    "confidentiality_statement": CONFIDENTIALITY_STATEMENT,
    "standard_actions": standard_actions.DOMESTIC_ABUSE,
    # Steering-group reports (issue 9): women aged 16 and over in the area the panel covers, for the
    # SafeLives benchmark of 40 cases a year per 10,000 (0: not set, the benchmark is not shown).
    "adult_female_population": 0,
}
HELP: dict[str, str] = {
    "panel_name": "The panel's name as shown on agendas and minutes.",
    "panel_type": "A domestic-abuse MARAC or a Community (ASB) MARAC.",
    "preset": "The preset this panel started from.",
    "meeting_frequency": "How often the panel meets: every week, two weeks, three weeks, or once a month.",
    "meeting_weekday": "The day of the week the panel meets.",
    "meeting_week_of_month": "For monthly meetings: which of that weekday in the month (for example the second "
                             "Wednesday).",
    "meeting_start_time": "When meetings start (24-hour clock, for example 09:30).",
    "meeting_venue": "Where meetings are usually held.",
    "referral_deadline_working_days": "A referral is listed at a meeting when it arrives this many working days "
                                      "before it (B&D and Redbridge: 8).",
    "referral_deadline_time": "The time of day of the referral deadline (B&D: 17:00).",
    "circulation_working_days": "The agenda is circulated this many working days before the meeting (5).",
    "circulation_time": "The time of day the agenda is due out (B&D: 12:00).",
    "minutes_due_working_days": "Minutes or the action summary go out within this many working days after "
                                "the meeting (Redbridge 6, B&D 5).",
    "minutes_per_case": "Minutes allowed for each case on the agenda (B&D 15, Liverpool 10).",
    "minutes_per_information_case": "Minutes allowed for a case listed for information only.",
    "agenda_order": "How new cases are placed on the agenda: children or pregnancy first and information-only "
                    "last (B&D), highest risk first (Liverpool), or in the order referred.",
    "move_request_limit": "Requests from one agency to move cases at a meeting before the board warns "
                          "(Liverpool: 2). 0 means no limit.",
    "written_info_days_before": "An agency that cannot attend sends written information at least this many "
                                "days before the meeting (Liverpool: 2).",
    "action_due_days": "Days from agreeing an action to its default due date.",
    "action_due_soon_days": "An open action due within this many days shows as 'due soon'.",
    "reminder_due_days": "E-mail the owner agency this many days before an action is due.",
    "overdue_reminder_every_days": "Repeat the overdue e-mail to the owner agency every this many days.",
    "document_max_mb": "Largest document that can be uploaded to a case, in megabytes (at most 15).",
    "flag_months": "Agencies flag and tag a case's files for this many months after its last referral.",
    "retention_months": "A closed case comes up for its retention review this many months after it closed: the "
                        "coordinator keeps it (with a reason and a new date) or deletes its personal data.",
    "instrument_id": "The risk checklist new referrals are scored with (a referral keeps the version it was "
                     "scored with).",
    "rules": "The referral criteria: which are switched on, thresholds, escalation and repeat windows, "
             "minimum age, whether the person must live in the area.",
    "borough_postcode_prefixes": "Postcode outward codes (for example IG11, RM8) of the area the panel covers. "
                                 "When set, a referral's postcode decides whether the person lives in the area; "
                                 "when empty, the referrer is asked.",
    "repeat_anchor": "Measure the repeat window from the last referral (SafeLives) or from the last hearing.",
    "qa_police_by": "Who quality-assures professional-judgement referrals made by the police: the chair or "
                    "the coordinator. Other agencies' are always quality-assured by the coordinator.",
    "observer_limit": "Observers the coordinator may approve for one meeting (B&D: 2). 0 means no observers.",
    "confidentiality_statement": "The statement the chair reads at the start of each meeting; every attendee "
                                 "agrees to it before they can see case details.",
    "standard_actions": "Actions proposed for each case (flag and tag, TACAU, IDVA referral, feedback to the "
                        "victim, MASH and adult safeguarding referrals), with their owner and when they apply.",
    "adult_female_population": "Women aged 16 and over living in the area the panel covers (from the census or "
                               "the council's population estimates). Reports compare the cases heard with "
                               "SafeLives' benchmark of 40 cases a year per 10,000 adult women. 0 hides the "
                               "comparison.",
}


def get(key: str):
    """The value of a setting (the default when never set)."""
    row = PanelSetting.get_or_none((PanelSetting.panel == panels.current_panel_id()) & (PanelSetting.key == key))
    if row is None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        return DEFAULTS[key]
    return json.loads(row.value)


_SETTINGS_SQL = {"?": 'SELECT "key", "value" FROM "panel_setting" WHERE "panel_id" = ?',
                 "%s": 'SELECT "key", "value" FROM "panel_setting" WHERE "panel_id" = %s'}


def all_settings() -> dict:
    """Every setting, defaults filled in, in one query (plain SQL: most pages read the settings, and
    Peewee's query building cost more than the query)."""
    values = dict(DEFAULTS)
    sql = _SETTINGS_SQL["%s" if db.param == "%s" else "?"]
    for key, value in db.execute_sql(sql, (panels.current_panel_id(),)).fetchall():
        values[key] = json.loads(value)
    return values


def set_many(values: dict, user=None) -> list[str]:
    """Store settings; audit which keys changed. Returns the changed keys."""
    current = all_settings()
    changed = [k for k, v in values.items() if current.get(k) != v]
    if not changed:
        return []
    with db.atomic():
        for key in changed:
            if key not in DEFAULTS:
                raise KeyError(f"unknown setting {key!r}")
            (PanelSetting.insert(panel=panels.current_panel_id(), key=key, value=json.dumps(values[key]),
                                 updated_at=clock.now(), updated_by=getattr(user, "id", None))
             .on_conflict(conflict_target=[PanelSetting.panel, PanelSetting.key],
                          preserve=[PanelSetting.value, PanelSetting.updated_at, PanelSetting.updated_by]).execute())
        if "panel_name" in changed:  # the panel's own row carries its name too (the header, panel lists)
            Panel.update(name=str(values["panel_name"])).where(Panel.id == panels.current_panel_id()).execute()
        audit.record("settings.update", object_type="settings", object_id="panel", detail={"keys": sorted(changed)},
                     user=user)
    return changed


def panel_rules(values: dict | None = None) -> PanelRules:
    """The panel's referral criteria; its instrument and panel type come from their own settings.

    `values`: settings already read with all_settings(), to save a query.
    """
    values = values if values is not None else all_settings()
    stored = dict(values.get("rules") or {})
    stored["instrument_id"] = values["instrument_id"]
    stored["panel_type"] = values["panel_type"]
    return PanelRules.from_dict(stored)
