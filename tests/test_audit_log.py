"""The audit log: security events and admin changes are recorded; the table is append-only
(database triggers) and hash-chained; `verify-audit` names the first altered row; the log page
filters by user, object and date; no row holds a password or session id (SECURITY.md 22-25)."""
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from marac_testing import TEST_PASSWORD, login
from peewee import IntegrityError
from postgres_testing import sqlite_only

from marac import accounts, audit, cli, create_app
from marac.db import db, is_sqlite
from marac.models import AuditEvent, User

ROOT = Path(__file__).resolve().parent.parent


def events(action=None):
    query = AuditEvent.select().order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(query)


def shown_event_ids(response) -> list[int]:
    """Event numbers in the audit log table, in page order."""
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'<tr class="govuk-table__row">\s*<td class="govuk-table__cell">(\d+)</td>',
                                       response.get_data(as_text=True))]


def drop_triggers(database=None):
    on = "" if is_sqlite() else " ON audit_event"  # PostgreSQL names the table of a trigger
    (database or db).execute_sql("DROP TRIGGER audit_event_no_update" + on)
    (database or db).execute_sql("DROP TRIGGER audit_event_no_delete" + on)


# --- what is recorded ------------------------------------------------------------------------


def test_sign_in_is_recorded_with_who_when_where(client, factory, fake_clock):
    user = factory.user(role="chair")
    r = login(client, user)
    event = events("auth.login")[-1]
    assert event.at == fake_clock.current
    assert (event.user_id, event.user_name, event.role, event.agency_id) == (user.id, user.name, "chair",
                                                                             user.agency_id)
    assert (event.object_type, event.object_id) == ("user", str(user.id))
    assert event.ip == "127.0.0.1"
    assert event.request_id == r.headers["X-Request-Id"] and len(event.request_id) == 32


def test_sign_out_is_recorded(client, factory):
    user = factory.user()
    login(client, user)
    client.post("/logout")
    assert events()[-1].action == "auth.logout" and events()[-1].user_id == user.id


def test_failed_sign_ins_are_recorded(client, factory):
    user = factory.user()
    login(client, user, password="wrong password 1")
    failed = events("auth.login_failed")[-1]
    assert (failed.object_type, failed.object_id) == ("user", str(user.id))
    assert failed.user_id is None  # nobody is signed in
    assert json.loads(failed.detail) == {"reason": "password"}
    client.post("/login", data={"email": "nobody@example.test", "password": "wrong password 2"})
    unknown = events("auth.login_failed")[-1]
    assert unknown.object_id == "" and json.loads(unknown.detail) == {"reason": "unknown account"}
    assert "nobody@example.test" not in unknown.detail


def test_lockout_is_recorded(client, factory):
    user = factory.user()
    for _ in range(10):
        login(client, user, password="not the password")
    assert len(events("auth.login_failed")) == 10
    lockout = events("auth.lockout")
    assert len(lockout) == 1 and lockout[0].object_id == str(user.id)
    assert json.loads(lockout[0].detail) == {"minutes": 15}
    login(client, user)
    assert events()[-1].action == "auth.login_refused_locked"


def test_admin_changes_are_recorded(client, coordinator, factory):
    login(client, coordinator)
    client.post("/admin/agencies/new", data={"name": "Audited Agency", "kind": "core"})
    agency_id = events("agency.create")[-1].object_id
    client.post(f"/admin/agencies/{agency_id}", data={"name": "Audited Agency", "kind": "flexible"})
    client.post("/admin/users/new", data={"name": "Audited User", "email": "audited@example.test",
                                          "agency": agency_id, "role": "observer", "active": "y",
                                          "password": "plum violet harbour sixteen"})
    user = User.get(User.email == "audited@example.test")
    client.post(f"/admin/users/{user.id}", data={"name": "Audited User", "email": "audited@example.test",
                                                 "agency": agency_id, "role": "observer"})
    recorded = [(e.action, e.object_type, e.object_id) for e in events() if e.action.split(".")[0] in
                ("agency", "user")]
    assert recorded == [
        ("agency.create", "agency", agency_id),
        ("agency.update", "agency", agency_id),
        ("user.create", "user", str(user.id)),
        ("user.update", "user", str(user.id)),
        ("user.deactivate", "user", str(user.id)),
    ]
    assert all(e.user_id == coordinator.id for e in events() if e.action.startswith(("agency.", "user.")))


def test_a_refused_admin_page_is_recorded_as_access_denied(client, factory):
    user = factory.user(role="representative")
    login(client, user)
    assert client.get("/admin/audit").status_code == 403
    denied = events()[-1]
    assert denied.action == "access.denied"
    assert (denied.user_id, denied.role, denied.agency_id) == (user.id, "representative", user.agency_id)
    assert (denied.object_type, denied.object_id) == ("route", "audit_log")
    assert json.loads(denied.detail) == {"status": 403, "reason": "role"}


