"""The coordinator's risk checklists: list, view with a scoring preview, create, edit (each save
a new version), import and export as JSON, and choose the one the panel uses."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marac import audit, htmx, instrument_store, nav, settings
from marac.access import coordinator_required
from marac.db import db
from marac.forms import EmptyForm
from marac.forms.instruments import ImportForm, InstrumentForm
from marac.risk import COUNT_YES, NO, YES, Instrument, InstrumentError, score

bp = Blueprint("instruments", __name__, url_prefix="/instruments")
nav.register("Risk checklists", "instruments.index", ["coordinator"], 84,
             also=["instruments.show", "instruments.new", "instruments.edit", "instruments.import_",
                   "instruments.preview", "instruments.preview_score"])

NEW_BANDS = "Standard | 0-5\nMedium | 6-8\nHigh | 9+ | high"


def _instrument_or_404(instrument_id: str, version: int | None = None) -> Instrument:
    instrument = (instrument_store.latest(instrument_id) if version is None
                  else instrument_store.version_of(instrument_id, version))
    if instrument is None:
        abort(404)
    return instrument


def _result(instrument: Instrument, ticked: list[str]):
    """Score the preview: a ticked box is "yes", every other question "no"."""
    ticked_set = set(ticked)
    return score(instrument, {item.id: YES if item.id in ticked_set else NO for item in instrument.items})


@bp.get("/")
@coordinator_required
def index():
    """Every checklist the panel can use, which one it uses, and what can be done with each."""
    return render_template("instruments/index.html", instruments=instrument_store.catalogue(),
                           in_use=settings.get("instrument_id"), is_builtin=instrument_store.is_builtin,
                           form=EmptyForm())


@bp.get("/<instrument_id>")
@coordinator_required
def show(instrument_id):
    """One checklist (a version of it), with a preview that scores as boxes are ticked."""
    instrument = _instrument_or_404(instrument_id, request.args.get("version", type=int))
    ticked = request.args.getlist("tick")
    return htmx.render("instruments/show.html", "instruments/_score.html", instrument=instrument,
                       result=_result(instrument, ticked), ticked=set(ticked),
                       versions=instrument_store.versions(instrument_id), in_use=settings.get("instrument_id"),
                       is_builtin=instrument_store.is_builtin(instrument_id), form=EmptyForm())


def _editor(form: InstrumentForm, instrument_id: str | None, previous: Instrument | None, *, show_errors: bool):
    """The editor's context: the preview built from the posted definition, and its problems."""
    ticked = request.form.getlist("tick")
    preview = result = None
    problems: dict[str, list[str]] = {}
    if request.method == "POST":
        data = form.definition(instrument_id, previous)
        problems = form.problems_for(data)
        preview = form.instrument_or_none(data)
        if show_errors:
            for field, messages in problems.items():
                getattr(form, field).errors = list(getattr(form, field).errors or []) + messages
    elif previous is not None:
        preview = previous
    if preview is not None:
        result = _result(preview, ticked)
    return {"form": form, "instrument_id": instrument_id, "previous": previous, "preview": preview,
            "result": result, "ticked": set(ticked), "problems": problems}


def _edit_page(instrument_id: str | None, previous: Instrument | None, copy_of: Instrument | None = None):
    form = InstrumentForm()
    if request.method == "GET":
        source = previous or copy_of
        if source is not None:
            form.fill_from(source)
            if copy_of is not None:
                form.name.data = f"{copy_of.name} (copy)"
        else:
            form.method.data = COUNT_YES
            form.bands.data = NEW_BANDS
            form.threshold.data = "9"
    pressed_save = request.method == "POST" and bool(form.save.data)
    valid = form.validate_on_submit()
    context = _editor(form, instrument_id, previous if previous is not None else copy_of,
                      show_errors=request.method == "POST")
    if pressed_save and valid and not context["problems"]:
        data = form.definition(instrument_id, context["previous"])
        try:
            instrument = instrument_store.save(data, current_user._get_current_object())
        except InstrumentError as exc:  # a race with another save; show what is wrong
            form.items.errors = list(form.items.errors or []) + exc.problems
        else:
            flash(f"{instrument.name} saved as version {instrument.version}.", "success")
            return redirect(url_for("instruments.show", instrument_id=instrument.id))
    return render_template("instruments/edit.html", copy_of=copy_of, **context)


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():
    """Create a checklist, from scratch or as a copy of another (?copy=<id>)."""
    copy_id = request.values.get("copy")
    copy_of = _instrument_or_404(copy_id) if copy_id else None
    return _edit_page(None, None, copy_of)


@bp.route("/<instrument_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(instrument_id):
    """Edit a checklist; saving makes a new version, and older referrals keep theirs."""
    return _edit_page(instrument_id, _instrument_or_404(instrument_id))


def _posted_editor():
    """The editor state for an htmx preview: the same form, posted whole."""
    instrument_id = request.form.get("instrument_id") or None
    previous = _instrument_or_404(instrument_id) if instrument_id else None
    copy_id = request.form.get("copy")
    copy_of = _instrument_or_404(copy_id) if copy_id and not previous else None
    form = InstrumentForm()
    form.validate_on_submit()
    context = _editor(form, instrument_id, previous or copy_of, show_errors=False)
    context["copy_of"] = copy_of
    return context


@bp.post("/preview")
@coordinator_required
def preview():
    """htmx: the preview of the definition as typed so far (questions to tick, and the score)."""
    return htmx.render("instruments/edit.html", "instruments/_preview.html", **_posted_editor())


@bp.post("/preview/score")
@coordinator_required
def preview_score():
    """htmx: the preview's score after a box is ticked."""
    context = _posted_editor()
    if context["preview"] is None:
        return htmx.render("instruments/edit.html", "instruments/_preview.html", **context)
    return htmx.render("instruments/edit.html", "instruments/_score.html", instrument=context["preview"],
                       **context)


@bp.get("/<instrument_id>/export")
@coordinator_required
def export(instrument_id):
    """Download a version of a checklist as a JSON file another borough can import."""
    instrument = _instrument_or_404(instrument_id, request.args.get("version", type=int))
    with db.atomic():
        audit.record("instrument.export", object_type="instrument", object_id=instrument.id,
                     detail={"version": instrument.version})
    return Response(instrument_store.export_json(instrument), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="{instrument.id}-v{instrument.version}.json"'})


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_():
    """Import a checklist from a JSON file; a file with problems changes nothing and says why."""
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            problems = ["Choose a .json file to import."]
        else:
            try:
                instrument = instrument_store.import_file(upload.read(), current_user._get_current_object())
            except InstrumentError as exc:
                problems = exc.problems
            else:
                flash(f"{instrument.name} imported as version {instrument.version}.", "success")
                return redirect(url_for("instruments.show", instrument_id=instrument.id))
    if problems:
        form.file.errors = [f"The file was not imported: {len(problems)} "
                            f"problem{'s' if len(problems) != 1 else ''}, listed above"]
    return render_template("instruments/import.html", form=form, problems=problems), 200


@bp.post("/<instrument_id>/use")
@coordinator_required
def use(instrument_id):
    """Make this checklist the one new referrals are scored with (setting instrument_id)."""
    instrument = _instrument_or_404(instrument_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    settings.set_many({"instrument_id": instrument.id}, current_user._get_current_object())
    flash(f"New referrals will be scored with {instrument.name}.", "success")
    return redirect(url_for("instruments.index"))
