"""Release of a case's minutes and action plans to a Domestic Homicide Review, a Safeguarding Adult
Review or under a court order: the coordinator logs the request (who asks, on what basis, when it
arrived), the chair decides, and a release hands out the case's minutes extracts and action plan
(the Word documents of the transfer pack), recorded with its date. Answers are due within
DUE_WORKING_DAYS working days of receipt (England and Wales bank holidays skipped)."""
import io
import zipfile
from datetime import date

from marac import audit, clock, schedule
from marac.db import db
from marac.models import RELEASE_BASES, Case, ReleaseRequest
from marac.panels import current_panel_id

DUE_WORKING_DAYS = 10
OPEN = ("requested", "approved")
FILES = ("minutes-extracts.docx", "action-plan.docx")


class ReleaseError(ValueError):
    """A step the request's state does not allow (shown to the user)."""


def due_on(received: date) -> date:
    return schedule.working_days_after(received, DUE_WORKING_DAYS)


def working_days_left(request: ReleaseRequest, today: date | None = None) -> int:
    """Working days from today to the deadline (0 on the day, negative when late)."""
    today = today or clock.now().date()
    return schedule.working_days_between(today, request.due_on)


def log_request(case: Case, user, *, requester_name: str, requester_organisation: str, basis: str,
                detail: str, received_on: date) -> ReleaseRequest:
    """Log a request to release the case's minutes (the coordinator)."""
    if basis not in RELEASE_BASES:
        raise ReleaseError("Select the basis of the request")
    if not (requester_name or "").strip():
        raise ReleaseError("Enter who is asking")
    if received_on > clock.now().date():
        raise ReleaseError("The date received must be today or in the past")
    with db.atomic():
        row = ReleaseRequest.create(case=case, requester_name=requester_name.strip(),
                                    requester_organisation=(requester_organisation or "").strip(), basis=basis,
                                    detail=(detail or "").strip(), received_on=received_on,
                                    due_on=due_on(received_on), logged_by=user, logged_at=clock.now())
        audit.record("release.request", row, user=user, detail={"case_id": case.id, "basis": basis})
    return row


def decide(request: ReleaseRequest, user, decision: str, reason: str) -> ReleaseRequest:
    """The chair approves or refuses a request, with a reason."""
    if user.role != "chair":
        raise ReleaseError("Only the chair decides a request to release minutes")
    if decision not in ("approved", "refused"):
        raise ReleaseError("Select your decision")
    if not (reason or "").strip():
        raise ReleaseError("Enter the reason for your decision")
    with db.atomic():
        current = ReleaseRequest.get_by_id(request.id)
        if current.status != "requested":
            raise ReleaseError("This request has already been decided")
        ReleaseRequest.update(status=decision, decided_by=user, decided_at=clock.now(),
                              decision_reason=reason.strip()).where(ReleaseRequest.id == request.id).execute()
        audit.record("release.decide", request, user=user, detail={"case_id": request.case_id, "decision": decision})
    return ReleaseRequest.get_by_id(request.id)


def release(request: ReleaseRequest, user) -> tuple[str, bytes]:
    """Produce the case's minutes extracts and action plan for an approved request; the first release
    fixes the release date, and every copy handed out is audited before it is made."""
    from marac.transfer import _actions_doc, _minutes_doc

    with db.atomic():
        current = ReleaseRequest.get_by_id(request.id)
        if current.status not in ("approved", "released"):
            raise ReleaseError("Only a request the chair approved can be released")
        case = Case.get_by_id(current.case_id)
        if case.deleted_at is not None:
            raise ReleaseError("The case's personal data was deleted at its retention review")
        now = clock.now()
        if current.status == "approved":
            ReleaseRequest.update(status="released", released_at=now, released_by=user).where(
                ReleaseRequest.id == request.id).execute()
        audit.record("release.release", request, user=user,
                     detail={"case_id": case.id, "first": current.status == "approved"})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(FILES[0], _minutes_doc(case))
        archive.writestr(FILES[1], _actions_doc(case))
    return f"release-{request.id}-case-{case.number}.zip", out.getvalue()


def _of_panel():
    """Requests about the panel in view's cases (a request has no panel of its own: its case's, issue 12)."""
    return ReleaseRequest.select(ReleaseRequest, Case).join(Case).where(Case.panel == current_panel_id())


def open_requests():
    """Requests waiting for a decision or a release, soonest deadline first."""
    return _of_panel().where(ReleaseRequest.status.in_(OPEN)).order_by(ReleaseRequest.due_on, ReleaseRequest.id)


def closed_requests(limit: int = 50):
    return (_of_panel().where(ReleaseRequest.status.not_in(OPEN)).order_by(ReleaseRequest.logged_at.desc())
            .limit(limit))


def for_case(case: Case):
    return list(ReleaseRequest.select().where(ReleaseRequest.case == case.id).order_by(ReleaseRequest.logged_at))
