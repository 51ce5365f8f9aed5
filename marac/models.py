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


def _current_panel():
    # The panel of the request (or of a `with panels.using(...)` block); see marac/panels.py.
    from marac import panels

    return panels.current_panel_id()


class Panel(BaseModel):
    """One MARAC (issue 12): a borough's domestic abuse or Community MARAC. A shared county or
    pan-London service runs several in one database; a borough's own install has exactly one.
    Cases, people, referrals, meetings, settings and users each belong to one panel."""

    name = CharField(max_length=200, unique=True)
    panel_type = CharField(max_length=20, default="domestic_abuse")  # domestic_abuse or community
    preset = CharField(max_length=40, default="")
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "panel"


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
    totp_secret = CharField(max_length=255, default="")  # m0810: a Fernet token (marac/totp_key.py), never clear
    totp_last_step = IntegerField(default=0)
    totp_enrolled_at = DateTimeField(null=True)  # m0800: None until the first code from the app is right
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")  # m1100: home panel

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
    panel_id = IntegerField(null=True)  # m1100: the panel in view (None: the user's home panel)

    class Meta:
        table_name = "user_session"


class UserPanel(BaseModel):
    """A panel a user may open besides their home panel (m1100): a county steering group member, a
    coordinator covering two boroughs, a police MARAC officer serving several panels."""

    user = ForeignKeyField(User, on_delete="CASCADE", backref="panel_grants")
    panel = ForeignKeyField(Panel, on_delete="CASCADE", backref="+")
    granted_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    granted_at = DateTimeField(default=_now)

    class Meta:
        table_name = "user_panel"
        indexes = ((("user", "panel"), True),)


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
    panel_id = IntegerField(null=True)  # m1110: the panel in view when it happened (None: before m1110, or unknown)

    class Meta:
        table_name = "audit_event"
        indexes = ((("object_type", "object_id"), False), (("panel_id", "id"), False),  # m1110
                   (("panel_id", "object_type"), False))  # m1111


CORE_MODELS = [Agency, User, UserSession, LoginFailure, Lockout, SetupToken, AuditEvent]


# --- The domain: people, cases, referrals, meetings, listings, research, actions, notes ----------
# Personal data lives in Person and in Referral.data (the form as the referrer wrote it).
# Everything else names people by id, so retention deletion has only those places to clear.

PERSON_ROLES = {
    "victim": "Victim",
    "perpetrator": "Perpetrator",
    "child": "Child",
    "subject": "Subject",
    "witness": "Witness",
    "other": "Other",
}
CASE_STATUSES = {
    "open": "Referred",
    "listed": "Listed",
    "heard": "Heard",
    "review": "Review",
    "closed": "Closed",
}
REFERRAL_STATUSES = {
    "draft": "Draft",
    "submitted": "Submitted",
    "returned": "Returned for more information",
    "accepted": "Accepted",
    "declined": "Declined",
    "transferred": "Transferred to another MARAC",
}


class PanelSetting(BaseModel):
    """One panel setting (JSON value); defaults live in marac/settings.py."""

    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="CASCADE", backref="+")  # m1100
    key = CharField(max_length=80)
    value = TextField()
    updated_at = DateTimeField(default=_now)
    updated_by = IntegerField(null=True)

    class Meta:
        table_name = "panel_setting"
        indexes = ((("panel", "key"), True),)


class Person(BaseModel):
    given_name = CharField(max_length=120, default="")
    family_name = CharField(max_length=120, default="")
    # Forgiving comparison key: case, spacing, hyphens and accents removed (marac.people.name_key).
    name_key = CharField(max_length=240, default="", index=True)
    date_of_birth = DateField(null=True)
    address = TextField(default="")
    postcode = CharField(max_length=12, default="")
    postcode_key = CharField(max_length=12, default="")
    sex = CharField(max_length=30, default="")
    gender_identity = CharField(max_length=60, default="")
    sexual_orientation = CharField(max_length=60, default="")
    ethnicity = CharField(max_length=80, default="")
    disability = CharField(max_length=30, default="")
    created_at = DateTimeField(default=_now)
    deleted_at = DateTimeField(null=True)
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")  # m1100

    class Meta:
        table_name = "person"
        indexes = (
            (("name_key", "date_of_birth"), False),
            (("date_of_birth", "postcode_key"), False),
            (("postcode_key",), False),
            # m0501 also indexes lower(family_name) (an expression index: search by family name alone)
        )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def initials(self) -> str:
        return "".join(p[0].upper() for p in (self.given_name, self.family_name) if p)


