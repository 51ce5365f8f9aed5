"""Running the meeting (issue 6): attendance, observers, confidentiality, the review of returning
cases' actions, the case-by-case screen with actions added in place (htmx), and the minutes.

Every page and fragment goes through marac.access (meeting and listing visibility) and, for case
details, the confidentiality gate: whoever has not agreed to this meeting's statement is sent to it.
Views parse, call a service (marac.meeting_run, marac.minutes) and render; services audit.
"""
from datetime import UTC

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from marac import access, clock, htmx, meeting_run, meetings, minutes, schedule
from marac.access import CHAIR, COORDINATOR, OBSERVER, REPRESENTATIVE, roles_required
from marac.forms import EmptyForm
from marac.forms.meeting_run import (
    ActionForm,
    AmendmentForm,
    ApologiesForm,
    AttendeeForm,
    DiscussionForm,
    NotesForm,
    ObserverForm,
    RefuseObserverForm,
    ReviewForm,
    SignOutForm,
    local_time_on,
)
from marac.meeting_run import RunError
from marac.minutes import MinutesError
from marac.models import Action, Agency, Attendance, User

bp = Blueprint("meeting_run", __name__, url_prefix="/meetings/<int:meeting_id>/run")
RUN_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE, OBSERVER)
MINUTES_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE)


@bp.context_processor
def _helpers():
    def epoch_ms(utc):
        return int(utc.replace(tzinfo=UTC).timestamp() * 1000) if utc else ""

    return {
        "panel_name": meetings.panel_name(),
        "meeting_when": lambda meeting: schedule.format_datetime(meeting.starts_at),
        "long_date": schedule.format_date,
        "epoch_ms": epoch_ms,
        "now_utc": clock.now,
        "review_outcomes": meeting_run.REVIEW_OUTCOMES,
    }


def _user():
    return current_user._get_current_object()


def _meeting(meeting_id: int):
    return access.get_run_meeting_or_404(meeting_id)


def _listings(meeting):
    return meeting_run.agenda(meeting, access.run_listing_filter(_user()))


def _can_edit(meeting) -> bool:
    return current_user.role == COORDINATOR and meeting.minutes_signed_off_at is None


def _gate(meeting):
    """None when the user agreed to this meeting's confidentiality statement; else a redirect to it
    (HX-Redirect for htmx, so no case detail is ever swapped into the page)."""
    if meeting_run.has_agreed(meeting, _user()):
        return None
    target = url_for(".confidentiality", meeting_id=meeting.id, next=request.full_path
                     if request.method == "GET" and not htmx.is_fragment_request() else None)
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _attendance_row(meeting, attendance_id: int):
    row = Attendance.get_or_none((Attendance.id == attendance_id) & (Attendance.meeting == meeting.id))
    if row is None:
        access.deny(404, object_type="attendance", object_id=attendance_id)
    return row


def _common(meeting, listings=None):
    listings = _listings(meeting) if listings is None else listings
    rows = meeting_run.discussions(listings)
    return {
        "meeting": meeting,
        "record": meeting_run.record_for(meeting),
        "listings": listings,
        "discussions": rows,
        "timings": meeting_run.timings(meeting, listings, rows),
        "can_edit": _can_edit(meeting),
        "signed_off": meeting.minutes_signed_off_at is not None,
        "agreed": meeting_run.has_agreed(meeting, _user()),
        "uk_time": meeting_run.uk_time,
    }


# --- overview ----------------------------------------------------------------------------------------


@bp.get("")
@roles_required(*RUN_ROLES)
def overview(meeting_id):
    """The meeting's steps, and (once the statement is agreed) the cases in order with their timings."""
    meeting = _meeting(meeting_id)
    meeting_run.record_view(meeting, _user(), "overview")
    ctx = _common(meeting)
    rows = meeting_run.attendance(meeting)
    ctx.update(present=[r for r in rows if r.status == "present" and r.time_out is None],
               agreed_count=sum(1 for r in rows if r.agreed_at and r.status == "present"),
               form=EmptyForm(), due=minutes.due_date(meeting))
    return render_template("meeting_run/overview.html", **ctx)


