"""Queries compiled once per process: for the few fixed-shape lookups nearly every request makes (the
session check, a referral by id, the panel's instrument), Peewee's SQL generation costs more than
SQLite running them (about 0.3 ms of CPU each, against 0.02 ms).

    BY_ID = Prepared(lambda referral_id: Referral.select().where(Referral.id == referral_id).limit(1),
                     Prepared.INT)
    referral = BY_ID.first(5)

The query is built once with placeholder values (one per argument, of the argument's kind), compiled for
the bound database, and the placeholders' positions among the parameters are remembered; each call runs
that SQL with the real values and reads the rows with the query's own row reader, so the result is what
the Peewee query itself returns (models, joined models included). A placeholder that does not come out
as one parameter (a value folded into the SQL text) is refused when the query is first compiled.
"""
import threading

from marac.db import db


class Prepared:
    """A Peewee select whose SQL is compiled once per database; only its parameter values change."""

    # Placeholder values no real argument takes (a text and an integer argument).
    TEXT = "\x00marac-prepared-argument-{n}\x00"
    INT = -8_070_450_532_247_928_000

    def __init__(self, build, *kinds):
        self._build = build
        self._kinds = kinds
        self._compiled = {}
        self._lock = threading.Lock()

    def _placeholders(self) -> list:
        return [kind.format(n=n) if isinstance(kind, str) else kind - n for n, kind in enumerate(self._kinds)]

    def _compile(self, database):
        placeholders = self._placeholders()
        query = self._build(*placeholders)
        sql, params = query.sql()  # a model query compiles for the database the proxy is bound to
        slots = []
        for value in params:
            matches = [n for n, p in enumerate(placeholders) if type(p) is type(value) and p == value]
            slots.append(matches[0] if matches else None)
        if sorted(s for s in slots if s is not None) != list(range(len(placeholders))):
            raise ValueError(f"each argument must appear once among the query's parameters: {sql}")
        return query, sql, params, slots

    def rows(self, *values) -> list:
        """Every row, as the query would return them."""
        database = db.obj
        compiled = self._compiled.get(id(database))
        if compiled is None or compiled[0] is not database:
            with self._lock:
                compiled = (database, *self._compile(database))
                self._compiled = {id(database): compiled}  # one database at a time (a new app: tests)
        _database, query, sql, params, slots = compiled
        actual = [values[slot] if slot is not None else value for value, slot in zip(params, slots, strict=True)]
        return list(query._get_cursor_wrapper(database.execute_sql(sql, actual)))

    def first(self, *values):
        """The first row, or None."""
        found = self.rows(*values)
        return found[0] if found else None
