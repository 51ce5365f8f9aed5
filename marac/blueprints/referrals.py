"""Referrals: "My referrals", the sectioned form with its live score, check and submit, amendments."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marac import htmx, nav, referrals
from marac.access import CHAIR, COORDINATOR, REFERRER, REPRESENTATIVE, deny, get_referral_or_404, roles_required
from marac.access import visible_referrals as _visible
from marac.forms import EmptyForm
from marac.forms.referrals import AmendReasonForm, checklist_answers, checklist_values, put_errors, section_form
from marac.models import REFERRAL_STATUSES, Agency, Referral, User

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
STARTERS = (REFERRER, REPRESENTATIVE, COORDINATOR, CHAIR)
PAGE_SIZE = 50
nav.register("Referrals", "referrals.index", STARTERS, 10,
             also=["referrals.new", "referrals.show", "referrals.tasks", "referrals.section", "referrals.score",
                   "referrals.check", "referrals.submit", "referrals.amend", "referrals.amend_section"])


def _user():
    return current_user._get_current_object()


def _editable_or_404(referral_id: int) -> Referral:
    """The referral, if the current user may edit it; its author is sent to its read-only page."""
    referral = get_referral_or_404(referral_id)
    if not referrals.can_edit(_user(), referral):
        if referral.author_id == _user().id:
            abort(redirect(url_for("referrals.show", referral_id=referral.id)))
        deny(404, object_type="referral", object_id=referral.id, reason="not editable")
    return referral


def _amendable_or_404(referral_id: int) -> Referral:
    referral = get_referral_or_404(referral_id)
    if not referrals.can_amend(_user(), referral):
        deny(404, object_type="referral", object_id=referral.id, reason="not amendable")
    return referral


def _section_or_404(ctx, slug: str):
    found = referrals.section(ctx.rules, slug)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@roles_required(*STARTERS)
def index():
    """My referrals (the coordinator: all; the chair: all submitted), newest first."""
    user = _user()
    status = request.args.get("status", "")
    query = (_visible(user).select(Referral, Agency, User).join(Agency, on=(Referral.agency == Agency.id))
             .switch(Referral).join(User, on=(Referral.author == User.id))
             .order_by(Referral.updated_at.desc(), Referral.id.desc()))
    if status in REFERRAL_STATUSES:
        query = query.where(Referral.status == status)
    page = max(request.args.get("page", 1, type=int), 1)
    rows = list(query.paginate(page, PAGE_SIZE + 1))
    has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    referrals.record_list(rows)
    items = [{"referral": r, "name": referrals.display_name(r), "editable": referrals.can_edit(user, r)} for r in rows]
    return render_template("referrals/index.html", items=items, page=page, has_next=has_next, status=status,
                           statuses=REFERRAL_STATUSES, sees_others=user.role in (COORDINATOR, CHAIR))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STARTERS)
def new():
    """What a referral needs; the button starts a draft."""
    form = EmptyForm()
    if request.method == "POST":
        referral = referrals.create_draft(_user())
        return redirect(url_for("referrals.tasks", referral_id=referral.id))
    ctx = referrals.context()
    return render_template("referrals/new.html", form=form, ctx=ctx, sections=referrals.sections(ctx.rules))


@bp.get("/<int:referral_id>/tasks")
@roles_required(*STARTERS)
def tasks(referral_id):
    """The draft's task list: each section and whether it is complete."""
    referral = _editable_or_404(referral_id)
    ctx = referrals.context(referral)
    data, answers = referrals.load(referral), referrals.load_answers(referral)
    errors = referrals.validate(data, answers, ctx)
    referrals.record_view(referral, "tasks")
    groups = {}
    for sec in referrals.sections(ctx.rules):
        status = referrals.section_status(data, answers, sec.slug, errors)
        groups.setdefault(sec.group, []).append({"section": sec, "status": status})
    done = sum(1 for items in groups.values() for item in items if item["status"] == "completed")
    return render_template("referrals/tasks.html", referral=referral, groups=groups, done=done,
                           total=len(referrals.sections(ctx.rules)), name=referrals.display_name(referral, data),
                           instrument=ctx.instrument)


def _section_context(referral, ctx, slug, form, data, answers, errors=(), summary=(), reason_form=None, mode="edit",
                     preview=None):
    context = {"referral": referral, "ctx": ctx, "section": _section_or_404(ctx, slug), "form": form,
               "error_list": list(summary), "mode": mode, "reason_form": reason_form,
               "name": referrals.display_name(referral, data), "check": request.values.get("check") == "1"}
    if slug == "checklist":
        context["preview"] = preview or referrals.score_preview(data, answers, ctx)
    return context


def _render_section(referral, ctx, slug, form, data, answers, **kw):
    template = "referrals/checklist.html" if slug == "checklist" else "referrals/section.html"
    return render_template(template, **_section_context(referral, ctx, slug, form, data, answers, **kw))


