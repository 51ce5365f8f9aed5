"""Peewee models. The schema itself is created by the numbered scripts in migrations/."""
from datetime import timedelta

from flask_login import UserMixin
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from marac import clock
from marac.db import db

ROLES = {
    "coordinator": "Coordinator",
    "chair": "Chair",
    "representative": "Agency representative",
    "referrer": "Referrer",
    "observer": "Observer",
}
AGENCY_KINDS = {
    "core": "Core member",
    "flexible": "Flexible member",
    "referrer": "Non-member referrer",
}


def _now():
    # Looked up at call time, so tests that move marac.clock.now move defaults too.
    return clock.now()


class BaseModel(Model):
    class Meta:
        database = db


class Agency(BaseModel):
    name = CharField(max_length=200, unique=True)
    kind = CharField(max_length=20, default="core")
    isa_signed_on = DateField(null=True)
    isa_signatory = CharField(max_length=200, default="")
    dpo_contact = CharField(max_length=300, default="")
    withdrawn_on = DateField(null=True)
    is_police = BooleanField(default=False)
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "agency"

    @property
    def kind_label(self) -> str:
        return AGENCY_KINDS.get(self.kind, self.kind)

    @property
    def is_member(self) -> bool:
        """A member agency has signed the information sharing agreement and not withdrawn."""
        return self.kind in ("core", "flexible") and self.isa_signed_on is not None and self.withdrawn_on is None

    @classmethod
    def ordered(cls):
        return cls.select().order_by(cls.name)


class User(UserMixin, BaseModel):
    name = CharField(max_length=200)
    email = CharField(max_length=254, unique=True)
    password_hash = CharField(max_length=300, default="")
    role = CharField(max_length=20)
    agency = ForeignKeyField(Agency, backref="users", on_delete="RESTRICT")
    is_deputy = BooleanField(default=False)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=_now)
    password_changed_at = DateTimeField(null=True)
    # Set on deactivation, password change or admin reset: every session older than this is refused.
    sessions_valid_after = DateTimeField(null=True)
    totp_secret = CharField(max_length=64, default="")
    totp_last_step = IntegerField(default=0)

    class Meta:
        table_name = "user"

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"

    @classmethod
    def by_email(cls, email: str):
        return cls.get_or_none(cls.email == email.strip().lower())

    @classmethod
    def ordered(cls):
        return cls.select(cls, Agency).join(Agency).order_by(Agency.name, cls.name)


class UserSession(BaseModel):
    """Server-side record of a sign-in, so logout and deactivation end it for good."""

    token_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=_now)
    last_seen = DateTimeField(default=_now)
    ended_at = DateTimeField(null=True)
    ip = CharField(max_length=64, default="")

    class Meta:
        table_name = "user_session"


class LoginFailure(BaseModel):
    """One failed sign-in for a known account; counted in a sliding window for lockout."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    at = DateTimeField(default=_now, index=True)

    class Meta:
        table_name = "login_failure"

    @classmethod
    def recent(cls, user, window: timedelta):
        return cls.select().where((cls.user == user) & (cls.at > clock.now() - window))


class Lockout(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    locked_at = DateTimeField(default=_now)
    until = DateTimeField(index=True)

    class Meta:
        table_name = "lockout"

    @classmethod
    def active_for(cls, user):
        return cls.select().where((cls.user == user) & (cls.until > clock.now())).order_by(cls.until.desc()).first()


class SetupToken(BaseModel):
    """One-time token printed on the console to create the first coordinator."""

    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=_now)
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "setup_token"


class AuditEvent(BaseModel):
    """Append-only, hash-chained audit log (UPDATE and DELETE refused by triggers)."""

    at = DateTimeField(default=_now, index=True)
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


CORE_MODELS = [Agency, User, UserSession, LoginFailure, Lockout, SetupToken, AuditEvent]
