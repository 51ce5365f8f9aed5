"""The case record: search, the case page and its timeline, notes, documents, closure, transfer."""
import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from marac import CSP, cases, documents, htmx, nav, notes, transfer
from marac.access import (
    CHAIR,
    COORDINATOR,
    REPRESENTATIVE,
    coordinator_required,
    deny,
    get_case_or_404,
    get_document_or_404,
    get_note_or_404,
    roles_required,
)
from marac.forms.cases import (
    CloseForm,
    DocumentForm,
    LeadAgencyForm,
    NoteForm,
    ReopenForm,
    SearchForm,
    TimelineFilterForm,
    TransferForm,
)

bp = Blueprint("cases", __name__, url_prefix="/cases")
CASE_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE)
nav.register("Cases", "cases.search", CASE_ROLES, 40,
             also=["cases.show", "cases.timeline", "cases.note_new", "cases.note_correct", "cases.document_new",
                   "cases.close", "cases.reopen", "cases.transfer"])


@bp.app_context_processor
def case_helpers():
    """Labels and small formatters for case and action templates (any blueprint may include them)."""
    from marac import actions
    from marac.models import PERSON_ROLES

    def risk_text(referral) -> str:
        if referral is None or (referral.score_total is None and not referral.band):
            return "Not scored"
        score = "" if referral.score_total is None else str(referral.score_total)
        return f"{score} ({referral.band})".strip() if referral.band else score

    def may_correct(note) -> bool:
        return current_user.is_authenticated and notes.may_correct(current_user, note)

    return {
        "close_reasons": cases.CLOSE_REASONS, "person_roles": PERSON_ROLES, "risk_text": risk_text,
        "amendment_fields": cases.amendment_fields, "listing_kinds": LISTING_KINDS,
        "update_kinds": actions.UPDATE_KINDS, "note_categories": notes.CATEGORIES, "may_correct": may_correct,
        "document_label": documents.label, "file_size": documents.file_size, "cannot_reasons": actions.CANNOT_REASONS,
        "action_statuses": actions.STATUSES, "today_date": actions.today(),
    }


LISTING_KINDS = {"full": "Full discussion", "information": "For information only", "closed": "Closed session"}


def _user():
    return current_user._get_current_object()


@bp.route("/", methods=["GET", "POST"])
@roles_required(*CASE_ROLES)
def search():
    """Find a case by number, name, date of birth or postcode (only cases the user may see).

    GET shows the empty form; the search itself is a POST with the CSRF token, so the terms (personal
    data) never travel in a URL, browser history or a proxy's log (SECURITY.md check 29). Query
    arguments are ignored. htmx posts the same form and gets the results fragment."""
    form = SearchForm()
    result = None
    if form.validate_on_submit():
        result = cases.search(_user(), number=form.number.data or "", name=form.name.data or "",
                              date_of_birth=form.date_of_birth.data, postcode=form.postcode.data or "")
    return htmx.render("cases/search.html", "cases/_search_results.html", form=form, result=result)


def _timeline_context(case, before, *, audit_view: bool) -> dict:
    """Filters and one page of the timeline. audit_view: record this as a view of the case (a page
    already audited by cases.open_case does not record it twice)."""
    form = TimelineFilterForm(request.args, agencies=cases.timeline_agencies(case))
    filters = form.values()
    load = cases.view_timeline_page if audit_view else cases.timeline
    page = load(case, _user(), before=before, **filters)
    return {"filter_form": form, "filters": filters, "tl": page, "before": before}


def _case_view(case_id: int, fragment: str):
    case = get_case_or_404(case_id)
    before = cases.Cursor.decode(request.args.get("before"))
    if htmx.is_fragment_request():
        return htmx.render("cases/show.html", fragment, case=case,
                           **_timeline_context(case, before, audit_view=True))
    record = cases.open_case(case, _user())
    lead_form = None
    if _user().role == COORDINATOR:
        lead_form = LeadAgencyForm(formdata=None, lead_agency=case.lead_agency_id or 0)
    return htmx.render("cases/show.html", fragment, case=case, record=record, lead_form=lead_form,
                       **_timeline_context(case, before, audit_view=False))


@bp.get("/<int:case_id>")
@roles_required(*CASE_ROLES)
def show(case_id):
    """The case page: people, risk, status and the timeline (newest first); htmx filters get the timeline."""
    return _case_view(case_id, "cases/_timeline.html")


@bp.get("/<int:case_id>/timeline")
@roles_required(*CASE_ROLES)
def timeline(case_id):
    """Older timeline entries: the next page for htmx ('load more'), the whole case page without JS."""
    return _case_view(case_id, "cases/_timeline_page.html")