class PersonAlias(BaseModel):
    person = ForeignKeyField(Person, backref="aliases", on_delete="CASCADE")
    given_name = CharField(max_length=120, default="")
    family_name = CharField(max_length=120, default="")
    name_key = CharField(max_length=240, index=True)

    class Meta:
        table_name = "person_alias"


class Case(BaseModel):
    number = CharField(max_length=20, unique=True)
    status = CharField(max_length=20, default="open", index=True)
    opened_at = DateTimeField(default=_now)
    closed_at = DateTimeField(null=True)
    close_reason = CharField(max_length=40, default="")
    lead_agency = ForeignKeyField(Agency, null=True, on_delete="SET NULL")
    closed_session = BooleanField(default=False)
    is_repeat = BooleanField(default=False)
    review_date = DateField(null=True, index=True)
    flag_until = DateField(null=True)
    updated_at = DateTimeField(default=_now)
    deleted_at = DateTimeField(null=True)
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")  # m1100

    class Meta:
        table_name = "case"
        indexes = ((("panel", "status"), False),)  # m1100

    @property
    def status_label(self) -> str:
        return CASE_STATUSES.get(self.status, self.status)


class CasePerson(BaseModel):
    case = ForeignKeyField(Case, backref="people", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="cases", on_delete="CASCADE")
    role = CharField(max_length=20)
    added_at = DateTimeField(default=_now)

    class Meta:
        table_name = "case_person"
        indexes = ((("case", "person", "role"), True), (("person", "role"), False))


class Referral(BaseModel):
    author = ForeignKeyField(User, backref="referrals", on_delete="RESTRICT")
    agency = ForeignKeyField(Agency, on_delete="RESTRICT")
    status = CharField(max_length=20, default="draft")
    case = ForeignKeyField(Case, null=True, backref="referrals", on_delete="SET NULL")
    created_at = DateTimeField(default=_now)
    updated_at = DateTimeField(default=_now)
    submitted_at = DateTimeField(null=True, index=True)
    # The form as typed, section by section (JSON). Personal data: cleared on retention deletion.
    data = TextField(default="{}")
    instrument_id = CharField(max_length=60, default="")
    instrument_version = IntegerField(default=0)
    # Frozen copy of the instrument at submission, so a later edit never changes this score.
    instrument_json = TextField(default="")
    answers = TextField(default="{}")
    score_total = IntegerField(null=True)
    band = CharField(max_length=40, default="")
    threshold_met = BooleanField(default=False)
    verdict = TextField(default="{}")
    criteria_met = CharField(max_length=200, default="")
    is_repeat = BooleanField(default=False)
    closed_session = BooleanField(default=False)
    professional_judgement = BooleanField(default=False)
    qa_status = CharField(max_length=20, default="")  # "", pending, accepted, declined
    qa_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    qa_at = DateTimeField(null=True)
    qa_reason = TextField(default="")
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    decision_reason = TextField(default="")
    decision_code = CharField(max_length=40, default="")  # m0200: coded reason (audit, decline counts)
    coordinator_comment = TextField(default="")
    source = CharField(max_length=20, default="form")  # form, transfer_in
    transfer_area = CharField(max_length=200, default="")
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")  # m1100

    class Meta:
        table_name = "referral"
        indexes = ((("author", "status"), False), (("status", "submitted_at"), False),
                   (("status", "decided_at"), False),  # m0201
                   (("panel", "status", "submitted_at"), False))  # m1100

    @property
    def status_label(self) -> str:
        return REFERRAL_STATUSES.get(self.status, self.status)


class ReferralPerson(BaseModel):
    """A person named in a submitted referral, linked to the Person record they were matched to."""

    referral = ForeignKeyField(Referral, backref="people", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="referral_links", on_delete="CASCADE")
    role = CharField(max_length=20)
    position = IntegerField(default=0)

    class Meta:
        table_name = "referral_person"
        indexes = ((("person", "role"), False),)