def test_setup_is_recorded(client):
    token = accounts.new_setup_token()
    client.post(f"/setup/{token}", data={"name": "Robin First", "email": "robin@council.example",
                                         "agency_name": "Safety Team", "password": "orange tulip galaxy five",
                                         "confirm": "orange tulip galaxy five"})
    assert [e.action for e in events()] == ["setup.first_coordinator", "auth.login"]


def test_audit_detail_refuses_secret_keys(app):
    for key in ("password", "token", "session", "csrf_token", "code"):
        with pytest.raises(ValueError):
            audit.record("test.event", detail={key: "x"})
    assert AuditEvent.select().count() == 0


# --- append-only -----------------------------------------------------------------------------


def _some_events(n=3):
    for i in range(n):
        audit.record("test.event", object_type="thing", object_id=i, detail={"n": i})
    return events()


def test_update_and_delete_are_refused_by_the_database(app):
    rows = _some_events()
    with pytest.raises(IntegrityError, match="append-only"):
        AuditEvent.update(detail="changed").where(AuditEvent.id == rows[1].id).execute()
    with pytest.raises(IntegrityError, match="append-only"):
        AuditEvent.delete().where(AuditEvent.id == rows[1].id).execute()
    with pytest.raises(IntegrityError, match="append-only"):
        rows[0].delete_instance()
    with pytest.raises(IntegrityError, match="append-only"):
        AuditEvent.delete().execute()
    assert [(e.id, e.detail) for e in events()] == [(e.id, e.detail) for e in rows]


@sqlite_only("opens the SQLite file; on PostgreSQL: test_postgres_schema.py::test_the_audit_log_refuses_changes")
def test_the_triggers_hold_outside_the_app_too(app, tmp_path):
    _some_events()
    db.close()
    con = sqlite3.connect(tmp_path / "marac.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE audit_event SET action = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM audit_event")
        con.rollback()
        assert con.execute("SELECT count(*) FROM audit_event").fetchone()[0] == 3
    finally:
        con.close()


# --- hash chain ------------------------------------------------------------------------------


def test_each_row_links_to_the_previous_one(app):
    rows = _some_events()
    assert rows[0].prev_hash == audit.GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == before.hash
    for row in rows:
        assert audit.row_hash(AuditEvent.select().where(AuditEvent.id == row.id).dicts().get()) == row.hash


def test_verify_passes_on_an_untouched_chain(app, client, factory):
    login(client, factory.user())
    _some_events(5)
    result = audit.verify()
    assert result.ok and result.checked == AuditEvent.select().count() and result.first_bad_id is None


def test_verify_passes_across_batches(app):
    _some_events(7)
    result = audit.verify(batch=2)
    assert result.ok and result.checked == 7


def test_verify_names_the_first_edited_row(app):
    rows = _some_events(5)
    drop_triggers()
    AuditEvent.update(detail='{"n": 99}').where(AuditEvent.id == rows[2].id).execute()
    AuditEvent.update(detail='{"n": 98}').where(AuditEvent.id == rows[4].id).execute()
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_id == rows[2].id and result.checked == 2
    assert "altered" in result.problem


@pytest.mark.parametrize("column,value", [("at", datetime(2020, 1, 1)), ("user_id", 42), ("action", "x.y"),
                                          ("object_id", "999"), ("ip", "10.0.0.1"), ("role", "chair")])
def test_verify_detects_a_change_in_any_column(app, column, value):
    rows = _some_events(3)
    drop_triggers()
    AuditEvent.update({getattr(AuditEvent, column): value}).where(AuditEvent.id == rows[1].id).execute()
    result = audit.verify()
    assert (result.ok, result.first_bad_id) == (False, rows[1].id)


def test_verify_names_the_row_after_a_deleted_one(app):
    rows = _some_events(4)
    drop_triggers()
    AuditEvent.delete().where(AuditEvent.id == rows[1].id).execute()
    result = audit.verify()
    assert (result.ok, result.first_bad_id) == (False, rows[2].id)
    assert "link" in result.problem


def test_verify_catches_a_row_rewritten_with_a_fresh_hash(app):
    # Someone who edits a row and recomputes its hash still breaks the next row's link.
    rows = _some_events(3)
    drop_triggers()
    forged = AuditEvent.select().where(AuditEvent.id == rows[1].id).dicts().get()
    forged["detail"] = '{"n": 77}'
    AuditEvent.update(detail=forged["detail"], hash=audit.row_hash(forged)).where(
        AuditEvent.id == rows[1].id).execute()
    result = audit.verify()
    assert (result.ok, result.first_bad_id) == (False, rows[2].id)


