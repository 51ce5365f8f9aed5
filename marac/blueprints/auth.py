"""Sign in and out, first-run setup, the user's own account."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marac import accounts, nav
from marac.access import ALL_ROLES
from marac.forms import EmptyForm
from marac.forms.auth import ChangePasswordForm, LoginForm, SetupForm

bp = Blueprint("auth", __name__)
nav.register("Your account", "auth.account", ALL_ROLES, 99)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot redirect elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("dashboard.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password; repeated failures lock the account for a while."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = accounts.authenticate(form.email.data, form.password.data)
        if result.user is not None:
            accounts.sign_in(result.user)
            return redirect(_safe_next(request.args.get("next")))
        if result.locked:
            minutes = int(current_app.config["LOCKOUT_PERIOD"].total_seconds() // 60)
            form.email.errors.append(
                f"This account is locked for {minutes} minutes after too many failed sign-ins. "
                "Try again later or ask your MARAC coordinator.")
            status = 429
        else:
            form.email.errors.append("Enter a correct e-mail address and password")
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST only), ending the server-side session and clearing browser data."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.sign_out(current_user._get_current_object())
    flash("You have signed out.", "success")
    response = make_response(redirect(url_for("auth.login")))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token):
    """First run: the one-time link printed on the console creates the first coordinator."""
    if not accounts.setup_token_valid(token):
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        user = accounts.complete_setup(token, name=form.name.data.strip(), email=form.email.data,
                                       password=form.password.data, agency_name=form.agency_name.data.strip())
        if user is None:
            abort(404)
        accounts.sign_in(user)
        flash("Your coordinator account is ready. Next, add the agencies of your panel.", "success")
        return redirect(url_for("admin.agencies"))
    return render_template("auth/setup.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's details and password change."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        accounts.change_password(current_user._get_current_object(), form.password.data)
        flash("Your password has been changed. Other sessions have been signed out.", "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
