"""Speed of the inbox at 100,000 cases: the repeated-declines tables count declined referrals of
the last year; without an index on (status, decided_at) that is a scan of every referral
(measured by the benchmark: the inbox's p95 grew x3 from 1,000 to 100,000 cases)."""

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS "referral_status_decided_at" ON "referral" ("status", "decided_at")',
]


def up(database):
    """Create the index."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
