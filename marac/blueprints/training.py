"""Training mode's guided exercises and the trainer's progress page; the glossary (always on)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from marac import accounts, training
from marac.access import ALL_ROLES, coordinator_required, roles_required
from marac.forms.training import WhoLookedForm
from marac.models import User

bp = Blueprint("training", __name__)


def _training_only() -> None:
    """The exercises exist only in a training instance."""
    if not current_app.config.get("TRAINING_MODE"):
        abort(404)


@bp.get("/training")
@roles_required(*ALL_ROLES)
def exercises():
    """The trainee's guided exercises and which of them the app has seen done."""
    _training_only()
    user = current_user._get_current_object()
    done = training.progress([user])[user.id]
    return render_template("training/exercises.html", exercises=training.exercises_for(user), done=done,
                           case=training.who_looked_case(), form=WhoLookedForm())


@bp.post("/training/who-looked")
@coordinator_required
def who_looked():
    """Check the answer to "who has looked at this case?"."""
    _training_only()
    form = WhoLookedForm()
    if form.validate_on_submit() and training.check_who_looked(current_user._get_current_object(), form.name.data):
        flash("Correct: exercise complete.", "success")
        return redirect(url_for("training.exercises"))
    user = current_user._get_current_object()
    if not form.errors:
        form.name.errors = ["That is not who looked at this case. Look again at the case's history in the audit log."]
    return render_template("training/exercises.html", exercises=training.exercises_for(user),
                           done=training.progress([user])[user.id], case=training.who_looked_case(), form=form)


@bp.get("/training/progress")
@coordinator_required
def progress():
    """The trainer's page: each trainee's exercises, as the app has checked them."""
    _training_only()
    users = list(accounts.panel_users().where(User.active & (User.role != "observer")))  # the panel's trainees
    return render_template("training/progress.html", users=users, done=training.progress(users),
                           exercises=training.EXERCISES, started=training.started_at())


@bp.get("/help/glossary")
@roles_required(*ALL_ROLES)
def glossary():
    """MARAC words in plain English."""
    return render_template("help/glossary_page.html")