class PersonMatch(BaseModel):
    """A proposed 'same person' link, confirmed or rejected by the coordinator; a split keeps history."""

    person = ForeignKeyField(Person, backref="+", on_delete="CASCADE")
    candidate = ForeignKeyField(Person, backref="+", on_delete="CASCADE")
    referral = ForeignKeyField(Referral, null=True, on_delete="CASCADE", backref="matches")
    reason = CharField(max_length=60)
    status = CharField(max_length=20, default="proposed")  # proposed, confirmed, rejected, split
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "person_match"
        indexes = ((("status", "created_at"), False),)


class ReferralAmendment(BaseModel):
    referral = ForeignKeyField(Referral, backref="amendments", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    at = DateTimeField(default=_now)
    reason = TextField(default="")
    changes = TextField(default="{}")  # JSON: field -> [old, new]

    class Meta:
        table_name = "referral_amendment"


class Meeting(BaseModel):
    starts_at = DateTimeField(index=True)  # UK local time of the meeting start
    venue = CharField(max_length=200, default="")
    kind = CharField(max_length=20, default="regular")  # regular, emergency, closed
    status = CharField(max_length=20, default="planned")  # planned, cancelled, held
    referral_deadline = DateTimeField(null=True)
    circulation_due = DateTimeField(null=True)
    minutes_due = DateField(null=True)
    circulated_at = DateTimeField(null=True)
    agenda_version = IntegerField(default=0)
    board_changed_at = DateTimeField(null=True)
    board_changed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    minutes_signed_off_at = DateTimeField(null=True)
    minutes_signed_off_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    minutes_sent_at = DateTimeField(null=True)
    created_at = DateTimeField(default=_now)
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")  # m1100

    class Meta:
        table_name = "meeting"
        indexes = ((("status", "starts_at"), False), (("panel", "starts_at"), False))  # m0300, m1100


class Listing(BaseModel):
    """A case on a meeting's agenda."""

    meeting = ForeignKeyField(Meeting, backref="listings", on_delete="CASCADE")
    case = ForeignKeyField(Case, backref="listings", on_delete="CASCADE")
    referral = ForeignKeyField(Referral, null=True, on_delete="SET NULL", backref="listings")
    kind = CharField(max_length=20, default="full")  # full, information, closed
    position = IntegerField(default=0)
    emergency = BooleanField(default=False)
    emergency_reason = TextField(default="")
    is_repeat = BooleanField(default=False)
    is_review = BooleanField(default=False)
    minutes_estimate = IntegerField(default=15)
    listed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "listing"
        indexes = ((("meeting", "case"), True), (("case", "meeting"), False),
                   (("meeting", "position"), False))  # m0300


class ListingInvite(BaseModel):
    """An agency invited to a closed-session listing."""

    listing = ForeignKeyField(Listing, backref="invites", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "listing_invite"
        indexes = ((("listing", "agency"), True), (("agency",), False))


class Research(BaseModel):
    """What one agency holds on a listed case, recorded before the meeting."""

    listing = ForeignKeyField(Listing, backref="research", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, on_delete="CASCADE", backref="+")
    user = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    victim_info = TextField(default="")
    perpetrator_info = TextField(default="")
    children_info = TextField(default="")
    nothing_known = BooleanField(default=False)
    written_submission = BooleanField(default=False)
    created_at = DateTimeField(default=_now)
    updated_at = DateTimeField(default=_now)

    class Meta:
        table_name = "research"
        indexes = ((("listing", "agency"), True),)


class Action(BaseModel):
    case = ForeignKeyField(Case, backref="actions", on_delete="CASCADE")
    listing = ForeignKeyField(Listing, null=True, on_delete="SET NULL", backref="actions")
    owner_agency = ForeignKeyField(Agency, on_delete="RESTRICT", backref="actions")
    description = TextField()
    due_date = DateField()
    priority = CharField(max_length=10, default="normal")  # normal, high
    status = CharField(max_length=20, default="open")  # open, done, cannot
    standard_key = CharField(max_length=40, default="")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=_now)
    completed_at = DateField(null=True)
    completed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    completion_note = TextField(default="")
    cannot_reason = CharField(max_length=30, default="")
    escalated_at = DateTimeField(null=True)
    last_chased_at = DateTimeField(null=True)
    # m1120: always the case's panel (save() below), so an agency's tabs count on the action index alone.
    panel = ForeignKeyField(Panel, default=_current_panel, on_delete="RESTRICT", backref="+")

    class Meta:
        table_name = "action"
        indexes = (
            (("owner_agency", "panel", "status", "due_date"), False),  # m1120
            (("owner_agency", "panel", "completed_at"), False),  # m1120
            (("owner_agency", "status", "due_date"), False),
            (("status", "due_date"), False),
            (("case", "created_at"), False),
            (("owner_agency", "completed_at"), False),
            (("case", "owner_agency"), False),  # m0501
            (("due_date",), False),  # m0900: reports count a period's actions by due date
        )

    def save(self, *args, **kwargs):
        """A new action takes its case's panel, whatever panel is in view."""
        if self._pk is None and self.case_id is not None:
            case = self.__rel__.get("case")
            self.panel_id = (case.panel_id if case is not None and case.id == self.case_id
                             else Case.select(Case.panel).where(Case.id == self.case_id).scalar())
        return super().save(*args, **kwargs)

    @classmethod
    def open_(cls):
        return cls.select().where(cls.status == "open")

    @classmethod
    def overdue(cls, today):
        return cls.select().where((cls.status == "open") & (cls.due_date < today))


class ActionUpdate(BaseModel):
    action = ForeignKeyField(Action, backref="updates", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=_now)
    kind = CharField(max_length=20)  # created, chased, escalated, completed, cannot, carried, reopened
    text = TextField(default="")
    # For "carried": the meeting whose review list the overdue action was carried onto.
    meeting = ForeignKeyField(Meeting, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "action_update"
        indexes = ((("action", "at"), False),)


class Note(BaseModel):
    case = ForeignKeyField(Case, backref="notes", on_delete="CASCADE")
    author = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    agency = ForeignKeyField(Agency, on_delete="RESTRICT", backref="+")
    category = CharField(max_length=20, default="other")
    text = TextField()
    restricted = BooleanField(default=False)
    corrects = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="corrections")
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "note"
        indexes = ((("case", "created_at"), False),)


class Document(BaseModel):
    case = ForeignKeyField(Case, backref="documents", on_delete="CASCADE")
    uploaded_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    agency = ForeignKeyField(Agency, on_delete="RESTRICT", backref="+")
    title = CharField(max_length=200, default="")
    filename = CharField(max_length=255)
    content_type = CharField(max_length=100)
    size = IntegerField()
    stored_name = CharField(max_length=80, unique=True)
    sha256 = CharField(max_length=64)
    restricted = BooleanField(default=False)
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "document"
        indexes = ((("case", "created_at"), False),)


class CaseEvent(BaseModel):
    """Something that happened to the case itself (closed, reopened, transferred out), for the timeline."""

    case = ForeignKeyField(Case, backref="events", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    agency = ForeignKeyField(Agency, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=_now)
    kind = CharField(max_length=20)  # closed, reopened, transfer_out
    reason = CharField(max_length=40, default="")
    text = TextField(default="")

    class Meta:
        table_name = "case_event"
        indexes = ((("case", "at"), False),)


class MailNotice(BaseModel):
    """An e-mail notice sent about an object, so each reminder goes once (or once per interval)."""

    kind = CharField(max_length=30)  # action_new, action_due, action_overdue, action_chased, ...
    object_type = CharField(max_length=40)
    object_id = IntegerField()
    sent_at = DateTimeField(default=_now)
    recipients = IntegerField(default=0)

    class Meta:
        table_name = "mail_notice"
        indexes = ((("object_type", "object_id", "kind"), False),)


DOMAIN_MODELS = [
    PanelSetting, Person, PersonAlias, Case, CasePerson, Referral, ReferralPerson, PersonMatch,
    ReferralAmendment, Meeting, Listing, ListingInvite, Research, Action, ActionUpdate, Note, Document,
]
DOMAIN_MODELS += [CaseEvent, MailNotice]  # issue 7: the case record


class BoroughInstrument(BaseModel):
    """One saved version of a borough's own risk instrument (issue 10); built-ins live in marac.risk."""

    instrument_id = CharField(max_length=60)
    version = IntegerField()
    json = TextField()  # Instrument.to_dict(), as saved: never edited, a change is a new version
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=_now)
    active = BooleanField(default=True)

    class Meta:
        table_name = "borough_instrument"
        indexes = ((("instrument_id", "version"), True),)


DOMAIN_MODELS += [BoroughInstrument]  # issue 10: the instrument editor


# --- the agenda board (issue 5, migration m0300) -------------------------------------------------


class MoveRequest(BaseModel):
    """An agency's request to have a listed case heard at another point of the meeting."""

    meeting = ForeignKeyField(Meeting, backref="move_requests", on_delete="CASCADE")
    listing = ForeignKeyField(Listing, backref="move_requests", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, on_delete="CASCADE", backref="+")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    note = CharField(max_length=300, default="")
    created_at = DateTimeField(default=_now)

    class Meta:
        table_name = "move_request"
        indexes = ((("meeting", "agency"), False),)


class AgendaVersion(BaseModel):
    """An agenda as circulated: frozen lines (JSON), so each agency's copy can be shown again exactly."""

    meeting = ForeignKeyField(Meeting, backref="agenda_versions", on_delete="CASCADE")
    version = IntegerField()
    circulated_at = DateTimeField(default=_now)
    circulated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    late = BooleanField(default=False)
    content = TextField()

    class Meta:
        table_name = "agenda_version"
        indexes = ((("meeting", "version"), True),)


DOMAIN_MODELS += [MoveRequest, AgendaVersion]  # issue 5: the agenda board


# --- running the meeting (issue 6, migration m0400) ----------------------------------------------

ATTENDANCE_CAPACITIES = {
    "representative": "Named representative",
    "deputy": "Deputy",
    "other": "Someone else for the agency",
    "chair": "Chair",
    "coordinator": "Coordinator",
    "observer": "Observer",
}


class MeetingRecord(BaseModel):
    """The running record of one meeting: start and end, the confidentiality statement read, the
    case being heard, the minutes frozen at sign-off (JSON), and when the action summary went out."""

    meeting = ForeignKeyField(Meeting, unique=True, backref="+", on_delete="CASCADE")
    started_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    statement = TextField(default="")
    current_listing = ForeignKeyField(Listing, null=True, on_delete="SET NULL", backref="+")
    notes = TextField(default="")
    minutes_json = TextField(default="")
    minutes_sent_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    actions_sent_at = DateTimeField(null=True)
    actions_sent_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_at = DateTimeField(default=_now)

    class Meta:
        table_name = "meeting_record"


class Attendance(BaseModel):
    """One line of a meeting's attendance sheet: an agency's attendee, its apologies, or an observer."""

    meeting = ForeignKeyField(Meeting, backref="attendance", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, null=True, on_delete="RESTRICT", backref="+")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    name = CharField(max_length=200, default="")
    organisation = CharField(max_length=200, default="")  # observers from outside the member agencies
    capacity = CharField(max_length=20)  # ATTENDANCE_CAPACITIES
    status = CharField(max_length=20, default="present")  # present, apologies, expected (observer)
    written_info = BooleanField(default=False)
    observer_status = CharField(max_length=20, default="")  # "", requested, approved, refused
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    decision_reason = TextField(default="")
    time_in = DateTimeField(null=True)
    time_out = DateTimeField(null=True)
    last_listing = ForeignKeyField(Listing, null=True, on_delete="SET NULL", backref="+")
    agreed_at = DateTimeField(null=True)  # confidentiality statement agreed at this meeting
    agreed_recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=_now)
    updated_at = DateTimeField(default=_now)

    class Meta:
        table_name = "attendance"
        indexes = ((("meeting", "user"), True), (("meeting", "agency"), False), (("agency", "status"), False))

    @property
    def capacity_label(self) -> str:
        return ATTENDANCE_CAPACITIES.get(self.capacity, self.capacity)


