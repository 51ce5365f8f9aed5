"""The second factor (SECURITY.md checks 4, 5, 23, 25): enrolment with a locally made QR code, a code at
each sign-in, a code works once, failures are audited and lock the account, the session id changes
at the second factor, the coordinator's reset, training mode and the half-signed-in state."""
import json
import re

import pyotp
import pytest
from marac_testing import TEST_PASSWORD, login

from marac import second_factor
from marac.models import AuditEvent, LoginFailure, User, UserSession


@pytest.fixture
def app_config():
    return {"REQUIRE_SECOND_FACTOR": True}


def code_for(user, fake_clock, offset_steps=0):
    step = second_factor._step(fake_clock()) + offset_steps
    return pyotp.TOTP(second_factor.secret_of(User.get_by_id(user.id))).generate_otp(step)


def enrol(client, user, fake_clock):
    """Password, then the enrolment page, then the first code: a fully signed-in client."""
    assert login(client, user).headers["Location"] == "/"
    r = client.get("/login/code")
    assert r.headers["Location"] == "/login/enrol"
    assert client.get("/login/enrol").status_code == 200
    r = client.post("/login/enrol", data={"code": code_for(user, fake_clock)})
    assert r.status_code == 302, r.get_data(as_text=True)
    return r


def actions():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def test_password_alone_does_not_sign_in(client, coordinator, fake_clock):
    r = login(client, coordinator)
    assert r.status_code == 302
    # No server-side session yet: every page sends the browser to the code step.
    assert UserSession.select().count() == 0
    r = client.get("/admin/users")
    assert r.status_code == 302 and r.headers["Location"] == "/login/code"
    assert client.get("/login/code").headers["Location"] == "/login/enrol"
    with client.session_transaction() as s:
        assert "sid" not in s and "_user_id" not in s
    assert actions()[-1] == "auth.password_accepted"