@bp.route("/<int:referral_id>/section/<slug>", methods=["GET", "POST"])
@roles_required(*STARTERS)
def section(referral_id, slug):
    """One section of the draft. Every save keeps what was typed, valid or not."""
    referral = _editable_or_404(referral_id)
    ctx = referrals.context(referral)
    _section_or_404(ctx, slug)
    check = request.values.get("check") == "1"
    if request.method == "POST":
        posted = section_form(slug, ctx, formdata=request.form)
        values = posted.values()
        action = request.form.get("action", "continue")
        remove = request.form.get("remove", type=int)
        if remove is not None:
            key = "children" if slug == "children" else "perpetrators"
            values[key] = [v for i, v in enumerate(values.get(key, [])) if i != remove]
        answers = posted.answers() if slug == "checklist" else None
        referrals.save_section(referral, _user(), slug, values, answers)
        args = {"check": "1"} if check else {}
        if action == "add":
            return redirect(url_for("referrals.section", referral_id=referral.id, slug=slug, add=1, **args)
                            + "#new-entry")
        if remove is not None:
            return redirect(url_for("referrals.section", referral_id=referral.id, slug=slug, **args))
        if action == "tasks":
            return redirect(url_for("referrals.tasks", referral_id=referral.id))
        data, saved_answers = referrals.load(referral), referrals.load_answers(referral)
        if check:
            errors = referrals.section_errors(referrals.validate(data, saved_answers, ctx), slug)
            if errors:
                form = section_form(slug, ctx, data, saved_answers)
                return _render_section(referral, ctx, slug, form, data, saved_answers, summary=put_errors(form, errors))
            return redirect(url_for("referrals.check", referral_id=referral.id))
        following = referrals.next_section(ctx.rules, slug)
        if following is None:
            return redirect(url_for("referrals.check", referral_id=referral.id))
        return redirect(url_for("referrals.section", referral_id=referral.id, slug=following.slug))
    data, answers = referrals.load(referral), referrals.load_answers(referral)
    form = section_form(slug, ctx, data, answers, extra_entries=1 if request.args.get("add") else 0)
    summary = []
    if check:
        summary = put_errors(form, referrals.section_errors(referrals.validate(data, answers, ctx), slug))
    referrals.record_view(referral, slug)
    return _render_section(referral, ctx, slug, form, data, answers, summary=summary)


@bp.post("/<int:referral_id>/score")
@roles_required(*STARTERS)
def score(referral_id):
    """The score panel for the answers posted: a pure calculation, nothing stored or audited.

    htmx gets the panel alone; the no-JavaScript "Recalculate" button gets the whole page back
    with the answers as posted (still unsaved) and the new score.
    """
    referral = get_referral_or_404(referral_id)
    user = _user()
    mode = "edit" if referrals.can_edit(user, referral) else "amend"
    if mode == "amend" and not referrals.can_amend(user, referral):
        deny(404, object_type="referral", object_id=referral.id, reason="not editable")
    ctx = referrals.context(referral)
    answers = checklist_answers(ctx.instrument, request.form.get)
    data = referrals.apply_section(referrals.load(referral), "checklist", checklist_values(request.form.get),
                                   ctx.rules)
    preview = referrals.score_preview(data, answers, ctx)
    if htmx.is_fragment_request():
        return htmx.render("referrals/checklist.html", "referrals/_score_panel.html", preview=preview, ctx=ctx)
    form = section_form("checklist", ctx, formdata=request.form)
    reason_form = AmendReasonForm(formdata=request.form) if mode == "amend" else None
    return htmx.render("referrals/checklist.html", "referrals/_score_panel.html",
                       **_section_context(referral, ctx, "checklist", form, data, answers, mode=mode,
                                          reason_form=reason_form, preview=preview))


def _check_context(referral, ctx, data, answers, errors=()):
    errors = [err for err in errors if err.in_summary]
    titles = {s.slug: s.title for s in referrals.sections(ctx.rules)}
    error_list = [{"text": err.message,
                   "href": url_for("referrals.section", referral_id=referral.id, slug=err.section, check=1)
                   + f"#{err.href_id}"} for err in errors]
    by_section = {}
    for err in errors:
        by_section.setdefault(err.section, []).append(err.message)
    return {"referral": referral, "ctx": ctx, "summary": referrals.summary(data, answers, ctx),
            "preview": referrals.score_preview(data, answers, ctx), "error_list": error_list,
            "section_errors": by_section, "titles": titles, "form": EmptyForm(),
            "answer_rows": referrals.answer_rows(ctx.instrument, answers),
            "name": referrals.display_name(referral, data)}


@bp.get("/<int:referral_id>/check")
@roles_required(*STARTERS)
def check(referral_id):
    """Check your answers before sending."""
    referral = _editable_or_404(referral_id)
    ctx = referrals.context(referral)
    data, answers = referrals.load(referral), referrals.load_answers(referral)
    referrals.record_view(referral, "check")
    return render_template("referrals/check.html", **_check_context(referral, ctx, data, answers))