class CaseDiscussion(BaseModel):
    """What the meeting recorded about one listed case."""

    listing = ForeignKeyField(Listing, unique=True, backref="+", on_delete="CASCADE")
    risk_victim = TextField(default="")
    risk_children = TextField(default="")
    risk_others = TextField(default="")
    risk_staff = TextField(default="")
    victim_views = TextField(default="")
    summary = TextField(default="")
    decision = CharField(max_length=20, default="")  # actions, information, adjourn, refer
    decision_note = TextField(default="")
    returns_for_review = BooleanField(null=True)
    # Facts identified at the meeting that bring standard actions (MASH, adult safeguarding, hate crime).
    children = BooleanField(default=False)
    care_needs = BooleanField(default=False)
    hate_crime = BooleanField(default=False)
    standard_dismissed = TextField(default="[]")  # JSON list of standard-action keys removed
    started_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=_now)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "case_discussion"


class SharedInfo(BaseModel):
    """What one agency shared about a listed case at the meeting."""

    listing = ForeignKeyField(Listing, backref="+", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, on_delete="CASCADE", backref="+")
    text = TextField(default="")
    updated_at = DateTimeField(default=_now)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "shared_info"
        indexes = ((("listing", "agency"), True),)


class ActionReview(BaseModel):
    """A returning case's outstanding action reviewed at a meeting: done, carried forward or escalated."""

    meeting = ForeignKeyField(Meeting, backref="+", on_delete="CASCADE")
    action = ForeignKeyField(Action, backref="reviews", on_delete="CASCADE")
    outcome = CharField(max_length=20)  # done, carried, escalated
    reason = TextField(default="")
    old_due_date = DateField(null=True)
    new_due_date = DateField(null=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=_now)

    class Meta:
        table_name = "action_review"
        indexes = ((("meeting", "action"), False),)


