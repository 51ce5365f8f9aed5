"""An action's panel on the action itself (issue 12): a representative's action tabs count their
agency's actions of the panel in view on one index, instead of joining every completed action the
agency ever had to its case (at 100,000 cases that join made "my agency's actions" 15 times slower).
The column always equals the case's panel (marac.models.Action.save). Frozen SQL, for SQLite and
PostgreSQL alike; SQLite accepts the REFERENCES column with DEFAULT 1 only with foreign keys off.
"""
FOREIGN_KEYS_OFF = True

ADD = ('ALTER TABLE "action" ADD COLUMN "panel_id" INTEGER NOT NULL DEFAULT 1 REFERENCES "panel" ("id") '
       'ON DELETE RESTRICT')
FILL = 'UPDATE "action" SET "panel_id" = (SELECT "c"."panel_id" FROM "case" AS "c" WHERE "c"."id" = "action"."case_id")'
INDEXES = [
    'CREATE INDEX IF NOT EXISTS "action_owner_agency_id_panel_id_status_due_date" '
    'ON "action" ("owner_agency_id", "panel_id", "status", "due_date")',
    'CREATE INDEX IF NOT EXISTS "action_owner_agency_id_panel_id_completed_at" '
    'ON "action" ("owner_agency_id", "panel_id", "completed_at")',
]
PG_DROP_DEFAULT = 'ALTER TABLE "action" ALTER COLUMN "panel_id" DROP DEFAULT'  # PostgreSQL's tables have none


def up(database):
    """Add action.panel_id, fill it from each action's case, index it for the agency's tabs."""
    from marac.db import is_sqlite_database

    database.execute_sql(ADD)
    database.execute_sql(FILL)
    if not is_sqlite_database(database):
        database.execute_sql(PG_DROP_DEFAULT)
    for sql in INDEXES:
        database.execute_sql(sql)
