"""SQLite as the app uses it: pragmas on every connection, the start-up quick_check, numbered
migrations that upgrade an old database in place, and write transactions that take the lock at
BEGIN (SECURITY.md check 30 and the "database is locked" fact)."""
import shutil
import sqlite3
import threading
import time
from datetime import datetime

import pytest
from flask import jsonify
from marac_testing import login
from peewee import OperationalError, SqliteDatabase
from postgres_testing import sqlite_only

from marac import create_app
from marac.db import DatabaseCheckFailed, db, migrate, migration_modules, sqlite_pragmas
from marac.migrations import m0001_foundation
from marac.models import Agency, AuditEvent, User

PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "secure_delete")


def read_pragmas(database) -> dict:
    return {name: database.execute_sql(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}


def assert_required_pragmas(values: dict):
    assert values["journal_mode"] == "wal"
    assert values["synchronous"] == 2  # FULL
    assert values["foreign_keys"] == 1
    assert values["busy_timeout"] >= 5000
    assert values["secure_delete"] == 1


def make_config(tmp_path, name="marac.db", **extra) -> dict:
    config = {"TESTING": True, "SECRET_KEY": "t" * 40, "WTF_CSRF_ENABLED": False,
              "DATABASE_URL": f"sqlite:///{tmp_path / name}"}
    config.update(extra)
    return config


# --- pragmas ---------------------------------------------------------------------------------


@sqlite_only("SQLite pragmas; PostgreSQL has none of these settings")
def test_a_connection_of_the_app_database_has_the_pragmas(app):
    db.close()
    with db.connection_context():
        assert_required_pragmas(read_pragmas(db))


def test_every_request_connection_has_the_pragmas(tmp_path):
    app = create_app(make_config(tmp_path), instance_path=str(tmp_path / "instance"))
    seen = []

    # A test-only route on this app object: it reports what its own request connection runs with.
    @app.get("/__test/pragmas")
    def pragmas():
        seen.append(id(db.connection()))
        return jsonify(read_pragmas(db))

    client = app.test_client()
    for _ in range(2):
        r = client.get("/__test/pragmas")
        assert r.status_code == 200
        assert_required_pragmas(r.get_json())
        # Connection per request: closed at teardown.
        assert db.is_closed()


@sqlite_only("SQLite pragmas; PostgreSQL has none of these settings")
def test_connections_in_other_threads_have_the_pragmas(app):
    results, errors = [], []

    def worker():
        try:
            with db.connection_context():
                results.append(read_pragmas(db))
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 3
    for values in results:
        assert_required_pragmas(values)


def test_busy_timeout_follows_the_setting(tmp_path):
    create_app(make_config(tmp_path, SQLITE_BUSY_TIMEOUT_MS=7500), instance_path=str(tmp_path / "instance"))
    with db.connection_context():
        assert read_pragmas(db)["busy_timeout"] == 7500


# --- start-up integrity check ----------------------------------------------------------------


def _damaged_copy(tmp_path, which: str):
    """An app database plus a filler table and index, with the header of `which`'s root page
    overwritten in a copy of the file."""
    good = tmp_path / "good.db"
    create_app(make_config(tmp_path, "good.db"), instance_path=str(tmp_path / "instance"))
    db.close()
    con = sqlite3.connect(good)
    con.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("CREATE INDEX filler_body ON filler (body)")
    con.executemany("INSERT INTO filler (body) VALUES (?)", [(f"{i:05d}" + "x" * 500,) for i in range(200)])
    con.commit()
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (which,)).fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    bad = tmp_path / f"bad-{which}.db"
    shutil.copyfile(good, bad)
    with open(bad, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 8)  # an impossible b-tree page type
    return good, bad


@pytest.mark.parametrize("which", ["filler_body", "filler"])
def test_a_damaged_database_stops_the_app_from_starting(tmp_path, which):
    # "filler_body": quick_check reports the damage as a row; "filler": the check itself
    # fails with "database disk image is malformed". Both must refuse with a clear error.
    good, bad = _damaged_copy(tmp_path, which)
    with pytest.raises(DatabaseCheckFailed, match="quick_check failed"):
        create_app(make_config(tmp_path, bad.name), instance_path=str(tmp_path / "instance"))
    # The undamaged original still starts.
    assert create_app(make_config(tmp_path, good.name), instance_path=str(tmp_path / "instance"))


def test_a_failed_quick_check_result_refuses_start(tmp_path, monkeypatch):
    real_execute = SqliteDatabase.execute_sql

    class Rows:
        def fetchone(self):
            return ("row 7 missing from index agency_name",)

    def fake_execute(self, sql, *args, **kwargs):
        if sql.strip().upper() == "PRAGMA QUICK_CHECK":
            return Rows()
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(SqliteDatabase, "execute_sql", fake_execute)
    with pytest.raises(DatabaseCheckFailed, match="row 7 missing"):
        create_app(make_config(tmp_path), instance_path=str(tmp_path / "instance"))


# --- migrations ------------------------------------------------------------------------------