@bp.route("/<int:case_id>/notes/new", methods=["GET", "POST"])
@roles_required(*CASE_ROLES)
def note_new(case_id):
    """Add a note to the case."""
    case = get_case_or_404(case_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            notes.add(case, _user(), category=form.category.data, text=form.text.data,
                      restricted=bool(form.restricted.data))
        except notes.NoteError as exc:
            form.text.errors.append(str(exc))
        else:
            flash("Note added.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/note_form.html", form=form, case=case, original=None)


@bp.route("/<int:case_id>/notes/<int:note_id>/correct", methods=["GET", "POST"])
@roles_required(*CASE_ROLES)
def note_correct(case_id, note_id):
    """Correct a note: a new note linked to the old one (notes are never edited in place)."""
    case = get_case_or_404(case_id)
    original = get_note_or_404(note_id)
    if original.case_id != case.id:
        deny(404, object_type="note", object_id=note_id)
    if not notes.may_correct(_user(), original):
        deny(403, object_type="note", object_id=note_id, reason="not the author's agency")
    form = NoteForm()
    if request.method == "GET":
        notes.record_view(original, _user())
        form.category.data, form.text.data, form.restricted.data = original.category, original.text, original.restricted
    if form.validate_on_submit():
        try:
            notes.add(case, _user(), category=form.category.data, text=form.text.data,
                      restricted=bool(form.restricted.data), corrects=original)
        except notes.NoteError as exc:
            form.text.errors.append(str(exc))
        else:
            flash("Correction added. The original note stays on the timeline, marked as corrected.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/note_form.html", form=form, case=case, original=original)


@bp.route("/<int:case_id>/documents/new", methods=["GET", "POST"])
@roles_required(*CASE_ROLES)
def document_new(case_id):
    """Upload a document to the case (type checked by content; size limited by a setting)."""
    case = get_case_or_404(case_id)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = documents.read_upload(upload.stream)
            documents.save(case, _user(), filename=upload.filename, data=data, title=form.title.data or "",
                           restricted=bool(form.restricted.data))
        except documents.DocumentError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            flash("Document uploaded.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/document_form.html", form=form, case=case,
                           max_mb=documents.max_bytes() // (1024 * 1024))


@bp.get("/documents/<int:document_id>")
@roles_required(*CASE_ROLES)
def document_download(document_id):
    """The document, as a download only (never shown inline), to those who may see it."""
    doc = get_document_or_404(document_id)
    path = documents.path_for_download(doc, _user())
    if not path.is_file():
        deny(404, object_type="document", object_id=document_id, reason="file missing")
    response = send_file(path, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename,
                         max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The app's policy (SECURITY.md 18) plus sandbox: opened in a tab anyway, the file runs no script.
    response.headers["Content-Security-Policy"] = f"{CSP}; sandbox"
    return response


@bp.post("/<int:case_id>/lead")
@coordinator_required
def lead_agency(case_id):
    """Set or clear the case's lead agency."""
    case = get_case_or_404(case_id)
    form = LeadAgencyForm()
    if form.validate_on_submit():
        from marac.models import Agency

        cases.set_lead_agency(case, _user(), Agency.get_or_none(Agency.id == form.lead_agency.data))
        flash("Lead agency saved.", "success")
    else:
        flash("Select an agency from the list.", "info")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/<int:case_id>/close", methods=["GET", "POST"])
@coordinator_required
def close(case_id):
    """Confirm and close a case with a reason."""
    case = get_case_or_404(case_id)
    form = CloseForm()
    if case.status == "closed":
        flash("This case is already closed.", "info")
        return redirect(url_for("cases.show", case_id=case.id))
    if form.validate_on_submit():
        try:
            cases.close(case, _user(), form.reason.data, form.text.data or "")
        except cases.CaseError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            flash(f"Case {case.number} closed.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/close.html", form=form, case=case, flag_until=cases.flag_until(case))


@bp.route("/<int:case_id>/reopen", methods=["GET", "POST"])
@coordinator_required
def reopen(case_id):
    """Confirm and reopen a closed case."""
    case = get_case_or_404(case_id)
    form = ReopenForm()
    if case.status != "closed":
        flash("This case is open.", "info")
        return redirect(url_for("cases.show", case_id=case.id))
    if form.validate_on_submit():
        cases.reopen(case, _user(), form.text.data)
        flash(f"Case {case.number} reopened.", "success")
        return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/reopen.html", form=form, case=case)


@bp.route("/<int:case_id>/transfer", methods=["GET", "POST"])
@coordinator_required
def transfer_out(case_id):
    """MARAC-to-MARAC transfer: one zip for the receiving MARAC, recorded on the timeline."""
    case = get_case_or_404(case_id)
    form = TransferForm()
    if form.validate_on_submit():
        name, data = transfer.transfer_out(case, _user(), form.area.data)
        return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name,
                         max_age=0)
    return render_template("cases/transfer.html", form=form, case=case, files=transfer.FILES)
