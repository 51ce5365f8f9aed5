"""The object types of one panel's audit events (issue 12): the coordinator's audit log offers the types
its own panel's events name, found by one seek per type on this index (marac.audit.object_types), never
another panel's (a type name says what that panel did) nor by reading the panel's whole log.
The same SQL on SQLite and PostgreSQL."""

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS "auditevent_panel_id_object_type" ON "audit_event" ("panel_id", "object_type")',
]


def up(database):
    """Index audit_event on (panel_id, object_type)."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