@bp.post("/<int:referral_id>/submit")
@roles_required(*STARTERS)
def submit(referral_id):
    """Send the referral; if anything is missing, say what and where (the draft is kept)."""
    referral = _editable_or_404(referral_id)
    try:
        referrals.submit(referral, _user())
    except referrals.Invalid as invalid:
        ctx = referrals.context(referral)
        data, answers = referrals.load(referral), referrals.load_answers(referral)
        return render_template("referrals/check.html",
                               **_check_context(referral, ctx, data, answers, invalid.errors))
    flash("Referral sent. The MARAC coordinator will check it and tell you what happens next.", "success")
    return redirect(url_for("referrals.show", referral_id=referral.id))


@bp.get("/<int:referral_id>")
@roles_required(*STARTERS)
def show(referral_id):
    """A referral as sent, with its score, verdict and amendments."""
    referral = get_referral_or_404(referral_id)
    user = _user()
    ctx = referrals.context(referral)
    data, answers = referrals.load(referral), referrals.load_answers(referral)
    verdict = referrals.load_verdict(referral)
    author = User.get_by_id(referral.author_id)
    amendments = [{"amendment": a, "rows": referrals.amendment_rows(referral, a, data)}
                  for a in referrals.amendments(referral)]
    referrals.record_view(referral, "show")
    return render_template("referrals/show.html", referral=referral, ctx=ctx, verdict=verdict, author=author,
                           summary=referrals.summary(data, answers, ctx), amendments=amendments,
                           answer_rows=referrals.answer_rows(ctx.instrument, answers),
                           preview=None if verdict else referrals.score_preview(data, answers, ctx),
                           name=referrals.display_name(referral, data),
                           can_edit=referrals.can_edit(user, referral), can_amend=referrals.can_amend(user, referral))


@bp.get("/<int:referral_id>/amend")
@roles_required(*STARTERS)
def amend(referral_id):
    """Choose the part of a submitted referral to correct."""
    referral = _amendable_or_404(referral_id)
    ctx = referrals.context(referral)
    referrals.record_view(referral, "amend")
    return render_template("referrals/amend.html", referral=referral, sections=referrals.sections(ctx.rules),
                           name=referrals.display_name(referral))


@bp.route("/<int:referral_id>/amend/<slug>", methods=["GET", "POST"])
@roles_required(*STARTERS)
def amend_section(referral_id, slug):
    """Correct one section of a submitted referral, with a reason; recorded as an amendment."""
    referral = _amendable_or_404(referral_id)
    ctx = referrals.context(referral)
    _section_or_404(ctx, slug)
    data, answers = referrals.load(referral), referrals.load_answers(referral)
    if request.method == "POST":
        form = section_form(slug, ctx, formdata=request.form)
        reason_form = AmendReasonForm()
        values = form.values()
        remove = request.form.get("remove", type=int)
        if remove is not None:
            key = "children" if slug == "children" else "perpetrators"
            values[key] = [v for i, v in enumerate(values.get(key, [])) if i != remove]
        changes = {slug: values}
        if slug == "checklist":
            changes["answers"] = form.answers()
        if request.form.get("action") not in ("add",) and remove is None:
            try:
                referrals.amend(referral, _user(), changes, reason_form.amend_reason.data or "")
            except referrals.Invalid as invalid:
                new_data = referrals.apply_section(data, slug, values, ctx.rules)
                new_answers = changes.get("answers", answers)
                form = section_form(slug, ctx, new_data, new_answers)
                summary = put_errors(form, [e for e in invalid.errors if e.section == slug])
                summary += put_errors(reason_form, [e for e in invalid.errors if e.section == "amend"])
                return _render_section(referral, ctx, slug, form, new_data, new_answers, summary=summary,
                                       reason_form=reason_form, mode="amend")
            except referrals.NoChange:
                flash("Nothing was changed, so no correction was recorded.", "info")
                return redirect(url_for("referrals.show", referral_id=referral.id))
            flash("Correction recorded.", "success")
            return redirect(url_for("referrals.show", referral_id=referral.id) + "#amendments")
        # Adding or removing an entry while correcting: show the form again, nothing saved yet.
        new_data = referrals.apply_section(data, slug, values, ctx.rules)
        form = section_form(slug, ctx, new_data, answers, extra_entries=1 if remove is None else 0)
        return _render_section(referral, ctx, slug, form, new_data, answers, reason_form=reason_form, mode="amend")
    form = section_form(slug, ctx, data, answers)
    referrals.record_view(referral, f"amend {slug}")
    return _render_section(referral, ctx, slug, form, data, answers, reason_form=AmendReasonForm(formdata=None),
                           mode="amend")
