"""Fixtures: an app on a temp-file SQLite database per test, factories, sign-in helpers."""
from datetime import datetime

import postgres_testing
import pytest
from marac_testing import Clock, login, make_agency, make_user

from marac import clock, create_app
from marac.db import db


@pytest.fixture
def app_config():
    """Override in a module to change settings; CSRF is off except in tests that turn it on."""
    return {}


@pytest.fixture(scope="session")
def postgres_databases():
    """With MARAC_TEST_DATABASE_URL: the session's PostgreSQL template (tests/postgres_testing.py)."""
    if not postgres_testing.on_postgres():
        yield None
        return
    databases = postgres_testing.Databases()
    yield databases
    databases.close()


@pytest.fixture
def test_database_url(tmp_path, postgres_databases):
    """The database of this test: a temp-file SQLite one, or a fresh PostgreSQL one."""
    if postgres_databases is None:
        yield f"sqlite:///{tmp_path / 'marac.db'}"
        return
    name = postgres_databases.fresh()
    yield postgres_testing.database_url(name)
    if not db.is_closed():
        db.close()
    postgres_databases.drop(name)


@pytest.fixture
def app(tmp_path, app_config, test_database_url):
    # REQUIRE_SECOND_FACTOR off so sign_in() is one step; tests/test_totp.py turns it on.
    config = {"TESTING": True, "SECRET_KEY": "t" * 40, "WTF_CSRF_ENABLED": False, "REQUIRE_SECOND_FACTOR": False,
              "DATABASE_URL": test_database_url}
    config.update(app_config)
    application = create_app(config, instance_path=str(tmp_path / "instance"))
    # No app context is held open here: requests must each get their own `g`
    # (Flask-Login caches the user there). Peewee needs no app context.
    yield application
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fake_clock(monkeypatch):
    c = Clock(datetime(2026, 11, 2, 9, 0, 0))
    monkeypatch.setattr(clock, "now", c)
    return c


@pytest.fixture
def factory(app):
    """Factory helpers bound to the test database."""

    class F:
        agency = staticmethod(make_agency)
        user = staticmethod(make_user)

    return F


@pytest.fixture
def sign_in(client):
    """sign_in(user) signs the test client in as that user."""

    def _sign_in(user):
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _sign_in


@pytest.fixture
def coordinator(factory):
    return factory.user(role="coordinator", name="Casey Coordinator")
