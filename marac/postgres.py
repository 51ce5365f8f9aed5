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
- Backup: `python app.py backup` runs pg_dump (custom format) into the backup folder; restore is
  pg_restore into a new database (docs/POSTGRESQL.md).
- The append-only audit log: PL/pgSQL triggers refuse UPDATE, DELETE and TRUNCATE with an integrity
  error, as SQLite's RAISE(ABORT) triggers do.
"""
import os
import re
import shutil

# pg_dump and pg_restore, found on PATH, run without a shell; the arguments are our own file names.
import subprocess  # nosec B404
from pathlib import Path

from peewee import SQL, Entity, NodeList
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase

from marac.pooling import ServerPool

POOL_MAX_CONNECTIONS = 32

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


class MaracPostgresqlDatabase(ServerPool, PooledPostgresqlDatabase):
    """PostgreSQL whose transactions are serialised like SQLite's BEGIN IMMEDIATE. In the server its
    connections are pooled (ServerPool): opening one costs about 5 ms (the benchmark's profile), more than
    most pages' queries. A connection left inside a transaction is closed, not reused (playhouse.pool)."""

    def begin(self, isolation_level=None):
        super().begin(isolation_level)
        self.cursor().execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def execute_sql(self, sql, params=None, *args, **kwargs):
        # PostgreSQL text cannot hold NUL (psycopg2 refuses the value); SQLite stores it. A NUL typed or
        # posted into a form is never meant: it is dropped here, so such a post is saved (or searched)
        # as on SQLite instead of failing with a 500.
        if params and any(isinstance(p, str) and "\x00" in p for p in params):
            params = [p.replace("\x00", "") if isinstance(p, str) else p for p in params]
        return super().execute_sql(sql, params, *args, **kwargs)


def is_postgres_url(url: str) -> bool:
    return url.split(":", 1)[0] in ("postgres", "postgresql")


def open_postgres(url: str) -> MaracPostgresqlDatabase:
    """A database object for a postgres(ql):// URL (user, password, host, port, name; query = options)."""
    # One connection per waitress thread (8) and the odd command or scheduled job; a request that finds all
    # in use waits up to 10 s for one. An idle connection is replaced after 10 minutes.
    return MaracPostgresqlDatabase(**parse(url), max_connections=POOL_MAX_CONNECTIONS, stale_timeout=600, timeout=10)


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


# --- backup: pg_dump (python app.py backup, when DATABASE_URL is PostgreSQL) -----------------------

DUMP_NAME = re.compile(r"^marac-(\d{8}T\d{6}Z)(?:-(\d+))?\.dump$")


def _client_env(url: str) -> dict:
    """The environment of pg_dump/pg_restore for this URL: the password never goes on a command line."""
    params = connect_params(url)
    env = dict(os.environ)
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD"),
                      ("dbname", "PGDATABASE")):
        if params.get(key) not in (None, ""):
            env[name] = str(params[key])
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)")
    return found


def list_dumps(folder: Path) -> list[Path]:
    """The dumps in a folder, oldest first."""
    if not folder.is_dir():
        return []
    keyed = [(m.group(1), int(m.group(2) or 0), p) for p in folder.iterdir() if (m := DUMP_NAME.match(p.name))]
    return [p for *_, p in sorted(keyed)]


def dump_database(url: str, folder: Path, keep: int, key_file: Path | None = None):
    """pg_dump (custom format: one consistent snapshot while the app keeps serving) into
    folder/marac-<UTC time>.dump; the archive must list back with pg_restore before it gets its
    final name; the instance's second-factor key goes beside it; dumps beyond `keep` are deleted."""
    from marac.backup import BackupError, BackupResult, copy_key_beside, key_copy, new_copy_paths

    if keep < 1:
        raise BackupError("BACKUP_KEEP must be 1 or more")
    folder.mkdir(parents=True, exist_ok=True)
    target, partial = new_copy_paths(folder, "dump")
    env = _client_env(url)
    try:
        copy_key_beside(target, key_file)
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial)],  # noqa: S603  # nosec B603
                              env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        listed = subprocess.run([_tool("pg_restore"), "--list", str(partial)],  # noqa: S603  # nosec B603
                                capture_output=True, text=True, timeout=600)
        if listed.returncode != 0 or "TABLE DATA public audit_event" not in listed.stdout:
            raise BackupError(f"the dump does not read back: {listed.stderr.strip()}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        if not target.exists():
            key_copy(target).unlink(missing_ok=True)
    pruned = list_dumps(folder)[:-keep]
    for path in pruned:
        path.unlink()
        key_copy(path).unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, pruned)


