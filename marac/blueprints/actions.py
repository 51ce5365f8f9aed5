"""Actions between meetings: my agency's actions, the coordinator's overview, complete, chase, escalate."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marac import actions, htmx, nav
from marac.access import (
    CHAIR,
    COORDINATOR,
    REPRESENTATIVE,
    coordinator_required,
    deny,
    get_action_or_404,
    get_case_or_404,
    may_update_action,
    roles_required,
)
from marac.forms import EmptyForm
from marac.forms.actions import ActionForm, CannotForm, CompleteForm, EscalateForm
from marac.models import Agency

bp = Blueprint("actions", __name__, url_prefix="/actions")
ACTION_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE)
nav.register("Actions", "actions.mine", ACTION_ROLES, 45,
             also=["actions.show", "actions.complete", "actions.cannot", "actions.escalate", "actions.overview",
                   "actions.new"])


def _user():
    return current_user._get_current_object()


def _action_for_update(action_id: int):
    """The action, if this user may also change it (owner agency or coordinator); 403 otherwise."""
    action = get_action_or_404(action_id)
    if not may_update_action(_user(), action):
        deny(403, object_type="action", object_id=action_id, reason="not the owner agency")
    return action


def _back(action, tab: str | None):
    """Where to go after a change: the tab of 'my agency's actions' it came from, or the action."""
    if tab in actions.TABS:
        return redirect(url_for("actions.mine", tab=tab))
    return redirect(url_for("actions.show", action_id=action.id))


@bp.get("/")
@roles_required(*ACTION_ROLES)
def mine():
    """My agency's actions: overdue, due soon, all open, done."""
    tab = request.args.get("tab", "overdue")
    tab = tab if tab in actions.TABS else "overdue"
    page = max(request.args.get("page", 1, type=int), 1)
    rows, has_next = actions.agency_actions(current_user.agency_id, tab, page)
    counts = actions.agency_counts(current_user.agency_id)
    return render_template("actions/mine.html", rows=rows, has_next=has_next, page=page, tab=tab, counts=counts,
                           tabs=actions.TABS, form=EmptyForm())


@bp.get("/overview")
@coordinator_required
def overview():
    """The coordinator's view: overdue actions by agency, to chase or escalate."""
    agency_id = request.args.get("agency", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, has_next = actions.overdue_list(agency_id=agency_id, page=page)
    return render_template("actions/overview.html", by_agency=actions.overdue_by_agency(), rows=rows,
                           has_next=has_next, page=page, agency=Agency.get_or_none(Agency.id == agency_id),
                           form=EmptyForm())


@bp.get("/<int:action_id>")
@roles_required(*ACTION_ROLES)
def show(action_id):
    """One action with its history and what the user can do with it."""
    action = get_action_or_404(action_id)
    actions.view(action, _user())
    return render_template("actions/show.html", action=action, history=actions.history(action),
                           may_update=may_update_action(_user(), action), form=EmptyForm())


@bp.post("/<int:action_id>/done")
@roles_required(*ACTION_ROLES)
def done(action_id):
    """One-click completion, dated today (htmx swaps the row; without JS, back to the list)."""
    action = _action_for_update(action_id)
    form = EmptyForm()
    tab = request.form.get("tab")
    if form.validate_on_submit():
        try:
            action = actions.complete(action, _user())
        except actions.ActionError as exc:
            flash(str(exc), "info")
        else:
            if not htmx.is_fragment_request():
                flash(f"Action on case {action.case.number} marked as done.", "success")
    if htmx.is_fragment_request():
        row = actions.agency_actions_row(action.id)
        return htmx.render("actions/mine.html", "actions/_row.html", a=row, tab=tab, form=EmptyForm(),
                           just_done=True)
    return _back(action, tab)


@bp.route("/<int:action_id>/complete", methods=["GET", "POST"])
@roles_required(*ACTION_ROLES)
def complete(action_id):
    """Complete with a date and an optional note."""
    action = _action_for_update(action_id)
    form = CompleteForm()
    if request.method == "GET":
        form.completed_on.data = actions.today()
    if form.validate_on_submit():
        try:
            actions.complete(action, _user(), form.completed_on.data, form.note.data or "")
        except actions.ActionError as exc:
            form.completed_on.errors = [*form.completed_on.errors, str(exc)]
        else:
            flash(f"Action on case {action.case.number} marked as done.", "success")
            return _back(action, request.args.get("tab"))
    return render_template("actions/complete.html", form=form, action=action, tab=request.args.get("tab"))


@bp.route("/<int:action_id>/cannot", methods=["GET", "POST"])
@roles_required(*ACTION_ROLES)
def cannot(action_id):
    """Record that the action cannot be completed, with a reason."""
    action = _action_for_update(action_id)
    form = CannotForm()
    if form.validate_on_submit():
        try:
            actions.cannot_complete(action, _user(), form.reason.data, form.text.data or "")
        except actions.ActionError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            flash(f"Recorded that the action on case {action.case.number} cannot be completed.", "success")
            return _back(action, request.args.get("tab"))
    return render_template("actions/cannot.html", form=form, action=action, tab=request.args.get("tab"))


@bp.post("/<int:action_id>/chase")
@coordinator_required
def chase(action_id):
    """Chase the owner agency (recorded on the action, e-mailed when mail is set up)."""
    action = get_action_or_404(action_id)
    if EmptyForm().validate_on_submit():
        try:
            actions.chase(action, _user())
        except actions.ActionError as exc:
            flash(str(exc), "info")
        else:
            flash(f"Chase recorded for {action.owner_agency.name} on case {action.case.number}.", "success")
    if request.form.get("back") == "overview":
        return redirect(url_for("actions.overview", agency=request.form.get("agency", type=int)))
    return redirect(url_for("actions.show", action_id=action.id))


@bp.route("/<int:action_id>/escalate", methods=["GET", "POST"])
@coordinator_required
def escalate(action_id):
    """Escalate an action to the chair."""
    action = get_action_or_404(action_id)
    form = EscalateForm()
    if form.validate_on_submit():
        try:
            actions.escalate(action, _user(), form.text.data or "")
        except actions.ActionError as exc:
            form.text.errors = [*form.text.errors, str(exc)]
        else:
            flash(f"Action on case {action.case.number} escalated to the chair.", "success")
            return redirect(url_for("actions.show", action_id=action.id))
    return render_template("actions/escalate.html", form=form, action=action)


@bp.post("/<int:action_id>/reopen")
@coordinator_required
def reopen(action_id):
    """Reopen a done or cannot-complete action."""
    action = get_action_or_404(action_id)
    if EmptyForm().validate_on_submit():
        try:
            actions.reopen(action, _user())
        except actions.ActionError as exc:
            flash(str(exc), "info")
        else:
            flash("Action reopened.", "success")
    return redirect(url_for("actions.show", action_id=action.id))


@bp.route("/new/<int:case_id>", methods=["GET", "POST"])
@coordinator_required
def new(case_id):
    """The coordinator adds an action to a case (due date defaults to the action_due_days setting)."""
    case = get_case_or_404(case_id)
    form = ActionForm()
    if request.method == "GET":
        form.due_date.data = actions.default_due_date()
    if form.validate_on_submit():
        try:
            actions.add(case, _user(), owner_agency=form.owner_agency.data, description=form.description.data,
                        due_date=form.due_date.data, priority=form.priority.data)
        except actions.ActionError as exc:
            form.description.errors = [*form.description.errors, str(exc)]
        else:
            flash("Action added.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("actions/new.html", form=form, case=case)
