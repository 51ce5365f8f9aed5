"""Server-side sign-in sessions: a random id in the signed cookie, its hash in the database.

A copied cookie is useless after logout, deactivation, a password change, the idle
timeout or the absolute timeout, because the record it points to is checked on every request.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from peewee import OperationalError

from marac import clock, panels
from marac.db import db
from marac.models import Agency, User, UserSession
from marac.prepared import Prepared

SID_KEY = "sid"
# last_seen is written at most this often, so reading pages does not mean a write per request.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> UserSession:
    """Sign the user in with a fresh session id (the old cookie content is discarded)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    with db.atomic():
        record = UserSession.create(token_hash=_digest(token), user=user, ip=request.remote_addr or "")
    session[SID_KEY] = token
    session.permanent = False
    login_user(user, remember=False)
    panels.set_request_panel(user, None)
    return record


def current_record():
    """The UserSession row behind this request's cookie, or None; its user and the user's agency come in the
    same query (every signed-in page shows them)."""
    token = session.get(SID_KEY)
    if not token:
        return None
    return _BY_TOKEN.first(_digest(token))


_BY_TOKEN = Prepared(lambda token_hash: UserSession.select(UserSession, User, Agency).join(User).join(Agency)
                     .where(UserSession.token_hash == token_hash).limit(1), Prepared.TEXT)


def load_user(user_id: str):
    """Flask-Login's user loader: the user only if their session record is still valid."""
    record = current_record()
    if record is None or str(record.user_id) != str(user_id) or record.ended_at is not None:
        return None
    now = clock.now()
    cfg = current_app.config
    user = record.user
    if (
        not user.active
        or now - record.created_at > cfg["ABSOLUTE_TIMEOUT"]
        or now - record.last_seen > cfg["IDLE_TIMEOUT"]
        or (user.sessions_valid_after is not None and record.created_at < user.sessions_valid_after)
    ):
        end(record)
        return None
    if now - record.last_seen > TOUCH_EVERY:
        try:
            with db.atomic():
                UserSession.update(last_seen=now).where(UserSession.id == record.id).execute()
        except OperationalError:
            pass  # database busy or full: reading a page must not fail for this bookkeeping write
    panels.set_request_panel(user, record.panel_id)
    return user


def end(record) -> None:
    """Mark a session record as ended."""
    if record is not None and record.ended_at is None:
        with db.atomic():
            UserSession.update(ended_at=clock.now()).where(UserSession.id == record.id).execute()


def finish() -> None:
    """Sign out: end the server record and empty the cookie."""
    end(current_record())
    logout_user()
    session.clear()


def end_all_for(user: User) -> None:
    """End every session of a user (deactivation, password reset)."""
    now = clock.now()
    with db.atomic():
        User.update(sessions_valid_after=now).where(User.id == user.id).execute()
        UserSession.update(ended_at=now).where((UserSession.user == user) & UserSession.ended_at.is_null()).execute()
