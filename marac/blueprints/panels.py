"""Switching the panel in view (issue 12): a user who may work in more than one panel (a county
steering group member, a coordinator covering two boroughs) picks one in the page header. Everything
they see and do afterwards is of that panel, until they switch again or sign out."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marac import audit, panels, sessions
from marac.db import db
from marac.forms.panels import PanelSwitchForm
from marac.models import UserSession

bp = Blueprint("panels", __name__)


@bp.route("/panel", methods=["GET", "POST"])
@login_required
def switch():
    """The panels this user may work in, and the form that switches to one (audited)."""
    mine = panels.panels_for(current_user)
    form = PanelSwitchForm().fill(mine)
    if form.validate_on_submit():
        if not panels.may_use(current_user, form.panel.data):
            abort(404)  # the choices already refuse it; kept for clarity
        record = sessions.current_record()
        with db.atomic():
            UserSession.update(panel_id=form.panel.data).where(UserSession.id == record.id).execute()
            audit.record("panel.switch", object_type="panel", object_id=form.panel.data,
                         detail={"from": panels.current_panel_id()})
        chosen = next(p for p in mine if p.id == form.panel.data)
        flash(f"You are now working in {chosen.name}.", "success")
        return redirect(url_for("dashboard.home"))
    if not form.is_submitted():
        form.panel.data = panels.current_panel_id()
    return render_template("panels/switch.html", form=form, panels=mine), 400 if form.errors else 200
