"""The fictional demo borough: agencies and one account per role, working passwords, never
loaded over real data, and nothing in it that could be a real person or address."""
import re

import pytest
from argon2 import PasswordHasher
from marac_testing import login

from marac import cli, create_app, demo, passwords
from marac.db import db
from marac.models import ROLES, Agency, AuditEvent, User


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap argon2 for tests that never sign in (the real cost is checked in test_auth)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_load_creates_agencies_and_one_user_per_role(app):
    made = demo.load()
    assert Agency.select().count() == len(demo.AGENCIES) >= 5
    assert {kind for _, kind, _ in demo.AGENCIES} == {"core", "flexible", "referrer"}
    users = list(User.select())
    assert {u.role for u in users} == set(ROLES)
    assert len(made) == len(users)
    for email, password, role, agency_name in made:
        user = User.get(User.email == email)
        assert (user.role, user.agency.name, user.active) == (role, agency_name, True)
        assert user.password_hash.startswith("$argon2id$")
        assert passwords.verify_password(user.password_hash, password)
        assert passwords.password_problems(password) == []
    assert len({password for _, password, _, _ in made}) == len(made)  # not one shared password
    deputies = [u for u in users if u.is_deputy]
    assert deputies and all(u.role == "representative" for u in deputies)
    assert Agency.select().where(Agency.is_police).count() == 1
    # Loading is audited like any admin change.
    assert AuditEvent.select().where(AuditEvent.action == "user.create").count() == len(made)


def test_a_demo_account_can_sign_in(app, client):
    made = demo.load()
    email, password, role, _ = next(m for m in made if m[2] == "representative")
    user = User.get(User.email == email)
    assert login(client, user, password=password).status_code == 302
    assert user.name.encode() in client.get("/").data


def test_load_works_after_the_first_coordinator_was_set_up(app, factory, fast_hashes):
    factory.user(role="coordinator", email="real.coordinator@council.example")
    demo.load()
    assert User.select().count() == len(demo.USERS) + 1


def test_load_refuses_a_database_with_real_data(app, factory, fast_hashes):
    factory.user(role="coordinator")
    factory.user(role="representative")
    with pytest.raises(demo.NotEmpty):
        demo.load()
    assert User.select().count() == 2 and Agency.select().count() == 2


def test_load_refuses_a_second_agency(app, factory, fast_hashes):
    factory.agency()
    factory.agency()
    with pytest.raises(demo.NotEmpty):
        demo.load()
    assert User.select().count() == 0


def test_load_refuses_to_run_twice(app, fast_hashes):
    demo.load()
    count = User.select().count()
    with pytest.raises(demo.NotEmpty):
        demo.load()
    assert User.select().count() == count


def test_demo_names_and_addresses_are_fictional(app, fast_hashes):
    made = demo.load()
    for email, _, _, _ in made:
        assert email.endswith(".invalid"), email  # RFC 2606: can never be a real address
    for agency in Agency.select():
        assert agency.dpo_contact == "" or agency.dpo_contact.endswith(".invalid")
    for user in User.select():
        assert "Demo" in user.name, user.name  # every person is visibly a demo account
    assert re.fullmatch(r"[\w.-]+\.invalid", demo.DEMO_DOMAIN)


def test_demo_command_prints_the_accounts_and_refuses_a_second_run(tmp_path, monkeypatch, capsys, fast_hashes):
    monkeypatch.setenv("MARAC_INSTANCE", str(tmp_path / "demo-instance"))
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    with db.connection_context():
        emails = [u.email for u in User.select()]
    assert len(emails) == len(demo.USERS)
    for email in emails:
        assert email in out
    assert cli.main(["demo"]) == 1
    assert "Refused" in capsys.readouterr().err
    create_app()  # the instance still starts
    with db.connection_context():
        assert User.select().count() == len(demo.USERS)