def backup_command(cfg) -> int:
    """python app.py backup, on PostgreSQL."""
    from marac.backup import BackupError, _audit, backup_folder, key_copy
    from marac.totp_key import key_path

    try:
        result = dump_database(cfg["DATABASE_URL"], backup_folder(cfg), int(cfg["BACKUP_KEEP"]),
                               key_file=key_path(cfg["INSTANCE_PATH"]))
    except (BackupError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"Backup FAILED: {exc}")
        return 2
    print(f"Backup written (pg_dump) and read back: {result.path} ({result.size // 1024} KB).")
    print(f"Restore it into a new, empty database: pg_restore --no-owner --dbname NEW_DATABASE {result.path}")
    if key_copy(result.path).exists():
        print(f"The second-factor key is beside it: {key_copy(result.path).name}. Keep the two together.")
    if result.pruned:
        print(f"Deleted {len(result.pruned)} older backup(s), keeping the newest {cfg['BACKUP_KEEP']}.")
    _audit("system.backup", {"file": result.path.name, "pruned": len(result.pruned)})
    return 0


# --- deletion that leaves nothing readable in the tables (SQLite: secure_delete) -------------------

# The tables a retention deletion (marac.retention.delete) deletes from or overwrites, and those a
# deleted person cascades to.
RETENTION_TABLES = (
    "person", "person_alias", "person_match", "case_person", "referral", "referral_person", "referral_amendment",
    "note", "document", "action", "action_update", "action_review", "case_event", "research", "shared_info",
    "case_discussion", "listing", "minutes_amendment", "move_request", "meeting_record", "agenda_version",
    "view_reason", "release_request", "case",
)


def rewrite_tables(database, tables=RETENTION_TABLES) -> None:
    """VACUUM FULL: PostgreSQL keeps a deleted or overwritten row's old version in the table's pages
    (and its indexes) until they are rewritten; a plain VACUUM marks the space free but leaves the
    bytes. VACUUM FULL writes each table and its indexes anew and removes the old files. It locks each
    table while it copies it (the tables a borough's deletion touches: seconds at 100,000 cases).
    Runs outside a transaction (PostgreSQL refuses VACUUM inside one)."""
    for table in tables:
        if table not in RETENTION_TABLES:
            raise ValueError(f"not a table of the retention deletion: {table}")
        database.execute(NodeList((SQL("VACUUM (FULL)"), Entity(table))))


# --- check and restore (python app.py check | restore, when DATABASE_URL is PostgreSQL) -----------

APPEND_ONLY_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete", "audit_event_no_truncate")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def where(url: str) -> str:
    """host:port/database of a URL, without its user or password (for messages)."""
    params = connect_params(url)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params['dbname']}"


