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


# --- cases ------------------------------------------------------------------------------------


def case_filter(user):
    """A where-clause for the cases this user may open (True / False for all / none).

    Coordinator and chair: every case. A representative: cases their agency referred, leads,
    owns an action on, or that are listed at a meeting, if their agency is a member of the
    information sharing agreement (closed-session listings only when invited). Referrers see
    their referrals, not case records; observers see only their meeting.
    """
    from marac.models import Action, Case, Listing, ListingInvite, Referral

    if user.role in (COORDINATOR, CHAIR):
        return True
    if user.role != REPRESENTATIVE:
        return False
    agency_id = user.agency_id
    involved = (
        Case.id.in_(Action.select(Action.case).where(Action.owner_agency == agency_id))
        | Case.id.in_(Referral.select(Referral.case).where(
            (Referral.agency == agency_id) & Referral.case.is_null(False)))
        | (Case.lead_agency == agency_id)
    )
    if user.agency.is_member:
        invited = ListingInvite.select(ListingInvite.listing).where(ListingInvite.agency == agency_id)
        listed = Listing.select(Listing.case).where((Listing.kind != "closed") | Listing.id.in_(invited))
        involved = involved | Case.id.in_(listed)
    return involved


def visible_cases(user):
    """Cases this user may see, as a query."""
    from marac.models import Case

    where = case_filter(user)
    query = Case.select().where(Case.deleted_at.is_null())
    if where is True:
        return query
    if where is False:
        return query.where(Case.id == 0)
    return query.where(where)


def get_case_or_404(case_id: int, user=None):
    """The case if this user may see it; otherwise 404 (existence not revealed), audited."""
    from marac.models import Case

    user = user or current_user._get_current_object()
    case = visible_cases(user).where(Case.id == case_id).first()
    if case is None:
        deny(404, object_type="case", object_id=case_id)
    return case


# --- case record: actions, notes, documents (issue 7) -----------------------------------------


def restricted_filter(model, user):
    """Where-clause for notes / documents this user may see on a case they may see.

    A restricted entry is visible only to its author's agency and the coordinator.
    """
    if user.role == COORDINATOR:
        return True
    return (model.restricted == False) | (model.agency == user.agency_id)  # noqa: E712 (SQL, not Python)


def _case_child_or_404(model, object_type: str, object_id: int, user, restricted: bool):
    from marac.models import Case

    user = user or current_user._get_current_object()
    query = (model.select(model, Case).join(Case)
             .where((model.id == object_id) & Case.id.in_(visible_cases(user).select(Case.id))))
    if restricted:
        where = restricted_filter(model, user)
        if where is not True:
            query = query.where(where)
    obj = query.first()
    if obj is None:
        deny(404, object_type=object_type, object_id=object_id)
    return obj


def get_action_or_404(action_id: int, user=None):
    """The action if this user may see its case; otherwise 404, audited."""
    from marac.models import Action

    return _case_child_or_404(Action, "action", action_id, user, restricted=False)


def get_note_or_404(note_id: int, user=None):
    """The note if this user may see its case and (when restricted) is of its agency or the coordinator."""
    from marac.models import Note

    return _case_child_or_404(Note, "note", note_id, user, restricted=True)


def get_document_or_404(document_id: int, user=None):
    """The document if this user may see its case and (when restricted) is of its agency or the coordinator."""
    from marac.models import Document

    return _case_child_or_404(Document, "document", document_id, user, restricted=True)


def may_update_action(user, action) -> bool:
    """Only the owner agency's people and the coordinator complete or report on an action."""
    if user.role == COORDINATOR:
        return True
    return user.role in (CHAIR, REPRESENTATIVE) and user.agency_id == action.owner_agency_id