def test_an_htmx_request_while_half_signed_in_gets_hx_redirect(client, coordinator, fake_clock):
    login(client, coordinator)
    r = client.get("/cases/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == "/login/code"
    assert "<html" not in r.get_data(as_text=True)
    r = client.post("/admin/agencies/new", data={"name": "Sneaky"}, headers={"HX-Request": "true"})
    assert r.headers["HX-Redirect"] == "/login/code"


def test_enrolment_shows_a_local_qr_code_and_the_key(app, client, coordinator, fake_clock):
    login(client, coordinator)
    page = client.get("/login/enrol").get_data(as_text=True)
    user = User.get_by_id(coordinator.id)
    secret = second_factor.secret_of(user)
    assert secret and user.totp_enrolled_at is None
    # Inline SVG (the CSP allows no data: URL and no third-party image), labelled for screen readers.
    assert re.search(r'<svg role="img" aria-label="QR code[^"]*"', page)
    assert "data:" not in page and "<img" not in page
    assert second_factor.spaced(secret) in page
    # A reload shows the same secret, so an app that already scanned it keeps working.
    client.get("/login/enrol")
    assert second_factor.secret_of(User.get_by_id(coordinator.id)) == secret
    # The QR code encodes the standard otpauth URI with this secret.
    with app.app_context():
        uri = second_factor.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri


def test_enrolment_then_sign_in_with_a_code(app, client, coordinator, fake_clock):
    r = enrol(client, coordinator, fake_clock)
    assert r.headers["Location"] == "/"
    user = User.get_by_id(coordinator.id)
    assert user.totp_enrolled_at == fake_clock()
    assert client.get("/admin/users").status_code == 200
    assert {"auth.second_factor_enrolled", "auth.login"} <= set(actions())
    client.post("/logout")
    # Next sign-in: straight to the code page, no new QR code.
    fake_clock.advance(minutes=5)
    login(client, coordinator)
    assert client.get("/login/code").status_code == 200
    assert client.get("/login/enrol").headers["Location"] == "/login/code"
    r = client.post("/login/code", data={"code": code_for(coordinator, fake_clock)})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_page_asked_for_is_reached_after_the_code(client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    fake_clock.advance(minutes=1)
    client.post("/login?next=/admin/users", data={"email": coordinator.email, "password": TEST_PASSWORD})
    assert client.get("/admin/users").headers["Location"] == "/login/code"
    r = client.post("/login/code", data={"code": code_for(coordinator, fake_clock)})
    assert r.headers["Location"] == "/admin/users"


def test_a_code_works_once(app, coordinator, fake_clock):
    first = app.test_client()
    enrol(first, coordinator, fake_clock)
    used = code_for(coordinator, fake_clock)
    # Someone who saw the code (over the shoulder, a proxy log) cannot use it again.
    other = app.test_client()
    login(other, coordinator)
    r = other.post("/login/code", data={"code": used})
    assert r.status_code == 200
    assert "already been used" in r.get_data(as_text=True)
    assert other.get("/").headers["Location"] == "/login/code"
    row = AuditEvent.select().where(AuditEvent.action == "auth.second_factor_failed").get()
    assert json.loads(row.detail) == {"reason": "reused code"}
    # An older code (the step before) is refused too: only later steps count.
    assert other.post("/login/code", data={"code": code_for(coordinator, fake_clock, -1)}).status_code == 200
    # The next code works.
    fake_clock.advance(seconds=30)
    assert other.post("/login/code", data={"code": code_for(coordinator, fake_clock)}).status_code == 302


def test_codes_from_the_neighbouring_steps_are_accepted_for_clock_drift(client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    fake_clock.advance(minutes=2)
    login(client, coordinator)
    assert client.post("/login/code", data={"code": code_for(coordinator, fake_clock, +1)}).status_code == 302
    client.post("/logout")
    fake_clock.advance(minutes=2)
    login(client, coordinator)
    assert client.post("/login/code", data={"code": code_for(coordinator, fake_clock, -2)}).status_code == 200


def test_the_session_id_changes_at_the_second_factor(app, client, coordinator, fake_clock):
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    login(client, coordinator)
    with client.session_transaction() as s:
        before = dict(s)
    assert "planted" not in before and "sid" not in before
    client.get("/login/enrol")
    client.post("/login/enrol", data={"code": code_for(coordinator, fake_clock)})
    with client.session_transaction() as s:
        assert s["sid"] and "second_factor" not in s
    # The half-signed-in cookie, copied before the code, reaches nothing.
    copy = app.test_client()
    with copy.session_transaction() as s:
        s.update(before)
    assert copy.get("/").headers["Location"] == "/login/code"
    assert UserSession.select().count() == 1


def test_wrong_codes_are_security_events_and_lock_the_account(app, client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    login(client, coordinator)
    right = code_for(coordinator, fake_clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(app.config["MAX_FAILED_LOGINS"] - 1):
        r = client.post("/login/code", data={"code": wrong})
        assert r.status_code == 200 and "The code is not right" in r.get_data(as_text=True)
    r = client.post("/login/code", data={"code": wrong})
    assert r.status_code == 429
    assert "locked" in r.get_data(as_text=True)
    rows = AuditEvent.select().where(AuditEvent.action == "auth.second_factor_failed")
    assert rows.count() == app.config["MAX_FAILED_LOGINS"]
    assert all(row.object_id == str(coordinator.id) and row.ip for row in rows)
    assert "auth.lockout" in actions()
    # Locked: even the password step is refused now, and a right code later is too.
    assert login(client, coordinator).status_code == 429
    # The lock ends by itself.
    fake_clock.advance(minutes=16)
    login(client, coordinator)
    assert client.post("/login/code", data={"code": code_for(coordinator, fake_clock)}).status_code == 302


def test_password_and_code_failures_count_together(app, client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    for _ in range(5):
        login(client, coordinator, password="wrong-password-123")
    login(client, coordinator)
    for _ in range(4):
        client.post("/login/code", data={"code": "000000"})
    assert LoginFailure.select().count() == 9
    r = client.post("/login/code", data={"code": "000000"})
    assert r.status_code == 429


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(app, client, coordinator, fake_clock):
    # Otherwise someone who knows the password could guess codes forever, nine at a time.
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    for _ in range(2):
        login(client, coordinator)
        for _ in range(4):
            client.post("/login/code", data={"code": "000000"})
    login(client, coordinator)
    client.post("/login/code", data={"code": "000000"})
    r = client.post("/login/code", data={"code": "000000"})
    assert r.status_code == 429


def test_no_code_secret_or_session_id_reaches_the_audit_log(client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    used = code_for(coordinator, fake_clock)
    secret = second_factor.secret_of(User.get_by_id(coordinator.id))
    with client.session_transaction() as s:
        sid = s["sid"]
    dump = json.dumps(list(AuditEvent.select().dicts()), default=str)
    for value in (used, secret, sid, TEST_PASSWORD):
        assert value not in dump


def test_a_half_finished_sign_in_expires(client, coordinator, fake_clock):
    enrol(client, coordinator, fake_clock)
    client.post("/logout")
    login(client, coordinator)
    fake_clock.advance(minutes=11)
    r = client.post("/login/code", data={"code": code_for(coordinator, fake_clock)})
    assert r.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")


def test_the_code_pages_need_a_right_password_first(client, coordinator, fake_clock):
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.get("/login/enrol").headers["Location"] == "/login"
    # A forged marker (the cookie is signed, but say it were not) for a deactivated user goes nowhere.
    User.update(active=False).where(User.id == coordinator.id).execute()
    with client.session_transaction() as s:
        s["second_factor"] = {"uid": coordinator.id, "at": fake_clock().isoformat()}
    assert client.get("/login/enrol").headers["Location"] == "/login"


def test_the_coordinator_resets_a_users_enrolment(app, coordinator, factory, fake_clock):
    rep = factory.user(role="representative")
    rep_client = app.test_client()
    enrol(rep_client, rep, fake_clock)
    assert rep_client.get("/").status_code == 200
    admin = app.test_client()
    fake_clock.advance(seconds=30)
    enrol(admin, coordinator, fake_clock)
    page = admin.get(f"/admin/users/{rep.id}").get_data(as_text=True)
    assert f"/admin/users/{rep.id}/second-factor" in page
    confirm = admin.get(f"/admin/users/{rep.id}/second-factor")
    assert confirm.status_code == 200 and "Reset the authenticator app" in confirm.get_data(as_text=True)
    r = admin.post(f"/admin/users/{rep.id}/second-factor")
    assert r.headers["Location"] == f"/admin/users/{rep.id}"
    user = User.get_by_id(rep.id)
    assert (user.totp_secret, user.totp_enrolled_at, user.totp_last_step) == ("", None, 0)
    row = AuditEvent.select().where(AuditEvent.action == "user.second_factor_reset").get()
    assert (row.user_id, row.object_id) == (coordinator.id, str(rep.id))
    # Their sessions ended; next sign-in enrols again.
    assert rep_client.get("/").status_code == 302
    login(rep_client, rep)
    assert rep_client.get("/login/code").headers["Location"] == "/login/enrol"


def test_only_the_coordinator_may_reset(app, client, factory, fake_clock):
    chair = factory.user(role="chair")
    other = factory.user(role="representative")
    enrol(client, chair, fake_clock)
    assert client.get(f"/admin/users/{other.id}/second-factor").status_code == 403
    assert client.post(f"/admin/users/{other.id}/second-factor").status_code == 403
    assert User.get_by_id(other.id).totp_last_step == 0


def test_first_coordinator_from_setup_enrols_too(client, fake_clock):
    from marac import accounts

    token = accounts.new_setup_token()
    r = client.post(f"/setup/{token}", data={"name": "First Coordinator", "email": "first@example.test",
                                              "agency_name": "Community Safety", "password": "quiet-lantern-orbit-77",
                                              "confirm": "quiet-lantern-orbit-77"})
    assert r.status_code == 302
    assert client.get(r.headers["Location"]).headers["Location"] == "/login/code"
    assert client.get("/login/code").headers["Location"] == "/login/enrol"


@pytest.mark.parametrize("app_config", [{"REQUIRE_SECOND_FACTOR": True, "TRAINING_MODE": True}])
def test_training_mode_needs_no_second_factor(client, coordinator, fake_clock):
    r = login(client, coordinator)
    assert r.status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_the_second_factor_is_on_by_default():
    from marac import config

    assert config.REQUIRE_SECOND_FACTOR is True


def test_security_events_share_the_hash_chained_log_and_no_log_holds_a_secret(app, client, coordinator, factory,
                                                                               fake_clock, caplog):
    """SECURITY.md 23 and 25: failed passwords, failed codes, lockouts and denials are rows of the one
    audit log (whose chain verifies); neither it nor the application log holds a password, code,
    TOTP secret or session id."""
    import logging

    from marac import audit
    from marac.db import db

    caplog.set_level(logging.INFO)  # what the service logs (peewee logs its SQL only at DEBUG, off in service)
    enrol(client, coordinator, fake_clock)
    with client.session_transaction() as s:
        sid = s["sid"]
    rep = factory.user(role="representative")
    other = app.test_client()
    fake_clock.advance(seconds=30)
    login(other, rep, password="not-the-password-1")
    enrol(other, rep, fake_clock)
    other.get("/admin/users")  # refused by role: access.denied
    client.post("/logout")
    login(client, coordinator)
    used = code_for(coordinator, fake_clock)
    for _ in range(app.config["MAX_FAILED_LOGINS"]):
        client.post("/login/code", data={"code": "000000" if used != "000000" else "111111"})
    kinds = set(actions())
    assert {"auth.login_failed", "auth.second_factor_failed", "auth.lockout", "access.denied",
            "auth.second_factor_enrolled", "auth.login"} <= kinds
    with db.connection_context():
        assert audit.verify().ok
    secrets_ = [TEST_PASSWORD, "not-the-password-1", used, sid, second_factor.secret_of(User.get_by_id(coordinator.id)),
                second_factor.secret_of(User.get_by_id(rep.id))]
    dump = json.dumps(list(AuditEvent.select().dicts()), default=str)
    for value in secrets_:
        assert value not in dump
        assert value not in caplog.text
