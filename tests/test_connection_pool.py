"""The server's pooled SQLite connections (marac.db.PooledSqlite, switched on by `python app.py serve`):
a request's connection is reused by later requests, on any thread, with the required pragmas, and a
transaction left open never travels to the next user of the connection."""
import threading

import pytest
from flask import jsonify
from postgres_testing import sqlite_only
from test_database import assert_required_pragmas, read_pragmas

from marac.db import db, keep_connections
from marac.models import Agency

# PostgreSQL has its own: tests/test_postgres_pool.py.
pytestmark = sqlite_only("the pooled SQLite connections and their pragmas")


@pytest.fixture
def pooled(app):
    keep_connections(True)
    yield app
    keep_connections(False)


def test_requests_reuse_one_connection_with_the_pragmas(pooled):
    seen = []

    @pooled.get("/__test/pool")
    def report():
        seen.append(db.connection())
        return jsonify(read_pragmas(db))

    client = pooled.test_client()
    for _ in range(3):
        response = client.get("/__test/pool")
        assert response.status_code == 200
        assert_required_pragmas(response.get_json())
        assert db.is_closed()  # handed back at teardown
    assert all(c is seen[0] for c in seen)  # opened once, reused


def test_a_pooled_connection_works_in_another_thread(pooled):
    with db.connection_context():
        first = db.connection()
    results, errors = [], []

    def worker():
        try:
            with db.connection_context():
                results.append((db.connection(), read_pragmas(db)))
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert not errors
    assert results[0][0] is first
    assert_required_pragmas(results[0][1])


def test_an_unfinished_transaction_is_rolled_back_when_the_connection_returns(pooled):
    db.connect()
    db.execute_sql("BEGIN IMMEDIATE")
    Agency.create(name="Half-saved", kind="other")
    db.close()  # back to the pool, mid-transaction
    with db.connection_context():
        assert not Agency.select().where(Agency.name == "Half-saved").exists()
        with db.atomic():  # and the connection takes a new write transaction
            Agency.create(name="Saved", kind="other")
    assert Agency.select().where(Agency.name == "Saved").count() == 1


def test_without_the_server_a_closed_connection_is_really_closed(app):
    with db.connection_context():
        connection = db.connection()
    with pytest.raises(Exception, match="closed"):
        connection.execute("SELECT 1")
