"""Information governance (issue 8): when a user's second factor was enrolled, reasons given for
opening a restricted record, retention decisions (keep with a new date, or delete), and requests to
release minutes (DHR, SAR, court order). Frozen SQL (SQLite dialect).

Free text that may name a person (a reason, a requester's basis) lives in these tables, never in
the append-only audit log, so retention can still clear it."""

STATEMENTS = [
    'ALTER TABLE "user" ADD COLUMN "totp_enrolled_at" DATETIME',

    'CREATE TABLE IF NOT EXISTS "view_reason" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER, '
    '"object_type" VARCHAR(40) NOT NULL, "object_id" INTEGER NOT NULL, "case_id" INTEGER, '
    '"reason" TEXT NOT NULL, "at" DATETIME NOT NULL, "request_id" VARCHAR(40) NOT NULL, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("case_id") REFERENCES "case" ("id") ON DELETE CASCADE)',
    'CREATE INDEX IF NOT EXISTS "viewreason_case_id_at" ON "view_reason" ("case_id", "at")',
    'CREATE INDEX IF NOT EXISTS "viewreason_user_id" ON "view_reason" ("user_id")',
    'CREATE INDEX IF NOT EXISTS "viewreason_request_id" ON "view_reason" ("request_id")',

    'CREATE TABLE IF NOT EXISTS "retention_decision" ("id" INTEGER NOT NULL PRIMARY KEY, '
    '"case_id" INTEGER NOT NULL, "decision" VARCHAR(10) NOT NULL, "reason" TEXT NOT NULL, '
    '"review_date" DATE, "decided_by_id" INTEGER, "decided_at" DATETIME NOT NULL, '
    '"people_deleted" INTEGER NOT NULL, "documents_deleted" INTEGER NOT NULL, '
    'FOREIGN KEY ("case_id") REFERENCES "case" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("decided_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "retentiondecision_case_id_decided_at" ON "retention_decision" '
    '("case_id", "decided_at")',
    'CREATE INDEX IF NOT EXISTS "retentiondecision_decided_by_id" ON "retention_decision" ("decided_by_id")',
    'CREATE INDEX IF NOT EXISTS "case_status_closed_at" ON "case" ("status", "closed_at")',

    'CREATE TABLE IF NOT EXISTS "release_request" ("id" INTEGER NOT NULL PRIMARY KEY, "case_id" INTEGER NOT NULL, '
    '"requester_name" VARCHAR(200) NOT NULL, "requester_organisation" VARCHAR(200) NOT NULL, '
    '"basis" VARCHAR(20) NOT NULL, "detail" TEXT NOT NULL, "received_on" DATE NOT NULL, "due_on" DATE NOT NULL, '
    '"logged_by_id" INTEGER, "logged_at" DATETIME NOT NULL, "status" VARCHAR(20) NOT NULL, '
    '"decided_by_id" INTEGER, "decided_at" DATETIME, "decision_reason" TEXT NOT NULL, '
    '"released_at" DATETIME, "released_by_id" INTEGER, '
    'FOREIGN KEY ("case_id") REFERENCES "case" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("logged_by_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("decided_by_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("released_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "releaserequest_case_id" ON "release_request" ("case_id")',
    'CREATE INDEX IF NOT EXISTS "releaserequest_status_due_on" ON "release_request" ("status", "due_on")',
    'CREATE INDEX IF NOT EXISTS "releaserequest_logged_by_id" ON "release_request" ("logged_by_id")',
    'CREATE INDEX IF NOT EXISTS "releaserequest_decided_by_id" ON "release_request" ("decided_by_id")',
    'CREATE INDEX IF NOT EXISTS "releaserequest_released_by_id" ON "release_request" ("released_by_id")',
]


def up(database):
    """Add the second-factor enrolment time and the governance tables."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
