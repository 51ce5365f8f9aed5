"""Panel settings: one JSON value per key, with defaults here. Every change is audited.

Areas add their keys to DEFAULTS (with a label and help text in HELP); the presets of
the five panels (issue 10) fill them. Past decisions keep what they were judged by:
a referral freezes its instrument and verdict, so changing a setting never rewrites history.
"""
import json

from marac import audit, clock
from marac.db import db
from marac.models import PanelSetting
from marac.risk import PanelRules

DEFAULTS: dict[str, object] = {
    "panel_name": "Anytown MARAC",
    "panel_type": "domestic_abuse",  # domestic_abuse or community
    "preset": "",
    # Case record and actions (issue 7)
    "action_due_days": 14,
    "action_due_soon_days": 7,
    "reminder_due_days": 3,
    "overdue_reminder_every_days": 7,
    "document_max_mb": 10,
    "flag_months": 12,
    # Referral form (issue 3). The instrument new referrals are scored with (see
    # marac.instruments.get_instrument), and the panel's referral criteria (PanelRules as data;
    # its instrument_id and panel_type are taken from the two settings above, not from here).
    "instrument_id": "dash",
    "rules": PanelRules().to_dict(),
    # Outward codes (the part of a postcode before the space, e.g. "IG11") of the area the panel
    # covers. Empty: the referrer answers "does the person live in the area?" instead.
    "borough_postcode_prefixes": [],
}
HELP: dict[str, str] = {
    "panel_name": "The panel's name as shown on agendas and minutes.",
    "panel_type": "A domestic-abuse MARAC or a Community (ASB) MARAC.",
    "preset": "The preset this panel started from.",
    "action_due_days": "Days from agreeing an action to its default due date.",
    "action_due_soon_days": "An open action due within this many days shows as 'due soon'.",
    "reminder_due_days": "E-mail the owner agency this many days before an action is due.",
    "overdue_reminder_every_days": "Repeat the overdue e-mail to the owner agency every this many days.",
    "document_max_mb": "Largest document that can be uploaded to a case, in megabytes (at most 15).",
    "flag_months": "Agencies flag and tag a case's files for this many months after its last referral.",
    "instrument_id": "The risk checklist new referrals are scored with (a referral keeps the version it was "
                     "scored with).",
    "rules": "The referral criteria: which are switched on, thresholds, escalation and repeat windows, "
             "minimum age, whether the person must live in the area.",
    "borough_postcode_prefixes": "Postcode outward codes (for example IG11, RM8) of the area the panel covers. "
                                 "When set, a referral's postcode decides whether the person lives in the area; "
                                 "when empty, the referrer is asked.",
}


def get(key: str):
    """The value of a setting (the default when never set)."""
    row = PanelSetting.get_or_none(PanelSetting.key == key)
    if row is None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        return DEFAULTS[key]
    return json.loads(row.value)


def all_settings() -> dict:
    """Every setting, defaults filled in, in one query."""
    values = dict(DEFAULTS)
    for row in PanelSetting.select():
        values[row.key] = json.loads(row.value)
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
            (PanelSetting.insert(key=key, value=json.dumps(values[key]), updated_at=clock.now(),
                                 updated_by=getattr(user, "id", None))
             .on_conflict_replace().execute())
        audit.record("settings.update", object_type="settings", object_id="panel", detail={"keys": sorted(changed)},
                     user=user)
    return changed


def panel_rules() -> PanelRules:
    """The panel's referral criteria; its instrument and panel type come from their own settings."""
    values = all_settings()
    stored = dict(values.get("rules") or {})
    stored["instrument_id"] = values["instrument_id"]
    stored["panel_type"] = values["panel_type"]
    return PanelRules.from_dict(stored)
