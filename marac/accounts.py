"""Accounts and agencies: sign-in with lockout, first-run setup, admin changes, each audited."""
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app

from marac import audit, clock, panels, passwords, sessions
from marac.db import db
from marac.models import Agency, Lockout, LoginFailure, SetupToken, User, UserPanel

AGENCY_FIELDS = ("name", "kind", "isa_signed_on", "isa_signatory", "dpo_contact", "withdrawn_on", "is_police")
USER_FIELDS = ("name", "email", "role", "agency", "is_deputy", "active")


@dataclass
class LoginResult:
    user: User | None = None
    locked: bool = False


def authenticate(email: str, password: str) -> LoginResult:
    """Check a sign-in. Failures are counted; too many in the window lock the account."""
    cfg = current_app.config
    user = User.by_email(email)
    if user is None:
        # Same work as a real check, so timing does not reveal which e-mails exist.
        passwords.verify_password(_DUMMY_HASH(), password)
        with db.atomic():
            audit.record("auth.login_failed", detail={"reason": "unknown account"})
        return LoginResult()
    if Lockout.active_for(user):
        with db.atomic():
            audit.record("auth.login_refused_locked", user, user=None)
        return LoginResult(locked=True)
    if user.active and passwords.verify_password(user.password_hash, password):
        with db.atomic():
            if passwords.needs_rehash(user.password_hash):
                User.update(password_hash=passwords.hash_password(password)).where(User.id == user.id).execute()
            # With a second factor the count is cleared only by a right code (marac.second_factor):
            # otherwise someone who knows the password could reset it between guesses at codes.
            from marac import second_factor

            if not second_factor.required():
                LoginFailure.delete().where(LoginFailure.user == user).execute()
        return LoginResult(user=user)
    with db.atomic():
        LoginFailure.create(user=user)
        audit.record("auth.login_failed", user, detail={"reason": "inactive" if not user.active else "password"})
        if LoginFailure.recent(user, cfg["FAILED_LOGIN_WINDOW"]).count() >= cfg["MAX_FAILED_LOGINS"]:
            Lockout.create(user=user, until=clock.now() + cfg["LOCKOUT_PERIOD"])
            LoginFailure.delete().where(LoginFailure.user == user).execute()
            audit.record("auth.lockout", user, detail={"minutes": int(cfg["LOCKOUT_PERIOD"].total_seconds() // 60)})
            return LoginResult(locked=True)
    return LoginResult()


_dummy = []


def _DUMMY_HASH() -> str:
    if not _dummy:
        _dummy.append(passwords.hash_password(secrets.token_hex(16)))
    return _dummy[0]


def sign_in(user: User) -> None:
    """Start the session and record the sign-in; with a second factor, wait for the code first
    (marac.second_factor: no session exists until the code is right)."""
    from marac import second_factor

    if second_factor.required():
        second_factor.begin(user)
        return
    sessions.start(user)
    with db.atomic():
        audit.record("auth.login", user, user=user)


def sign_out(user) -> None:
    with db.atomic():
        audit.record("auth.logout", user, user=user)
    sessions.finish()


def change_password(user: User, new_password: str) -> None:
    """Set a new password; other sessions end, this one is replaced by a fresh one."""
    with db.atomic():
        User.update(password_hash=passwords.hash_password(new_password), password_changed_at=clock.now()).where(
            User.id == user.id
        ).execute()
        audit.record("user.password_changed", user)
    sessions.end_all_for(user)
    sessions.start(User.get_by_id(user.id))


def context_words(name="", email="", agency_name="") -> list[str]:
    """Words a password must not contain."""
    return [name, email.split("@")[0] if email else "", agency_name, current_app.config["BOROUGH_NAME"], "marac"]


# --- first-run setup -------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def needs_setup() -> bool:
    """True until a coordinator exists."""
    return not User.select().where(User.role == "coordinator").exists()


def new_setup_token() -> str:
    """A fresh one-time setup token (any earlier unused one stops working)."""
    token = secrets.token_urlsafe(24)
    with db.atomic():
        SetupToken.delete().where(SetupToken.used_at.is_null()).execute()
        SetupToken.create(token_hash=_digest(token))
    return token


def setup_token_valid(token: str) -> bool:
    return needs_setup() and SetupToken.select().where(
        (SetupToken.token_hash == _digest(token)) & SetupToken.used_at.is_null()
    ).exists()


def complete_setup(token: str, *, name: str, email: str, password: str, agency_name: str) -> User | None:
    """Create the first coordinator and their agency; the token is used up."""
    with db.atomic():
        if not setup_token_valid(token):
            return None
        SetupToken.update(used_at=clock.now()).where(SetupToken.token_hash == _digest(token)).execute()
        agency = Agency.get_or_none(Agency.name == agency_name) or Agency.create(name=agency_name, kind="core")
        user = User.create(name=name, email=email.strip().lower(), password_hash=passwords.hash_password(password),
                           role="coordinator", agency=agency, password_changed_at=clock.now())
        audit.record("setup.first_coordinator", user, user=user)
    return user


# --- admin changes ---------------------------------------------------------------------------


def _changes(obj, data: dict, fields) -> dict:
    """Field names whose value differs (values themselves are not logged: they may be personal)."""
    changed = {}
    for field in fields:
        if field not in data:
            continue
        old = getattr(obj, field + "_id", None) if field == "agency" else getattr(obj, field)
        new = data[field].id if field == "agency" and data[field] is not None else data[field]
        if old != new:
            changed[field] = True
    return changed


def save_agency(data: dict, agency: Agency | None = None) -> Agency:
    """Create or update an agency; audited with the names of the fields changed."""
    data = {k: v for k, v in data.items() if k in AGENCY_FIELDS}
    with db.atomic():
        if agency is None:
            agency = Agency.create(**data)
            audit.record("agency.create", agency)
        else:
            changed = _changes(agency, data, AGENCY_FIELDS)
            for key, value in data.items():
                setattr(agency, key, value)
            agency.save()
            audit.record("agency.update", agency, detail={"fields": sorted(changed)})
    return agency


def save_user(data: dict, user: User | None = None, password: str | None = None) -> User:
    """Create or update a user; deactivation ends their sessions at once."""
    data = {k: v for k, v in data.items() if k in USER_FIELDS}
    if "email" in data:
        data["email"] = data["email"].strip().lower()
    with db.atomic():
        if user is None:
            user = User.create(**data, panel=panels.current_panel_id(),
                               password_hash=passwords.hash_password(password) if password else "",
                               password_changed_at=clock.now() if password else None)
            audit.record("user.create", user, detail={"role": user.role, "agency_id": user.agency_id,
                                                      "panel_id": user.panel_id})
        else:
            changed = _changes(user, data, USER_FIELDS)
            was_active = user.active
            for key, value in data.items():
                setattr(user, key, value)
            if password:
                user.password_hash = passwords.hash_password(password)
                user.password_changed_at = clock.now()
                changed["password"] = True
            user.save()
            audit.record("user.update", user, detail={"fields": sorted(changed)})
            if (was_active and not user.active) or password or "role" in changed or "agency" in changed:
                sessions.end_all_for(user)
                if was_active and not user.active:
                    audit.record("user.deactivate", user)
    return user


# --- users of a panel (issue 12) ---------------------------------------------------------------


def panel_users(panel_id: int | None = None):
    """The users who work in a panel (the panel in view by default): those whose home panel it is, and
    those granted it (UserPanel). A coordinator manages only these: another panel's users are not theirs."""
    panel_id = panel_id or panels.current_panel_id()
    granted = UserPanel.select(UserPanel.user).where(UserPanel.panel == panel_id)
    return User.ordered().where((User.panel == panel_id) | User.id.in_(granted))


def get_panel_user_or_404(user_id: int) -> User:
    """A user whose home panel is the panel in view, for the coordinator's user pages: another panel's
    user is that panel's to change (404, audited, whether or not they were granted access here)."""
    from marac.access import deny

    user = User.get_or_none((User.id == user_id) & (User.panel == panels.current_panel_id()))
    if user is None:
        deny(404, object_type="user", object_id=user_id)
    return user


class PanelGrantRefused(ValueError):
    """A grant that cannot be made (the message is shown to the coordinator)."""


def grant_panel(user: User, panel_id: int, by: User | None) -> UserPanel:
    """Let a user of another panel work in this one too; audited. Nobody can grant a panel they cannot
    use themselves (a coordinator grants only the panel in view, which they are using). by=None is the
    server's operator at the command line (`app.py panel grant`): how a new panel gets its first coordinator."""
    if by is not None and not panels.may_use(by, panel_id):
        raise PanelGrantRefused("You cannot give access to a panel you do not work in")
    if user.panel_id == panel_id:
        raise PanelGrantRefused("This user already works in this panel: it is their own")
    with db.atomic():
        if UserPanel.select().where((UserPanel.user == user.id) & (UserPanel.panel == panel_id)).exists():
            raise PanelGrantRefused("This user already has access to this panel")
        grant = UserPanel.create(user=user.id, panel=panel_id, granted_by=getattr(by, "id", None),
                                 granted_at=clock.now())
        audit.record("user.panel_grant", user, user=by, detail={"panel_id": panel_id})
    return grant


def revoke_panel(user: User, panel_id: int, by: User) -> bool:
    """Take back a user's access to a panel that is not their own; audited. False when they had none.
    A session of theirs that was working in it falls back to their home panel at its next request
    (marac.panels.set_request_panel checks the grant every time)."""
    with db.atomic():
        removed = UserPanel.delete().where((UserPanel.user == user.id) & (UserPanel.panel == panel_id)).execute()
        if removed:
            audit.record("user.panel_revoke", user, user=by, detail={"panel_id": panel_id})
    return bool(removed)
