"""Borough risk instruments: every saved version of a checklist a coordinator created, edited
or imported. Frozen SQL (SQLite dialect), written from models.py at this migration."""

STATEMENTS = [
    'CREATE TABLE IF NOT EXISTS "borough_instrument" ("id" INTEGER NOT NULL PRIMARY KEY, "instrument_id" VARCHAR(60) NOT NULL, "version" INTEGER NOT NULL, "json" TEXT NOT NULL, "created_by_id" INTEGER, "created_at" DATETIME NOT NULL, "active" INTEGER NOT NULL, FOREIGN KEY ("created_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)',  # noqa: E501
    'CREATE UNIQUE INDEX IF NOT EXISTS "boroughinstrument_instrument_id_version" ON "borough_instrument" ("instrument_id", "version")',  # noqa: E501
    'CREATE INDEX IF NOT EXISTS "boroughinstrument_created_by_id" ON "borough_instrument" ("created_by_id")',
]


def up(database):
    """Create the borough_instrument table."""
    for sql in STATEMENTS:
        database.execute_sql(sql)
