"""Several panels in one database (issue 12): a panel table, the default panel (this install's own,
named from its settings), and a panel for every user, person, case, referral, meeting and setting.
Existing rows all belong to the default panel (id 1). Frozen SQL (SQLite dialect), written from
models.py at this migration; PostgreSQL databases made before it get the same through _postgres().

The added columns REFERENCE panel with DEFAULT 1, which SQLite accepts only with foreign keys off:
FOREIGN_KEYS_OFF asks marac.db.migrate to run this one with them off, then checks them.
"""
import json

FOREIGN_KEYS_OFF = True

PANEL_TABLES = ("user", "person", "case", "referral", "meeting")

CREATE = [
    'CREATE TABLE IF NOT EXISTS "panel" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, "panel_type" VARCHAR(20) NOT NULL, "preset" VARCHAR(40) NOT NULL, "created_at" DATETIME NOT NULL)',  # noqa: E501
    'CREATE UNIQUE INDEX IF NOT EXISTS "panel_name" ON "panel" ("name")',
]
COLUMNS = [
    f'ALTER TABLE "{table}" ADD COLUMN "panel_id" INTEGER NOT NULL DEFAULT 1 REFERENCES "panel" ("id") '
    'ON DELETE RESTRICT' for table in PANEL_TABLES
] + ['ALTER TABLE "user_session" ADD COLUMN "panel_id" INTEGER']
INDEXES = [
    'CREATE INDEX IF NOT EXISTS "user_panel_id" ON "user" ("panel_id")',
    'CREATE INDEX IF NOT EXISTS "person_panel_id" ON "person" ("panel_id")',
    'CREATE INDEX IF NOT EXISTS "case_panel_id_status" ON "case" ("panel_id", "status")',
    'CREATE INDEX IF NOT EXISTS "referral_panel_id_status_submitted_at" ON "referral" ("panel_id", "status", "submitted_at")',  # noqa: E501
    'CREATE INDEX IF NOT EXISTS "meeting_panel_id_starts_at" ON "meeting" ("panel_id", "starts_at")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "userpanel_user_id_panel_id" ON "user_panel" ("user_id", "panel_id")',
    'CREATE INDEX IF NOT EXISTS "userpanel_panel_id" ON "user_panel" ("panel_id")',
    'CREATE INDEX IF NOT EXISTS "userpanel_granted_by_id" ON "user_panel" ("granted_by_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "panelsetting_panel_id_key" ON "panel_setting" ("panel_id", "key")',
]
# PostgreSQL keeps no default (its tables come from the models, which have none).
PG_DROP_DEFAULTS = [f'ALTER TABLE "{table}" ALTER COLUMN "panel_id" DROP DEFAULT' for table in PANEL_TABLES]
USER_PANEL = 'CREATE TABLE IF NOT EXISTS "user_panel" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "panel_id" INTEGER NOT NULL, "granted_by_id" INTEGER, "granted_at" DATETIME NOT NULL, FOREIGN KEY ("user_id") REFERENCES "user" ("id") ON DELETE CASCADE, FOREIGN KEY ("panel_id") REFERENCES "panel" ("id") ON DELETE CASCADE, FOREIGN KEY ("granted_by_id") REFERENCES "user" ("id") ON DELETE SET NULL)'  # noqa: E501
# panel_setting's key was its primary key; now (panel_id, key) is unique, so the table is rebuilt.
SETTINGS = [
    'CREATE TABLE "panel_setting_m1100" ("id" INTEGER NOT NULL PRIMARY KEY, "panel_id" INTEGER NOT NULL, "key" VARCHAR(80) NOT NULL, "value" TEXT NOT NULL, "updated_at" DATETIME NOT NULL, "updated_by" INTEGER, FOREIGN KEY ("panel_id") REFERENCES "panel" ("id") ON DELETE CASCADE)',  # noqa: E501
    'INSERT INTO "panel_setting_m1100" ("panel_id", "key", "value", "updated_at", "updated_by") SELECT 1, "key", "value", "updated_at", "updated_by" FROM "panel_setting" ORDER BY "key"',  # noqa: E501
    'DROP TABLE "panel_setting"',
    'ALTER TABLE "panel_setting_m1100" RENAME TO "panel_setting"',
]


def default_panel(database) -> tuple:
    """(name, panel_type, preset) of this install's own panel, from its settings where set."""
    values = {"panel_name": "Anytown MARAC", "panel_type": "domestic_abuse", "preset": ""}
    try:
        rows = database.execute_sql('SELECT "key", "value" FROM "panel_setting" WHERE "key" IN '
                                    "('panel_name', 'panel_type', 'preset')").fetchall()
    except Exception:  # noqa: BLE001 (a database without settings yet)
        rows = []
    for key, value in rows:
        try:
            values[key] = str(json.loads(value))
        except ValueError:
            pass
    return values["panel_name"] or "Anytown MARAC", values["panel_type"], values["preset"]


def seed(database) -> None:
    """The default panel (id 1), unless there is one: also run on a new PostgreSQL database."""
    if database.execute_sql('SELECT COUNT(*) FROM "panel"').fetchone()[0]:
        return
    from peewee import Table

    from marac import clock

    name, panel_type, preset = default_panel(database)
    panel = Table("panel", ("id", "name", "panel_type", "preset", "created_at")).bind(database)
    panel.insert(id=1, name=name, panel_type=panel_type, preset=preset, created_at=clock.now()).execute()
    from marac.db import is_sqlite_database

    if not is_sqlite_database(database):  # an id given explicitly does not move PostgreSQL's sequence
        database.execute_sql("SELECT setval(pg_get_serial_sequence('panel', 'id'), 1)")


def up(database):
    """Create the panel tables, the default panel, and every panel_id column."""
    from marac.db import is_sqlite_database

    if not is_sqlite_database(database):
        return _postgres(database)
    for sql in CREATE:
        database.execute_sql(sql)
    seed(database)
    for sql in COLUMNS + [USER_PANEL] + SETTINGS + INDEXES:
        database.execute_sql(sql)


def _postgres(database):
    """The same on a PostgreSQL database built before this migration (its tables came from the models)."""
    database.execute_sql('CREATE TABLE IF NOT EXISTS "panel" ("id" SERIAL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, '
                         '"panel_type" VARCHAR(20) NOT NULL, "preset" VARCHAR(40) NOT NULL, '
                         '"created_at" TIMESTAMP NOT NULL)')
    database.execute_sql(CREATE[1])
    seed(database)
    for sql in COLUMNS + PG_DROP_DEFAULTS:
        database.execute_sql(sql)
    database.execute_sql(USER_PANEL.replace('"id" INTEGER NOT NULL PRIMARY KEY', '"id" SERIAL PRIMARY KEY')
                         .replace("DATETIME", "TIMESTAMP"))
    database.execute_sql('ALTER TABLE "panel_setting" DROP CONSTRAINT "panel_setting_pkey"')
    database.execute_sql('ALTER TABLE "panel_setting" ADD COLUMN "id" SERIAL PRIMARY KEY')
    database.execute_sql('ALTER TABLE "panel_setting" ADD COLUMN "panel_id" INTEGER NOT NULL DEFAULT 1 '
                         'REFERENCES "panel" ("id") ON DELETE CASCADE')
    database.execute_sql('ALTER TABLE "panel_setting" ALTER COLUMN "panel_id" DROP DEFAULT')
    for sql in INDEXES:
        database.execute_sql(sql)
