"""Who may do what. Every view asks here; a refusal on a real object is audited.

Object getters (get_<thing>_or_404) return the object or abort, checking role and agency,
not just sign-in. A user who may not see an object gets 404, so its existence is not revealed.
"""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marac import audit
from marac.db import db

COORDINATOR = "coordinator"
CHAIR = "chair"
REPRESENTATIVE = "representative"
REFERRER = "referrer"
OBSERVER = "observer"
ALL_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE, REFERRER, OBSERVER)


def deny(status: int = 404, *, object_type: str = "", object_id="", reason: str = ""):
    """Record the refusal as a security event, then abort."""
    with db.atomic():
        audit.record("access.denied", object_type=object_type, object_id=object_id,
                     detail={"status": status, "reason": reason} if reason else {"status": status})
    abort(status)


def roles_required(*roles: str):
    """View decorator: signed in, and one of these roles; otherwise 403 (audited)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                deny(403, object_type="route", object_id=view.__name__, reason="role")
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


def coordinator_required(view):
    """View decorator for the coordinator's admin pages."""
    return roles_required(COORDINATOR)(view)
