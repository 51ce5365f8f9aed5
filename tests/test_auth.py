"""Sign-in, lockout, sessions, timeouts, setup, passwords."""
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from marac_testing import TEST_PASSWORD, login

from marac import accounts, passwords
from marac.models import AuditEvent, User, UserSession


def actions():
    return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def test_login_page_shows_form(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert b"Sign in" in r.data and b'name="password"' in r.data


def test_home_requires_login(client):
    r = client.get("/")
    assert r.status_code == 302
    assert "/login?next=" in r.headers["Location"]


def test_htmx_request_without_login_gets_hx_redirect(client):
    r = client.get("/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/login")
    assert b"<html" not in r.data


def test_sign_in_and_out(client, factory):
    user = factory.user(role="coordinator")
    r = login(client, user)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and user.name.encode() in home.data
    r = client.post("/logout")
    assert r.status_code == 302
    assert r.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/").status_code == 302
    assert actions()[-2:] == ["auth.login", "auth.logout"]


def test_logout_is_post_only(client, factory, sign_in):
    sign_in(factory.user())
    assert client.get("/logout").status_code == 405


def test_wrong_password_is_refused_and_audited(client, factory):
    user = factory.user()
    r = login(client, user, password="wrong password here")
    assert r.status_code == 200
    assert b"Enter a correct e-mail address and password" in r.data
    assert b"govuk-error-summary" in r.data
    assert "auth.login_failed" in actions()


def test_unknown_email_does_not_reveal_itself(client):
    r = client.post("/login", data={"email": "nobody@example.test", "password": "whatever-whatever"})
    assert b"Enter a correct e-mail address and password" in r.data


def test_next_parameter_cannot_redirect_off_site(client, factory):
    user = factory.user()
    r = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": TEST_PASSWORD})
    assert r.headers["Location"] == "/"
    client.post("/logout")
    r = client.post("/login?next=/account", data={"email": user.email, "password": TEST_PASSWORD})
    assert r.headers["Location"] == "/account"


def test_inactive_user_cannot_sign_in(client, factory):
    user = factory.user(active=False)
    r = login(client, user)
    assert r.status_code == 200 and b"Enter a correct" in r.data


def test_ten_failures_lock_the_account_then_it_unlocks(client, factory, fake_clock):
    user = factory.user()
    for _ in range(9):
        assert login(client, user, password="not-the-password").status_code == 200
    r = login(client, user, password="not-the-password")
    assert r.status_code == 429
    assert b"locked for 15 minutes" in r.data
    # Even the right password is refused while locked.
    r = login(client, user)
    assert r.status_code == 429
    assert "auth.lockout" in actions()
    fake_clock.advance(minutes=16)
    assert login(client, user).status_code == 302


def test_failures_outside_the_window_do_not_lock(client, factory, fake_clock):
    user = factory.user()
    for _ in range(9):
        login(client, user, password="not-the-password")
    fake_clock.advance(minutes=6)
    assert login(client, user, password="not-the-password").status_code == 200
    assert login(client, user).status_code == 302


def test_session_identifier_changes_at_login(client, factory):
    user = factory.user()
    client.get("/login")
    before = client.get_cookie("marac_session").value
    login(client, user)
    after = client.get_cookie("marac_session").value
    assert before != after
    with client.session_transaction() as s:
        assert s["sid"]


def test_cookie_replayed_after_logout_is_refused(app, factory):
    user = factory.user()
    c1 = app.test_client()
    login(c1, user)
    stolen = c1.get_cookie("marac_session").value
    c1.post("/logout")
    thief = app.test_client()
    thief.set_cookie("marac_session", stolen)
    assert thief.get("/").status_code == 302


def test_cookie_refused_after_deactivation(app, factory, coordinator):
    user = factory.user()
    victim = app.test_client()
    login(victim, user)
    assert victim.get("/").status_code == 200
    admin = app.test_client()
    login(admin, coordinator)
    r = admin.post(f"/admin/users/{user.id}", data={
        "name": user.name, "email": user.email, "agency": user.agency_id, "role": user.role})  # active unticked
    assert r.status_code == 302
    assert User.get_by_id(user.id).active is False
    assert victim.get("/").status_code == 302


def test_idle_timeout(client, factory, fake_clock):
    sign_in_user = factory.user()
    login(client, sign_in_user)
    fake_clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    fake_clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # activity keeps it alive
    fake_clock.advance(minutes=31)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_config", [{"IDLE_TIMEOUT": timedelta(minutes=5)}])
def test_idle_timeout_is_configurable(client, factory, fake_clock):
    login(client, factory.user())
    fake_clock.advance(minutes=6)
    assert client.get("/").status_code == 302


def test_absolute_timeout(client, factory, fake_clock):
    login(client, factory.user())
    for _ in range(21):
        fake_clock.advance(minutes=29)
        client.get("/")
    # 21 x 29 min = 10 h 9 min, always active, but past the 10-hour limit.
    assert client.get("/").status_code == 302
    assert UserSession.select().where(UserSession.ended_at.is_null(False)).count() == 1


def test_change_password_ends_other_sessions(app, factory):
    user = factory.user()
    other = app.test_client()
    login(other, user)
    me = app.test_client()
    login(me, user)
    r = me.post("/account", data={"current_password": TEST_PASSWORD, "password": "a brand new passphrase",
                                  "confirm": "a brand new passphrase"})
    assert r.status_code == 302
    assert me.get("/").status_code == 200
    assert other.get("/").status_code == 302
    me.post("/logout")
    assert login(me, user, password="a brand new passphrase").status_code == 302


def test_change_password_validation_messages(client, factory, sign_in):
    user = sign_in(factory.user(name="Pat Example"))
    r = client.post("/account", data={"current_password": "wrong", "password": "short", "confirm": "other"})
    body = r.get_data(as_text=True)
    assert "Your current password is not right" in body
    assert "Password must be 12 characters or more" in body
    assert "Passwords must match" in body
    r = client.post("/account", data={"current_password": TEST_PASSWORD, "password": "pat-example-password",
                                      "confirm": "pat-example-password"})
    assert "must not contain your name" in r.get_data(as_text=True)
    assert User.get_by_id(user.id).password_hash == user.password_hash


def test_password_policy():
    assert passwords.password_problems("short") == ["Password must be 12 characters or more"]
    assert passwords.password_problems("password1234")
    assert passwords.password_problems("aaaaaaaaaaaaaaaa")
    assert passwords.password_problems("my-anytown-secret", ["", "", "", "Anytown"])
    assert passwords.password_problems("x" * 11 + "é")  # 12 characters but one repeated letter plus one
    assert passwords.password_problems("Grüße aus Köln 2026!") == []
    long = "Ab3$" * 16
    assert len(long) == 64 and passwords.password_problems(long) == []


def test_long_and_non_ascii_passwords_work_unchanged(client, factory):
    for pw in ("Ab3$" * 16, "пароль-для-марак-2026", "Grüße aus Köln 2026!"):
        user = factory.user(password_hash=passwords.hash_password(pw))
        assert login(client, user, password=pw).status_code == 302
        client.post("/logout")
        assert login(client, user, password=pw[:-1]).status_code == 200


def test_password_hash_is_argon2id_within_asvs_parameters(factory):
    h = passwords.hash_password("an example passphrase")
    assert h.startswith("$argon2id$")
    params = dict(p.split("=") for p in h.split("$")[3].split(","))
    # ASVS 5.0 Appendix C / OWASP: argon2id with at least 19 MiB and t=2 (or stronger).
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
    assert PasswordHasher().verify(h, "an example passphrase")


def test_setup_link_creates_first_coordinator_once(client, app):
    token = accounts.new_setup_token()
    r = client.get(f"/setup/{token}")
    assert r.status_code == 200 and b"Set up the first coordinator" in r.data
    data = {"name": "Robin Setup", "email": "Robin.Setup@Council.example", "agency_name": "Community Safety Team",
            "password": "blue window seven lanterns", "confirm": "blue window seven lanterns"}
    r = client.post(f"/setup/{token}", data=data)
    assert r.status_code == 302 and r.headers["Location"] == "/admin/agencies"
    user = User.get(User.email == "robin.setup@council.example")
    assert user.role == "coordinator" and user.agency.name == "Community Safety Team"
    assert passwords.verify_password(user.password_hash, "blue window seven lanterns")
    assert client.get("/admin/agencies").status_code == 200
    other = app.test_client()
    assert other.get(f"/setup/{token}").status_code == 404
    assert other.post(f"/setup/{token}", data=data).status_code == 404
    assert User.select().count() == 1
    assert "setup.first_coordinator" in actions()


def test_setup_refuses_weak_password_and_keeps_input(client):
    token = accounts.new_setup_token()
    r = client.post(f"/setup/{token}", data={"name": "Robin Setup", "email": "robin@council.example",
                                             "agency_name": "Team", "password": "robinsetup12345",
                                             "confirm": "robinsetup12345"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "must not contain your name" in body
    assert 'value="robin@council.example"' in body
    assert User.select().count() == 0


def test_unknown_setup_token_is_404(client):
    accounts.new_setup_token()
    assert client.get("/setup/not-a-token").status_code == 404


def test_no_default_account_exists(app):
    assert User.select().count() == 0
    assert accounts.needs_setup()
