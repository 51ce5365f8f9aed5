"""CSRF protection on, over https as in production (Flask-WTF checks the Referer only there):
every state-changing route refuses a request without a token (400, audited), the header htmx
sends is accepted, and crawling every GET route changes nothing but audit rows (SECURITY.md 14).

The sweeps read app.url_map, so routes added later are covered without editing this file."""
import json
import re
import uuid

import pytest
from flask.testing import FlaskClient
from marac_testing import TEST_PASSWORD
from werkzeug.datastructures import Headers
from werkzeug.routing import AnyConverter, IntegerConverter, UUIDConverter

from marac import config
from marac.db import db
from marac.models import Agency, AuditEvent

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ORIGIN = "https://localhost"


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


class HttpsClient(FlaskClient):
    """Talks https and sends a same-origin Referer, like a browser on the real site."""

    referer = ORIGIN + "/"

    def open(self, *args, **kwargs):
        if not args or isinstance(args[0], str):  # not a redirect being followed
            kwargs.setdefault("base_url", ORIGIN)
            headers = Headers(kwargs.get("headers") or {})
            if self.referer and "Referer" not in headers:
                headers["Referer"] = self.referer
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = HttpsClient
    return app.test_client()


def form_token(response) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no csrf_token field on the page"
    return match.group(1)


def htmx_token(response) -> str:
    match = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', response.get_data(as_text=True))
    assert match, "no hx-headers CSRF token on <body>"
    return match.group(1)


def sign_in(client, user):
    token = form_token(client.get("/login"))
    r = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def dummy_url(rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.UUID(int=1)
        else:
            values[name] = "1"
    return rule.build(values)[1]


def unsafe_routes(app):
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods & UNSAFE):
            routes.append((method, dummy_url(rule), rule.endpoint))
    return routes


def get_routes(app):
    return [(dummy_url(rule), rule.endpoint) for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if "GET" in rule.methods and rule.endpoint != "static"]


def snapshot() -> dict:
    """Every table's rows, except the audit log (which reading is allowed to grow)."""
    tables = [t for t in db.get_tables() if t != "audit_event" and not t.startswith("sqlite_")]
    return {t: db.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}  # noqa: S608


def csrf_failures():
    return list(AuditEvent.select().where(AuditEvent.action == "security.csrf_failed").order_by(AuditEvent.id))


# --- tokens refused ---------------------------------------------------------------------------


def test_the_app_has_state_changing_routes(app):
    endpoints = {endpoint for _, _, endpoint in unsafe_routes(app)}
    assert {"auth.login", "auth.logout", "auth.setup", "auth.account", "admin.agency_new", "admin.user_edit"} <= \
        endpoints


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "coordinator"])
def test_every_state_changing_route_refuses_a_request_without_a_token(app, client, coordinator, fake_clock,
                                                                      signed_in):
    if signed_in:
        sign_in(client, coordinator)
    with db.connection_context():
        before = snapshot()
    routes = unsafe_routes(app)
    assert routes
    for method, url, endpoint in routes:
        failures = len(csrf_failures())
        r = client.open(url, method=method, data={"name": "Forged", "kind": "core", "role": "coordinator"})
        assert r.status_code == 400, (method, url, r.status_code)
        assert "Your request could not be accepted" in r.get_data(as_text=True)
        rows = csrf_failures()
        assert len(rows) == failures + 1, (method, url)
        assert (rows[-1].object_type, rows[-1].object_id) == ("route", endpoint)
        assert rows[-1].user_id == (coordinator.id if signed_in else None)
        # An htmx request without the header is refused the same way.
        r = client.open(url, method=method, headers={"HX-Request": "true"})
        assert r.status_code == 400, (method, url)
    with db.connection_context():
        assert snapshot() == before


