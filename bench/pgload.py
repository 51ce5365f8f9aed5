"""The benchmark's borough on PostgreSQL (issue 12): a cached SQLite borough copied into a new database.

    .venv/bin/python -m bench.pgload bench/cache/1000-5panels.db postgresql://marac@127.0.0.1:5432/marac_bench

The fastest honest path from the generator (which writes SQLite) to a database the app serves as it
would in production:

1. the app makes the schema on the empty database itself (marac.db.init_db: the models' tables, the
   migrations' indexes, the audit triggers, every migration recorded), exactly as at a first start;
2. every table's rows are copied from the SQLite file with COPY FROM STDIN (text format), with the
   ordinary indexes dropped during the copy and rebuilt after, and foreign-key and trigger checks
   off for the session (session_replication_role = replica: the SQLite file was checked when it was
   generated, and the copy of an append-only audit log is not an UPDATE of it). SQLite's 0/1
   booleans and its datetimes as text are what PostgreSQL's boolean and timestamp input read;
3. each id sequence is set past the largest id copied, so the app's next row gets a new id;
4. VACUUM (ANALYZE) of every table: what autovacuum does on its own within a minute or so of a bulk
   load (and what pg_restore's documentation tells an administrator to run after a restore), done
   once here so the first page measured does not race it.

Run in its own process by bench/run.py (init_db binds the app's one database proxy). Prints a JSON
summary: seconds per step, rows per table, the database size.
"""
import io
import json
import sqlite3
import subprocess  # nosec B404: bash and python, our own arguments
import sys
import time
from pathlib import Path

SKIPPED_TABLES = {"schema_migration", "sqlite_sequence"}  # PostgreSQL has its own record of migrations
BATCH_ROWS = 50_000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def copy_field(value) -> str:
    """One value in COPY's text format. SQLite's 0/1 booleans and text datetimes pass as they are (PostgreSQL's
    boolean and timestamp input read them); NUL, which PostgreSQL text cannot hold, is dropped, as
    marac.postgres drops it from the app's own parameters."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    return str(value)


def copy_lines(rows) -> str:
    """Rows (tuples) as the text COPY FROM STDIN reads: tab-separated fields, one line per row."""
    return "".join("\t".join(map(copy_field, row)) + "\n" for row in rows)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: [row[1] for row in conn.execute(f"PRAGMA table_info({_quote(name)})")]
            for name in names if name not in SKIPPED_TABLES}


def postgres_tables(cur) -> dict[str, list[str]]:
    cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "ORDER BY table_name, ordinal_position")
    tables: dict[str, list[str]] = {}
    for table, column in cur.fetchall():
        tables.setdefault(table, []).append(column)
    return tables


def droppable_indexes(cur) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index that is not a constraint's (primary keys stay)."""
    cur.execute("""SELECT ci.relname, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                   JOIN pg_namespace n ON n.oid = ci.relnamespace
                   WHERE n.nspname = 'public'
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                   ORDER BY ci.relname""")
    return cur.fetchall()


def copy_table(source: sqlite3.Connection, cur, table: str, columns: list[str]) -> int:
    """Copy one table's rows in batches; return how many."""
    selected = ", ".join(map(_quote, columns))
    sql = f"COPY {_quote(table)} ({selected}) FROM STDIN"
    rows = source.execute(f"SELECT {selected} FROM {_quote(table)}")
    count = 0
    while True:
        batch = rows.fetchmany(BATCH_ROWS)
        if not batch:
            return count
        cur.copy_expert(sql, io.StringIO(copy_lines(batch)))
        count += len(batch)


def reset_sequences(cur) -> None:
    """Every serial column's sequence past the largest id copied."""
    cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_default LIKE 'nextval(%%'")
    for table, column in cur.fetchall():
        cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({_quote(column)}), 0) + 1, false) "
                    f"FROM {_quote(table)}", (_quote(table), column))


