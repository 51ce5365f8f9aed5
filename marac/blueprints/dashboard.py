"""The signed-in home page."""
from flask import Blueprint, render_template
from flask_login import login_required

from marac import nav
from marac.access import ALL_ROLES

bp = Blueprint("dashboard", __name__)
nav.register("Home", "dashboard.home", ALL_ROLES, 0)


@bp.get("/")
@login_required
def home():
    """What the user can do next, by role."""
    return render_template("dashboard/home.html")
