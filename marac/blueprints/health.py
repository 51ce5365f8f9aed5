"""GET /healthz: the app's minimal route (no sign-in, no database, no template).

Load balancers and service monitors poll it, and the benchmark (bench/run.py) measures it as
the ceiling every other page is compared with. The request hooks skip the database for it.
"""
from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer "ok" while the process serves requests."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
