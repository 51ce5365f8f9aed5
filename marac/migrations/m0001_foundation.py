"""Agencies, users, sessions, login throttling, setup tokens, the audit log."""
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

AUDIT_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]


def up(database):
    """Create the foundation tables as they were at this migration."""

    class Base(Model):
        class Meta:
            pass

    class Agency(Base):
        name = CharField(max_length=200, unique=True)
        kind = CharField(max_length=20, default="core")
        isa_signed_on = DateField(null=True)
        isa_signatory = CharField(max_length=200, default="")
        dpo_contact = CharField(max_length=300, default="")
        withdrawn_on = DateField(null=True)
        is_police = BooleanField(default=False)
        created_at = DateTimeField()

        class Meta:
            table_name = "agency"

    class User(Base):
        name = CharField(max_length=200)
        email = CharField(max_length=254, unique=True)
        password_hash = CharField(max_length=300, default="")
        role = CharField(max_length=20)
        agency = ForeignKeyField(Agency, on_delete="RESTRICT")
        is_deputy = BooleanField(default=False)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        password_changed_at = DateTimeField(null=True)
        sessions_valid_after = DateTimeField(null=True)
        totp_secret = CharField(max_length=64, default="")
        totp_last_step = IntegerField(default=0)

        class Meta:
            table_name = "user"

    class UserSession(Base):
        token_hash = CharField(max_length=64, unique=True)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created_at = DateTimeField()
        last_seen = DateTimeField()
        ended_at = DateTimeField(null=True)
        ip = CharField(max_length=64, default="")

        class Meta:
            table_name = "user_session"

    class LoginFailure(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        at = DateTimeField(index=True)

        class Meta:
            table_name = "login_failure"

    class Lockout(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        locked_at = DateTimeField()
        until = DateTimeField(index=True)

        class Meta:
            table_name = "lockout"

    class SetupToken(Base):
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            table_name = "setup_token"

    class AuditEvent(Base):
        at = DateTimeField(index=True)
        user_id = IntegerField(null=True, index=True)
        user_name = CharField(max_length=200, default="")
        role = CharField(max_length=20, default="")
        agency_id = IntegerField(null=True)
        action = CharField(max_length=60, index=True)
        object_type = CharField(max_length=40, default="")
        object_id = CharField(max_length=40, default="")
        detail = TextField(default="")
        ip = CharField(max_length=64, default="")
        request_id = CharField(max_length=40, default="")
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64)

        class Meta:
            table_name = "audit_event"
            indexes = ((("object_type", "object_id"), False),)

    tables = [Agency, User, UserSession, LoginFailure, Lockout, SetupToken, AuditEvent]
    database.bind(tables, bind_refs=False, bind_backrefs=False)
    database.create_tables(tables)
    if isinstance(database, SqliteDatabase):
        for sql in AUDIT_TRIGGERS:
            database.execute_sql(sql)
