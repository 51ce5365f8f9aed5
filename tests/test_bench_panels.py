"""The benchmark's panels and its PostgreSQL copy (issue 12): bench/generate.py --panels, bench/pgload.py."""
import sqlite3

import postgres_testing
import pytest

from bench import generate, pgload


def test_panel_sizes_spread_the_cases_evenly():
    assert generate.panel_sizes(1000, 1) == [1000]
    assert generate.panel_sizes(100000, 5) == [20000] * 5
    assert generate.panel_sizes(1002, 5) == [201, 201, 200, 200, 200]
    with pytest.raises(ValueError):
        generate.panel_sizes(3, 5)


def test_panel_one_keeps_its_addresses_and_random_streams():
    assert generate.panel_email(1, "coordinator") == f"coordinator@{generate.BENCH_DOMAIN}"
    assert generate.panel_email(3, "coordinator") == f"p3-coordinator@{generate.BENCH_DOMAIN}"
    assert generate.panel_seed(1, 11) == 11 and generate.panel_seed(2, 11) != 11
    assert generate.fingerprint(5) != generate.fingerprint(1)
    assert generate.cache_paths(1000)[0].name == "1000.db"
    assert generate.cache_paths(1000, 5)[0].name == "1000-5panels.db"


def test_copy_field_writes_copy_text_format():
    assert pgload.copy_field(None) == "\\N"
    assert pgload.copy_field("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert pgload.copy_field("nul\x00gone") == "nulgone"
    assert pgload.copy_field(b"\x00\xff") == "\\\\x00ff"
    assert pgload.copy_field(1) == "1" and pgload.copy_field(0) == "0" and pgload.copy_field(2.5) == "2.5"
    assert pgload.copy_lines([(1, None, "x"), (2, "", "y\tz")]) == "1\t\\N\tx\n2\t\ty\\tz\n"


def test_database_url_names_another_database_on_the_same_server():
    url = "postgresql://marac@127.0.0.1:5433/postgres?sslmode=disable"
    assert pgload.database_url(url, "marac_bench_1000") == "postgresql://marac@127.0.0.1:5433/marac_bench_1000?sslmode=disable"


def _rows(conn, sql, params=()):
    return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def two_panels(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "two.db"
    facts = generate.generate(path, 120, quiet=True, panels=2)
    return path, facts


def test_two_panels_each_run_their_own_cycle(two_panels):
    path, facts = two_panels
    conn = sqlite3.connect(path)
    assert _rows(conn, 'SELECT panel_id, COUNT(*) FROM "case" GROUP BY 1') == [(1, 60), (2, 60)]
    assert _rows(conn, "SELECT id, name FROM panel ORDER BY id") == [(1, "Anytown MARAC"), (2, "Brookford MARAC")]
    assert _rows(conn, "SELECT panel_id, value FROM panel_setting WHERE key = 'panel_name' ORDER BY 1") == [
        (1, '"Anytown MARAC"'), (2, '"Brookford MARAC"')]
    # Each panel: its own meetings (one under way), inbox, drafts and staff; nothing joins across panels.
    assert _rows(conn, "SELECT panel_id, COUNT(*) FROM meeting WHERE status = 'planned' GROUP BY 1") == [(1, 1), (2, 1)]
    assert _rows(conn, "SELECT panel_id, status, COUNT(*) FROM referral WHERE status IN ('submitted', 'draft') "
                       "GROUP BY 1, 2 ORDER BY 1, 2") == [(1, "draft", 28), (1, "submitted", 30),
                                                          (2, "draft", 28), (2, "submitted", 30)]
    assert _rows(conn, 'SELECT COUNT(*) FROM listing l JOIN "case" c ON c.id = l.case_id '
                       "JOIN meeting m ON m.id = l.meeting_id WHERE c.panel_id <> m.panel_id") == [(0,)]
    assert _rows(conn, 'SELECT COUNT(*) FROM case_person cp JOIN "case" c ON c.id = cp.case_id '
                       "JOIN person p ON p.id = cp.person_id WHERE c.panel_id <> p.panel_id") == [(0,)]
    assert _rows(conn, 'SELECT COUNT(*) FROM referral r JOIN "user" u ON u.id = r.author_id '
                       "WHERE u.panel_id <> r.panel_id") == [(0,)]
    assert _rows(conn, "SELECT panel_id, COUNT(*) FROM \"user\" WHERE role = 'coordinator' GROUP BY 1") == [
        (1, 1), (2, 1)]
    # The representatives are panel 1's, granted panel 2; every audit event names its panel.
    reps = _rows(conn, "SELECT COUNT(*) FROM \"user\" WHERE role = 'representative'")[0][0]
    assert _rows(conn, "SELECT panel_id, COUNT(*) FROM user_panel GROUP BY 1") == [(2, reps)]
    assert _rows(conn, "SELECT COUNT(*) FROM audit_event WHERE panel_id IS NULL") == [(0,)]
    assert _rows(conn, "PRAGMA foreign_key_check") == []
    # The facts are panel 1's: the benchmark signs in and measures there.
    assert facts["users"]["coordinator"] == [f"coordinator@{generate.BENCH_DOMAIN}"]
    assert _rows(conn, "SELECT panel_id FROM meeting WHERE id = ?", (facts["run_meeting_id"],)) == [(1,)]
    assert _rows(conn, 'SELECT panel_id FROM "case" WHERE id = ?', (facts["timeline_case_id"],)) == [(1,)]
    assert facts["panels"]["cases"] == [60, 60]


def test_one_panel_adds_nothing_for_panels(tmp_path):
    path = tmp_path / "one.db"
    facts = generate.generate(path, 60, quiet=True)
    conn = sqlite3.connect(path)
    assert _rows(conn, "SELECT COUNT(*) FROM panel") == [(1,)]
    assert _rows(conn, "SELECT COUNT(*) FROM user_panel") == [(0,)]
    assert _rows(conn, "SELECT COUNT(*) FROM panel_setting") == [(0,)]
    assert _rows(conn, "SELECT COUNT(*) FROM audit_event WHERE panel_id IS NOT NULL") == [(0,)]
    assert "panels" not in facts


@postgres_testing.postgres_only
def test_pgload_copies_the_borough_into_postgresql(two_panels, postgres_databases):
    from marac import audit
    from marac.db import db

    path, _facts = two_panels
    name = postgres_databases.fresh()
    url = postgres_testing.database_url(name)
    try:
        summary = pgload.load(path, url)
        source = sqlite3.connect(path)
        counts = {table: _rows(source, f'SELECT COUNT(*) FROM "{table}"')[0][0]  # noqa: S608 (our table names)
                  for table in ("case", "person", "referral", "meeting", "audit_event", "note", "user_panel", "panel")}
        assert {table: summary["rows"][table] for table in counts} == counts
        with db.connection_context():
            assert audit.verify().ok  # datetimes and every hashed field came across unchanged
            assert db.execute_sql('SELECT panel_id, COUNT(*) FROM "case" GROUP BY 1 ORDER BY 1').fetchall() == [
                (1, 60), (2, 60)]
            assert db.execute_sql("SELECT COUNT(*) FROM referral WHERE threshold_met").fetchone()[0] > 0  # booleans
            top = db.execute_sql("SELECT MAX(id) FROM note").fetchone()[0]
            assert db.execute_sql("SELECT nextval(pg_get_serial_sequence('note', 'id'))").fetchone()[0] == top + 1
    finally:
        if not db.is_closed():
            db.close()
        postgres_databases.drop(name)
