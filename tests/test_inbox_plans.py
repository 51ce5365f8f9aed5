"""The inbox's lookups stay index-driven as the borough grows (issue 11: at 100,000 cases the inbox was
three times slower than at 1,000, because the open-case lookup walked every open case)."""
from datetime import date, datetime

import pytest
from marac_testing import make_case, make_person, make_referral
from postgres_testing import sqlite_only

from marac import inbox, panels
from marac.db import db


@pytest.fixture(autouse=True)
def _clock(fake_clock):
    return fake_clock


def _queries_of(monkeypatch, call):
    seen = []
    real = db.obj.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        seen.append((sql, params))
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(db.obj, "execute_sql", recording)
    try:
        result = call()
    finally:
        monkeypatch.undo()
    return result, seen


@sqlite_only("EXPLAIN QUERY PLAN is SQLite's")
def test_open_cases_are_found_from_the_victims_not_by_walking_every_open_case(app, monkeypatch):
    # A page of 30 new referrals asks about 30 victims (as the benchmark's inbox does): SQLite, without
    # statistics, then preferred walking every open case over 60 index look-ups, whatever the borough's size.
    victims = [make_person(f"Victim{n}", date_of_birth=date(1990, 5, 1)) for n in range(30)]
    cases = {}
    for n, victim in enumerate(victims):
        case = make_case(people=[(victim, "victim")], status="closed" if n % 3 else "listed")
        make_referral(people=[(victim, "victim")], submitted_at=datetime(2026, 10, 1, 10, 0), status="accepted",
                      case=case)
        if not n % 3:
            cases[victim.id] = case.id
    victim_ids, panel_id = {v.id for v in victims}, panels.current_panel_id()
    found, queries = _queries_of(monkeypatch, lambda: inbox._open_cases(victim_ids, panel_id))
    assert {pid: case.id for pid, case in found.items()} == cases
    assert len(queries) == 1
    sql, params = queries[0]
    plan = " | ".join(row[-1] for row in db.obj.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    # Cases are reached by id from case_person's person index (the primary key, or the panel's status index
    # with the id: one seek per case); walking the open cases (a status index without the id) grows with
    # the borough.
    assert "caseperson_person_id" in plan, plan
    assert "INTEGER PRIMARY KEY" in plan or "status=? AND rowid=?)" in plan, plan
    assert "case_status" not in plan and "status=?)" not in plan, plan
