"""The second factor: a time-based code (TOTP, RFC 6238) from an authenticator app.

After a right password the browser is only half signed in: the Flask session holds a pending
marker (user id, time), no server-side session exists, and every page except the code pages sends
the browser to the code page. A right code then starts a fresh server-side session (a new session
id, SECURITY.md check 5). A code works once: the time step it was made for is stored in
User.totp_last_step, and only a later step is accepted. The secret is stored encrypted with a key
kept in the instance folder, not in the database (marac/totp_key.py). Wrong codes are security events and count
toward the same lockout as wrong passwords.

Enforced for every account unless config REQUIRE_SECOND_FACTOR is False or the instance is in
training mode (fictional data, shared training accounts).
"""
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from flask import current_app, session
from markupsafe import Markup

from marac import audit, clock, sessions, totp_key
from marac.db import db
from marac.models import Lockout, LoginFailure, User

PENDING_KEY = "second_factor"
# How long a right password waits for its code before the sign-in starts again.
PENDING_FOR = timedelta(minutes=10)
# Codes from the step before and after the current one are accepted (phone clocks drift).
DRIFT_STEPS = 1
STEP_SECONDS = 30
CODE = re.compile(r"^\d{6}$")


def required() -> bool:
    """Whether sign-in needs a code: always, except in training mode or when switched off in config."""
    cfg = current_app.config
    return bool(cfg.get("REQUIRE_SECOND_FACTOR", True)) and not cfg.get("TRAINING_MODE")


# --- the half-signed-in state ----------------------------------------------------------------


def begin(user: User) -> None:
    """The password was right: forget whatever the cookie held and wait for the code."""
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "at": clock.now().isoformat(timespec="seconds")}
    with db.atomic():
        audit.record("auth.password_accepted", user, user=user)


def pending_user() -> User | None:
    """The user waiting to give a code, or None (no pending sign-in, expired, or account unusable)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.fromisoformat(pending["at"])
        user_id = int(pending["uid"])
    except (KeyError, TypeError, ValueError):
        return None
    if clock.now() - started > PENDING_FOR:
        return None
    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active:
        return None
    return user


def is_pending() -> bool:
    """The cookie carries a half-finished sign-in (valid or not)."""
    return PENDING_KEY in session


def remember_next(target: str) -> None:
    """Where to go once the code is right (a same-site path chosen by the caller)."""
    pending = session.get(PENDING_KEY)
    if isinstance(pending, dict) and target:
        session[PENDING_KEY] = {**pending, "next": target}


def next_target() -> str | None:
    pending = session.get(PENDING_KEY)
    return pending.get("next") if isinstance(pending, dict) else None


def abandon() -> None:
    """Drop a half-finished sign-in."""
    session.pop(PENDING_KEY, None)


# --- enrolment -------------------------------------------------------------------------------


def is_enrolled(user: User) -> bool:
    return bool(user.totp_secret) and user.totp_enrolled_at is not None


def secret_of(user: User) -> str:
    """The user's TOTP secret in the clear (stored encrypted: marac/totp_key.py), or ""."""
    return totp_key.decrypt(user.totp_secret) if user.totp_secret else ""


def enrolment_secret(user: User) -> str:
    """The secret being enrolled: made once and kept until the first right code (a reload of the
    page shows the same QR code, so an app that already scanned it keeps working)."""
    if user.totp_secret and user.totp_enrolled_at is None:
        return secret_of(user)
    secret = pyotp.random_base32()
    stored = totp_key.encrypt(secret)
    with db.atomic():
        User.update(totp_secret=stored, totp_last_step=0, totp_enrolled_at=None).where(User.id == user.id).execute()
    user.totp_secret, user.totp_last_step, user.totp_enrolled_at = stored, 0, None
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    issuer = f"{current_app.config['SERVICE_NAME']} {current_app.config['BOROUGH_NAME']}"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(user: User, secret: str) -> Markup:
    """The QR code as inline SVG markup, made here (no third-party service, no data: URL under the CSP)."""
    svg = segno.make(provisioning_uri(user, secret), error="m").svg_inline(
        scale=5, svgclass="marac-qr", lineclass="marac-qr__modules")
    svg = svg.replace("<svg ", '<svg role="img" aria-label="QR code to scan with your authenticator app" ', 1)
    # segno writes only numbers and fixed attributes (the URI is encoded as module paths, not text),
    # so the markup holds nothing from the user: safe to mark as markup (bandit B704, ruff S704).
    return Markup(svg)  # noqa: S704  # nosec B704


def spaced(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# --- checking a code -------------------------------------------------------------------------


@dataclass
class CodeResult:
    ok: bool = False
    locked: bool = False
    reused: bool = False


def _step(now: datetime) -> int:
    epoch = datetime(1970, 1, 1)
    return int((now - epoch).total_seconds()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within the allowed drift) this code was made for, or None."""
    totp = pyotp.TOTP(secret)
    current = _step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def normalise(code: str) -> str:
    """Spaces and hyphens that apps show between digit groups are ignored."""
    return re.sub(r"[\s-]", "", code or "")


def check(user: User, code: str) -> CodeResult:
    """Check a code for a pending sign-in or an enrolment. A right code is used up; a wrong one is a
    security event counted toward lockout."""
    cfg = current_app.config
    if Lockout.active_for(user):
        with db.atomic():
            audit.record("auth.second_factor_refused_locked", user, user=user)
        return CodeResult(locked=True)
    code = normalise(code)
    step = matching_step(secret_of(user), code, clock.now()) if user.totp_secret and CODE.match(code) else None
    with db.atomic():
        if step is not None:
            # Compare-and-set: of two requests with the same code, only one can move the step on.
            used = User.update(totp_last_step=step).where((User.id == user.id) & (User.totp_last_step < step)).execute()
            if used:
                LoginFailure.delete().where(LoginFailure.user == user).execute()
                if user.totp_enrolled_at is None:
                    User.update(totp_enrolled_at=clock.now()).where(User.id == user.id).execute()
                    audit.record("auth.second_factor_enrolled", user, user=user)
                return CodeResult(ok=True)
        reason = "reused code" if step is not None else "wrong code"
        LoginFailure.create(user=user)
        audit.record("auth.second_factor_failed", user, user=user, detail={"reason": reason})
        if LoginFailure.recent(user, cfg["FAILED_LOGIN_WINDOW"]).count() >= cfg["MAX_FAILED_LOGINS"]:
            Lockout.create(user=user, until=clock.now() + cfg["LOCKOUT_PERIOD"])
            LoginFailure.delete().where(LoginFailure.user == user).execute()
            audit.record("auth.lockout", user, user=user,
                         detail={"minutes": int(cfg["LOCKOUT_PERIOD"].total_seconds() // 60)})
            return CodeResult(locked=True)
    return CodeResult(reused=step is not None)


def complete(user: User) -> None:
    """The code was right: a fresh server-side session (new id) and the sign-in recorded."""
    sessions.start(User.get_by_id(user.id))
    with db.atomic():
        audit.record("auth.login", user, user=user, detail={"second_factor": True})


# --- the coordinator's reset -----------------------------------------------------------------


def reset(user: User, by: User) -> None:
    """Forget a user's authenticator (lost or new phone): they enrol again at their next sign-in,
    and every session they have now ends."""
    with db.atomic():
        User.update(totp_secret="", totp_last_step=0, totp_enrolled_at=None).where(User.id == user.id).execute()
        audit.record("user.second_factor_reset", user, user=by)
    sessions.end_all_for(user)
