"""Training mode: its own database and banner, the fictional borough, reset, exercises, help."""
import os
import re
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.request import urlopen

import pytest
from argon2 import PasswordHasher
from marac_testing import make_agency

from marac import actions, cli, create_app, meetings, notes, passwords, training
from marac.db import db
from marac.models import (
    Action,
    AuditEvent,
    Case,
    Listing,
    Meeting,
    Note,
    Referral,
    Research,
    User,
)

ROOT = Path(__file__).resolve().parent.parent
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    """The borough has 14 accounts: hash them cheaply in tests (verification reads the parameters)."""
    monkeypatch.setattr(passwords, "hash_password", _fast.hash)


@pytest.fixture
def app_config():
    return {"TRAINING_MODE": True}


@pytest.fixture
def borough(app):
    """The training borough, filled as `python app.py --training` does; returns e-mail -> password."""
    return {a.email: a.password for a in training.prepare(app)}


def sign_in_as(client, borough, local):
    email = f"{local}@{training.DOMAIN}"
    r = client.post("/login", data={"email": email, "password": borough[email]})
    assert r.status_code == 302, r.get_data(as_text=True)
    return User.by_email(email)


def test_training_uses_its_own_database_cookie_port_and_no_mail(app):
    assert app.config["DATABASE_URL"].endswith("/instance/training.db")
    assert app.config["MAIL_HOST"] is None
    assert app.config["SESSION_COOKIE_NAME"] == "marac_training_session"
    assert app.config["PORT"] == app.config["TRAINING_PORT"]


def test_instance_config_cannot_point_training_at_the_real_database(tmp_path):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(f"DATABASE_URL = 'sqlite:///{tmp_path}/real.db'\nMAIL_HOST = 'smtp'\n")
    training_app = create_app({"TESTING": True, "SECRET_KEY": "k" * 40, "TRAINING_MODE": True},
                              instance_path=str(instance))
    assert training_app.config["DATABASE_URL"] == f"sqlite:///{instance}/training.db"
    assert training_app.config["MAIL_HOST"] is None
    assert not (tmp_path / "real.db").exists()


def test_the_fictional_borough(app, borough):
    today = date.today()
    assert len(borough) == 14
    assert Case.select().count() == 39 and Referral.select().count() == 44
    assert Referral.select().where(Referral.status == "submitted", Referral.case.is_null()).count() == 5
    past = Meeting.select().where(Meeting.status == "held").count()
    coming = Meeting.select().where(Meeting.status == "planned").count()
    assert (past, coming) == (4, 2)
    assert Listing.select().count() == 39
    assert Research.select().count() > 50 and Note.select().count() > 20
    overdue = Action.overdue(today)
    assert overdue.count() > 10
    trainee_agencies = {User.by_email(f"{local}@{training.DOMAIN}").agency_id for _, local, _ in training.TRAINEES}
    assert trainee_agencies <= {a.owner_agency_id for a in overdue}  # each trainee has one to complete
    # Referrals are stored as the referral form stores them: frozen instrument, score and verdict.
    referral = Referral.select().first()
    assert referral.instrument_id == "dash" and referral.instrument_json and referral.score_total is not None
    # Nobody has done any exercise yet.
    users = list(User.select())
    assert all(not done for done in training.progress(users).values())
    assert training.who_looked_case() is not None


def test_fill_refuses_a_database_that_holds_anything(app, borough):
    with db.connection_context(), pytest.raises(training.NotEmpty):
        training.fill()


def test_prepare_twice_keeps_the_borough_and_passwords(app, borough):
    again = {a.email: a.password for a in training.prepare(app)}
    assert again == borough
    assert User.select().count() == 14


def test_banner_and_help_on_every_page(app, client, borough):
    sign_in_as(client, borough, "coordinator")
    pages = ["/", "/training", "/training/progress", "/help/glossary", "/instruments/", "/instruments/dash",
             "/admin/agencies", "/admin/users", "/admin/audit", "/account"]
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        assert "TRAINING - fictional data" in body, url
    for url in pages[:2] + pages[4:]:
        assert "What is this page for?" in client.get(url).get_data(as_text=True), url
    assert "What is this page for?" not in client.get("/no-such-page").get_data(as_text=True)
    client.post("/logout")
    assert "TRAINING - fictional data" in client.get("/login").get_data(as_text=True)


