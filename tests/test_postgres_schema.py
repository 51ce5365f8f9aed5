"""PostgreSQL's engine-specific parts (issue 12): its schema is the migrated SQLite schema, the audit
log is append-only there too, and write transactions are serialised as SQLite's BEGIN IMMEDIATE are.

These need a PostgreSQL server: MARAC_TEST_DATABASE_URL (scripts/postgres_test_server.sh starts one).
"""
import re
import threading
from datetime import datetime

import psycopg2
import pytest
from peewee import IntegrityError, SqliteDatabase
from postgres_testing import postgres_only

from marac import audit
from marac.db import db, migrate, open_database
from marac.models import AuditEvent
from marac.postgres import connect_params

pytestmark = postgres_only


def _sqlite_schema(path) -> dict:
    """Per table: columns (name -> not null), indexes (name -> unique, columns or expression), foreign keys."""
    database = open_database(f"sqlite:///{path}")
    db.initialize(database)
    try:
        with database.connection_context():
            migrate(database)
            schema = {}
            for table in database.get_tables():
                # SQLite lets a primary key that is not an INTEGER hold NULL (a known quirk); PostgreSQL does not.
                columns = {c.name: not c.null or c.primary_key for c in database.get_columns(table)}
                indexes = {}
                for name, unique, origin in database.execute_sql(
                        "SELECT name, \"unique\", origin FROM pragma_index_list(?)", (table,)).fetchall():
                    if origin == "pk":
                        continue
                    sql = database.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                                               (name,)).fetchone()[0]
                    keys = sql[sql.index("(", sql.index(" ON ")) + 1:sql.rindex(")")]
                    indexes[name] = (bool(unique), keys.replace('"', "").replace(" ", "").lower())
                keys = {(row[3], row[2], row[4], row[6].upper())
                        for row in database.execute_sql("SELECT * FROM pragma_foreign_key_list(?)", (table,))}
                schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
            return schema
    finally:
        database.close()


def _postgres_schema(app) -> dict:
    with db.connection_context():
        schema = {}
        for table in db.get_tables():
            columns = {c.name: not c.null for c in db.get_columns(table)}
            indexes = {}
            for name, definition, unique in db.execute_sql(
                    "SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisunique FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                    "WHERE t.relname = %s AND NOT x.indisprimary", (table,)).fetchall():
                keys = definition[definition.index("(", definition.index(" USING ")) + 1:definition.rindex(")")]
                # lower((family_name)::text) is how PostgreSQL shows lower(family_name)
                keys = re.sub(r"\((\w+)\)::\w+", r"\1", keys)
                indexes[name] = (unique, keys.replace('"', "").replace(" ", "").lower())
            keys = set()
            for column, target, target_column, on_delete in db.execute_sql(
                    "SELECT a.attname, rt.relname, ra.attname, c.confdeltype FROM pg_constraint c "
                    "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class rt ON rt.oid = c.confrelid "
                    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                    "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
                    "WHERE c.contype = 'f' AND t.relname = %s", (table,)).fetchall():
                action = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
                keys.add((column, target, target_column, action[on_delete]))
            schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
        return schema


def test_the_postgres_schema_is_the_migrated_sqlite_schema(app, tmp_path):
    """Every table, column (and whether it may be empty), index (its columns or expression, unique or
    not) and foreign key (with its ON DELETE) of the SQLite database the migrations build exists on
    PostgreSQL, and nothing more: a model or migration changed on one side only fails here."""
    postgres = _postgres_schema(app)
    sqlite = _sqlite_schema(tmp_path / "migrated.db")
    assert sorted(postgres) == sorted(sqlite)
    differences = []
    for table in sqlite:
        for part in ("columns", "indexes", "foreign_keys"):
            pg, lite = postgres[table][part], sqlite[table][part]
            if pg != lite:
                differences.append(f"{table} {part}: only on PostgreSQL {_only(pg, lite)}, "
                                   f"only on SQLite {_only(lite, pg)}")
    assert not differences, "\n".join(differences)


def _only(a, b):
    if isinstance(a, dict):
        return {k: v for k, v in a.items() if b.get(k) != v}
    return a - b


def test_the_schema_is_built_once_and_every_migration_is_recorded(app):
    """The PostgreSQL schema counts as every migration applied, so a start-up applies none again."""
    from marac.db import migration_modules

    with db.connection_context():
        recorded = [row[0] for row in db.execute_sql("SELECT name FROM schema_migration ORDER BY name")]
        assert recorded == [name for name, _ in migration_modules()]
        assert migrate(db.obj) == []
    assert not isinstance(db.obj, SqliteDatabase)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET detail = 'changed'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
])
def test_the_audit_log_refuses_changes(app, statement):
    """PL/pgSQL triggers make the audit log append-only, as SQLite's triggers do: through the app's
    connection (an integrity error, as on SQLite) and through a connection of its own outside the app."""
    with db.connection_context():
        with db.atomic():
            audit.record("test.event", object_type="thing", object_id=1)
        with pytest.raises(IntegrityError, match="audit_event is append-only"):
            with db.atomic():
                db.execute_sql(statement)
    conn = psycopg2.connect(**connect_params(app.config["DATABASE_URL"]))
    try:
        with pytest.raises(psycopg2.IntegrityError, match="audit_event is append-only"):
            with conn.cursor() as cur:
                cur.execute(statement)
        conn.rollback()
    finally:
        conn.close()
    with db.connection_context():
        assert AuditEvent.select().count() == 1
        assert audit.verify().ok


def test_concurrent_audit_appends_keep_one_chain(app):
    """Eight threads appending at once (each in its own connection and transaction) leave one unbroken
    chain: each append reads the last hash and writes the next row under the write lock."""
    errors = []

    def append(n):
        try:
            with db.connection_context():
                for i in range(10):
                    with db.atomic():
                        audit.record("test.event", object_type="thread", object_id=f"{n}-{i}")
        except Exception as exc:  # reported below, with the thread's number
            errors.append((n, exc))

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.connection_context():
        assert AuditEvent.select().count() == 80
        result = audit.verify()
        assert result.ok, result


def test_a_write_transaction_waits_for_another(app):
    """The PostgreSQL counterpart of BEGIN IMMEDIATE: while one transaction is open, a second one
    does not start until the first commits, so a read-then-write inside it cannot race."""
    order = []
    first_in = threading.Event()

    def first():
        with db.connection_context():
            with db.atomic():
                order.append("first begins")
                first_in.set()
                threading.Event().wait(0.5)
                order.append("first commits")

    def second():
        first_in.wait()
        with db.connection_context():
            with db.atomic():
                order.append("second begins")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["first begins", "first commits", "second begins"]



def test_a_nul_character_is_dropped_not_a_server_error(app, client, coordinator, sign_in):
    """PostgreSQL text cannot hold NUL (SQLite's can): a NUL posted into a form or a search is dropped
    before it reaches the server, so the save or search works instead of failing with a 500."""
    from marac.models import Agency

    with db.connection_context():
        Agency.create(name="Fictional\x00 Agency", created_at=datetime(2026, 1, 1))
        assert Agency.select().where(Agency.name == "Fictional\x00 Agency").get().name == "Fictional Agency"
    sign_in(coordinator)
    assert client.post("/cases/", data={"number": "\x00"}).status_code == 200