class MinutesAmendment(BaseModel):
    """A correction to signed-off minutes (the minutes themselves stay as signed)."""

    meeting = ForeignKeyField(Meeting, backref="+", on_delete="CASCADE")
    listing = ForeignKeyField(Listing, null=True, on_delete="SET NULL", backref="+")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    at = DateTimeField(default=_now)
    text = TextField()

    class Meta:
        table_name = "minutes_amendment"


DOMAIN_MODELS += [MeetingRecord, Attendance, CaseDiscussion, SharedInfo, ActionReview, MinutesAmendment]  # issue 6


# --- information governance (issue 8, migration m0800) -------------------------------------------

RELEASE_BASES = {
    "dhr": "Domestic Homicide Review",
    "sar": "Safeguarding Adult Review",
    "court": "Court order",
}
RELEASE_STATUSES = {
    "requested": "Waiting for the chair's decision",
    "approved": "Approved, not yet released",
    "refused": "Refused",
    "released": "Released",
}


class ViewReason(BaseModel):
    """Why someone opened a closed-session case or a restricted record, kept with that view (same
    request id as its audit row). Free text: kept here, not in the append-only audit log."""

    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    object_type = CharField(max_length=40)
    object_id = IntegerField()
    case = ForeignKeyField(Case, null=True, on_delete="CASCADE", backref="+")
    reason = TextField()
    at = DateTimeField(default=_now)
    request_id = CharField(max_length=40, default="", index=True)

    class Meta:
        table_name = "view_reason"
        indexes = ((("case", "at"), False),)


