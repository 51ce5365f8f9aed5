"""The audit log: every sign-in, denial, view and change, append-only and hash-chained.

Services call record() inside their write transaction, so a change and its audit row
commit together or not at all. Details must never hold a password, code, session id,
token, or a person's name, date of birth or address (objects are named by type and id).
"""
import hashlib
import json
import uuid
from dataclasses import dataclass

from flask import g, has_request_context, request
from flask_login import current_user

from marac import clock, panels
from marac.db import db
from marac.models import AuditEvent, User

GENESIS = "0" * 64
FORBIDDEN_DETAIL_KEYS = {"password", "new_password", "code", "totp", "csrf_token", "token", "session"}


def _canonical(row: dict) -> str:
    """The hashed content. panel_id (m1110) is appended only when set: rows written before it have none,
    and keep the hash they were written with, so an upgraded chain still verifies."""
    return json.dumps(
        [
            row["at"].isoformat(timespec="microseconds"),
            row["user_id"],
            row["user_name"],
            row["role"],
            row["agency_id"],
            row["action"],
            row["object_type"],
            row["object_id"],
            row["detail"],
            row["ip"],
            row["request_id"],
            row["prev_hash"],
        ] + ([] if row.get("panel_id") is None else [row["panel_id"]]),
        separators=(",", ":"),
        ensure_ascii=False,
    )


def row_hash(row: dict) -> str:
    """SHA-256 of a row's content and the previous row's hash."""
    return hashlib.sha256(_canonical(row).encode("utf-8")).hexdigest()


def _actor(user):
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "", "", None
    return user.id, user.name, user.role, user.agency_id


def _panel_of(user, obj) -> int | None:
    """The panel an event belongs to (issue 12, m1110): the panel in view of a signed-in request or of a
    `panels.using` block (command line and jobs work in the first panel unless told otherwise). Before
    sign-in the panel is not known: a known account's home panel, else None (the viewer shows events
    of no panel to the install's own, first panel)."""
    if not has_request_context() or (current_user and current_user.is_authenticated):
        return panels.current_panel_id()
    who = user if user is not None else obj if isinstance(obj, User) else None
    return getattr(who, "panel_id", None)


def _request_id() -> str:
    """This request's id. A refusal raised before the app's own before_request hook (a CSRF
    failure) has none yet: give it one, so its audit row and X-Request-Id header still match."""
    if not has_request_context():
        return ""
    if not g.get("request_id"):
        g.request_id = uuid.uuid4().hex
    return g.request_id


def object_types(panel_id: int | None = None) -> list[str]:
    """The object types named in a panel's log (panel_where: the panel in view's by default), in order, for
    the audit log's filter: another panel's types would say what it did. One seek per type on the
    (panel_id, object_type) index (m1111), never a scan of the log; the first panel also walks the events
    of no panel."""
    from peewee import fn

    panel_id = panel_id or panels.current_panel_id()
    keys = [AuditEvent.panel_id == panel_id]
    if panel_id == panels.default_panel_id():
        keys.append(AuditEvent.panel_id.is_null())
    found = set()
    for key in keys:
        last = ""
        while (nxt := AuditEvent.select(fn.MIN(AuditEvent.object_type))
               .where(key & (AuditEvent.object_type > last)).scalar()) is not None:
            found.add(nxt)
            last = nxt
    return sorted(found)


def panel_where(panel_id: int | None = None):
    """Where-clause for one panel's events (the panel in view's by default; the coordinator's audit log):
    those recorded in it, and for the install's own first panel also those of no panel (written before
    m1110, when there was only that panel; attempts before anyone signed in)."""
    panel_id = panel_id or panels.current_panel_id()
    where = AuditEvent.panel_id == panel_id
    return where | AuditEvent.panel_id.is_null() if panel_id == panels.default_panel_id() else where


def record(action: str, obj=None, *, object_type: str = "", object_id="", detail: dict | None = None, user=None):
    """Append one audit row (who, when, what, from where) chained to the previous one."""
    if obj is not None:
        object_type = object_type or obj.__class__.__name__.lower()
        object_id = obj.id
    detail = dict(detail or {})
    leaked = FORBIDDEN_DETAIL_KEYS & set(detail)
    if leaked:
        raise ValueError(f"audit detail must not contain {sorted(leaked)}")
    user_id, user_name, role, agency_id = _actor(user)
    row = {
        "at": clock.now(),
        "user_id": user_id,
        "user_name": user_name,
        "role": role,
        "agency_id": agency_id,
        "action": action,
        "object_type": object_type,
        "object_id": "" if object_id in (None, "") else str(object_id),
        "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else "",
        "ip": (request.remote_addr or "") if has_request_context() else "",
        "request_id": _request_id(),
        "panel_id": _panel_of(user, obj),
    }
    # The chain needs the last hash read and the new row written under one write lock.
    with db.atomic():
        last = AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).first()
        row["prev_hash"] = last.hash if last else GENESIS
        row["hash"] = row_hash(row)
        return AuditEvent.create(**row)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; name the first row whose content or link does not match."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(
            AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch).dicts()
        )
        if not rows:
            return VerifyResult(True, checked)
        for row in rows:
            if row["prev_hash"] != prev:
                return VerifyResult(False, checked, row["id"],
                                    "link to the previous row is broken (a row was removed or inserted)")
            if row_hash(row) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "content does not match its hash (the row was altered)")
            prev = row["hash"]
            checked += 1
            last_id = row["id"]
