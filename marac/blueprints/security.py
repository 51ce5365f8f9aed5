"""The second factor: enrolment at first sign-in, the code at each sign-in, the coordinator's reset."""
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from marac import accounts, second_factor
from marac.access import coordinator_required
from marac.forms import EmptyForm
from marac.forms.security import CodeForm

bp = Blueprint("security", __name__)

# What a half-signed-in browser may still reach: the code pages, starting again, static files.
OPEN_WHILE_PENDING = {"security.code", "security.enrol", "auth.login", "auth.logout", "auth.setup", "static",
                      "health.healthz"}


def _safe_path(target: str | None) -> str | None:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return None


@bp.before_app_request
def second_factor_gate():
    """A browser between password and code goes to the code page, whatever it asks for; an htmx
    request gets HX-Redirect (not a page swapped into a fragment)."""
    if not second_factor.is_pending() or request.endpoint in OPEN_WHILE_PENDING:
        return None
    if current_user.is_authenticated:  # a full session exists: the marker is stale
        second_factor.abandon()
        return None
    if request.method == "GET" and not request.headers.get("HX-Request"):
        second_factor.remember_next(_safe_path(request.full_path.rstrip("?")) or "")
    target = url_for("security.code")
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _pending_or_restart():
    user = second_factor.pending_user()
    if user is None:
        second_factor.abandon()
        flash("Sign in again to continue.", "info")
    return user


def _code_step(user, form, template, **ctx):
    """Check a posted code; on success start the real session and go on."""
    status = 200
    if form.validate_on_submit():
        result = second_factor.check(user, form.code.data)
        if result.ok:
            target = second_factor.next_target()
            second_factor.complete(user)
            return redirect(_safe_path(target) or url_for("dashboard.home"))
        if result.locked:
            minutes = int(current_app.config["LOCKOUT_PERIOD"].total_seconds() // 60)
            second_factor.abandon()
            flash(f"This account is locked for {minutes} minutes after too many failed attempts. "
                  "Try again later or ask your MARAC coordinator.", "info")
            return render_template("auth/login.html", form=_login_form()), 429
        form.code.errors.append("That code has already been used. Wait for the app to show a new code"
                                if result.reused else "The code is not right. Enter the code the app shows now")
    return render_template(template, form=form, user=user, **ctx), status


def _login_form():
    from marac.forms.auth import LoginForm

    return LoginForm(formdata=None)


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    """Second step of sign-in: the code from the authenticator app (enrolment first if none)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    user = _pending_or_restart()
    if user is None:
        return redirect(url_for("auth.login"))
    if not second_factor.is_enrolled(user):
        return redirect(url_for("security.enrol"))
    return _code_step(user, CodeForm(), "security/code.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in: scan the QR code into an authenticator app, then prove it with a code."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    user = _pending_or_restart()
    if user is None:
        return redirect(url_for("auth.login"))
    if second_factor.is_enrolled(user):
        return redirect(url_for("security.code"))
    secret = second_factor.enrolment_secret(user)
    return _code_step(user, CodeForm(), "security/enrol.html", qr=second_factor.qr_svg(user, secret),
                      secret=second_factor.spaced(secret))


@bp.route("/admin/users/<int:user_id>/second-factor", methods=["GET", "POST"])
@coordinator_required
def reset(user_id):
    """Confirm, then forget a user's authenticator app: they enrol again at their next sign-in (a user of
    the panel in view only: another panel's user is a 404, issue 12)."""
    user = accounts.get_panel_user_or_404(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        second_factor.reset(user, current_user._get_current_object())
        flash(f"{user.name} will set up their authenticator app again at their next sign-in. "
              "They have been signed out.", "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("security/reset.html", form=form, user=user,
                           enrolled=second_factor.is_enrolled(user))