def load(sqlite_path: Path, url: str, log=lambda *a: None) -> dict:
    """Make the app's schema in the (empty) database at `url`, copy the SQLite borough into it; return a summary."""
    import psycopg2

    from marac.db import db, init_db
    from marac.postgres import connect_params

    timings = {}
    started = time.perf_counter()
    init_db(url)  # the app's own schema, as at a first start on an empty database
    db.close()
    timings["schema_s"] = round(time.perf_counter() - started, 1)
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    conn = psycopg2.connect(**connect_params(url))
    rows = {}
    try:
        cur = conn.cursor()
        cur.execute("SET session_replication_role = replica")  # no foreign-key or trigger checks while copying
        src, dst = sqlite_tables(source), postgres_tables(cur)
        missing = sorted(set(src) - set(dst))
        if missing:
            raise RuntimeError(f"tables in the SQLite borough but not in PostgreSQL: {missing}")
        filled = []
        for table in dst:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})")
            if cur.fetchone()[0] and table in src:
                filled.append(table)
        if filled:  # rows the schema's seeds wrote (the default panel): the borough brings its own
            cur.execute(f"TRUNCATE {', '.join(map(_quote, filled))} CASCADE")
        indexes = droppable_indexes(cur)
        for name, _sql in indexes:
            cur.execute(f"DROP INDEX {_quote(name)}")
        step = time.perf_counter()
        for table, columns in src.items():
            common = [c for c in columns if c in dst[table]]
            rows[table] = copy_table(source, cur, table, common)
            if rows[table] > 100_000:
                log(f"    {table}: {rows[table]:,} rows")
        timings["copy_s"] = round(time.perf_counter() - step, 1)
        step = time.perf_counter()
        for _name, sql in indexes:
            cur.execute(sql)
        timings["indexes_s"] = round(time.perf_counter() - step, 1)
        reset_sequences(cur)
        cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        step = time.perf_counter()
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE)")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - step, 1)
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
    finally:
        conn.close()
        source.close()
    timings["total_s"] = round(time.perf_counter() - started, 1)
    return {"rows": rows, "indexes_rebuilt": len(indexes), "bytes": size, **timings}


# --- the server the benchmark runs against ---------------------------------------------------------

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres_test_server.sh"
DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}
FAST_LOAD = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + name))


class PostgresServer:
    """The PostgreSQL server measured: a throwaway cluster on loopback (scripts/postgres_test_server.sh,
    stopped afterwards), or one given by URL (its databases marac_bench_* are created and dropped).
    A throwaway cluster loads with fsync off and is made durable (fsync, full_page_writes,
    synchronous_commit on: PostgreSQL's defaults, as in production) before anything is measured."""

    def __init__(self, url: str | None = None):
        self.url = url
        self.own = url is None

    def start(self) -> str:
        if self.own:
            out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=True)  # noqa: S603,S607
            self.url = out.stdout.strip().splitlines()[-1]
        return self.url

    def stop(self) -> None:
        if self.own and self.url:
            subprocess.run(["bash", str(SCRIPT), "stop", self.url], check=False)  # noqa: S603,S607
            self.url = None

    def _run(self, *statements, fetch: bool = False, params: tuple | None = None):
        import psycopg2

        from marac.postgres import connect_params

        conn = psycopg2.connect(**connect_params(self.url))
        conn.autocommit = True
        try:
            cur = conn.cursor()
            result = None
            for sql in statements:
                cur.execute(sql, params)
                if fetch:
                    result = cur.fetchall()
            return result
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        """A new, empty database (dropped first when a run before left it); its URL."""
        self.drop_database(name)
        self._run(f"CREATE DATABASE {_quote(name)}")
        return database_url(self.url, name)

    def drop_database(self, name: str) -> None:
        self._run(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")

    def configure(self, values: dict) -> None:
        """ALTER SYSTEM and reload (all three settings take effect on reload); only on our own cluster."""
        if self.own:
            self._run(*[f"ALTER SYSTEM SET {key} = {value}" for key, value in values.items()],
                      "SELECT pg_reload_conf()")

    def describe(self) -> str:
        rows = self._run("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                         "current_setting('fsync'), current_setting('synchronous_commit'), "
                         "current_setting('full_page_writes'), current_setting('work_mem')", fetch=True)
        version, buffers, fsync, sync, fpw, work_mem = rows[0]
        where = "throwaway cluster on loopback" if self.own else "given server"
        return (f"PostgreSQL {version} ({where}; shared_buffers {buffers}, work_mem {work_mem}, fsync {fsync}, "
                f"synchronous_commit {sync}, full_page_writes {fpw})")

    def database_size(self, name: str) -> int:
        return self._run("SELECT pg_database_size(%s)", fetch=True, params=(name,))[0][0]


def load_in_subprocess(sqlite_path: Path, url: str) -> dict:
    """load() in its own process (init_db binds the app's database proxy for good); its summary."""
    out = subprocess.run([sys.executable, "-m", "bench.pgload", str(sqlite_path), url], stdout=subprocess.PIPE,  # noqa: S603
                         text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loading {sqlite_path} into PostgreSQL failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.pgload SQLITE_FILE POSTGRESQL_URL", file=sys.stderr)
        return 2
    summary = load(Path(args[0]), args[1], log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
