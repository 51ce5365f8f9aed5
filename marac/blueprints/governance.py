"""Information governance pages: who has looked at a record, the reason asked before opening a
closed-session or restricted case, the retention review, subject access, release of minutes."""
import io
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from marac import audit, clock, governance, nav, panels, releases, retention, subject_access
from marac.access import CHAIR, COORDINATOR, REPRESENTATIVE, coordinator_required, deny, get_case_or_404, roles_required
from marac.db import db
from marac.forms import EmptyForm
from marac.forms.security import DeleteForm, KeepForm, ReasonForm, ReleaseDecisionForm, ReleaseRequestForm
from marac.models import Person
from marac.risk import add_months

bp = Blueprint("governance", __name__, url_prefix="/governance")
CASE_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE)
# Case pages that show the record itself: opened only with a reason when the case needs one.
# Every page that shows a case's content, a note or a document (issue 8 review: the note correction
# form shows the note, a download is the document itself).
GATED = {"cases.show", "cases.timeline", "cases.note_correct", "cases.document_download"}
nav.register("Retention", "governance.retention_queue", [COORDINATOR], 70,
             also=["governance.retention_keep", "governance.retention_delete"])
nav.register("Releases", "governance.releases_index", [COORDINATOR, CHAIR], 71,
             also=["governance.release_new", "governance.release_show"])


def _user():
    return current_user._get_current_object()


def _safe_path(target: str | None) -> str | None:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return None


