"""The panel of each audit event (issue 12): a coordinator's audit log shows their panel's events.

A nullable column, no foreign key (the log outlives anything it names, and is append-only: the rows
written before this migration keep no panel, and keep their hashes, marac.audit._canonical), and an
index for the viewer's "this panel, newest first". The same SQL on SQLite and PostgreSQL.
"""

STATEMENTS = [
    'ALTER TABLE "audit_event" ADD COLUMN "panel_id" INTEGER',
    'CREATE INDEX IF NOT EXISTS "auditevent_panel_id_id" ON "audit_event" ("panel_id", "id")',
]


def up(database):
    """Add audit_event.panel_id and its index."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