def check_database(url: str) -> tuple[list[str], list[str]]:
    """(what was found sound, problems) in the PostgreSQL database at url: the connection, the
    migrations recorded, the audit log's append-only triggers and its hash chain. The server checks
    its own pages and enforces the foreign keys itself (page-level checks: pg_amcheck, the database
    administrator's)."""
    from peewee import DatabaseError

    from marac import audit
    from marac.db import migration_modules
    from marac.models import AuditEvent

    sound, problems = [], []
    database = open_postgres(url)
    try:
        database.connect()
    except DatabaseError as exc:
        return sound, [f"cannot connect: {_first_line(exc)}"]
    try:
        sound.append(f"connected (PostgreSQL {database.execute_sql('SHOW server_version').fetchone()[0]})")
        if not database.table_exists("schema_migration") or not database.table_exists("audit_event"):
            problems.append("no marac schema here (the app creates it when it first starts on an empty database)")
            return sound, problems
        done = {name for (name,) in database.execute_sql("SELECT name FROM schema_migration").fetchall()}
        known = [name for name, _module in migration_modules()]
        pending = [name for name in known if name not in done]
        sound.append(f"migrations: {len(known) - len(pending)} of {len(known)} applied"
                     + (f" (the app applies {', '.join(pending)} when it starts)" if pending else ""))
        unknown = sorted(done - set(known))
        if unknown:
            problems.append(f"migrations this version of marac does not have: {', '.join(unknown)} "
                            "(a newer marac made this database)")
        enabled = {name for (name,) in database.execute_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('audit_event') AND tgenabled <> 'D'").fetchall()}
        missing = [name for name in APPEND_ONLY_TRIGGERS if name not in enabled]
        if missing:
            problems.append(f"audit log not append-only: trigger(s) missing or disabled: {', '.join(missing)}")
        else:
            sound.append("audit log append-only (its triggers are in place)")
        with database.bind_ctx([AuditEvent], bind_refs=False, bind_backrefs=False):
            result = audit.verify()
        if result.ok:
            sound.append(f"audit log intact: {result.checked} rows checked")
        else:
            problems.append(f"audit log ALTERED at row {result.first_bad_id}: {result.problem} "
                            f"({result.checked} rows before it are intact)")
    except DatabaseError as exc:
        problems.append(f"the check itself failed: {_first_line(exc)}")
    finally:
        database.close()
    return sound, problems


def check_command(cfg) -> int:
    """python app.py check, on PostgreSQL."""
    url = cfg["DATABASE_URL"]
    sound, problems = check_database(url)
    print(f"{where(url)}:")
    for line in sound:
        print("  " + line)
    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print("  " + problem)
        return 2
    print("Database OK.")
    return 0


def _same_database(url: str, other: str) -> bool:
    a, b = connect_params(url), connect_params(other)
    return all((a.get(k) or d) == (b.get(k) or d) for k, d in (("host", "localhost"), ("port", 5432), ("dbname", "")))


def restore_dump(dump: Path, to_url: str, running_url: str | None = None) -> list[str]:
    """pg_restore a dump of `python app.py backup` into a new, empty database (never into the one the
    app is configured to serve, never over tables), in one transaction, then check it. Returns what
    the check found sound."""
    import psycopg2

    from marac.backup import BackupError

    dump = Path(dump)
    if not dump.is_file():
        raise BackupError(f"{dump} does not exist")
    listed = subprocess.run([_tool("pg_restore"), "--list", str(dump)],  # noqa: S603  # nosec B603
                            capture_output=True, text=True, timeout=600)
    if listed.returncode != 0 or "TABLE DATA public audit_event" not in listed.stdout:
        why = (listed.stderr.strip().splitlines() or ["no audit_event table in it"])[0]
        raise BackupError(f"{dump} is not a dump of marac (python app.py backup on PostgreSQL): {why}")
    if running_url and _same_database(to_url, running_url):
        raise BackupError(f"{where(to_url)} is the database the app is configured to serve: restore into a new, "
                          "empty database (createdb), check it, then switch over")
    try:
        conn = psycopg2.connect(**connect_params(to_url))
    except psycopg2.Error as exc:
        raise BackupError(f"cannot connect to {where(to_url)} (create it first: createdb): {_first_line(exc)}") from exc
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            tables = cur.fetchone()[0]
    finally:
        conn.close()
    if tables:
        raise BackupError(f"{where(to_url)} is not empty ({tables} tables): restore into a new, empty database")
    done = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",  # noqa: S603  # nosec B603
                           "--dbname", connect_params(to_url)["dbname"], str(dump)],
                          env=_client_env(to_url), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was restored: {done.stderr.strip()}")
    sound, problems = check_database(to_url)
    if problems:
        raise BackupError(f"restored into {where(to_url)}, but it failed its check: " + "; ".join(problems))
    return sound


def restore_command(cfg, args) -> int:
    """python app.py restore FILE.dump --to postgresql://.../NEW_DATABASE, on PostgreSQL."""
    from marac.backup import BackupError, key_copy

    if not is_postgres_url(args.to):
        print("Restore refused: the app runs on PostgreSQL, so restore a dump into a new, empty database: createdb "
              "NEW_DATABASE, then python app.py restore FILE.dump --to postgresql://USER@HOST:PORT/NEW_DATABASE "
              "(docs/POSTGRESQL.md)")
        return 2
    try:
        sound = restore_dump(Path(args.file), args.to, running_url=cfg["DATABASE_URL"])
    except (BackupError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"Restore refused: {exc}")
        return 2
    print(f"Restored and checked: {where(args.to)}")
    for line in sound:
        print("  " + line)
    key = key_copy(Path(args.file))
    if key.exists():
        print(f"Its second-factor key is beside the dump: {key}. Copy it into the instance folder of the app that "
              "will serve this database, as totp_key, or the app will not start.")
    else:
        print(f"No second-factor key was kept beside {args.file} ({key.name}): put the totp_key that belongs to "
              "this database into the instance folder of the app that will serve it, or the app will not start.")
    print("To serve it: stop the service, set DATABASE_URL in instance/config.py to the new database, start the "
          "service again.")
    return 0
