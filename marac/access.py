"""Who may do what. Every view asks here; a refusal on a real object is audited.

Object getters (get_<thing>_or_404) return the object or abort, checking panel, role and agency,
not just sign-in. Everything is of the panel in view (marac.panels): another panel's case, referral
or meeting is a 404 like one that does not exist, whatever the user's role. A user who may not see
an object gets 404, so its existence is not revealed.
"""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marac import audit
from marac.db import db
from marac.panels import current_panel_id
from marac.prepared import Prepared

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
    from peewee import SQL, fn

    from marac.models import Action, Case, Listing, ListingInvite, Referral

    if user.role in (COORDINATOR, CHAIR):
        return True
    if user.role != REPRESENTATIVE:
        return False
    agency_id = user.agency_id
    # Correlated EXISTS (index seeks per case looked at), not IN (subquery): SQLite would build the
    # IN list from every listing of every meeting first, hundreds of ms at 100,000 cases per request.
    involved = (
        fn.EXISTS(Action.select(SQL("1")).where((Action.case == Case.id) & (Action.owner_agency == agency_id)))
        | fn.EXISTS(Referral.select(SQL("1")).where((Referral.case == Case.id) & (Referral.agency == agency_id)))
        | (Case.lead_agency == agency_id)
    )
    if user.agency.is_member:
        invited = ListingInvite.select(SQL("1")).where(
            (ListingInvite.listing == Listing.id) & (ListingInvite.agency == agency_id))
        involved = involved | fn.EXISTS(Listing.select(SQL("1")).where(
            (Listing.case == Case.id) & ((Listing.kind != "closed") | fn.EXISTS(invited))))
    return involved


def visible_cases(user):
    """Cases this user may see, as a query."""
    from marac.models import Case

    where = case_filter(user)
    query = Case.select().where((Case.panel == current_panel_id()) & Case.deleted_at.is_null())
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


# --- referrals (issue 3) ----------------------------------------------------------------------


def visible_referrals(user):
    """Referrals this user may open: the coordinator all (drafts too); the chair every submitted
    one and their own; anyone else only their own."""
    from marac.models import Referral

    query = Referral.select().where(Referral.panel == current_panel_id())
    if user.role == COORDINATOR:
        return query
    if user.role == CHAIR:
        return query.where((Referral.author == user.id) | (Referral.status != "draft"))
    return query.where(Referral.author == user.id)


def get_referral_or_404(referral_id: int, user=None):
    """The referral if this user may see it (visible_referrals); otherwise 404, audited."""

    user = user or current_user._get_current_object()
    if user.role == COORDINATOR:
        referral = _ANY_REFERRAL.first(referral_id, current_panel_id())
    else:
        referral = (_CHAIR_REFERRAL if user.role == CHAIR else _OWN_REFERRAL).first(referral_id, current_panel_id(),
                                                                                     user.id)
    if referral is None:
        deny(404, object_type="referral", object_id=referral_id)
    return referral


def _visible_referral(role: str):
    """visible_referrals(user).where(id) for a role, compiled once (marac.prepared): every referral page asks."""
    def build(referral_id, panel_id, user_id=None):
        from marac.models import Referral

        query = Referral.select().where(Referral.panel == panel_id)
        if role == CHAIR:
            query = query.where((Referral.author == user_id) | (Referral.status != "draft"))
        elif role != COORDINATOR:
            query = query.where(Referral.author == user_id)
        return query.where(Referral.id == referral_id).limit(1)

    kinds = (Prepared.INT, Prepared.INT) + (() if role == COORDINATOR else (Prepared.INT,))
    return Prepared(build, *kinds)


_ANY_REFERRAL, _CHAIR_REFERRAL, _OWN_REFERRAL = (_visible_referral(r) for r in (COORDINATOR, CHAIR, "own"))


def get_inbox_referral_or_404(referral_id: int, user=None):
    """A submitted referral in the inbox: any for the coordinator; for the chair, the police
    professional-judgement referrals routed to them (marac.inbox.may_see). Otherwise 404, audited."""
    from marac import inbox
    from marac.models import Agency, Referral

    user = user or current_user._get_current_object()
    referral = (Referral.select(Referral, Agency).join(Agency, on=(Referral.agency == Agency.id))
                .where((Referral.id == referral_id) & (Referral.panel == current_panel_id())).first())
    if referral is None or not inbox.may_see(user, referral):
        deny(404, object_type="referral", object_id=referral_id)
    return referral


# --- case record: actions, notes, documents (issue 7) -----------------------------------------


def restricted_filter(model, user):
    """Where-clause for notes / documents this user may see on a case they may see.

    A restricted entry is visible only to its author's agency and the coordinator.
    """
    if user.role == COORDINATOR:
        return True
    return (model.restricted == False) | (model.agency == user.agency_id)  # noqa: E712 (SQL, not Python)


