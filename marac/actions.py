"""Actions between meetings: add, complete, cannot complete, chase, escalate, carry onto the next meeting.

Each operation writes the action, an ActionUpdate (its history on the case timeline) and an audit
row in one transaction; e-mail notices go after the commit, and a mail failure never undoes a change.
"""
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from peewee import JOIN, fn

from marac import audit, clock, mail, settings
from marac.access import COORDINATOR, may_update_action
from marac.db import db
from marac.formatting import LONDON
from marac.models import Action, ActionUpdate, Agency, Case, Meeting, User
from marac.panels import current_panel_id

CANNOT_REASONS = {
    "no_contact": "No contact could be made",
    "declined": "The person declined",
    "not_our_remit": "Not our agency's remit",
    "other": "Other",
}
PRIORITIES = {"normal": "Normal", "high": "High"}
STATUSES = {"open": "Open", "done": "Done", "cannot": "Could not be completed"}
UPDATE_KINDS = {
    "created": "Action recorded",
    "completed": "Action completed",
    "cannot": "Action cannot be completed",
    "chased": "Action chased by the coordinator",
    "escalated": "Action escalated to the chair",
    "carried": "Overdue action carried to the next meeting",
    "reopened": "Action reopened",
}
TABS = {"overdue": "Overdue", "soon": "Due soon", "open": "All open", "done": "Done"}
PAGE_SIZE = 50
MAX_DESCRIPTION = 2000


class ActionError(ValueError):
    """A change that is not allowed (the message is shown to the user)."""


def today() -> date:
    """Today's date in the UK (an action due 'today' is not overdue until UK midnight)."""
    return clock.now().replace(tzinfo=UTC).astimezone(LONDON).date()


def default_due_date(start: date | None = None) -> date:
    return (start or today()) + timedelta(days=int(settings.get("action_due_days")))


def _update(action, user, kind: str, text: str = "", meeting=None) -> ActionUpdate:
    return ActionUpdate.create(action=action, user=user, kind=kind, text=text, meeting=meeting, at=clock.now())


def add(case, user, *, owner_agency, description: str, due_date: date | None = None, priority: str = "normal",
        listing=None, standard_key: str = "", notify: bool = True) -> Action:
    """Record an action for an agency on a case (due date defaults to action_due_days from today)."""
    description = (description or "").strip()
    if not description:
        raise ActionError("Enter what the agency is to do")
    if len(description) > MAX_DESCRIPTION:
        raise ActionError(f"The action must be {MAX_DESCRIPTION} characters or fewer")
    if priority not in PRIORITIES:
        raise ActionError("Select a priority")
    with db.atomic():
        action = Action.create(case=case, listing=listing, owner_agency=owner_agency, description=description,
                               due_date=due_date or default_due_date(), priority=priority, status="open",
                               standard_key=standard_key, created_by=user, created_at=clock.now())
        _update(action, user, "created")
        audit.record("action.create", action, user=user,
                     detail={"case_id": case.id, "owner_agency_id": action.owner_agency_id})
    if notify:
        mail.notify_new_action(action)
    return action


def _check_open(action: Action, user) -> Action:
    if not may_update_action(user, action):
        raise PermissionError("only the owner agency or the coordinator")
    current = Action.get_by_id(action.id)
    if current.status != "open":
        raise ActionError("This action is no longer open")
    return current


def complete(action: Action, user, completed_on: date | None = None, note: str = "") -> Action:
    """Mark the action done on a date (today by default) with an optional note."""
    completed_on = completed_on or today()
    if completed_on > today():
        raise ActionError("The date the action was completed must be today or in the past")
    note = (note or "").strip()
    with db.atomic():
        _check_open(action, user)
        Action.update(status="done", completed_at=completed_on, completed_by=user, completion_note=note,
                      cannot_reason="").where(Action.id == action.id).execute()
        _update(action, user, "completed", note)
        audit.record("action.complete", action, user=user, detail={"case_id": action.case_id})
    return Action.get_by_id(action.id)


