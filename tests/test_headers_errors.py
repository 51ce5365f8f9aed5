"""Security headers on every kind of response, plain error pages, cookie flags, the secret key
and the request size limit (SECURITY.md checks 8, 18, 19, 21, 35)."""
import re

import pytest
from marac_testing import TEST_PASSWORD, login
from peewee import DatabaseError

from marac import ConfigError, create_app
from marac.db import db

SECRET = "s" * 40


def csp_directives(response) -> dict:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no CSP on {response.request.path} ({response.status_code})"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response):
    where = f"{response.request.path} ({response.status_code})"
    csp = csp_directives(response)
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src == ["'self'"], where
    for directive, sources in csp.items():
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (where, directive)
    assert csp["object-src"] == ["'none'"], where
    assert csp["base-uri"] == ["'none'"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] == "same-origin", where


def assert_plain_error_page(response, *leaks):
    body = response.get_data(as_text=True)
    assert "<html" in body and "govuk-template" in body
    for marker in ("Traceback", 'File "', "werkzeug", "peewee", "sqlite", "/work/", ".py", *leaks):
        assert marker.lower() not in body.lower(), f"{marker!r} leaked into the {response.status_code} page"


def production_app(tmp_path, **extra):
    """An app as it runs for real: TESTING off, so the error handlers run."""
    config = {"SECRET_KEY": SECRET, "WTF_CSRF_ENABLED": False, "PROPAGATE_EXCEPTIONS": False,
              "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}"}
    config.update(extra)
    return create_app(config, instance_path=str(tmp_path / "prod-instance"))


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 2048}])
def test_every_kind_of_response_carries_the_security_headers(app, client, factory):
    responses = [
        client.get("/login"),                                   # page
        client.get("/static/css/app.css"),                      # static file
        client.get("/static/vendor/htmx/htmx.min.js"),
        client.get("/no-such-page"),                            # 404
        client.get("/"),                                        # redirect to sign in
        client.get("/", headers={"HX-Request": "true"}),        # 401 + HX-Redirect
        client.get("/logout"),                                  # 405
        client.post("/login", data={"email": "a@b.test", "password": "x" * 4096}),  # 413
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 302, 401, 405, 413]
    login(client, factory.user(role="observer"))
    responses += [client.get("/"), client.get("/admin/agencies"), client.get("/admin/users/999999")]
    assert [r.status_code for r in responses[-3:]] == [200, 403, 403]
    for response in responses:
        assert_security_headers(response)
        response.close()  # static files are streamed from an open file


def test_the_500_page_carries_the_security_headers(tmp_path):
    app = production_app(tmp_path)

    @app.get("/__test/boom")
    def boom():
        raise RuntimeError("boom")

    r = app.test_client().get("/__test/boom")
    assert r.status_code == 500
    assert_security_headers(r)


def test_signed_in_responses_are_not_stored(client, factory):
    login(client, factory.user(role="coordinator"))
    for path in ("/", "/account", "/admin/agencies", "/admin/users", "/admin/audit", "/no-such-page"):
        r = client.get(path)
        assert "no-store" in r.headers.get("Cache-Control", ""), path
    r = client.get("/", headers={"HX-Request": "true"})
    assert "no-store" in r.headers["Cache-Control"]


def test_login_page_is_not_stored_either(client):
    assert "no-store" in client.get("/login").headers["Cache-Control"]


# --- error pages -----------------------------------------------------------------------------


def test_an_unexpected_error_shows_a_plain_page(tmp_path):
    app = production_app(tmp_path)
    assert app.debug is False and app.testing is False

    # Test-only routes, registered on this app object before its first request.
    @app.get("/__test/boom")
    def boom():
        raise RuntimeError("secret detail /srv/marac/secret.py SELECT password_hash FROM user")

    @app.get("/__test/sql")
    def sql():
        db.execute_sql("SELECT secret_column FROM no_such_table")

    client = app.test_client()
    for path, leaks in (("/__test/boom", ("secret detail", "RuntimeError", "password_hash")),
                        ("/__test/sql", ("secret_column", "no_such_table", "OperationalError"))):
        r = client.get(path)
        assert r.status_code == 500
        body = r.get_data(as_text=True)
        assert "Sorry, there is a problem with the service" in body
        assert_plain_error_page(r, *leaks)


