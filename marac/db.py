"""The database: one proxy, bound in the factory; pragmas, per-request connections, migrations."""
import importlib
import pkgutil
import sqlite3

from peewee import DatabaseError as PeeweeDatabaseError
from peewee import DatabaseProxy, SqliteDatabase, Table
from playhouse.db_url import connect as connect_url
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledSqliteDatabase

from marac import postgres
from marac.pooling import ServerPool

db = DatabaseProxy()
# A pooled SQLite connection is closed (and a new one opened) once it is this old.
SQLITE_POOL_MAX_AGE_SECONDS = 600


class PooledSqlite(ServerPool, PooledSqliteDatabase):
    """SQLite that can keep its connections open in a pool. Only the server does (keep_connections(True) in
    `python app.py serve`): everywhere else (tests, commands, the benchmark's generator) db.close() closes the
    file for real, as code there expects (the last connection's close writes the WAL back into the file)."""


def keep_connections(enabled: bool = True) -> None:
    """Pool the bound database's connections (the server), or close each one after use again."""
    if isinstance(db.obj, ServerPool):
        db.obj.keep_connections = enabled
        if not enabled:
            db.obj.close_idle()


class DatabaseCheckFailed(RuntimeError):
    """Start-up integrity check failed: the app refuses to serve a damaged database."""


def sqlite_pragmas(busy_timeout_ms: int, max_page_count: int | None = None) -> dict:
    """Pragmas applied to every SQLite connection (SECURITY.md check 30)."""
    pragmas = {
        "journal_mode": "wal",
        "synchronous": "full",
        "foreign_keys": 1,
        "busy_timeout": busy_timeout_ms,
        # Deleted personal data is overwritten, not left in free pages.
        "secure_delete": 1,
    }
    if max_page_count:  # config SQLITE_MAX_PAGE_COUNT: the disk-full drill's small "disk"
        pragmas["max_page_count"] = int(max_page_count)
    return pragmas


def open_database(url: str, busy_timeout_ms: int = 5000, max_page_count: int | None = None):
    """Make a database object from a URL. SQLite writes always take the lock at BEGIN:
    a deferred read-then-write under waitress threads fails with 'database is locked'."""
    if url.startswith("sqlite"):
        # Pooled in service: a request's connection goes back to the pool instead of being closed, because
        # opening one costs about 0.8 ms of CPU (SQLite parses the whole schema, then the pragmas run), more
        # than most pages' queries. That is one connection per waitress thread; the pragmas hold for its life.
        # A pooled connection may be checked out by another thread later (never by two at once).
        return PooledSqlite(**parse_url(url), pragmas=sqlite_pragmas(busy_timeout_ms, max_page_count),
                            lock_type="IMMEDIATE", max_connections=None, stale_timeout=SQLITE_POOL_MAX_AGE_SECONDS,
                            check_same_thread=False)
    if postgres.is_postgres_url(url):
        return postgres.open_postgres(url)  # transactions take a write lock, as BEGIN IMMEDIATE does
    return connect_url(url)


def init_db(url: str, busy_timeout_ms: int = 5000, max_page_count: int | None = None):
    """Bind the proxy, check the file, apply migrations. Returns the database."""
    database = open_database(url, busy_timeout_ms, max_page_count)
    if hasattr(db.obj, "close_idle"):
        db.obj.close_idle()  # another app in this process before (tests): its pooled connections are not needed
    db.initialize(database)
    with database.connection_context():
        if is_sqlite():
            try:
                ok = database.execute_sql("PRAGMA quick_check").fetchone()[0]
            except (PeeweeDatabaseError, sqlite3.DatabaseError) as exc:
                # Some damage makes the check itself fail ("database disk image is malformed").
                ok = str(exc)
            if ok != "ok":
                raise DatabaseCheckFailed(f"SQLite quick_check failed: {ok}")
        migrate(database)
    return database


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return isinstance(db.obj, SqliteDatabase)


def is_sqlite_database(database) -> bool:
    """True when this database object (bound or not: migrations get theirs passed) is SQLite."""
    return isinstance(database, SqliteDatabase)


def migration_modules():
    """The numbered migration modules in order (marac/migrations/mNNNN_name.py)."""
    from marac import migrations

    names = sorted(m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name.startswith("m"))
    return [(name, importlib.import_module(f"marac.migrations.{name}")) for name in names]


def migrate(database) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; return those applied."""
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migration (name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
    )
    done = {row[0] for row in database.execute_sql("SELECT name FROM schema_migration").fetchall()}
    applied = []
    from marac import clock

    table = Table("schema_migration", ("name", "applied_at")).bind(database)

    def record(name):
        table.insert(name=name, applied_at=clock.now().isoformat()).execute()

    if not done and isinstance(database, postgres.MaracPostgresqlDatabase):
        # A new PostgreSQL database: today's schema from the models, every migration recorded as applied
        # (the migrations' frozen DDL is SQLite's). Later migrations then run on both engines.
        with database.atomic():
            postgres.create_schema(database)
            for name, module in migration_modules():
                if hasattr(module, "seed"):
                    module.seed(database)  # rows a migration adds, such as m1100's default panel
                record(name)
        return ["postgres schema"]
    for name, module in migration_modules():
        if name in done:
            continue
        # SQLite refuses some ALTER TABLEs with foreign keys on; the pragma is a no-op inside a transaction.
        keys_off = getattr(module, "FOREIGN_KEYS_OFF", False) and is_sqlite_database(database)
        if keys_off:
            database.execute_sql("PRAGMA foreign_keys = OFF")
        try:
            with database.atomic():
                module.up(database)
                if keys_off:
                    broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration {name} broke foreign keys: {broken[:5]}")
                record(name)
        finally:
            if keys_off:
                database.execute_sql("PRAGMA foreign_keys = ON")
        applied.append(name)
    return applied