def cannot_complete(action: Action, user, reason: str, text: str = "") -> Action:
    """Report that the action cannot be completed, with a reason code (and words when 'other')."""
    text = (text or "").strip()
    if reason not in CANNOT_REASONS:
        raise ActionError("Select why the action cannot be completed")
    if reason == "other" and not text:
        raise ActionError("Say why the action cannot be completed")
    with db.atomic():
        _check_open(action, user)
        Action.update(status="cannot", completed_at=today(), completed_by=user, cannot_reason=reason,
                      completion_note=text).where(Action.id == action.id).execute()
        _update(action, user, "cannot", f"{CANNOT_REASONS[reason]}{': ' + text if text else ''}")
        audit.record("action.cannot_complete", action, user=user, detail={"case_id": action.case_id,
                                                                          "reason": reason})
    return Action.get_by_id(action.id)


def reopen(action: Action, user, text: str = "") -> Action:
    """Reopen a done or cannot-complete action (coordinator)."""
    if user.role != COORDINATOR:
        raise PermissionError("coordinator only")
    with db.atomic():
        if Action.get_by_id(action.id).status == "open":
            raise ActionError("This action is already open")
        Action.update(status="open", completed_at=None, completed_by=None, cannot_reason="",
                      completion_note="").where(Action.id == action.id).execute()
        _update(action, user, "reopened", (text or "").strip())
        audit.record("action.reopen", action, user=user, detail={"case_id": action.case_id})
    return Action.get_by_id(action.id)


def chase(action: Action, user) -> Action:
    """The coordinator chases the owner agency: recorded on the action, and e-mailed."""
    if user.role != COORDINATOR:
        raise PermissionError("coordinator only")
    now = clock.now()
    with db.atomic():
        if Action.get_by_id(action.id).status != "open":
            raise ActionError("This action is no longer open")
        Action.update(last_chased_at=now).where(Action.id == action.id).execute()
        _update(action, user, "chased")
        audit.record("action.chase", action, user=user, detail={"case_id": action.case_id})
    action = Action.get_by_id(action.id)
    mail.notify_chased(action)
    return action


def escalate(action: Action, user, text: str = "") -> Action:
    """The coordinator escalates an action to the chair: recorded, and e-mailed to the chairs."""
    if user.role != COORDINATOR:
        raise PermissionError("coordinator only")
    now = clock.now()
    with db.atomic():
        if Action.get_by_id(action.id).status != "open":
            raise ActionError("This action is no longer open")
        Action.update(escalated_at=now).where(Action.id == action.id).execute()
        _update(action, user, "escalated", (text or "").strip())
        audit.record("action.escalate", action, user=user, detail={"case_id": action.case_id})
    action = Action.get_by_id(action.id)
    mail.notify_escalated(action)
    return action


# --- queries ------------------------------------------------------------------------------------


def _with_case_and_agency(query, panel_id: int | None = None):
    """The query's actions of live cases of the panel (the one in view by default), case and agency joined.
    Actions have no panel of their own: they are their case's (issue 12)."""
    return (query.select_extend(Case.id, Case.number, Case.status, Agency.id, Agency.name)
            .join(Case, on=(Action.case == Case.id)).switch(Action)
            .join(Agency, on=(Action.owner_agency == Agency.id))
            .where((Case.panel == (panel_id or current_panel_id())) & Case.deleted_at.is_null()))


def agency_actions_row(action_id: int) -> Action:
    """One action with its case and owner agency joined (for a list row)."""
    return _with_case_and_agency(Action.select().where(Action.id == action_id)).get()


def overdue_for_review(meeting_date: date, panel_id: int | None = None):
    """Open actions due before this meeting date: what the meeting's review list carries over.

    For the agenda and meeting run (issues 5 and 6): one query, with .case and .owner_agency joined,
    ordered by case then due date. Only the cases of the meeting's panel (default: the one in view).
    """
    query = Action.select().where((Action.status == "open") & (Action.due_date < meeting_date))
    return _with_case_and_agency(query, panel_id).order_by(Case.number, Action.due_date, Action.id)


def carry_over(meeting: Meeting, user=None) -> list[Action]:
    """Record on each action overdue at this meeting that it was carried onto its review list.

    Idempotent: an action already carried to this meeting is not recorded twice. Returns the
    actions on the meeting's review list (overdue_for_review of the meeting's date).
    """
    meeting_date = meeting.starts_at.date()
    actions = list(overdue_for_review(meeting_date, meeting.panel_id))
    if not actions:
        return []
    with db.atomic():
        done = {u.action_id for u in ActionUpdate.select(ActionUpdate.action)
                .where((ActionUpdate.kind == "carried") & (ActionUpdate.meeting == meeting.id)
                       & ActionUpdate.action.in_([a.id for a in actions]))}
        new = [a for a in actions if a.id not in done]
        now = clock.now()
        text = f"Carried to the review list of the meeting on {meeting_date.strftime('%d %B %Y').lstrip('0')}"
        if new:
            ActionUpdate.insert_many(
                [{"action": a.id, "user": getattr(user, "id", None), "kind": "carried", "text": text,
                  "meeting": meeting.id, "at": now} for a in new]).execute()
            audit.record("action.carry_over", object_type="meeting", object_id=meeting.id, user=user,
                         detail={"actions": len(new)})
    return actions


