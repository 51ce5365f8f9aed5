"""Agenda board (issue 5): agencies' requests to move a case, and each circulated agenda version.

An agenda version is frozen when it is circulated: the order, the case numbers, initials and
one-line risk summaries as sent, so what each agency received can be shown again exactly.
"""

STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "move_request" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"listing_id" INTEGER NOT NULL, "agency_id" INTEGER NOT NULL, "user_id" INTEGER, "note" VARCHAR(300) NOT NULL, '
    '"created_at" DATETIME NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("listing_id") REFERENCES "listing" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("agency_id") REFERENCES "agency" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "moverequest_meeting_id_agency_id" ON "move_request" ("meeting_id", "agency_id")',
    'CREATE INDEX IF NOT EXISTS "moverequest_listing_id" ON "move_request" ("listing_id")',
    'CREATE INDEX IF NOT EXISTS "moverequest_agency_id" ON "move_request" ("agency_id")',
    'CREATE INDEX IF NOT EXISTS "moverequest_user_id" ON "move_request" ("user_id")',
    'CREATE TABLE IF NOT EXISTS "agenda_version" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"version" INTEGER NOT NULL, "circulated_at" DATETIME NOT NULL, "circulated_by_id" INTEGER, '
    '"late" INTEGER NOT NULL, "content" TEXT NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("circulated_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "agendaversion_meeting_id_version" '
    'ON "agenda_version" ("meeting_id", "version")',
    'CREATE INDEX IF NOT EXISTS "agendaversion_circulated_by_id" ON "agenda_version" ("circulated_by_id")',
    'CREATE INDEX IF NOT EXISTS "meeting_status_starts_at" ON "meeting" ("status", "starts_at")',
    'CREATE INDEX IF NOT EXISTS "listing_meeting_id_position" ON "listing" ("meeting_id", "position")',
]


def up(database):
    for statement in STATEMENTS:
        database.execute_sql(statement)
