"""The signed-in home page."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def home():
    """What the user can do next, by role."""
    return render_template("dashboard/home.html")
