"""The case record and action tracking (issue 7): case events on the timeline (closure, reopening,
transfer out), the meeting an action was carried to, a log of e-mail notices (so reminders go once),
and an index for postcode search. Frozen SQL (SQLite dialect)."""

STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "case_event" ("id" INTEGER NOT NULL PRIMARY KEY, "case_id" INTEGER NOT NULL, '
    '"user_id" INTEGER, "agency_id" INTEGER, "at" DATETIME NOT NULL, "kind" VARCHAR(20) NOT NULL, '
    '"reason" VARCHAR(40) NOT NULL, "text" TEXT NOT NULL, '
    'FOREIGN KEY ("case_id") REFERENCES "case" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("agency_id") REFERENCES "agency" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "caseevent_case_id_at" ON "case_event" ("case_id", "at")',
    'CREATE INDEX IF NOT EXISTS "caseevent_user_id" ON "case_event" ("user_id")',
    'CREATE INDEX IF NOT EXISTS "caseevent_agency_id" ON "case_event" ("agency_id")',
    'ALTER TABLE "action_update" ADD COLUMN "meeting_id" INTEGER REFERENCES "meeting" ("id") ON DELETE SET NULL',
    'CREATE INDEX IF NOT EXISTS "actionupdate_meeting_id" ON "action_update" ("meeting_id")',
    'CREATE TABLE IF NOT EXISTS "mail_notice" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(30) NOT NULL, '
    '"object_type" VARCHAR(40) NOT NULL, "object_id" INTEGER NOT NULL, "sent_at" DATETIME NOT NULL, '
    '"recipients" INTEGER NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "mailnotice_object_type_object_id_kind" '
    'ON "mail_notice" ("object_type", "object_id", "kind")',
    'CREATE INDEX IF NOT EXISTS "person_postcode_key" ON "person" ("postcode_key")',
    'CREATE INDEX IF NOT EXISTS "action_owner_agency_id_completed_at" ON "action" ("owner_agency_id", "completed_at")',
]


def up(database):
    """Create the case-event and mail-notice tables, the carried-to meeting column and indexes."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
