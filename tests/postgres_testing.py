"""Tests on PostgreSQL (issue 12): with MARAC_TEST_DATABASE_URL set (a postgresql:// URL of a server
on which the tests may create databases, e.g. `bash scripts/postgres_test_server.sh`), the `app`
fixture runs on a fresh PostgreSQL database per test instead of a temp-file SQLite one.

The schema is built once per session into a template database; each test gets
CREATE DATABASE ... TEMPLATE that one (measured: see docs/POSTGRESQL.md), dropped after the test.
"""
import itertools
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

import pytest

URL = os.environ.get("MARAC_TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    """Whether this test session runs the app on PostgreSQL."""
    return bool(URL)


def sqlite_only(reason: str):
    """Mark a test that is about SQLite itself (pragmas, its file, its backup API): it runs in the
    SQLite session only, and the reason says what its PostgreSQL counterpart is, if any."""
    return pytest.mark.skipif(on_postgres(), reason=f"SQLite only: {reason}")


postgres_only = pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only: set MARAC_TEST_DATABASE_URL")


def database_url(name: str, url: str = "") -> str:
    """The server's URL with another database name."""
    parts = urlsplit(url or URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_connection():
    """An autocommit psycopg2 connection to the server's maintenance database (the URL's own)."""
    import psycopg2

    from marac.postgres import connect_params

    conn = psycopg2.connect(**connect_params(URL))
    conn.autocommit = True
    return conn


class Databases:
    """The session's template database and the per-test copies made from it."""

    def __init__(self):
        self.prefix = f"marac_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.counter = itertools.count(1)
        self.conn = admin_connection()
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.template}"')
        self._build_template()

    def _execute(self, sql: str):
        with self.conn.cursor() as cur:
            cur.execute(sql)  # names made here from the pid and a counter, never from input

    def _build_template(self):
        from marac import create_app
        from marac.db import db

        with tempfile.TemporaryDirectory() as instance:
            create_app({"TESTING": True, "SECRET_KEY": "t" * 40, "DATABASE_URL": database_url(self.template)},
                       instance_path=instance)
        if not db.is_closed():
            db.close()

    def fresh(self) -> str:
        """A new database with the schema; returns its name."""
        name = f"{self.prefix}_{next(self.counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str):
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self):
        self.drop(self.template)
        self.conn.close()


def table_files_bytes(database) -> bytes:
    """Every table, index and TOAST file of a PostgreSQL database as it is on disk (after a CHECKPOINT
    writes the changed pages), read by the server (pg_read_binary_file: the test server's superuser)."""
    database.execute_sql("CHECKPOINT")
    rows = database.execute_sql("SELECT pg_read_binary_file(pg_relation_filepath(oid)) FROM pg_class "
                                "WHERE oid >= 16384 AND relkind IN ('r', 'i', 't') AND relfilenode <> 0").fetchall()
    return b"".join(bytes(data) for (data,) in rows)