def visible_case_where(user):
    """visible_cases() as a where-clause on Case, for queries that already join Case (no IN over
    every case id, which costs a scan of the case table for the coordinator)."""
    from marac.models import Case

    where = case_filter(user)
    if where is False:
        return Case.id == 0
    live = (Case.panel == current_panel_id()) & Case.deleted_at.is_null()
    return live if where is True else live & where


def _case_child_or_404(model, object_type: str, object_id: int, user, restricted: bool):
    from marac.models import Case

    user = user or current_user._get_current_object()
    query = (model.select(model, Case).join(Case)
             .where((model.id == object_id) & visible_case_where(user)))
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


# --- meetings and agenda listings (issue 5) ------------------------------------------------------


def may_see_meetings(user) -> bool:
    """Coordinator and chair; a representative only while their agency is a member of the agreement."""
    if user.role in (COORDINATOR, CHAIR):
        return True
    return user.role == REPRESENTATIVE and user.agency.is_member


def listing_filter(user):
    """A where-clause for the agenda listings this user may see (True / False for all / none).

    The same rule as case_filter's "listed" branch, so every listing shown is of a case the user may
    open: a member agency's representative sees open listings, and closed-session listings only when
    their agency is invited. Coordinator and chair see every listing.
    """
    from marac.models import Listing, ListingInvite

    if user.role in (COORDINATOR, CHAIR):
        return True
    if not may_see_meetings(user):
        return False
    invited = ListingInvite.select(ListingInvite.listing).where(ListingInvite.agency == user.agency_id)
    return (Listing.kind != "closed") | Listing.id.in_(invited)


def get_meeting_or_404(meeting_id: int, user=None):
    """The meeting if this user may see meetings at all; otherwise 404, audited."""
    from marac.models import Meeting

    user = user or current_user._get_current_object()
    meeting = (Meeting.get_or_none((Meeting.id == meeting_id) & (Meeting.panel == current_panel_id()))
               if may_see_meetings(user) else None)
    if meeting is None:
        deny(404, object_type="meeting", object_id=meeting_id)
    return meeting


def get_listing_or_404(meeting, listing_id: int, user=None):
    """A listing of this meeting that the user may see (closed sessions: invited agencies); else 404."""
    from marac.models import Case, Listing

    user = user or current_user._get_current_object()
    query = (Listing.select(Listing, Case).join(Case)
             .where((Listing.id == listing_id) & (Listing.meeting == meeting.id) & Case.deleted_at.is_null()
                    & (Case.panel == meeting.panel_id)))
    where = listing_filter(user)
    listing = None if where is False else (query if where is True else query.where(where)).first()
    if listing is None:
        deny(404, object_type="listing", object_id=listing_id)
    return listing


# --- running the meeting (issue 6) ----------------------------------------------------------------


def is_approved_observer(user, meeting) -> bool:
    """An observer account the coordinator approved for this meeting (observers see nothing else)."""
    from marac.models import Attendance

    return user.role == OBSERVER and Attendance.select().where(
        (Attendance.meeting == meeting.id) & (Attendance.user == user.id)
        & (Attendance.capacity == "observer") & (Attendance.observer_status == "approved")).exists()


def get_run_meeting_or_404(meeting_id: int, user=None):
    """The meeting for its run screens: as get_meeting_or_404, plus an observer approved for it."""
    from marac.models import Meeting

    user = user or current_user._get_current_object()
    if user.role == OBSERVER:
        meeting = Meeting.get_or_none((Meeting.id == meeting_id) & (Meeting.panel == current_panel_id()))
        if meeting is None or not is_approved_observer(user, meeting):
            deny(404, object_type="meeting", object_id=meeting_id)
        return meeting
    return get_meeting_or_404(meeting_id, user)


def run_listing_filter(user):
    """listing_filter for the run screens: an (approved) observer sees no closed-session listing."""
    from marac.models import Listing

    if user.role == OBSERVER:
        return Listing.kind != "closed"
    return listing_filter(user)


def get_run_listing_or_404(meeting, listing_id: int, user=None):
    """A listing of this meeting for the run screens (get_listing_or_404, or an observer's view)."""
    from marac.models import Case, Listing

    user = user or current_user._get_current_object()
    if user.role != OBSERVER:
        return get_listing_or_404(meeting, listing_id, user)
    listing = (Listing.select(Listing, Case).join(Case)
               .where((Listing.id == listing_id) & (Listing.meeting == meeting.id) & Case.deleted_at.is_null()
                      & (Case.panel == meeting.panel_id) & run_listing_filter(user)).first())
    if listing is None:
        deny(404, object_type="listing", object_id=listing_id)
    return listing