def _tab_where(tab: str, on: date, soon: date | None = None):
    soon = soon or on + timedelta(days=int(settings.get("action_due_soon_days")))
    if tab == "overdue":
        return (Action.status == "open") & (Action.due_date < on)
    if tab == "soon":
        return (Action.status == "open") & (Action.due_date >= on) & (Action.due_date <= soon)
    if tab == "done":
        return Action.completed_at.is_null(False)
    return Action.status == "open"


def agency_actions(agency_id: int, tab: str = "overdue", page: int = 1, on: date | None = None):
    """One tab of an agency's actions (one query), with the case and agency joined; (actions, has_next)."""
    on = on or today()
    query = _with_case_and_agency(Action.select().where((Action.owner_agency == agency_id)
                                                        & (Action.panel == current_panel_id()) & _tab_where(tab, on)))
    if tab == "done":
        query = query.order_by(Action.completed_at.desc(), Action.id.desc())
    else:
        query = query.order_by(Action.due_date, Action.id)
    rows = list(query.paginate(max(page, 1), PAGE_SIZE + 1)) if page > 1 else list(query.limit(PAGE_SIZE + 1))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def agency_counts(agency_id: int, on: date | None = None) -> dict:
    """How many actions are in each tab: four counts (owner, status, due date / completed).

    Counted on the action index alone (owner, panel, status / completed: an agency serving several panels
    counts the panel in view's actions, issue 12, m1120), not the case's deletion: a soft-deleted case's
    actions (until retention removes them) may be counted but are not listed.
    """
    on = on or today()
    soon = on + timedelta(days=int(settings.get("action_due_soon_days")))
    mine = (Action.owner_agency == agency_id) & (Action.panel == current_panel_id())
    return {tab: Action.select().where(mine & _tab_where(tab, on, soon)).count() for tab in TABS}


@dataclass
class AgencyOverdue:
    agency: Agency
    count: int
    oldest_due: date


def overdue_by_agency(on: date | None = None) -> list[AgencyOverdue]:
    """For the coordinator: overdue open actions counted per agency (one query), most first."""
    on = on or today()
    rows = (Agency.select(Agency, fn.COUNT(Action.id).alias("n"), fn.MIN(Action.due_date).alias("oldest"))
            .join(Action, on=(Action.owner_agency == Agency.id)).join(Case, on=(Action.case == Case.id))
            .where((Action.status == "open") & (Action.due_date < on) & (Case.panel == current_panel_id())
                   & Case.deleted_at.is_null())
            .group_by(Agency.id).order_by(fn.COUNT(Action.id).desc(), Agency.name))
    return [AgencyOverdue(a, a.n, a.oldest if isinstance(a.oldest, date) else date.fromisoformat(a.oldest))
            for a in rows]


def overdue_list(on: date | None = None, agency_id: int | None = None, page: int = 1):
    """Overdue open actions across agencies (or one), oldest first; (actions, has_next)."""
    on = on or today()
    query = Action.select().where((Action.status == "open") & (Action.due_date < on))
    if agency_id:
        query = query.where(Action.owner_agency == agency_id)
    query = _with_case_and_agency(query).order_by(Action.due_date, Action.id)
    rows = list(query.paginate(max(page, 1), PAGE_SIZE + 1)) if page > 1 else list(query.limit(PAGE_SIZE + 1))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def history(action: Action) -> list[ActionUpdate]:
    """The action's updates, oldest first (one query)."""
    return list(ActionUpdate.select(ActionUpdate, User).join(User, JOIN.LEFT_OUTER)
                .where(ActionUpdate.action == action).order_by(ActionUpdate.at, ActionUpdate.id))


def view(action: Action, user) -> None:
    """Audit a view of an action."""
    with db.atomic():
        audit.record("action.view", action, user=user, detail={"case_id": action.case_id})
