"""The coordinator's panel settings: every setting with its help, edited a group at a time, and the
choice of preset (on first run, and later to start again)."""
from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_login import current_user

from marac import nav, presets, settings
from marac.access import coordinator_required
from marac.forms.settings import PresetForm, fill, group_form, parse, to_text

bp = Blueprint("settings", __name__, url_prefix="/settings")
PROMPT_PAGES = ("dashboard.home", "admin.agencies", "admin.users", "settings.index")
nav.register("Settings", "settings.index", ["coordinator"], 83, also=["settings.edit", "settings.preset"])


@bp.app_context_processor
def preset_prompt():
    """Until the panel's preset is chosen, the coordinator's start pages ask for it (first run: the setup
    link lands on the agencies page)."""
    if not has_request_context() or request.endpoint not in PROMPT_PAGES:
        return {}
    if not (current_user and current_user.is_authenticated and current_user.role == "coordinator"):
        return {}
    return {"preset_prompt": presets.needs_choice()}


def _display(spec, value) -> str:
    if spec.kind == "bool":
        return "Yes" if value else "No"
    if value in (None, "", []):
        return "Not set"
    if spec.kind in ("choice", "int_choice"):
        items = {str(k): v for k, v in (spec.choices or presets.instrument_choices()).items()}
        return items.get(str(value), str(value))
    if spec.kind == "standard_actions":
        return f"{len(value)} standard actions"
    return str(to_text(spec, value))


@bp.get("/")
@coordinator_required
def index():
    """Every panel setting, grouped, with its help and where its value came from."""
    values = settings.all_settings()
    groups = []
    for group, title in presets.GROUPS.items():
        rows = []
        for spec in presets.group_fields(group):
            value = presets.get_value(values, spec.key)
            kind, note = presets.status(spec.key, values)
            rows.append({"spec": spec, "value": _display(spec, value), "status": kind, "note": note})
        groups.append({"key": group, "title": title, "rows": rows})
    preset = presets.PRESETS.get(values.get("preset") or "")
    return render_template("settings/index.html", groups=groups, preset=preset)


@bp.route("/<group>", methods=["GET", "POST"])
@coordinator_required
def edit(group):
    """Change one group of settings; invalid values are refused with the reason, and nothing changes."""
    if group not in presets.GROUPS:
        abort(404)
    values = settings.all_settings()
    form = group_form(group)
    if request.method == "GET":
        fill(form, values)
    elif form.validate_on_submit():
        new_values, errors = parse(form, values)
        if not errors:
            try:
                changed = presets.save(new_values, current_user._get_current_object())
            except presets.SettingsInvalid as exc:
                errors = exc.problems
            else:
                flash(f"Settings saved ({len(changed)} changed)." if changed else "Nothing was changed.", "success")
                return redirect(url_for("settings.index") + f"#group-{group}")
        own = {spec.key for spec in form.specs}
        for key, messages in errors.items():
            target = key if key in own else form.specs[0].key
            field = getattr(form, presets.FIELDS_BY_KEY[target].name)
            field.errors = list(field.errors or []) + (
                messages if key in own else [f"{presets.FIELDS_BY_KEY[key].label}: {m}" for m in messages])
    statuses = {spec.key: presets.status(spec.key, values) for spec in form.specs}
    return render_template("settings/edit.html", form=form, group=group, title=presets.GROUPS[group],
                           statuses=statuses)


@bp.route("/preset", methods=["GET", "POST"])
@coordinator_required
def preset():
    """Choose which panel this is: its preset fills every setting (all editable afterwards)."""
    form = PresetForm()
    current = settings.get("preset")
    if request.method == "GET" and current:
        form.preset.data = current
    if form.validate_on_submit():
        extra = {}
        if form.preset.data == presets.BLANK and current:
            extra["panel_name"] = settings.get("panel_name")
        presets.apply(form.preset.data, current_user._get_current_object(), **extra)
        flash(f"Settings filled from the preset: {presets.PRESET_NAMES[form.preset.data]}. "
              "Check the ones marked as defaults.", "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/preset.html", form=form, first=not current, presets=presets.PRESETS)
