"""Reliability drills, short versions (SECURITY.md checks 31-35): the real app served by waitress in
its own process, a small generated borough, real sign-ins. Long versions: python -m bench.drills."""
import pytest

from bench.drills import backup, crash, diskfull, limits, lock, mixed


def test_mixed_load_loses_nothing(tmp_path):
    """31: 16 clients reading and writing for the full 60 s of the check: no 5xx, no 'database is locked',
    every acknowledged write kept (the integrity check and the audit chain pass too). Two sign-ins are shared
    by the 16 clients only to save 14 password hashes; each client has its own connection and thread."""
    result = mixed.run(tmp_path, duration=60.0, clients=16, logins=2)
    assert result["seconds"] == 60.0 and result["clients"] == 16
    assert result["problems"] == []
    assert result["acknowledged_writes"] > 200
    assert set(result["write_kinds"]) >= {"agency", "note"}


def test_kill_9_under_write_load_loses_no_acknowledged_write(tmp_path):
    """32: SIGKILL during writes, three times: integrity ok, every acknowledged write there with its audit row."""
    result = crash.run(tmp_path, rounds=3, writers=4, min_s=0.4, max_s=1.0, logins=1)
    assert result["problems"] == []
    assert result["acknowledged_writes"] > 5


def test_disk_full_gives_503_and_recovers(tmp_path):
    """33: a full disk: writes get the 503 page, nothing half-saved, saving again once there is room."""
    result = diskfull.run(tmp_path, attempts=2)
    assert result["problems"] == []
    assert result["refused"] >= 4 and result["saved_after"] >= 2


def test_write_lock_past_busy_timeout_fails_fast_with_503(tmp_path):
    """35: a lock held past busy_timeout: 503 in bounded time, health check still answered, then normal."""
    result = lock.run(tmp_path, busy_timeout_ms=1000, clients=16, logins=2)
    assert result["problems"] == []
    assert result["saved_after"] == 16


def test_oversize_body_413_and_idle_connections(tmp_path):
    """35: oversize bodies get 413; idle keep-alive connections filling the limit do not lock a new user out."""
    result = limits.run(tmp_path, max_content_length=1024 * 1024, connection_limit=20, channel_timeout=4)
    assert result["problems"] == []


def test_backup_under_load_restores_and_starts(tmp_path):
    """34: an online backup under write load restores into a fresh folder; the app starts there with the data."""
    result = backup.run(tmp_path, seconds_before=1.5, seconds_after=1.0, writers=4)
    assert result["problems"] == []
    assert result["writes_before"] > 0


def test_database_busy_or_full_is_a_503_other_database_errors_stay_500(app, client):
    """The handler behind drills 33 and 35: busy or full is 503 with the clear page; anything else is a 500."""
    from peewee import OperationalError

    def raise_error(kind):
        if kind == "full":  # as Peewee reports it: SQLite rolled back, then Peewee's own rollback failed
            try:
                raise OperationalError("database or disk is full")
            except OperationalError:
                raise OperationalError("cannot rollback - no transaction is active") from None
        raise OperationalError({"locked": "database is locked", "other": "no such table: x"}[kind])

    app.add_url_rule("/drill-error/<kind>", "drill_error", raise_error)
    for kind in ("locked", "full"):
        response = client.get(f"/drill-error/{kind}")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "cannot save right now" in response.get_data(as_text=True)
    with pytest.raises(OperationalError):  # TESTING propagates it; in service it is the plain 500 page
        client.get("/drill-error/other")