def test_a_wrong_or_foreign_token_is_refused(app, client, coordinator):
    sign_in(client, coordinator)
    elsewhere = app.test_client()
    foreign = form_token(elsewhere.get("/login"))  # valid, but bound to another browser's session
    for token in ("not-a-token", foreign, ""):
        r = client.post("/admin/agencies/new", data={"name": "Forged", "kind": "core", "csrf_token": token})
        assert r.status_code == 400, token
        r = client.post("/admin/agencies/new", data={"name": "Forged", "kind": "core"},
                        headers={"X-CSRFToken": token})
        assert r.status_code == 400, token
    assert not Agency.select().where(Agency.name == "Forged").exists()


def test_the_csrf_failure_row_is_complete_and_holds_no_token(app, client, coordinator):
    sign_in(client, coordinator)
    token = htmx_token(client.get("/"))
    r = client.post("/admin/agencies/new", data={"name": "Forged", "kind": "core", "csrf_token": "bad" + token})
    assert r.status_code == 400
    row = csrf_failures()[-1]
    assert (row.user_id, row.role, row.agency_id) == (coordinator.id, "coordinator", coordinator.agency_id)
    assert row.ip == "127.0.0.1"
    assert row.request_id and row.request_id == r.headers["X-Request-Id"]
    assert "reason" in json.loads(row.detail)
    dump = json.dumps(list(AuditEvent.select().dicts()), default=str)
    assert token not in dump


# --- tokens accepted --------------------------------------------------------------------------


def test_the_header_htmx_sends_is_accepted(client, coordinator):
    sign_in(client, coordinator)
    token = htmx_token(client.get("/admin/agencies"))
    r = client.post("/admin/agencies/new", data={"name": "Header Token Agency", "kind": "core"},
                    headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 302
    assert Agency.select().where(Agency.name == "Header Token Agency").exists()
    r = client.post("/logout", headers={"X-CSRFToken": token})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_the_form_field_token_is_accepted(client, coordinator):
    sign_in(client, coordinator)
    token = form_token(client.get("/admin/agencies/new"))
    r = client.post("/admin/agencies/new", data={"name": "Field Token Agency", "kind": "core", "csrf_token": token})
    assert r.status_code == 302
    assert Agency.select().where(Agency.name == "Field Token Agency").exists()
    assert csrf_failures() == []


def test_over_https_the_referer_must_be_this_site(app, client, coordinator):
    sign_in(client, coordinator)
    token = htmx_token(client.get("/"))
    client.referer = None
    for headers in ({}, {"Referer": "https://evil.example/admin/agencies/new"},
                    {"Referer": "http://localhost/admin/agencies/new"}):
        r = client.post("/admin/agencies/new", data={"name": "Referer Test", "kind": "core"},
                        headers={"X-CSRFToken": token, **headers})
        assert r.status_code == 400, headers
    r = client.post("/admin/agencies/new", data={"name": "Referer Test", "kind": "core"},
                    headers={"X-CSRFToken": token, "Referer": ORIGIN + "/admin/agencies/new"})
    assert r.status_code == 302
    # The Referer check needs a referrer: the policy must not be no-referrer.
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_tokens_last_a_working_day():
    assert config.WTF_CSRF_TIME_LIMIT is None or config.WTF_CSRF_TIME_LIMIT >= 8 * 3600
    assert config.WTF_CSRF_SSL_STRICT is True


# --- GET changes nothing ----------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "coordinator"])
def test_crawling_every_get_route_changes_nothing_but_audit_rows(app, client, coordinator, factory, fake_clock,
                                                                 signed_in):
    factory.user(role="representative")  # user 2, agency 2: the dummy id 1 names real objects
    if signed_in:
        sign_in(client, coordinator)
    with db.connection_context():
        before = snapshot()
    routes = get_routes(app)
    assert len(routes) >= 8
    for url, _endpoint in routes:
        for headers in ({}, {"HX-Request": "true"}):
            r = client.get(url, headers=headers)
            assert r.status_code < 500, (url, r.status_code)
    with db.connection_context():
        assert snapshot() == before
