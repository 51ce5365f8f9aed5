"""Second-factor secrets encrypted at rest (issue 8): every clear TOTP secret stored before this
migration becomes a Fernet token made with the instance's key (instance/totp_key, see
marac/totp_key.py), so a copy of the database alone no longer makes anyone's codes.

create_app() loads (or creates) the key before migrating. A secret that is already a token is left
as it is. The column grows to hold a token (about 140 characters); SQLite does not enforce VARCHAR
lengths, other databases get the wider type."""

WIDEN_COLUMN = 'ALTER TABLE "user" ALTER COLUMN "totp_secret" TYPE VARCHAR(255)'


def up(database):
    """Encrypt every clear TOTP secret in place."""
    from peewee import SqliteDatabase, Table

    from marac import totp_key

    if not isinstance(database, SqliteDatabase):
        database.execute_sql(WIDEN_COLUMN)
    user = Table("user", ("id", "totp_secret")).bind(database)
    for row in list(user.select(user.id, user.totp_secret).where(user.totp_secret != "").dicts()):
        if not totp_key.is_encrypted(row["totp_secret"]):
            user.update(totp_secret=totp_key.encrypt(row["totp_secret"])).where(user.id == row["id"]).execute()