# --- the verify-audit command ----------------------------------------------------------------


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A real instance folder (generated secret key, instance/marac.db) as `python app.py` uses."""
    folder = tmp_path / "cli-instance"
    monkeypatch.setenv("MARAC_INSTANCE", str(folder))
    create_app()
    with db.connection_context():
        for i in range(4):
            audit.record("test.event", object_type="thing", object_id=i)
        ids = [e.id for e in events()]
    return folder, ids


def _tamper(folder: Path, row_id: int):
    con = sqlite3.connect(folder / "marac.db")
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("UPDATE audit_event SET action = 'auth.nothing_to_see' WHERE id = ?", (row_id,))
    con.commit()
    con.close()


def test_verify_audit_command_reports_an_intact_log(instance, capsys):
    assert cli.main(["verify-audit"]) == 0
    assert "intact: 4 rows checked" in capsys.readouterr().out


def test_verify_audit_command_names_the_altered_row(instance, capsys):
    folder, ids = instance
    _tamper(folder, ids[2])
    assert cli.main(["verify-audit"]) != 0
    out = capsys.readouterr().out
    assert f"ALTERED at row {ids[2]}" in out and "2 rows before it are intact" in out


def test_python_app_py_verify_audit_exits_non_zero(instance):
    folder, ids = instance
    env = dict(os.environ, MARAC_INSTANCE=str(folder))
    ok = subprocess.run([sys.executable, "app.py", "verify-audit"], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _tamper(folder, ids[1])
    bad = subprocess.run([sys.executable, "app.py", "verify-audit"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0
    assert f"row {ids[1]}" in bad.stdout


# --- the audit log page ----------------------------------------------------------------------


def test_audit_log_page_lists_newest_first(client, coordinator):
    _some_events(3)
    login(client, coordinator)
    ids = shown_event_ids(client.get("/admin/audit"))
    assert ids == sorted((e.id for e in events()), reverse=True)


def test_audit_log_filters_by_user(client, coordinator, factory):
    alice, bob = factory.user(name="Alice Filter"), factory.user(name="Bob Filter")
    for user in (alice, bob, alice):
        audit.record("test.event", user=user)
    login(client, coordinator)
    r = client.get(f"/admin/audit?user={alice.id}")
    expected = [e.id for e in reversed(events()) if e.user_id == alice.id]
    assert len(expected) == 2 and shown_event_ids(r) == expected
    assert f'<option value="{alice.id}" selected' in r.get_data(as_text=True)
    assert shown_event_ids(client.get(f"/admin/audit?user={coordinator.id}")) == [
        e.id for e in reversed(events()) if e.user_id == coordinator.id]


def test_audit_log_filters_by_object(client, coordinator):
    audit.record("test.event", object_type="agency", object_id=7)
    audit.record("test.event", object_type="agency", object_id=8)
    audit.record("test.event", object_type="user", object_id=7)
    login(client, coordinator)
    agency_7 = [e.id for e in reversed(events()) if (e.object_type, e.object_id) == ("agency", "7")]
    assert shown_event_ids(client.get("/admin/audit?object_type=agency&object_id=7")) == agency_7
    all_agencies = [e.id for e in reversed(events()) if e.object_type == "agency"]
    assert shown_event_ids(client.get("/admin/audit?object_type=agency")) == all_agencies
    sevens = [e.id for e in reversed(events()) if e.object_id == "7"]
    assert shown_event_ids(client.get("/admin/audit?object_id=7")) == sevens


def test_audit_log_filters_carry_no_free_text(client, coordinator):
    """SECURITY.md check 29: the filter is a GET form, so its values are in the URL. The object type
    is picked from the types in the log and the object number is digits only; nothing else typed
    into the URL is carried into the page's links."""
    audit.record("test.event", object_type="agency", object_id=7)
    audit.record("test.event", object_type="user", object_id=3)
    login(client, coordinator)
    page = client.get("/admin/audit").get_data(as_text=True)
    offered = re.search(r'<select[^>]*name="object_type".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', offered) == ["", "agency", "user"]
    assert not re.search(r'<input[^>]*name="object_type"', page)
    r = client.get("/admin/audit?object_id=Fictional+Surname")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Enter the object&#39;s number, digits only" in body
    assert shown_event_ids(client.get("/admin/audit?object_type=Fictional+Surname")) == [
        e.id for e in reversed(events())]  # not a type in the log: refused, nothing filtered
    for _ in range(60):
        audit.record("test.event", object_type="agency", object_id=7)
    r = client.get("/admin/audit?object_type=agency&object_id=7&date_from=1&date_from=1&date_from=2020"
                   "&name=Fictional+Surname")
    links = re.findall(r'href="(/admin/audit\?[^"]*)"', r.get_data(as_text=True))
    assert links and all("Surname" not in link for link in links)
    older = client.get(links[-1].replace("&amp;", "&"))
    assert "date_from=2020" in links[-1] and shown_event_ids(older)  # every part of the date is carried
    assert all(e.object_type == "agency" for e in AuditEvent.select().where(AuditEvent.id.in_(shown_event_ids(older))))