def test_exercise_progress_is_checked_by_the_app(app, client, borough, fake_clock):
    from datetime import UTC, datetime, timedelta

    fake_clock.current = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)  # after the fill
    trainee = sign_in_as(client, borough, "trainee1")
    page = client.get("/training").get_data(as_text=True)
    assert page.count("Not done yet") == 3 and "Find who has looked" not in page

    # 1. A submitted referral of their own.
    Referral.create(author=trainee, agency=trainee.agency_id, status="submitted", submitted_at=fake_clock(),
                    instrument_id="dash")
    # 2. Research for the next meeting, through the agenda's service.
    listing = (Listing.select().join(Meeting).where(Meeting.status == "planned").order_by(Meeting.starts_at).first())
    meetings.save_research(listing, trainee, nothing_known=True)
    # 3. An overdue action completed (the actions service), but no note yet: not done.
    action = Action.overdue(fake_clock().date()).where(Action.owner_agency == trainee.agency_id).first()
    actions.complete(action, trainee, note="Done in training.")
    assert training.progress([trainee])[trainee.id] == {"first_referral", "research"}
    notes.add(Case.get_by_id(action.case_id), trainee, category="contact", text="Done.")
    assert training.progress([trainee])[trainee.id] == {"first_referral", "research", "overdue_action"}
    assert client.get("/training").get_data(as_text=True).count("govuk-tag--green") == 3
    # The trainer sees it.
    client.post("/logout")
    sign_in_as(client, borough, "coordinator")
    progress_page = client.get("/training/progress").get_data(as_text=True)
    row = re.search(r"Trainee One.*?</tr>", progress_page, re.S).group(0)
    assert row.count(">Done<") == 3


def test_who_has_looked_exercise(app, client, borough):
    sign_in_as(client, borough, "coordinator")
    case = training.who_looked_case()
    page = client.get("/training").get_data(as_text=True)
    assert case.number in page and f"record number {case.id}" in page
    r = client.post("/training/who-looked", data={"name": "Riley Demo-Police"})
    assert r.status_code == 200 and "That is not who looked at this case" in r.get_data(as_text=True)
    r = client.post("/training/who-looked", data={"name": "  alex demo-housing-deputy "})
    assert r.status_code == 302
    coordinator = User.by_email(f"coordinator@{training.DOMAIN}")
    assert "who_looked" in training.progress([coordinator])[coordinator.id]
    assert AuditEvent.select().where(AuditEvent.action == training.DONE_ACTION).count() == 1


def test_training_pages_need_the_right_role(app, client, borough):
    sign_in_as(client, borough, "trainee2")
    assert client.get("/training/progress").status_code == 403
    assert client.post("/training/who-looked", data={"name": "x"}).status_code == 403
    assert client.get("/help/glossary").status_code == 200


def test_reset_restores_the_starting_state_and_keeps_passwords(app, client, borough, capsys, monkeypatch):
    trainee = sign_in_as(client, borough, "trainee3")
    Referral.create(author=trainee, agency=trainee.agency_id, status="submitted", instrument_id="dash")
    Action.update(status="done").execute()
    before = Referral.select().count()
    monkeypatch.setenv("MARAC_INSTANCE", app.instance_path)
    started = time.perf_counter()
    assert cli.main(["reset-training"]) == 0
    assert time.perf_counter() - started < 10
    assert "Training data reset" in capsys.readouterr().out
    with db.connection_context():
        assert Referral.select().count() == before - 1
        assert Action.overdue(date.today()).count() > 10
        assert User.select().count() == 14
    # The running app (its own connections) sees the fresh borough, and the same passwords work.
    r = client.get("/training")
    assert r.status_code == 302  # the session was in the old data: sign in again
    sign_in_as(client, borough, "trainee3")


