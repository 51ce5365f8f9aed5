"""Steering-group reports (issue 9): an index on the action's due date.

The report counts a period's actions by their due date, whatever their status and owner; the
existing indexes all start with the owner or the status, so without this one a year's report
scans every action ever agreed. Frozen SQL (SQLite dialect)."""

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS "action_due_date" ON "action" ("due_date")',
]


def up(database):
    """Index actions by due date."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