def test_audit_log_filters_by_date(client, coordinator, fake_clock):
    fake_clock.current = datetime(2026, 3, 2, 12, 0)
    audit.record("test.day_one")
    fake_clock.current = datetime(2026, 3, 4, 12, 0)
    audit.record("test.day_three")
    login(client, coordinator)
    day_one = [e.id for e in events("test.day_one")]
    later = [e.id for e in reversed(events()) if e.at.date() >= date(2026, 3, 4)]
    assert shown_event_ids(client.get("/admin/audit?date_to=2&date_to=3&date_to=2026")) == day_one
    assert shown_event_ids(client.get("/admin/audit?date_from=3&date_from=3&date_from=2026")) == later
    r = client.get("/admin/audit?date_from=3&date_from=3&date_from=2026&date_to=3&date_to=3&date_to=2026")
    assert shown_event_ids(r) == [] and "No events match" in r.get_data(as_text=True)
    # The dates typed stay in the form.
    assert 'id="date_from-year" name="date_from" type="text" value="2026"' in r.get_data(as_text=True)


def test_audit_log_survives_odd_filters(client, coordinator):
    login(client, coordinator)
    for query in ("", "?user=0", "?user=abc", "?date_from=5", "?date_from=1&date_from=2",
                  "?date_from=31&date_from=2&date_from=2026", "?page=0", "?page=-3", "?object_type=" + "x" * 60):
        assert client.get("/admin/audit" + query).status_code == 200, query


def test_audit_log_pages(client, coordinator):
    for i in range(60):
        audit.record("test.event", object_id=i)
    login(client, coordinator)
    page_one, page_two = client.get("/admin/audit"), client.get("/admin/audit?page=2")
    assert "Older events" in page_one.get_data(as_text=True)
    assert "Older events" not in page_two.get_data(as_text=True)
    assert "Newer events" in page_two.get_data(as_text=True)
    first, second = shown_event_ids(page_one), shown_event_ids(page_two)
    assert len(first) == 50 and first == sorted(first, reverse=True)
    assert second and max(second) < min(first)
    assert sorted(first + second, reverse=True) == [e.id for e in reversed(events())]


# --- no secrets in the log (SECURITY.md check 25) --------------------------------------------


def test_no_audit_row_holds_a_password_token_or_session_id(app, client, factory, caplog):
    setup_password = "velvet canyon morning tide"
    token = accounts.new_setup_token()
    r = client.post(f"/setup/{token}", data={"name": "Setup Person", "email": "setup@council.example",
                                             "agency_name": "Safety Team", "password": setup_password,
                                             "confirm": setup_password})
    assert r.status_code == 302
    coordinator = User.get(User.email == "setup@council.example")
    secrets_seen = {setup_password, token, client.get_cookie("marac_session").value}
    with client.session_transaction() as s:
        secrets_seen.add(s["sid"])
    temporary = "silver lantern orchard nine"
    client.post("/admin/users/new", data={"name": "New Person", "email": "new@agency.example",
                                          "agency": coordinator.agency_id, "role": "chair", "active": "y",
                                          "password": temporary})
    new_user = User.get(User.email == "new@agency.example")
    reset = "copper meadow falcon twelve"
    client.post(f"/admin/users/{new_user.id}", data={"name": "New Person", "email": "new@agency.example",
                                                      "agency": coordinator.agency_id, "role": "chair",
                                                      "active": "y", "password": reset})
    other = app.test_client()
    wrong = "a wrong guess at the password"
    login(other, new_user, password=wrong)
    login(other, new_user, password=reset)
    secrets_seen.add(other.get_cookie("marac_session").value)
    changed = "indigo harbour whistle four"
    other.post("/account", data={"current_password": reset, "password": changed, "confirm": changed})
    secrets_seen |= {temporary, reset, wrong, changed, other.get_cookie("marac_session").value,
                     TEST_PASSWORD, coordinator.password_hash, User.get_by_id(new_user.id).password_hash}
    other.post("/logout")

    rows = list(AuditEvent.select().dicts())
    assert len(rows) >= 8
    dump = json.dumps(rows, default=str)
    for secret in secrets_seen:
        assert secret and secret not in dump
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    for secret in secrets_seen:
        assert secret not in logged