class RetentionDecision(BaseModel):
    """A retention review of a closed case: keep (with a reason and the next review date) or delete."""

    case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
    decision = CharField(max_length=10)  # keep, delete
    reason = TextField()
    review_date = DateField(null=True)
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(default=_now)
    people_deleted = IntegerField(default=0)
    documents_deleted = IntegerField(default=0)

    class Meta:
        table_name = "retention_decision"
        indexes = ((("case", "decided_at"), False),)


class ReleaseRequest(BaseModel):
    """A request to release a case's minutes and action plans (DHR, SAR, court order), decided by the chair."""

    case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
    requester_name = CharField(max_length=200)
    requester_organisation = CharField(max_length=200, default="")
    basis = CharField(max_length=20)  # RELEASE_BASES
    detail = TextField(default="")
    received_on = DateField()
    due_on = DateField()
    logged_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    logged_at = DateTimeField(default=_now)
    status = CharField(max_length=20, default="requested")  # RELEASE_STATUSES
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    decision_reason = TextField(default="")
    released_at = DateTimeField(null=True)
    released_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "release_request"
        indexes = ((("status", "due_on"), False),)

    @property
    def basis_label(self) -> str:
        return RELEASE_BASES.get(self.basis, self.basis)

    @property
    def status_label(self) -> str:
        return RELEASE_STATUSES.get(self.status, self.status)


DOMAIN_MODELS += [ViewReason, RetentionDecision, ReleaseRequest]  # issue 8
