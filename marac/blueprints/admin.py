"""The coordinator's administration: agencies, users, the audit log."""
from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marac import accounts, audit, nav, panels
from marac.access import coordinator_required, deny
from marac.forms.admin import AgencyForm, AuditFilterForm, PanelGrantForm, UserForm
from marac.models import Agency, AuditEvent, Panel, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE_SIZE = 50
AUDIT_FILTERS = ("user", "object_type", "object_id", "date_from", "date_to")
nav.register("Agencies", "admin.agencies", ["coordinator"], 80, also=["admin.agency_new", "admin.agency_edit"])
nav.register("Users", "admin.users", ["coordinator"], 81,
             also=["admin.user_new", "admin.user_edit", "admin.user_grant"])
nav.register("Audit log", "admin.audit_log", ["coordinator"], 82)


@bp.get("/agencies")
@coordinator_required
def agencies():
    """All agencies with their membership and agreement status."""
    return render_template("admin/agencies.html", agencies=list(Agency.ordered()))


@bp.route("/agencies/new", methods=["GET", "POST"])
@coordinator_required
def agency_new():
    """Add an agency."""
    form = AgencyForm()
    if form.validate_on_submit():
        agency = accounts.save_agency(form.data_for_save())
        flash(f"Agency {agency.name} added.", "success")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=None)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@coordinator_required
def agency_edit(agency_id):
    """Change an agency's details, agreement or withdrawal."""
    agency = Agency.get_or_none(Agency.id == agency_id) or abort(404)
    form = AgencyForm(obj=agency, agency=agency)
    if form.validate_on_submit():
        accounts.save_agency(form.data_for_save(), agency)
        flash(f"Agency {agency.name} saved.", "success")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=agency)


def _render_users(grant_form: PanelGrantForm):
    """The users of the panel in view, with the form that gives a user of another panel access to it.
    The form shows only where there is another panel to come from."""
    panel_id = panels.current_panel_id()
    several = Panel.select().where(Panel.id != panel_id).exists()
    names = {p.id: p.name for p in Panel.select(Panel.id, Panel.name)} if several else {}
    return render_template("admin/users.html", users=list(accounts.panel_users(panel_id)), panel_id=panel_id,
                           panel_names=names, grant_form=grant_form if several else None)


@bp.get("/users")
@coordinator_required
def users():
    """The user accounts of the panel in view, by agency."""
    return _render_users(PanelGrantForm(None))


@bp.post("/users/grant")
@coordinator_required
def user_grant():
    """Give an existing user of another panel, found by e-mail, access to the panel in view (audited)."""
    form = PanelGrantForm()
    if form.validate_on_submit():
        user = User.by_email(form.email.data)
        if user is None:
            form.email.errors.append("No user has this e-mail address: add them as a new user instead")
        else:
            try:
                accounts.grant_panel(user, panels.current_panel_id(), _me())
            except accounts.PanelGrantRefused as exc:
                form.email.errors.append(str(exc))
            else:
                flash(f"{user.name} can now work in this panel.", "success")
                return redirect(url_for("admin.users"))
    return _render_users(form)


@bp.post("/users/<int:user_id>/revoke")
@coordinator_required
def user_revoke(user_id):
    """Take back a granted user's access to the panel in view (audited); their own panel is untouched."""
    user = User.get_or_none(User.id == user_id)
    if user is None or not accounts.revoke_panel(user, panels.current_panel_id(), _me()):
        deny(404, object_type="user", object_id=user_id)
    flash(f"{user.name} can no longer work in this panel.", "success")
    return redirect(url_for("admin.users"))


def _me():
    return current_user._get_current_object()


@bp.route("/users/new", methods=["GET", "POST"])
@coordinator_required
def user_new():
    """Add a user with a temporary password."""
    form = UserForm()
    if request.method == "GET" and request.args.get("agency", type=int):
        form.agency.data = request.args.get("agency", type=int)
    if form.validate_on_submit():
        user = accounts.save_user(form.data_for_save(), password=form.password.data)
        flash(f"User {user.name} added.", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@coordinator_required
def user_edit(user_id):
    """Change a user's details, role or agency; deactivate; set a new password (users of this panel only)."""
    user = accounts.get_panel_user_or_404(user_id)
    form = UserForm(obj=user, user=user)
    if request.method == "GET":
        form.agency.data = user.agency_id
    if form.validate_on_submit():
        accounts.save_user(form.data_for_save(), user, password=form.password.data or None)
        flash(f"User {user.name} saved.", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.get("/audit")
@coordinator_required
def audit_log():
    """The audit log, newest first, filtered by user, object and date."""
    form = AuditFilterForm(request.args, object_types=audit.object_types(), users=accounts.panel_users())
    # The panel in view's events only (issue 12): another panel's views and changes are its coordinator's.
    query = AuditEvent.select().where(audit.panel_where()).order_by(AuditEvent.id.desc())
    valid = form.validate()
    if valid:
        if form.user.data:
            query = query.where(AuditEvent.user_id == form.user.data)
        if form.object_type.data:
            query = query.where(AuditEvent.object_type == form.object_type.data)
        if form.object_id.data:
            query = query.where(AuditEvent.object_id == form.object_id.data.strip())
        if form.date_from.data:
            query = query.where(AuditEvent.at >= datetime.combine(form.date_from.data, time.min))
        if form.date_to.data:
            query = query.where(AuditEvent.at < datetime.combine(form.date_to.data + timedelta(days=1), time.min))
    page = max(request.args.get("page", 1, type=int), 1)
    # One row more than a page tells whether an older page exists (paginate(page, size + 1)
    # would shift every later page by one row and never show the row at each boundary).
    events = list(query.limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE))
    has_next = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    user_ids = {e.user_id for e in events if e.user_id}
    names = {u.id: u for u in User.select(User.id, User.name).where(User.id.in_(user_ids))}
    # The page links carry the filters as given (every part of a date), and only valid ones: never
    # an unknown argument or a value the form refused (it could be a name: SECURITY.md check 29).
    args = {k: request.args.getlist(k) for k in AUDIT_FILTERS if valid and request.args.get(k)}
    return render_template("admin/audit.html", form=form, events=events, page=page, has_next=has_next,
                           args=args, names=names)
