"""The server's pooled PostgreSQL connections (marac.pooling.ServerPool on marac.postgres's database,
switched on by `python app.py serve`): a request's connection is reused by later requests, a
transaction left open never travels to the next user, and outside the server a close is real."""
import pytest
from flask import jsonify
from postgres_testing import postgres_only

from marac.db import db, keep_connections
from marac.models import Agency

pytestmark = postgres_only


@pytest.fixture
def pooled(app):
    keep_connections(True)
    yield app
    keep_connections(False)
    db.obj.close_idle()


def test_requests_reuse_one_connection(pooled):
    @pooled.get("/__test/pool")
    def report():
        return jsonify(pid=db.execute_sql("SELECT pg_backend_pid()").fetchone()[0])

    client = pooled.test_client()
    pids = []
    for _ in range(3):
        response = client.get("/__test/pool")
        assert response.status_code == 200
        pids.append(response.get_json()["pid"])
        assert db.is_closed()  # handed back at teardown
    assert len(set(pids)) == 1  # one server process: the connection was opened once


def test_an_unfinished_transaction_never_reaches_the_next_request(pooled):
    db.connect()
    db.begin()
    Agency.create(name="Half-saved", kind="other")
    db.close()  # back to the pool mid-transaction: the pool closes it rather than reuse it
    with db.connection_context():
        assert not Agency.select().where(Agency.name == "Half-saved").exists()
        with db.atomic():  # and the new connection takes a write transaction (the advisory lock is free)
            Agency.create(name="Saved", kind="other")
    assert Agency.select().where(Agency.name == "Saved").count() == 1


def test_without_the_server_a_closed_connection_is_really_closed(app):
    with db.connection_context():
        connection = db.connection()
    assert connection.closed