@bp.post("/start")
@roles_required(COORDINATOR)
def start(meeting_id):
    """Start the meeting (observers can no longer be approved)."""
    meeting = _meeting(meeting_id)
    if EmptyForm().validate_on_submit():
        try:
            meeting_run.start_meeting(meeting, _user())
            flash("The meeting has started.", "success")
        except RunError as error:
            flash(str(error), "error")
    return redirect(url_for(".overview", meeting_id=meeting.id))


@bp.route("/end", methods=["GET", "POST"])
@roles_required(COORDINATOR)
def end(meeting_id):
    """Confirm, then end the meeting: everyone still present is signed out."""
    meeting = _meeting(meeting_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            meeting_run.end_meeting(meeting, _user())
            flash("The meeting has ended. Check the minutes, then ask the chair to sign them off.", "success")
            return redirect(url_for(".minutes_page", meeting_id=meeting.id))
        except RunError as error:
            flash(str(error), "error")
            return redirect(url_for(".overview", meeting_id=meeting.id))
    return render_template("meeting_run/confirm.html", meeting=meeting, form=form,
                           title="End the meeting?", button="End the meeting",
                           text="Everyone still signed in is signed out at this time, and the case being heard "
                                "ends. The record stays editable until the chair signs off the minutes.",
                           back=url_for(".overview", meeting_id=meeting.id))


# --- attendance --------------------------------------------------------------------------------------------


def _attendance_page(meeting, form=None, apologies=None, status=200):
    rows = meeting_run.attendance(meeting)
    ctx = _common(meeting)
    ctx.update(rows=[r for r in rows if r.capacity != "observer" or r.status == "present"],
               absent=meeting_run.absent_agencies(meeting, rows), form=form or AttendeeForm(),
               apologies=apologies or ApologiesForm(prefix=""), button=EmptyForm())
    return render_template("meeting_run/attendance.html", **ctx), status


@bp.get("/attendance")
@roles_required(COORDINATOR, CHAIR)
def attendance(meeting_id):
    """The attendance sheet: who is present, apologies, written information, agreements."""
    meeting = _meeting(meeting_id)
    meeting_run.record_view(meeting, _user(), "attendance")
    return _attendance_page(meeting)


@bp.post("/attendance")
@roles_required(COORDINATOR)
def sign_in(meeting_id):
    """Sign someone in (a user account, or someone else attending for an agency)."""
    meeting = _meeting(meeting_id)
    form = AttendeeForm()
    if form.validate_on_submit():
        try:
            person = User.get_or_none(User.id == form.person.data) if form.person.data else None
            agency = Agency.get_or_none(Agency.id == form.agency.data) if form.agency.data else None
            row = meeting_run.add_attendee(meeting, _user(), user=person, agency=agency, name=form.name.data or "",
                                           time_in=local_time_on(meeting, form.time_in.data))
            flash(f"{row.name} signed in.", "success")
            return redirect(url_for(".attendance", meeting_id=meeting.id))
        except RunError as error:
            form.person.errors = [*form.person.errors, str(error)]
    return _attendance_page(meeting, form=form)


@bp.post("/attendance/apologies")
@roles_required(COORDINATOR)
def apologies(meeting_id):
    """Record an agency's apologies (and whether it sent written information)."""
    meeting = _meeting(meeting_id)
    form = ApologiesForm(prefix="")
    if form.validate_on_submit():
        try:
            meeting_run.record_apologies(meeting, _user(), agency=Agency.get_by_id(form.apologies_agency.data),
                                         name=form.apologies_name.data or "", written_info=form.written_info.data)
            flash("Apologies recorded.", "success")
            return redirect(url_for(".attendance", meeting_id=meeting.id))
        except RunError as error:
            form.apologies_agency.errors = [*form.apologies_agency.errors, str(error)]
    return _attendance_page(meeting, apologies=form)


@bp.route("/attendance/<int:attendance_id>/sign-out", methods=["GET", "POST"])
@roles_required(COORDINATOR)
def sign_out(meeting_id, attendance_id):
    """Sign someone out, with the last case heard when they leave early."""
    meeting = _meeting(meeting_id)
    row = _attendance_row(meeting, attendance_id)
    listings = meeting_run.agenda(meeting)
    form = SignOutForm(listings=listings)
    if request.method == "GET":
        record = meeting_run.record_for(meeting)
        current = record.current_listing_id if record else None
        form.last_listing.data = current or 0
    if form.validate_on_submit():
        try:
            last = next((li for li in listings if li.id == form.last_listing.data), None)
            meeting_run.sign_out(row, _user(), time_out=local_time_on(meeting, form.time_out.data), last_listing=last)
            flash(f"{row.name} signed out.", "success")
            return redirect(url_for(".attendance", meeting_id=meeting.id))
        except RunError as error:
            form.time_out.errors = [*form.time_out.errors, str(error)]
    return render_template("meeting_run/sign_out.html", meeting=meeting, row=row, form=form)


@bp.post("/attendance/<int:attendance_id>/agree")
@roles_required(COORDINATOR)
def record_agreement(meeting_id, attendance_id):
    """Record that an attendee in the room agreed to the confidentiality statement."""
    meeting = _meeting(meeting_id)
    row = _attendance_row(meeting, attendance_id)
    if EmptyForm().validate_on_submit():
        try:
            meeting_run.record_agreement(row, _user())
            flash(f"{row.name} agreed to the confidentiality statement.", "success")
        except RunError as error:
            flash(str(error), "error")
    back = ".observers" if row.capacity == "observer" else ".attendance"
    return redirect(url_for(back, meeting_id=meeting.id))


@bp.route("/attendance/<int:attendance_id>/remove", methods=["GET", "POST"])
@roles_required(COORDINATOR)
def remove_attendee(meeting_id, attendance_id):
    """Confirm, then take a line off the attendance sheet."""
    meeting = _meeting(meeting_id)
    row = _attendance_row(meeting, attendance_id)
    form = EmptyForm()
    back = url_for(".observers" if row.capacity == "observer" else ".attendance", meeting_id=meeting.id)
    if form.validate_on_submit():
        try:
            meeting_run.remove_attendee(row, _user())
            flash(f"{row.name or 'The line'} was removed from the attendance sheet.", "success")
        except RunError as error:
            flash(str(error), "error")
        return redirect(back)
    return render_template("meeting_run/confirm.html", meeting=meeting, form=form,
                           title=f"Remove {row.name or 'this line'} from the attendance sheet?",
                           text="Use this to correct a mistake. The removal is recorded in the audit log.",
                           button="Remove", warning=True, back=back)


# --- observers ----------------------------------------------------------------------------------------------


def _observers_page(meeting, form=None):
    ctx = _common(meeting)
    ctx.update(observers=meeting_run.observers(meeting), limit=meeting_run.observer_limit(),
               approved=meeting_run.approved_observer_count(meeting), form=form or ObserverForm(),
               button=EmptyForm(), started=meeting_run.has_started(meeting))
    return render_template("meeting_run/observers.html", **ctx)


@bp.get("/observers")
@roles_required(COORDINATOR, CHAIR)
def observers(meeting_id):
    """Observers asked for, approved (within the panel's limit) or refused; and their arrival."""
    meeting = _meeting(meeting_id)
    meeting_run.record_view(meeting, _user(), "observers")
    return _observers_page(meeting)


@bp.post("/observers")
@roles_required(COORDINATOR)
def add_observer(meeting_id):
    """Note someone who asks to observe (approval is a separate step)."""
    meeting = _meeting(meeting_id)
    form = ObserverForm()
    if form.validate_on_submit():
        try:
            account = User.get_or_none(User.id == form.account.data) if form.account.data else None
            meeting_run.request_observer(meeting, _user(), name=form.name.data, organisation=form.organisation.data,
                                         user=account)
            flash(f"{form.name.data} added. Approve or refuse them before the meeting.", "success")
            return redirect(url_for(".observers", meeting_id=meeting.id))
        except RunError as error:
            form.name.errors = [*form.name.errors, str(error)]
    return _observers_page(meeting, form)


@bp.post("/observers/<int:attendance_id>/<any(approve, refuse, arrived):step>")
@roles_required(COORDINATOR)
def observer_step(meeting_id, attendance_id, step):
    """Approve, refuse or sign in an observer."""
    meeting = _meeting(meeting_id)
    row = _attendance_row(meeting, attendance_id)
    form = RefuseObserverForm() if step == "refuse" else EmptyForm()
    if form.validate_on_submit():
        try:
            if step == "approve":
                meeting_run.approve_observer(row, _user())
                flash(f"{row.name} is approved to observe.", "success")
            elif step == "refuse":
                meeting_run.refuse_observer(row, _user(), form.reason.data or "")
                flash(f"{row.name} is refused.", "success")
            else:
                meeting_run.observer_arrived(row, _user())
                flash(f"{row.name} signed in as an observer.", "success")
        except RunError as error:
            flash(str(error), "error")
    return redirect(url_for(".observers", meeting_id=meeting.id))


# --- confidentiality -------------------------------------------------------------------------------------


def _safe_next(meeting) -> str:
    target = request.values.get("next") or ""
    prefix = url_for(".overview", meeting_id=meeting.id)
    # Only back into this meeting's own pages: never an open redirect.
    if target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target
    return prefix


@bp.route("/confidentiality", methods=["GET", "POST"])
@roles_required(*RUN_ROLES)
def confidentiality(meeting_id):
    """The statement the chair reads; each attendee agrees before seeing case details."""
    meeting = _meeting(meeting_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            meeting_run.agree_self(meeting, _user())
            flash("Thank you: your agreement is recorded for this meeting.", "success")
            return redirect(_safe_next(meeting))
        except RunError as error:
            flash(str(error), "error")
    meeting_run.record_view(meeting, _user(), "confidentiality")
    ctx = _common(meeting, listings=[])
    ctx.update(statement=meeting_run.statement(meeting), form=form, next=_safe_next(meeting),
               rows=meeting_run.attendance(meeting) if current_user.role in (COORDINATOR, CHAIR) else [])
    return render_template("meeting_run/confidentiality.html", **ctx)


# --- review of returning cases' actions ------------------------------------------------------------------


def _review_forms(items):
    forms = {}
    for item in items:
        form = ReviewForm(prefix=f"a{item.action.id}", formdata=None)
        form.new_due_date.data = item.action.due_date
        forms[item.action.id] = form
    return forms


@bp.get("/review")
@roles_required(*RUN_ROLES)
def review(meeting_id):
    """The outstanding actions of the returning cases, reviewed before the first case."""
    meeting = _meeting(meeting_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    ctx = _common(meeting)
    items = meeting_run.outstanding_actions(meeting, ctx["listings"])
    meeting_run.record_review_view(meeting, _user(), items)
    ctx.update(items=items, forms=_review_forms(items))
    return render_template("meeting_run/review.html", **ctx)


@bp.post("/review/<int:action_id>")
@roles_required(COORDINATOR)
def review_action(meeting_id, action_id):
    """Mark an outstanding action done, carried forward or escalated, with the reason."""
    meeting = _meeting(meeting_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    listings = _listings(meeting)
    items = {i.action.id: i for i in meeting_run.outstanding_actions(meeting, listings)}
    item = items.get(action_id)
    if item is None:
        access.deny(404, object_type="action", object_id=action_id)
    form = ReviewForm(prefix=f"a{action_id}")
    error = oob_status = ""
    if form.validate_on_submit():
        try:
            meeting_run.review_action(meeting, item.action, _user(), outcome=form.outcome.data,
                                      reason=form.reason.data, new_due_date=form.new_due_date.data)
            if not htmx.is_fragment_request():
                flash("Review recorded.", "success")
                return redirect(url_for(".review", meeting_id=meeting.id) + f"#action-{action_id}")
            item = {i.action.id: i for i in meeting_run.outstanding_actions(meeting, listings)}[action_id]
            oob_status = f"Review recorded: case {item.listing.case.number}, {item.action.owner_agency.name}."
        except RunError as exc:
            error = str(exc)
    ctx = _common(meeting, listings)
    all_items = list(items.values())
    forms = _review_forms(all_items)
    forms[action_id] = form
    ctx.update(items=all_items, forms=forms, item=item, form=form, error=error,
               oob_status=f"Review not recorded: {error}" if error
               else oob_status if form.errors == {} and item.review else "")
    return htmx.render("meeting_run/review.html", "meeting_run/_review_item.html", **ctx)


# --- the case screen ----------------------------------------------------------------------------------------


def _listing(meeting, listing_id):
    listing = access.get_run_listing_or_404(meeting, listing_id)
    listing.meeting = meeting
    return listing


def _action_form(listing, agencies, formdata=None):
    form = ActionForm(formdata=formdata, agencies=agencies) if formdata is not None else ActionForm(
        formdata=None, agencies=agencies)
    if formdata is None:
        form.due_date.data = meeting_run.default_due_date()
        form.priority.data = "normal"
    return form


def _owner_agencies(listing):
    if listing.kind == "closed":
        invited = meeting_run.invited_agency_ids(listing)
        return [a for a in Agency.ordered() if a.id in invited]
    return [a for a in Agency.ordered() if a.withdrawn_on is None]


def _actions_context(meeting, listing, action_form=None, std_error="", added=None):
    agencies = _owner_agencies(listing)
    return {
        "meeting": meeting, "listing": listing, "can_edit": _can_edit(meeting),
        "actions": meeting_run.actions_for(listing),
        "proposals": meeting_run.proposals(listing) if _can_edit(meeting) else [],
        "action_form": action_form or _action_form(listing, agencies), "owner_agencies": agencies,
        "std_error": std_error, "added": added or [],
    }


def _discussion_form(listing, discussion, words, formdata=None):
    if formdata is not None:
        form = DiscussionForm(formdata=formdata, words=words)
    else:
        form = DiscussionForm(formdata=None, obj=discussion, words=words)
        form.decision.data = discussion.decision or None
        form.returns_for_review.data = {True: "yes", False: "no"}.get(discussion.returns_for_review)
        form.lead_agency.data = listing.case.lead_agency_id or 0
    return form


def _case_context(meeting, listing, discussion_form=None, action_form=None, status_message=""):
    ctx = _common(meeting)
    listings = ctx["listings"]
    position = next((n for n, li in enumerate(listings) if li.id == listing.id), 0)
    discussion = meeting_run.discussion_for(listing)
    research = meeting_run.research_for(listing)
    words = meeting_run.panel_words()
    shared = meeting_run.shared_info(listing)
    ctx.update(_actions_context(meeting, listing, action_form))
    ctx.update(
        listing=listing, position=position + 1, total=len(listings),
        previous=listings[position - 1] if position > 0 else None,
        next_listing=listings[position + 1] if position + 1 < len(listings) else None,
        discussion=discussion, summary=meeting_run.case_summary(listing), research=research,
        sharing_agencies=meeting_run.sharing_agencies(listing, research), shared=shared,
        words=words, decisions=meeting_run.DECISIONS,
        form=discussion_form or _discussion_form(listing, discussion, words),
        shared_values={k: v.text for k, v in shared.items()},
        state=meeting_run.listing_state(discussion if discussion.id else None),
        timing=ctx["timings"].by_listing.get(listing.id), status_message=status_message,
        observer=current_user.role == OBSERVER, button=EmptyForm(),
    )
    return ctx


@bp.get("/cases/<int:listing_id>")
@roles_required(*RUN_ROLES)
def case(meeting_id, listing_id):
    """One case in agenda order: summary and risk, research, the record typed as it is discussed, actions."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    meeting_run.record_case_view(listing, _user())
    return render_template("meeting_run/case.html", **_case_context(meeting, listing))


@bp.post("/cases/<int:listing_id>/<any(start, finish):step>")
@roles_required(COORDINATOR)
def case_step(meeting_id, listing_id, step):
    """Start hearing a case, or finish it (then on to the next)."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        if step == "start":
            meeting_run.start_case(listing, _user())
        else:
            meeting_run.finish_case(listing, _user())
            listings = _listings(meeting)
            ids = [li.id for li in listings]
            following = listings[ids.index(listing.id) + 1] if listing.id in ids[:-1] else None
            flash(f"Case {listing.case.number} finished.", "success")
            if following is not None:
                return redirect(url_for(".case", meeting_id=meeting.id, listing_id=following.id))
            return redirect(url_for(".overview", meeting_id=meeting.id))
    except RunError as error:
        flash(str(error), "error")
    return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id))


def _discussion_values(form, listing):
    """The fields present in the post (an autosave may carry only some), as service values."""
    posted = request.form
    values, shared = {}, {}
    for key in meeting_run.TEXT_FIELDS:
        if key in posted:
            values[key] = (form[key].data or "").replace("\r\n", "\n")
    if "decision" in posted:
        values["decision"] = form.decision.data or ""
    if "returns_for_review" in posted:
        values["returns_for_review"] = {"yes": True, "no": False}.get(form.returns_for_review.data)
    if "facts" in posted:  # a hidden marker: checkboxes send nothing when unticked
        for key in meeting_run.FACT_FIELDS:
            values[key] = bool(form[key].data)
    for key, text in posted.items():
        if key.startswith("shared-") and key[7:].isdigit():
            shared[int(key[7:])] = text.replace("\r\n", "\n")
    lead = False
    if "lead_agency" in posted:
        lead = Agency.get_or_none(Agency.id == form.lead_agency.data) if form.lead_agency.data else None
    return values, shared, lead


@bp.post("/cases/<int:listing_id>/discussion")
@roles_required(COORDINATOR)
def save_discussion(meeting_id, listing_id):
    """Save the case record as it is typed (htmx: the 'Saved at' status; without JavaScript: the page)."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    words = meeting_run.panel_words()
    form = DiscussionForm(words=words)
    message, saved = "", None
    if form.validate_on_submit():
        values, shared, lead = _discussion_values(form, listing)
        before = meeting_run.proposals(listing)
        try:
            saved = meeting_run.save_discussion(listing, _user(), values, shared, lead)
            message = f"Saved at {meeting_run.uk_time(saved.updated_at)}"
        except RunError as error:
            message = f"Not saved: {error}"
    else:
        message = "Not saved: " + "; ".join(e for errors in form.errors.values() for e in errors)
    if htmx.is_fragment_request():
        response = htmx.render("meeting_run/case.html", "meeting_run/_save_status.html", message=message,
                               ok=saved is not None)
        if saved is not None and [(p.key, p.state) for p in meeting_run.proposals(listing)] != [
                (p.key, p.state) for p in before]:
            # A tick that brings a standard action (children: MASH) refreshes the proposals in place.
            response.headers["HX-Trigger"] = "proposals-changed"
        return response
    if saved is not None:
        flash(message + ".", "success")
        return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#record")
    return render_template("meeting_run/case.html",
                           **_case_context(meeting, listing, discussion_form=form, status_message=message))


@bp.get("/cases/<int:listing_id>/standard-actions")
@roles_required(COORDINATOR)
def standard_actions(meeting_id, listing_id):
    """The standard-action proposals (htmx refresh after a tick changes them)."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    if not htmx.is_fragment_request():
        return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#standard-actions")
    return htmx.render("meeting_run/case.html", "meeting_run/_standard_actions.html",
                       **_actions_context(meeting, listing))


def _actions_response(meeting, listing, ctx):
    if htmx.is_fragment_request():
        return htmx.render("meeting_run/case.html", "meeting_run/_actions.html", **ctx)
    full = _case_context(meeting, listing, action_form=ctx["action_form"])
    full.update(std_error=ctx["std_error"])
    return render_template("meeting_run/case.html", **full)


@bp.post("/cases/<int:listing_id>/actions")
@roles_required(COORDINATOR)
def add_action(meeting_id, listing_id):
    """Record an action agreed in the discussion (htmx: the action list is replaced in place)."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    agencies = _owner_agencies(listing)
    form = _action_form(listing, agencies, formdata=request.form)
    if form.validate_on_submit():
        try:
            action = meeting_run.add_action(listing, _user(), owner_agency=Agency.get_by_id(form.owner_agency.data),
                                            description=form.description.data, due_date=form.due_date.data,
                                            priority=form.priority.data)
            if not htmx.is_fragment_request():
                flash("Action added.", "success")
                return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#case-actions")
            ctx = _actions_context(meeting, listing, added=[action.id])
            ctx["oob_message"] = f"Action added for {action.owner_agency.name}: {action.description}"
            return _actions_response(meeting, listing, ctx)
        except RunError as error:
            form.description.errors = [*form.description.errors, str(error)]
    return _actions_response(meeting, listing, _actions_context(meeting, listing, action_form=form))


@bp.post("/cases/<int:listing_id>/standard-actions")
@roles_required(COORDINATOR)
def record_standard_actions(meeting_id, listing_id):
    """Add the ticked standard actions; remove the unticked ones."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    error, added = "", []
    if EmptyForm().validate_on_submit():
        ticked = {}
        for key in request.form.getlist("standard"):
            owner_id = request.form.get(f"owner-{key}", type=int)
            ticked[key] = Agency.get_or_none(Agency.id == owner_id) if owner_id else None
        try:
            added = [a.id for a in meeting_run.record_standard_actions(listing, _user(), ticked)]
            if not htmx.is_fragment_request():
                flash("Standard actions recorded.", "success")
                return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#case-actions")
        except RunError as exc:
            error = str(exc)
    ctx = _actions_context(meeting, listing, std_error=error, added=added)
    # The page's status region (#actions-status) says what happened: the form that was used is gone.
    if error:
        ctx["oob_message"] = f"Standard actions not recorded: {error}"
    else:
        ctx["oob_message"] = f"{len(added)} standard {'action' if len(added) == 1 else 'actions'} added."
    return _actions_response(meeting, listing, ctx)


@bp.post("/cases/<int:listing_id>/standard-actions/restore")
@roles_required(COORDINATOR)
def restore_standard_actions(meeting_id, listing_id):
    """Propose the removed standard actions again."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    error = ""
    if EmptyForm().validate_on_submit():
        try:
            meeting_run.restore_standard_actions(listing, _user())
            if not htmx.is_fragment_request():
                return redirect(url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#case-actions")
        except RunError as exc:
            error = str(exc)
    ctx = _actions_context(meeting, listing, std_error=error)
    ctx["oob_message"] = (f"Not proposed again: {error}" if error
                          else "The removed standard actions are proposed again: tick the ones that apply.")
    return _actions_response(meeting, listing, ctx)


@bp.route("/cases/<int:listing_id>/actions/<int:action_id>/remove", methods=["GET", "POST"])
@roles_required(COORDINATOR)
def remove_action(meeting_id, listing_id, action_id):
    """Confirm, then remove an action added at this meeting by mistake."""
    meeting = _meeting(meeting_id)
    listing = _listing(meeting, listing_id)
    if (gate := _gate(meeting)) is not None:
        return gate
    action = Action.get_or_none((Action.id == action_id) & (Action.listing == listing.id))
    if action is None:
        access.deny(404, object_type="action", object_id=action_id)
    back = url_for(".case", meeting_id=meeting.id, listing_id=listing.id) + "#case-actions"
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            meeting_run.remove_action(listing, action, _user())
            flash("Action removed.", "success")
        except RunError as error:
            flash(str(error), "error")
        return redirect(back)
    return render_template("meeting_run/confirm.html", meeting=meeting, form=form, title="Remove this action?",
                           text=action.description, button="Remove the action", warning=True, back=back)


# --- minutes ------------------------------------------------------------------------------------------------


def _copy_for(meeting):
    """Which copy this user may read: the coordinator and chair any (full by default); a representative
    only their own agency's, and only once signed off."""
    if current_user.role == REPRESENTATIVE:
        return current_user.agency
    agency_id = request.args.get("agency", type=int)
    if agency_id:
        agency = Agency.get_or_none(Agency.id == agency_id)
        if agency is None:
            access.deny(404, object_type="agency", object_id=agency_id)
        return agency
    return None


def _minutes_data(meeting, copy_for):
    data = minutes.minutes_data(meeting)
    return minutes.for_agency(data, copy_for) if copy_for is not None else data


def _representative_waits(meeting):
    return current_user.role == REPRESENTATIVE and meeting.minutes_signed_off_at is None


@bp.get("/minutes")
@roles_required(*MINUTES_ROLES)
def minutes_page(meeting_id, notes_form=None, amendment_form=None):
    """The minutes: compiled from the record, editable through it until signed off; then frozen."""
    meeting = _meeting(meeting_id)
    if _representative_waits(meeting):
        return render_template("meeting_run/minutes_waiting.html", meeting=meeting, due=minutes.due_date(meeting))
    copy_for = _copy_for(meeting)
    data = _minutes_data(meeting, copy_for)
    minutes.record_view(meeting, _user(), copy_for, "page")
    listings = meeting_run.agenda(meeting)
    record = meeting_run.record_for(meeting)
    if notes_form is None:
        notes_form = NotesForm(formdata=None)
        notes_form.notes.data = record.notes if record else ""
    return render_template(
        "meeting_run/minutes.html", meeting=meeting, data=data, copy_for=copy_for, record=record,
        due=minutes.due_date(meeting), agencies=[a for a in Agency.ordered() if a.is_member],
        notes_form=notes_form, amendment_form=amendment_form or AmendmentForm(listings=listings),
        button=EmptyForm(), can_edit=_can_edit(meeting), uk_time=meeting_run.uk_time)


@bp.post("/minutes/notes")
@roles_required(COORDINATOR)
def minutes_notes(meeting_id):
    """Save the coordinator's general notes for the minutes."""
    meeting = _meeting(meeting_id)
    form = NotesForm()
    if form.validate_on_submit():
        try:
            minutes.save_notes(meeting, _user(), form.notes.data)
            flash("Notes saved.", "success")
            return redirect(url_for(".minutes_page", meeting_id=meeting.id))
        except MinutesError as error:
            form.notes.errors = [*form.notes.errors, str(error)]
    return minutes_page(meeting_id, notes_form=form)


@bp.post("/minutes/amendments")
@roles_required(COORDINATOR)
def minutes_amend(meeting_id):
    """Record a correction to signed-off minutes."""
    meeting = _meeting(meeting_id)
    form = AmendmentForm(listings=meeting_run.agenda(meeting))
    if form.validate_on_submit():
        listing = next((li for li in meeting_run.agenda(meeting) if li.id == form.listing.data), None)
        try:
            minutes.amend(meeting, _user(), form.text.data, listing)
            flash("Amendment recorded.", "success")
            return redirect(url_for(".minutes_page", meeting_id=meeting.id) + "#amendments")
        except MinutesError as error:
            form.text.errors = [*form.text.errors, str(error)]
    return minutes_page(meeting_id, amendment_form=form)


@bp.post("/minutes/sent")
@roles_required(COORDINATOR)
def minutes_sent(meeting_id):
    """Record when the minutes or the action summary went out."""
    meeting = _meeting(meeting_id)
    if EmptyForm().validate_on_submit():
        try:
            minutes.record_sent(meeting, _user(), request.form.get("what", ""))
            flash("Recorded as sent.", "success")
        except MinutesError as error:
            flash(str(error), "error")
    return redirect(url_for(".minutes_page", meeting_id=meeting.id))


@bp.route("/minutes/sign-off", methods=["GET", "POST"])
@roles_required(CHAIR)
def sign_off(meeting_id):
    """The chair confirms, then signs off the minutes (they are frozen)."""
    meeting = _meeting(meeting_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            minutes.sign_off(meeting, _user())
            flash("The minutes are signed off. Corrections from now on are recorded as amendments.", "success")
        except MinutesError as error:
            flash(str(error), "error")
        return redirect(url_for(".minutes_page", meeting_id=meeting.id))
    listings = meeting_run.agenda(meeting)
    rows = meeting_run.discussions(listings)
    undecided = [li for li in listings if not (rows.get(li.id) and rows[li.id].decision)]
    return render_template("meeting_run/sign_off.html", meeting=meeting, form=form, undecided=undecided,
                           signed_off=meeting.minutes_signed_off_at is not None)


@bp.get("/minutes/print")
@roles_required(*MINUTES_ROLES)
def minutes_print(meeting_id):
    """The minutes as a print-friendly page."""
    meeting = _meeting(meeting_id)
    if _representative_waits(meeting):
        return render_template("meeting_run/minutes_waiting.html", meeting=meeting, due=minutes.due_date(meeting))
    copy_for = _copy_for(meeting)
    data = _minutes_data(meeting, copy_for)
    minutes.record_view(meeting, _user(), copy_for, "print")
    return render_template("meeting_run/minutes_print.html", meeting=meeting, data=data, copy_for=copy_for)


@bp.get("/minutes/word")
@roles_required(*MINUTES_ROLES)
def minutes_word(meeting_id):
    """The minutes as a Word document (each agency's copy holds only what it may see)."""
    meeting = _meeting(meeting_id)
    if _representative_waits(meeting):
        access.deny(404, object_type="minutes", object_id=meeting.id, reason="not signed off")
    copy_for = _copy_for(meeting)
    data = _minutes_data(meeting, copy_for)
    minutes.record_view(meeting, _user(), copy_for, "word")
    response = make_response(minutes.docx_bytes(data))
    response.headers["Content-Type"] = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    suffix = f"-agency-{copy_for.id}" if copy_for else ""
    name = f"minutes-{meeting.starts_at:%Y-%m-%d}-meeting-{meeting.id}{suffix}.docx"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