@bp.before_app_request
def reason_gate():
    """A closed-session or restricted case asks for a reason before the case page shows anything."""
    if request.endpoint not in GATED or not current_user.is_authenticated or current_user.role not in CASE_ROLES:
        return None
    args = request.view_args or {}
    case_id = args.get("case_id") or governance.case_of_document(args.get("document_id"))
    case = governance.get_visible_case(case_id, _user()) if case_id else None
    if case is None or not governance.needs_reason(case, _user()) or governance.has_reason(case):
        return None  # an invisible case: the view itself refuses it (404, audited)
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    target = url_for("governance.reason", case_id=case.id, next=back if request.headers.get("HX-Request") != "true"
                     else url_for("cases.show", case_id=case.id))
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class(status=200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.route("/cases/<int:case_id>/reason", methods=["GET", "POST"])
@roles_required(*CASE_ROLES)
def reason(case_id):
    """Ask why the user needs to open this closed-session or restricted case; keep the answer."""
    case = get_case_or_404(case_id)
    target = _safe_path(request.args.get("next")) or url_for("cases.show", case_id=case.id)
    if not governance.needs_reason(case, _user()):
        return redirect(target)
    form = ReasonForm()
    if form.validate_on_submit():
        governance.give_reason(case, _user(), form.reason.data)
        return redirect(target)
    return render_template("governance/reason.html", form=form, case=case,
                           closed_session=governance.is_closed_session(case))


@bp.get("/cases/<int:case_id>/history")
@coordinator_required
def case_history(case_id):
    """Who has looked at this case, and who changed it: from the audit log, newest first."""
    case = get_case_or_404(case_id)
    rows = governance.case_history(case, _user())
    return render_template("governance/history.html", rows=rows, case=case, person=None,
                           limit=governance.HISTORY_LIMIT)


def _person_or_404(person_id: int) -> Person:
    """A person of the panel in view (another panel's is a 404, audited, issue 12)."""
    person = Person.get_or_none((Person.id == person_id) & (Person.panel == panels.current_panel_id())
                                & Person.deleted_at.is_null())
    if person is None:
        deny(404, object_type="person", object_id=person_id)
    return person


@bp.get("/people/<int:person_id>/history")
@coordinator_required
def person_history(person_id):
    """Who has looked at anything held about this person: their cases, referrals naming them, exports."""
    person = _person_or_404(person_id)
    rows = governance.person_history(person, _user())
    return render_template("governance/history.html", rows=rows, case=None, person=person,
                           cases=governance.person_cases(person), limit=governance.HISTORY_LIMIT)



@bp.get("/people/<int:person_id>")
@coordinator_required
def person(person_id):
    """One person's record for the coordinator: their cases, who has looked, subject access."""
    person = _person_or_404(person_id)
    with db.atomic():
        audit.record("person.view", person, user=_user())
    return render_template("governance/person.html", person=person, cases=governance.person_cases(person))


# --- subject access ----------------------------------------------------------------------------------


@bp.route("/people/<int:person_id>/subject-access", methods=["GET", "POST"])
@coordinator_required
def subject_access_export(person_id):
    """Confirm, then download everything held about this person as a Word document (audited)."""
    person = _person_or_404(person_id)
    form = EmptyForm()
    if form.validate_on_submit():
        name, data = subject_access.export(person, _user())
        return send_file(io.BytesIO(data), as_attachment=True, download_name=name, max_age=0,
                         mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    return render_template("governance/subject_access.html", form=form, person=person,
                           holding=subject_access.gather(person))


# --- retention ---------------------------------------------------------------------------------------


@bp.get("/retention")
@coordinator_required
def retention_queue():
    """Closed cases due for their retention review (and those due within a month)."""
    today = clock.now().date()
    items = retention.queue(today, include_upcoming_days=31)
    return render_template("governance/retention.html", due=[i for i in items if i.due <= today],
                           upcoming=[i for i in items if i.due > today], months=retention.months(), today=today)


def _reviewable_case(case_id: int):
    case = get_case_or_404(case_id)
    if retention.review_due(case) is None:
        flash("Only a closed case is reviewed for retention.", "info")
        return case, redirect(url_for("governance.retention_queue"))
    return case, None


@bp.route("/retention/<int:case_id>/keep", methods=["GET", "POST"])
@coordinator_required
def retention_keep(case_id):
    """Keep a case past its review: a reason and the next review date."""
    case, away = _reviewable_case(case_id)
    if away:
        return away
    today = clock.now().date()
    form = KeepForm(today=today)
    if request.method == "GET":
        form.review_date.data = add_months(today, retention.months())
    if form.validate_on_submit():
        try:
            retention.keep(case, _user(), form.reason.data, form.review_date.data)
        except retention.RetentionError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            flash(f"Case {case.number} kept until {form.review_date.data:%d %B %Y}.", "success")
            return redirect(url_for("governance.retention_queue"))
    return render_template("governance/retention_keep.html", form=form, case=case, due=retention.review_due(case),
                           decisions=retention.decisions(case))


@bp.route("/retention/<int:case_id>/delete", methods=["GET", "POST"])
@coordinator_required
def retention_delete(case_id):
    """Confirmation page, then delete the case's personal data (a record of the deletion stays)."""
    case, away = _reviewable_case(case_id)
    if away:
        return away
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            retention.delete(case, _user(), form.reason.data)
        except retention.RetentionError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            flash(f"The personal data of case {case.number} has been deleted. A record of the deletion is kept.",
                  "success")
            return redirect(url_for("governance.retention_queue"))
    return render_template("governance/retention_delete.html", form=form, case=case,
                           due=retention.review_due(case), holding=subject_access_counts(case))


def subject_access_counts(case) -> dict:
    """What a deletion will remove, counted for the confirmation page."""
    from marac.models import CasePerson, Document, Note, Referral

    return {"people": CasePerson.select().where(CasePerson.case == case.id).count(),
            "only_here": len(retention._only_here(case.id)),
            "referrals": Referral.select().where(Referral.case == case.id).count(),
            "notes": Note.select().where(Note.case == case.id).count(),
            "documents": Document.select().where(Document.case == case.id).count()}


# --- release of minutes ------------------------------------------------------------------------------

RELEASE_ROLES = (COORDINATOR, CHAIR)


def _release_or_404(release_id: int):
    from marac.models import Case, ReleaseRequest

    row = (ReleaseRequest.select(ReleaseRequest, Case).join(Case)
           .where((ReleaseRequest.id == release_id) & (Case.panel == panels.current_panel_id())
                  & Case.deleted_at.is_null()).first())
    if row is None:
        deny(404, object_type="release_request", object_id=release_id)
    get_case_or_404(row.case_id)  # the same rule as the case itself
    return row


@bp.get("/releases")
@roles_required(*RELEASE_ROLES)
def releases_index():
    """Requests to release minutes: those open (with their deadline) and those decided."""
    return render_template("governance/releases.html", open_rows=list(releases.open_requests()),
                           closed_rows=list(releases.closed_requests()), days_left=releases.working_days_left)


@bp.route("/cases/<int:case_id>/releases/new", methods=["GET", "POST"])
@coordinator_required
def release_new(case_id):
    """Log a request to release a case's minutes and action plans."""
    case = get_case_or_404(case_id)
    today = clock.now().date()
    form = ReleaseRequestForm(today=today)
    if request.method == "GET":
        form.received_on.data = today
    if form.validate_on_submit():
        try:
            row = releases.log_request(case, _user(), requester_name=form.requester_name.data,
                                       requester_organisation=form.requester_organisation.data or "",
                                       basis=form.basis.data, detail=form.detail.data or "",
                                       received_on=form.received_on.data)
        except releases.ReleaseError as exc:
            form.requester_name.errors = [*form.requester_name.errors, str(exc)]
        else:
            flash(f"Request logged. The answer is due by {row.due_on:%d %B %Y}.", "success")
            return redirect(url_for("governance.release_show", release_id=row.id))
    return render_template("governance/release_new.html", form=form, case=case,
                           due_days=releases.DUE_WORKING_DAYS)


@bp.route("/releases/<int:release_id>", methods=["GET", "POST"])
@roles_required(*RELEASE_ROLES)
def release_show(release_id):
    """A request to release minutes; the chair decides it here."""
    row = _release_or_404(release_id)
    form = ReleaseDecisionForm()
    if request.method == "POST":
        if _user().role != CHAIR:
            deny(403, object_type="release_request", object_id=release_id, reason="only the chair decides")
        if form.validate_on_submit():
            try:
                releases.decide(row, _user(), form.decision.data, form.reason.data)
            except releases.ReleaseError as exc:
                form.decision.errors = [*form.decision.errors, str(exc)]
            else:
                flash("Decision recorded.", "success")
                return redirect(url_for("governance.release_show", release_id=row.id))
    with db.atomic():
        audit.record("release.view", row, user=_user(), detail={"case_id": row.case_id})
    return render_template("governance/release_show.html", row=row, form=form, release_form=EmptyForm(),
                           days_left=releases.working_days_left(row), files=releases.FILES)


@bp.post("/releases/<int:release_id>/release")
@roles_required(*RELEASE_ROLES)
def release_download(release_id):
    """Produce the case's minutes extracts and action plan for an approved request (recorded)."""
    row = _release_or_404(release_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        name, data = releases.release(row, _user())
    except releases.ReleaseError as exc:
        flash(str(exc), "info")
        return redirect(url_for("governance.release_show", release_id=row.id))
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name,
                     max_age=0)