def test_not_in_training_mode_there_are_no_exercises(tmp_path):
    plain = create_app({"TESTING": True, "SECRET_KEY": "p" * 40, "WTF_CSRF_ENABLED": False,
                        "REQUIRE_SECOND_FACTOR": False, "DATABASE_URL": f"sqlite:///{tmp_path / 'plain.db'}"},
                       instance_path=str(tmp_path / "p"))
    with db.connection_context():
        user = User.create(name="C", email="c@example.test", role="coordinator", agency=make_agency(),
                           password_hash=_fast.hash("correct-horse-battery-42"))
    client = plain.test_client()
    client.post("/login", data={"email": user.email, "password": "correct-horse-battery-42"})
    assert client.get("/training").status_code == 404
    assert client.get("/training/progress").status_code == 404
    home = client.get("/").get_data(as_text=True)
    assert "TRAINING" not in home and "What is this page for?" in home
    glossary = client.get("/help/glossary").get_data(as_text=True)
    for term in ("MARAC", "IDVA and IDSVA", "DASH", "MeRIT", "RIC", "TACAU", "Flag and tag", "MASH", "DHR",
                 "Professional judgement", "Repeat"):
        assert f'<dt class="govuk-summary-list__key">{term}</dt>' in glossary, term


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_python_app_py_training_serves_the_training_borough(tmp_path):
    """The README command: python app.py --training."""
    env = dict(os.environ, MARAC_INSTANCE=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "app.py", "--training", "--port", str(free_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Serving on"):
                break
        text = "".join(output)
        port = re.search(r"Serving on http://[\d.]+:(\d+)", text)
        assert port, text
        assert "TRAINING MODE" in text and f"trainee1@{training.DOMAIN}" in text
        assert (tmp_path / "instance" / "training.db").exists()
        assert not (tmp_path / "instance" / "marac.db").exists()
        with urlopen(f"http://127.0.0.1:{port.group(1)}/login", timeout=10) as response:  # noqa: S310 (local)
            assert "TRAINING - fictional data" in response.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _url_for_rule(rule, ids):
    """A URL for a rule, its int parameters filled from the training borough's ids."""
    values = {}
    for arg in rule.arguments:
        if arg not in ids:
            return None
        values[arg] = ids[arg]
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # noqa: BLE001 (a converter this sweep does not fill)
        return None


@pytest.mark.parametrize("local", ["coordinator", "trainee1", "chair"])
def test_every_page_works_on_the_training_borough(app, client, borough, local):
    """Other areas' screens read the fictional data as they read real data: no server error anywhere."""
    user = sign_in_as(client, borough, local)
    listing = (Listing.select().join(Meeting).where(Meeting.status == "held").order_by(Listing.id).first())
    coming = (Listing.select().join(Meeting).where(Meeting.status == "planned").order_by(Listing.id).first())
    action = Action.select().where(Action.owner_agency == user.agency_id).first() or Action.select().first()
    ids = {"case_id": listing.case_id, "meeting_id": coming.meeting_id, "listing_id": coming.id,
           "action_id": action.id, "referral_id": Referral.select().first().id, "user_id": user.id,
           "agency_id": user.agency_id, "note_id": Note.select().where(Note.case == listing.case_id).first().id,
           "instrument_id": "dash", "group": "panel", "slug": "person", "outcome": "accept"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "training.who_looked"):
            continue
        url = _url_for_rule(rule, ids)
        if url is None:
            continue
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        checked += 1
    assert checked > 40
    for url in (f"/meetings/{listing.meeting_id}", f"/meetings/{listing.meeting_id}/run/minutes"):
        assert client.get(url).status_code < 500, url


def test_the_trainers_progress_page_lists_the_panels_trainees_only(app, client, borough):
    # Issue 12: a second panel in the same database (not a training set-up anyone runs, but the page
    # must not list another panel's people).
    from marac_testing import make_user

    from marac import panels
    from marac.models import Panel

    other = Panel.create(name="Elsewhere MARAC (training)")
    with panels.using(other.id):
        make_user("representative", name="Trainee Elsewhere")
    sign_in_as(client, borough, "coordinator")
    page = client.get("/training/progress").get_data(as_text=True)
    assert "Trainee One" in page and "Trainee Elsewhere" not in page
    assert training.who_looked_case() is not None