def test_an_old_database_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    old = SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
    with old.connection_context():
        m0001_foundation.up(old)
        old.execute_sql("CREATE TABLE schema_migration (name VARCHAR(100) PRIMARY KEY, "
                        "applied_at VARCHAR(40) NOT NULL)")
        old.execute_sql("INSERT INTO schema_migration VALUES ('m0001_foundation', '2025-01-01T00:00:00')")
        old.execute_sql("INSERT INTO agency (name, kind, isa_signatory, dpo_contact, is_police, created_at) "
                        "VALUES ('Old Agency', 'core', 'Signer', '', 0, '2025-01-01 00:00:00')")
        old.execute_sql(
            "INSERT INTO user (name, email, password_hash, role, agency_id, is_deputy, active, created_at, "
            "totp_secret, totp_last_step) VALUES ('Old User', 'old@example.test', 'h', 'chair', 1, 0, 1, "
            "'2025-01-01 00:00:00', '', 0)")
        tables_before = {r[0] for r in old.execute_sql("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "case" not in tables_before

    create_app(make_config(tmp_path, "old.db"), instance_path=str(tmp_path / "instance"))
    with db.connection_context():
        applied = [r[0] for r in db.execute_sql("SELECT name FROM schema_migration ORDER BY name")]
        assert applied == [name for name, _ in migration_modules()]
        tables = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables_before < tables and "case" in tables
        user = User.get(User.email == "old@example.test")
        assert (user.name, user.role, user.agency.name, user.agency.isa_signatory) == (
            "Old User", "chair", "Old Agency", "Signer")
        assert Agency.select().count() == 1 and User.select().count() == 1
        # The audit triggers from m0001 are still in force after the upgrade.
        triggers = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers
    # A second start finds nothing left to apply.
    create_app(make_config(tmp_path, "old.db"), instance_path=str(tmp_path / "instance"))
    with db.connection_context():
        assert db.execute_sql("SELECT count(*) FROM schema_migration").fetchone()[0] == len(applied)


@sqlite_only("reads sqlite_master; on PostgreSQL: test_postgres_schema.py (the schema is built once)")
def test_migrate_is_idempotent(app):
    with db.connection_context():
        before = db.execute_sql("SELECT name, applied_at FROM schema_migration ORDER BY name").fetchall()
        schema = db.execute_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        assert migrate(db.obj) == []
        assert migrate(db.obj) == []
        assert db.execute_sql("SELECT name, applied_at FROM schema_migration ORDER BY name").fetchall() == before
        assert db.execute_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert [name for name, _ in before] == [name for name, _ in migration_modules()]


def test_restarting_the_app_keeps_the_data(tmp_path):
    create_app(make_config(tmp_path), instance_path=str(tmp_path / "instance"))
    with db.connection_context():
        Agency.create(name="Kept Agency")
    create_app(make_config(tmp_path), instance_path=str(tmp_path / "instance"))
    with db.connection_context():
        assert [a.name for a in Agency.select()] == ["Kept Agency"]


# --- write transactions take the lock at BEGIN -----------------------------------------------


@sqlite_only("BEGIN IMMEDIATE; on PostgreSQL: test_postgres_schema.py::test_a_write_transaction_waits_for_another")
def test_the_database_begins_transactions_immediate(app):
    assert db.obj._lock_type == "IMMEDIATE"


@sqlite_only("traces SQLite's statements; on PostgreSQL: test_postgres_schema.py (a write transaction waits)")
def test_every_begin_in_an_admin_change_is_immediate(client, coordinator, monkeypatch):
    login(client, coordinator)
    statements = []
    real_connect = db.obj._connect

    def traced_connect():
        # Every statement SQLite itself receives on the request's connection.
        con = real_connect()
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(db.obj, "_connect", traced_connect)
    r = client.post("/admin/agencies/new", data={"name": "Lock Test Agency", "kind": "core"})
    assert r.status_code == 302
    begins = [s for s in statements if s.lstrip().upper().startswith("BEGIN")]
    assert begins, statements
    assert all(s.strip().upper() == "BEGIN IMMEDIATE" for s in begins), begins
    assert any(s.startswith('INSERT INTO "agency"') for s in statements)


def _read_then_write(database, name: str, barrier: threading.Barrier, errors: list):
    """The pattern that fails under deferred transactions: read, pause, then write."""
    try:
        barrier.wait(timeout=5)
        with database.connection_context():
            with database.atomic():
                database.execute_sql("SELECT count(*) FROM agency").fetchone()
                time.sleep(0.3)
                database.execute_sql(
                    "INSERT INTO agency (name, kind, isa_signatory, dpo_contact, is_police, created_at) "
                    "VALUES (?, 'core', '', '', 0, ?)", (name, datetime(2026, 1, 1).isoformat(" ")))
    except Exception as exc:  # collected for the assertion in the test's thread
        errors.append(exc)


def _run_two_writers(database, prefix: str) -> list:
    errors: list = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_read_then_write, args=(database, f"{prefix} {i}", barrier, errors))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@sqlite_only("SQLite's 'database is locked'; on PostgreSQL: test_postgres_schema.py (concurrent appends)")
def test_concurrent_read_then_write_transactions_do_not_fail(app, tmp_path):
    errors = _run_two_writers(db, "Immediate")
    assert errors == []
    with db.connection_context():
        assert Agency.select().where(Agency.name.startswith("Immediate")).count() == 2


@sqlite_only("the control of the SQLite test above")
def test_control_deferred_transactions_do_fail_the_same_way(app, tmp_path):
    # Shows the test above can fail: the same work with plain BEGIN hits "database is locked".
    deferred = SqliteDatabase(str(tmp_path / "marac.db"), pragmas=sqlite_pragmas(5000))
    errors = _run_two_writers(deferred, "Deferred")
    assert errors and all(isinstance(e, OperationalError) and "locked" in str(e) for e in errors)


@sqlite_only("reads sqlite_master; on PostgreSQL the indexes are those of SQLite: test_postgres_schema.py")
def test_audit_table_is_indexed_for_the_filters(app):
    with db.connection_context():
        indexes = {r[0] for r in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='audit_event'")}
    assert any("user_id" in i for i in indexes) and any("object_type" in i for i in indexes)
    assert AuditEvent._meta.table_name == "audit_event"
