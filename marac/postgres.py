"""PostgreSQL (issue 12): the same app on a shared server, selected by DATABASE_URL=postgresql://...

SQLite stays the default. What differs on PostgreSQL, and only here:

- The schema. The numbered migrations hold frozen SQLite DDL (DATETIME, booleans as INTEGER), so a
  new PostgreSQL database gets its tables from the models instead, and exactly the indexes the
  migrations create (read from a SQLite database they build in memory: CREATE INDEX reads the same on
  both), and every migration that exists is recorded as applied. Migrations added later run on both engines
  (write them with playhouse.migrate or SQL both read). tests/test_postgres_schema.py compares the
  migrated SQLite schema with this one, so they cannot drift apart. docs/POSTGRESQL.md says why.
- Transactions. On SQLite every transaction is BEGIN IMMEDIATE: one writer at a time, so a
  read-then-write (the audit chain's last hash, the next case number, a listing position) cannot
  race. PostgreSQL gets the same guarantee from a transaction-scoped advisory lock taken right after
  BEGIN (WRITE_LOCK), released by COMMIT or ROLLBACK. Reads outside a transaction do not wait.
- The append-only audit log: PL/pgSQL triggers refuse UPDATE, DELETE and TRUNCATE with an integrity
  error, as SQLite's RAISE(ABORT) triggers do.
"""
from peewee import PostgresqlDatabase
from playhouse.db_url import parse

# pg_advisory_xact_lock key every write transaction takes: the bytes of "marac-wr" as a bigint.
WRITE_LOCK = int.from_bytes(b"marac-wr", "big") & 0x7FFFFFFFFFFFFFFF

AUDIT_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'integrity_constraint_violation';
       END $$""",
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    "DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_event",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]


class MaracPostgresqlDatabase(PostgresqlDatabase):
    """PostgreSQL whose transactions are serialised like SQLite's BEGIN IMMEDIATE."""

    def begin(self, isolation_level=None):
        super().begin(isolation_level)
        self.cursor().execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


def is_postgres_url(url: str) -> bool:
    return url.split(":", 1)[0] in ("postgres", "postgresql")


def open_postgres(url: str) -> MaracPostgresqlDatabase:
    """A database object for a postgres(ql):// URL (user, password, host, port, name; query = options)."""
    return MaracPostgresqlDatabase(**parse(url))


def connect_params(url: str) -> dict:
    """psycopg2.connect() keyword arguments for a postgres(ql):// URL."""
    params = parse(url)
    params["dbname"] = params.pop("database")
    return params


def models() -> list:
    """Every table model of marac.models."""
    from marac import models as m
    from marac.db import db

    found = []
    for value in vars(m).values():
        if (isinstance(value, type) and issubclass(value, m.BaseModel) and value is not m.BaseModel
                and value._meta.database is db and value not in found):
            found.append(value)
    return found


def migrated_sqlite_indexes() -> list[str]:
    """The CREATE INDEX statements of a SQLite database the migrations build (in memory): the
    migrations stay the one place that says which indexes exist (the models alone would add an index
    for every foreign key, some of which the migrations deliberately leave to a composite one)."""
    from peewee import SqliteDatabase

    from marac.db import migrate

    scratch = SqliteDatabase(":memory:", pragmas={"foreign_keys": 1})
    with scratch.connection_context():
        migrate(scratch)
        rows = scratch.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                   "ORDER BY name").fetchall()
    return [sql for (sql,) in rows]


def create_schema(database) -> None:
    """A new database's tables (from the models), indexes (the migrations') and audit triggers."""
    from peewee import sort_models

    for model in sort_models(models()):
        model._schema.create_table(safe=False)
    for sql in migrated_sqlite_indexes():
        database.execute_sql(sql)
    for sql in AUDIT_TRIGGERS:
        database.execute_sql(sql)
