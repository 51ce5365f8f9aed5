"""The settings page's forms: one group of settings at a time, built from marac.presets.FIELDS, and
the preset choice. Values are parsed here; the checks across settings are in marac.presets.check."""
import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from marac import presets, standard_actions
from marac.forms import choices

TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


class PresetForm(FlaskForm):
    preset = RadioField("Which panel is this?", choices=choices(presets.PRESET_NAMES), widget=GovRadioInput(),
                        validators=[InputRequired(message="Choose the panel this installation is for")])
    submit = SubmitField("Use this preset", widget=GovSubmitInput())


def _field(spec: presets.Field):
    kwargs = {"description": spec.help}
    if spec.kind == "bool":
        return BooleanField(spec.label, widget=GovCheckboxInput(), **kwargs)
    if spec.kind in ("choice", "int_choice"):
        # The checklists are read per request: the borough adds its own.
        items = {str(k): v for k, v in
                 (spec.choices or (presets.instrument_choices() if spec.key == "instrument_id" else {})).items()}
        if spec.key == "instrument_id":
            return SelectField(spec.label, widget=GovSelect(), choices=choices(items), **kwargs)
        return RadioField(spec.label, widget=GovRadioInput(), choices=choices(items),
                          validators=[InputRequired(message=f"Choose: {spec.label.lower()}")], **kwargs)
    if spec.kind in ("textarea", "standard_actions"):
        return TextAreaField(spec.label, widget=GovTextArea(), **kwargs)
    return StringField(spec.label, widget=GovTextInput(), **kwargs)


def group_form(group: str, formdata=None):
    """A form class for one group of settings, instantiated (formdata None: the request's)."""
    specs = presets.group_fields(group)
    attrs = {spec.name: _field(spec) for spec in specs}
    attrs["submit"] = SubmitField("Save these settings", widget=GovSubmitInput())
    form_class = type(f"SettingsForm_{group}", (FlaskForm,), attrs)
    form = form_class() if formdata is None else form_class(formdata=formdata)
    form.specs = specs
    return form


# --- values to and from the fields -----------------------------------------------------------------


def to_text(spec: presets.Field, value):
    """A stored value as the field shows it."""
    if spec.kind == "bool":
        return bool(value)
    if value is None:
        return ""
    if spec.kind == "postcodes":
        return ", ".join(value)
    if spec.kind == "standard_actions":
        return actions_to_text(value)
    return str(value)


def fill(form, values: dict) -> None:
    for spec in form.specs:
        getattr(form, spec.name).data = to_text(spec, presets.get_value(values, spec.key))


def parse(form, values: dict) -> tuple[dict, dict[str, list[str]]]:
    """The settings with this form's fields put in, and the problems of the fields themselves."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    errors: dict[str, list[str]] = {}
    for spec in form.specs:
        raw = getattr(form, spec.name).data
        try:
            value = _parse(spec, raw, presets.get_value(values, spec.key))
        except ValueError as exc:
            errors.setdefault(spec.key, []).append(str(exc))
            continue
        presets.set_value(out, spec.key, value)
    return out, errors


def _parse(spec: presets.Field, raw, old):
    label = spec.label.split(" (")[0]
    if spec.kind == "bool":
        return bool(raw)
    text = (raw or "").strip() if isinstance(raw, str) else raw
    if spec.kind in ("text", "textarea"):
        if not text and spec.required:
            raise ValueError(f"Enter the {label.lower()}")
        if spec.high and len(text) > spec.high:
            raise ValueError(f"{label} must be {spec.high} characters or fewer")
        return text
    if spec.kind in ("int", "optional_int"):
        if text in ("", None):
            if spec.kind == "optional_int":
                return None
            raise ValueError(f"Enter a whole number from {spec.low} to {spec.high}")
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"{label} must be a whole number, like {max(spec.low, 1)}") from None
        if not spec.low <= number <= spec.high:
            raise ValueError(f"{label} must be from {spec.low} to {spec.high}")
        return number
    if spec.kind == "int_choice":
        if str(text) not in {str(k) for k in spec.choices}:
            raise ValueError(f"Choose: {label.lower()}")
        return int(text)
    if spec.kind == "choice":
        return text
    if spec.kind == "time":
        if not text or not TIME.match(text):
            raise ValueError(f"Enter the {label.lower()} as hours and minutes, like 17:00")
        hours, minutes = text.split(":")
        return f"{int(hours):02d}:{minutes}"
    if spec.kind == "postcodes":
        return [p for p in re.split(r"[\s,;]+", (text or "").upper()) if p]
    if spec.kind == "standard_actions":
        return actions_from_text(text or "", old or [])
    raise ValueError(f"unknown kind {spec.kind}")


def actions_to_text(items) -> str:
    """Standard actions as lines: text | owners | when | due days."""
    lines = []
    for item in items or []:
        due = "" if item.get("due_days") is None else str(item["due_days"])
        lines.append(" | ".join([item.get("text", ""), ", ".join(item.get("owner", [])), item.get("when", "always"),
                                 due]).rstrip(" |"))
    return "\n".join(lines)


def actions_from_text(text: str, old: list[dict]) -> list[dict]:
    """Lines back to standard actions; an unchanged text keeps its key (actions made from it keep theirs)."""
    known = {item.get("text"): item.get("key") for item in old}
    items, used = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 4 or not parts[0]:
            raise ValueError(f"Standard action line {number}: write what is to be done | owners | when | days")
        owners = [o.strip() for o in (parts[1] if len(parts) > 1 else "").split(",") if o.strip()]
        when = (parts[2] if len(parts) > 2 else "") or "always"
        due = parts[3] if len(parts) > 3 else ""
        if due and not due.isdigit():
            raise ValueError(f"Standard action line {number}: the days must be a whole number, or empty")
        key = known.get(parts[0]) or re.sub(r"[^a-z0-9]+", "_", parts[0].lower()).strip("_")[:40].strip("_")
        key = key if key and key[0].isalpha() else f"action_{key}"
        base, n = key, 2
        while key in used:
            key, n = f"{base[:36]}_{n}", n + 1
        used.add(key)
        items.append({"key": key, "text": parts[0], "owner": owners or ["referrer"], "when": when,
                      "due_days": int(due) if due else None})
    if not items:
        raise ValueError("Enter at least one standard action")
    problems = standard_actions.problems(items)
    if problems:
        raise ValueError(problems[0])
    return items
