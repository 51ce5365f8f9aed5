"""Running the meeting (issue 6): the meeting record, attendance (with observers and each attendee's
confidentiality agreement), the discussion of each listed case, what each agency shared, the review
of returning cases' actions, and amendments to signed-off minutes. Frozen SQL (SQLite dialect)."""

STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "meeting_record" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"started_at" DATETIME, "ended_at" DATETIME, "statement" TEXT NOT NULL, "current_listing_id" INTEGER, '
    '"notes" TEXT NOT NULL, "minutes_json" TEXT NOT NULL, "minutes_sent_by_id" INTEGER, "actions_sent_at" DATETIME, '
    '"actions_sent_by_id" INTEGER, "updated_at" DATETIME NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("current_listing_id") REFERENCES "listing" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("minutes_sent_by_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("actions_sent_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "meetingrecord_meeting_id" ON "meeting_record" ("meeting_id")',
    'CREATE INDEX IF NOT EXISTS "meetingrecord_current_listing_id" ON "meeting_record" ("current_listing_id")',
    'CREATE INDEX IF NOT EXISTS "meetingrecord_minutes_sent_by_id" ON "meeting_record" ("minutes_sent_by_id")',
    'CREATE INDEX IF NOT EXISTS "meetingrecord_actions_sent_by_id" ON "meeting_record" ("actions_sent_by_id")',

    'CREATE TABLE IF NOT EXISTS "attendance" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"agency_id" INTEGER, "user_id" INTEGER, "name" VARCHAR(200) NOT NULL, "organisation" VARCHAR(200) NOT NULL, '
    '"capacity" VARCHAR(20) NOT NULL, "status" VARCHAR(20) NOT NULL, "written_info" INTEGER NOT NULL, '
    '"observer_status" VARCHAR(20) NOT NULL, "decided_by_id" INTEGER, "decided_at" DATETIME, '
    '"decision_reason" TEXT NOT NULL, "time_in" DATETIME, "time_out" DATETIME, "last_listing_id" INTEGER, '
    '"agreed_at" DATETIME, "agreed_recorded_by_id" INTEGER, "recorded_by_id" INTEGER, '
    '"created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("agency_id") REFERENCES "agency" ("id") ON DELETE RESTRICT, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("decided_by_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("last_listing_id") REFERENCES "listing" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("agreed_recorded_by_id") REFERENCES "user" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("recorded_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "attendance_meeting_id" ON "attendance" ("meeting_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_agency_id" ON "attendance" ("agency_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_user_id" ON "attendance" ("user_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_decided_by_id" ON "attendance" ("decided_by_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_last_listing_id" ON "attendance" ("last_listing_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_agreed_recorded_by_id" ON "attendance" ("agreed_recorded_by_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_recorded_by_id" ON "attendance" ("recorded_by_id")',
    # One row per user account per meeting (rows without an account, NULL user, are not limited).
    'CREATE UNIQUE INDEX IF NOT EXISTS "attendance_meeting_id_user_id" ON "attendance" ("meeting_id", "user_id")',
    'CREATE INDEX IF NOT EXISTS "attendance_meeting_id_agency_id" ON "attendance" ("meeting_id", "agency_id")',
    # Steering-group reports count attendance per agency over a period.
    'CREATE INDEX IF NOT EXISTS "attendance_agency_id_status" ON "attendance" ("agency_id", "status")',

    'CREATE TABLE IF NOT EXISTS "case_discussion" ("id" INTEGER NOT NULL PRIMARY KEY, "listing_id" INTEGER NOT NULL, '
    '"risk_victim" TEXT NOT NULL, "risk_children" TEXT NOT NULL, "risk_others" TEXT NOT NULL, '
    '"risk_staff" TEXT NOT NULL, "victim_views" TEXT NOT NULL, "summary" TEXT NOT NULL, '
    '"decision" VARCHAR(20) NOT NULL, "decision_note" TEXT NOT NULL, "returns_for_review" INTEGER, '
    '"children" INTEGER NOT NULL, "care_needs" INTEGER NOT NULL, "hate_crime" INTEGER NOT NULL, '
    '"standard_dismissed" TEXT NOT NULL, "started_at" DATETIME, "ended_at" DATETIME, '
    '"updated_at" DATETIME NOT NULL, "updated_by_id" INTEGER, '
    'FOREIGN KEY ("listing_id") REFERENCES "listing" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("updated_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "casediscussion_listing_id" ON "case_discussion" ("listing_id")',
    'CREATE INDEX IF NOT EXISTS "casediscussion_updated_by_id" ON "case_discussion" ("updated_by_id")',

    'CREATE TABLE IF NOT EXISTS "shared_info" ("id" INTEGER NOT NULL PRIMARY KEY, "listing_id" INTEGER NOT NULL, '
    '"agency_id" INTEGER NOT NULL, "text" TEXT NOT NULL, "updated_at" DATETIME NOT NULL, "updated_by_id" INTEGER, '
    'FOREIGN KEY ("listing_id") REFERENCES "listing" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("agency_id") REFERENCES "agency" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("updated_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "sharedinfo_listing_id" ON "shared_info" ("listing_id")',
    'CREATE INDEX IF NOT EXISTS "sharedinfo_agency_id" ON "shared_info" ("agency_id")',
    'CREATE INDEX IF NOT EXISTS "sharedinfo_updated_by_id" ON "shared_info" ("updated_by_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "sharedinfo_listing_id_agency_id" ON "shared_info" ("listing_id", "agency_id")',

    'CREATE TABLE IF NOT EXISTS "action_review" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"action_id" INTEGER NOT NULL, "outcome" VARCHAR(20) NOT NULL, "reason" TEXT NOT NULL, "old_due_date" DATE, '
    '"new_due_date" DATE, "user_id" INTEGER, "at" DATETIME NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("action_id") REFERENCES "action" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "actionreview_meeting_id" ON "action_review" ("meeting_id")',
    'CREATE INDEX IF NOT EXISTS "actionreview_action_id" ON "action_review" ("action_id")',
    'CREATE INDEX IF NOT EXISTS "actionreview_user_id" ON "action_review" ("user_id")',
    'CREATE INDEX IF NOT EXISTS "actionreview_meeting_id_action_id" ON "action_review" ("meeting_id", "action_id")',

    'CREATE TABLE IF NOT EXISTS "minutes_amendment" ("id" INTEGER NOT NULL PRIMARY KEY, "meeting_id" INTEGER NOT NULL, '
    '"listing_id" INTEGER, "user_id" INTEGER, "at" DATETIME NOT NULL, "text" TEXT NOT NULL, '
    'FOREIGN KEY ("meeting_id") REFERENCES "meeting" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("listing_id") REFERENCES "listing" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE SET NULL)',
    'CREATE INDEX IF NOT EXISTS "minutesamendment_meeting_id" ON "minutes_amendment" ("meeting_id")',
    'CREATE INDEX IF NOT EXISTS "minutesamendment_listing_id" ON "minutes_amendment" ("listing_id")',
    'CREATE INDEX IF NOT EXISTS "minutesamendment_user_id" ON "minutes_amendment" ("user_id")',
]


def up(database):
    """Create the meeting-run tables and their indexes."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