def test_a_database_error_is_not_swallowed_in_testing(app):
    # In tests the same error reaches pytest (so bugs are not hidden behind the plain page).
    @app.get("/__test/sql")
    def sql():
        db.execute_sql("SELECT 1 FROM no_such_table")

    with pytest.raises(DatabaseError):  # SQLite: OperationalError; PostgreSQL: ProgrammingError
        app.test_client().get("/__test/sql")


def test_not_found_page_is_plain(client):
    r = client.get("/admin/../etc/passwd-nothing-here")
    assert r.status_code == 404
    assert "Page not found" in r.get_data(as_text=True)
    assert_plain_error_page(r)


def test_forbidden_page_is_plain(client, factory):
    login(client, factory.user(role="referrer"))
    r = client.get("/admin/users")
    assert r.status_code == 403
    assert "You cannot see this page" in r.get_data(as_text=True)
    assert_plain_error_page(r)


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1024}])
def test_oversize_request_body_gets_413(client, factory):
    r = client.post("/login", data={"email": "someone@example.test", "password": "p" * 5000})
    assert r.status_code == 413
    assert "What you sent is too large" in r.get_data(as_text=True)
    assert_plain_error_page(r)
    # A normal-sized post still works.
    user = factory.user()
    assert login(client, user).status_code == 302


def test_default_request_limit_is_set():
    from marac import config

    assert 0 < config.MAX_CONTENT_LENGTH <= 64 * 1024 * 1024


# --- cookies ---------------------------------------------------------------------------------


def _session_set_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("marac_session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def _attributes(set_cookie: str) -> dict:
    attrs = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attrs[name.lower()] = value
    return attrs


def test_session_cookie_flags(client, factory):
    r = login(client, factory.user())
    attrs = _attributes(_session_set_cookie(r))
    assert "httponly" in attrs
    assert attrs.get("samesite") == "Lax"
    assert "domain" not in attrs
    assert "expires" not in attrs and "max-age" not in attrs  # a browser-session cookie: no remember-me
    assert "secure" not in attrs  # plain http in tests; see the next test for https


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_session_cookie_is_secure_when_configured_for_https(app, factory):
    user = factory.user()
    r = app.test_client().post("/login", base_url="https://localhost",
                               data={"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 302
    attrs = _attributes(_session_set_cookie(r))
    assert "secure" in attrs and "httponly" in attrs and attrs.get("samesite") == "Lax"
    assert "domain" not in attrs


def test_no_other_cookies_are_set(client, factory):
    r = login(client, factory.user())
    names = {c.split("=", 1)[0] for c in r.headers.getlist("Set-Cookie")}
    assert names == {"marac_session"}


# --- secret key and debug --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "dev", "change-me", "secret", "x" * 31])
def test_a_default_or_short_secret_key_refuses_to_start(tmp_path, key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        production_app(tmp_path, SECRET_KEY=key)


def test_a_secret_key_is_generated_on_first_run_and_kept(tmp_path):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    instance = tmp_path / "fresh-instance"
    app = create_app(dict(config), instance_path=str(instance))
    key_file = instance / "secret_key"
    assert key_file.exists()
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert app.config["SECRET_KEY"] == key
    assert (key_file.stat().st_mode & 0o077) == 0  # readable by the owner only
    again = create_app(dict(config), instance_path=str(instance))
    assert again.config["SECRET_KEY"] == key
    other = create_app(dict(config), instance_path=str(tmp_path / "other-instance"))
    assert other.config["SECRET_KEY"] != key


def test_debug_is_off_by_default(tmp_path):
    app = production_app(tmp_path)
    assert app.debug is False
    assert app.config["DEBUG"] is False
    assert app.config["TESTING"] is False


def test_a_planted_session_id_is_replaced_at_sign_in(app, client, factory):
    # Session fixation (SECURITY.md check 5): whatever the cookie held before sign-in is discarded.
    with client.session_transaction() as s:
        s["sid"] = "planted-by-an-attacker"
        s["other"] = "left over"
    user = factory.user()
    assert login(client, user).status_code == 302
    with client.session_transaction() as s:
        assert s["sid"] != "planted-by-an-attacker" and len(s["sid"]) >= 40
        assert "other" not in s
    attacker = app.test_client()
    with attacker.session_transaction() as s:
        s["sid"] = "planted-by-an-attacker"
        s["_user_id"] = str(user.id)
    assert attacker.get("/").status_code == 302
