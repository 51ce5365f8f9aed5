"""Meetings and the agenda board: the year's meetings, listing cases, ordering, circulation, research."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from marac import access, htmx, meetings, nav, schedule, settings
from marac.access import CHAIR, COORDINATOR, REPRESENTATIVE, coordinator_required, roles_required
from marac.forms import EmptyForm
from marac.forms.meetings import (
    ListingForm,
    MeetingForm,
    MoveRequestForm,
    PatternForm,
    ProposalStartForm,
    ResearchForm,
)
from marac.meetings import MeetingError
from marac.models import Agency

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
MEETING_ROLES = (COORDINATOR, CHAIR, REPRESENTATIVE)
nav.register("Meetings", "meetings.index", MEETING_ROLES, 30, also=[
    "meetings.pattern", "meetings.proposal", "meetings.new", "meetings.edit", "meetings.cancel", "meetings.board",
    "meetings.ready", "meetings.list_case", "meetings.listing", "meetings.listing_remove", "meetings.research",
    "meetings.circulate", "meetings.agenda"])


@bp.app_template_filter("meeting_when")
def meeting_when(value) -> str:
    """A UK local datetime as '5pm on Friday 6 November 2026'."""
    return schedule.format_datetime(value)


@bp.app_template_filter("meeting_day")
def meeting_day(value) -> str:
    """'Wednesday 18 November 2026' (datetime or date)."""
    return schedule.format_date(value.date() if hasattr(value, "date") else value) if value else ""


@bp.app_template_filter("meeting_time")
def meeting_time(value) -> str:
    """'9:30am' for a UK local datetime."""
    return schedule.format_time(value.time()) if value else ""


def _user():
    return current_user._get_current_object()


def _form_error(form, error: MeetingError, default: str) -> None:
    """Show a service refusal beside the field it is about (or the default field)."""
    field = form._fields.get(error.field or default) or form._fields[default]
    field.errors = list(field.errors or []) + [error.message]


@bp.get("/")
@roles_required(*MEETING_ROLES)
def index():
    """Upcoming and recent meetings with their deadlines."""
    upcoming, past, counts = meetings.meetings_overview(_user())
    return render_template("meetings/index.html", upcoming=upcoming, past=past, counts=counts,
                           kinds=meetings.MEETING_KINDS,
                           may_see=access.may_see_meetings(_user()), pattern=meetings.pattern(),
                           ready=len(meetings.ready_to_list()) if _user().is_coordinator else 0)


# --- the year's meetings ------------------------------------------------------------------------------


@bp.route("/pattern", methods=["GET", "POST"])
@coordinator_required
def pattern():
    """The panel's meeting pattern, times and deadlines (panel settings)."""
    values = settings.all_settings()
    form = PatternForm(data={k: values[k] for k in PatternForm.KEYS})
    if form.validate_on_submit():
        settings.set_many(form.values(), _user())
        flash("Meeting pattern saved.", "success")
        return redirect(url_for("meetings.proposal"))
    return render_template("meetings/pattern.html", form=form)


@bp.route("/proposal", methods=["GET", "POST"])
@coordinator_required
def proposal():
    """A year of meetings from the pattern, to keep, drop (untick) or move after creating."""
    # The widget needs all three date parts or none, so the form only reads the query when it has them.
    form = ProposalStartForm(formdata=request.args if "start-day" in request.args else None)
    start = form.start.data if form.validate() and form.start.data else meetings.local_now().date()
    proposed = schedule.propose_year(meetings.pattern(), start)
    if request.method == "POST":
        EmptyForm()  # CSRF is checked by CSRFProtect before this view runs
        wanted = set(request.form.getlist("starts"))
        chosen = [p.starts_at for p in proposed if p.starts_at.isoformat() in wanted]
        made = meetings.create_year(chosen, venue=settings.get("meeting_venue"), user=_user())
        flash(f"{len(made)} meetings added.", "success")
        return redirect(url_for("meetings.index"))
    existing = {m.starts_at.date() for m in meetings.listable_meetings()}
    return render_template("meetings/proposal.html", form=form, proposed=proposed, start=start, existing=existing,
                           pattern=meetings.pattern())


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():
    """Add a meeting: an extra panel meeting, an emergency meeting or a closed session."""
    form = MeetingForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in meetings.MEETING_KINDS else "regular"
        form.time.data = settings.get("meeting_start_time")
        form.venue.data = settings.get("meeting_venue")
    if form.validate_on_submit():
        try:
            meeting = meetings.create_meeting(form.starts_at(), kind=form.kind.data, venue=form.venue.data or "",
                                              user=_user())
        except MeetingError as error:
            _form_error(form, error, "day")
        else:
            flash("Meeting added.", "success")
            return redirect(url_for("meetings.board", meeting_id=meeting.id))
    return render_template("meetings/meeting_form.html", form=form, meeting=None)


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(meeting_id):
    """Move a meeting to another date, time or venue."""
    meeting = access.get_meeting_or_404(meeting_id)
    form = MeetingForm(obj=meeting)
    del form.kind
    if request.method == "GET":
        form.day.data, form.time.data = meeting.starts_at.date(), meeting.starts_at.strftime("%H:%M")
    if form.validate_on_submit():
        try:
            meetings.move_meeting(meeting, form.starts_at(), venue=form.venue.data or "", user=_user())
        except MeetingError as error:
            _form_error(form, error, "day")
        else:
            flash("Meeting moved; its deadlines have been worked out again.", "success")
            return redirect(url_for("meetings.board", meeting_id=meeting.id))
    return render_template("meetings/meeting_form.html", form=form, meeting=meeting)


@bp.route("/<int:meeting_id>/cancel", methods=["GET", "POST"])
@coordinator_required
def cancel(meeting_id):
    """Confirm, then cancel a meeting (its cases move to the next one)."""
    meeting = access.get_meeting_or_404(meeting_id)
    form = EmptyForm()
    error = None
    if form.validate_on_submit():
        try:
            target = meetings.cancel_meeting(meeting, _user())
        except MeetingError as e:
            error = e.message
        else:
            flash("Meeting cancelled." + (" Its cases are now on the next meeting's agenda." if target else ""),
                  "success")
            return redirect(url_for("meetings.index"))
    count = len(meetings.case_lines(meeting))
    return render_template("meetings/cancel.html", meeting=meeting, form=form, count=count, error=error)


# --- the board ----------------------------------------------------------------------------------------


def _board_context(meeting, board, **extra):
    return dict(meeting=meeting, board=board, form=EmptyForm(), research_states=meetings.RESEARCH_STATES,
                kinds=meetings.MEETING_KINDS, statuses=meetings.MEETING_STATUSES,
                order_rule=meetings.ORDER_RULES.get(settings.get("agenda_order"), ""), **extra)


@bp.get("/<int:meeting_id>")
@roles_required(*MEETING_ROLES)
def board(meeting_id):
    """The agenda board: cases in order with timings, research grid, move requests, circulation."""
    meeting = access.get_meeting_or_404(meeting_id)
    data = meetings.board(meeting, _user())
    return htmx.render("meetings/board.html", "meetings/_agenda.html", **_board_context(meeting, data))


def _after_board_change(meeting, message: str, error: bool = False):
    """htmx: the agenda and research grid again with an announcement; otherwise back to the board."""
    if htmx.is_fragment_request():
        data = meetings.board(meeting, _user(), audit_view=False)
        return htmx.render("meetings/board.html", "meetings/_board_update.html",
                           **_board_context(meeting, data, announcement=message, error=error))
    flash(message, "error" if error else "success")
    return redirect(url_for("meetings.board", meeting_id=meeting.id) + "#agenda")


@bp.post("/<int:meeting_id>/order")
@roles_required(COORDINATOR, CHAIR)
def order(meeting_id):
    """Reorder the agenda: one case up or down (buttons), or a whole new order (drag and drop)."""
    meeting = access.get_meeting_or_404(meeting_id)
    try:
        move = request.form.get("move", "")
        if move:
            listing_id, _, direction = move.partition(":")
            if direction not in ("up", "down"):
                raise MeetingError("Choose to move the case up or down")
            message = meetings.move(meeting, int(listing_id), direction, _user())
        else:
            message = meetings.reorder(meeting, [int(x) for x in request.form.getlist("order")], _user())
    except MeetingError as e:
        return _after_board_change(meeting, e.message, error=True)
    except ValueError:
        return _after_board_change(meeting, "The new order was not understood. Please try again.", error=True)
    return _after_board_change(meeting, message)


@bp.post("/<int:meeting_id>/order/rule")
@roles_required(COORDINATOR, CHAIR)
def order_rule(meeting_id):
    """Put the agenda in the panel's order."""
    meeting = access.get_meeting_or_404(meeting_id)
    try:
        message = meetings.order_by_rule(meeting, _user())
    except MeetingError as e:
        return _after_board_change(meeting, e.message, error=True)
    return _after_board_change(meeting, message)


# --- listing --------------------------------------------------------------------------------------------


@bp.get("/ready")
@coordinator_required
def ready():
    """Cases ready to list: accepted, due for review, or with actions outstanding."""
    return render_template("meetings/ready.html", cases=meetings.ready_to_list(user=_user()))


def _yes(form_field) -> bool:
    return form_field.data == "yes"


@bp.route("/ready/<int:case_id>", methods=["GET", "POST"])
@coordinator_required
def list_case(case_id):
    """List one case: at the next meeting it is in time for, or a chosen one (late: an emergency item)."""
    case = access.get_case_or_404(case_id)
    upcoming = meetings.listable_meetings()
    form = ListingForm(meetings=upcoming, agencies=meetings.member_agencies())
    referral = meetings.latest_referral(case)
    if form.validate_on_submit():
        chosen = next((m for m in upcoming if m.id == form.meeting.data), None)
        try:
            listing = meetings.list_case(
                case, referral, _user(), meeting=chosen, kind=form.kind.data,
                emergency_reason=form.emergency_reason.data or "", referrer_agrees=_yes(form.referrer_agrees),
                actions_requested=_yes(form.actions_requested), invites=form.invites.data or [])
        except MeetingError as error:
            _form_error(form, error, "meeting")
        else:
            flash(f"Case {case.number} listed.", "success")
            return redirect(url_for("meetings.board", meeting_id=listing.meeting_id))
    received = meetings.received_at(referral)
    suggested = meetings.meeting_for(received, exclude_case_id=case.id)
    return render_template("meetings/list_case.html", form=form, case=case, referral=referral, received=received,
                           suggested=suggested, summary=meetings.case_summary(case, referral, _user()))


@bp.route("/<int:meeting_id>/listings/<int:listing_id>", methods=["GET", "POST"])
@roles_required(*MEETING_ROLES)
def listing(meeting_id, listing_id):
    """One listed case: how it is listed, its research, requests to move it; the coordinator changes it."""
    meeting = access.get_meeting_or_404(meeting_id)
    item = access.get_listing_or_404(meeting, listing_id)
    user = _user()
    form = None
    if user.is_coordinator:
        form = ListingForm(agencies=meetings.member_agencies(), with_meeting=False)
        if request.method == "GET":
            form.kind.data = item.kind
            form.emergency_reason.data = item.emergency_reason
            form.invites.data = sorted(meetings.invites_of(item))
        if form.validate_on_submit():
            try:
                meetings.change_listing(item, user, kind=form.kind.data, emergency_reason=form.emergency_reason.data,
                                        invites=form.invites.data or [], referrer_agrees=_yes(form.referrer_agrees),
                                        actions_requested=_yes(form.actions_requested))
            except MeetingError as error:
                _form_error(form, error, "kind")
            else:
                flash("Listing changed.", "success")
                return redirect(url_for("meetings.board", meeting_id=meeting.id))
    elif request.method == "POST":
        access.deny(403, object_type="listing", object_id=listing_id, reason="role")
    line = meetings.listing_view(meeting, item, user)
    move_form = MoveRequestForm(agencies=list(meetings.member_agencies()) if user.role != REPRESENTATIVE else None)
    return render_template("meetings/listing.html", meeting=meeting, item=item, line=line, form=form,
                           move_form=move_form, invited=meetings.invites_of(item), kinds=meetings.LISTING_KINDS)


@bp.route("/<int:meeting_id>/listings/<int:listing_id>/remove", methods=["GET", "POST"])
@coordinator_required
def listing_remove(meeting_id, listing_id):
    """Confirm, then take a case off the agenda."""
    meeting = access.get_meeting_or_404(meeting_id)
    item = access.get_listing_or_404(meeting, listing_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            meetings.remove_listing(item, _user())
        except MeetingError as e:
            flash(e.message, "error")
        else:
            flash(f"Case {item.case.number} taken off the agenda.", "success")
        return redirect(url_for("meetings.board", meeting_id=meeting.id))
    return render_template("meetings/listing_remove.html", meeting=meeting, item=item, form=form)


@bp.post("/<int:meeting_id>/listings/<int:listing_id>/move-request")
@roles_required(*MEETING_ROLES)
def move_request(meeting_id, listing_id):
    """Record an agency's request to move a case (a representative asks for their own agency)."""
    meeting = access.get_meeting_or_404(meeting_id)
    item = access.get_listing_or_404(meeting, listing_id)
    user = _user()
    agencies = list(meetings.member_agencies()) if user.role != REPRESENTATIVE else None
    form = MoveRequestForm(agencies=agencies)
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return redirect(url_for("meetings.listing", meeting_id=meeting.id, listing_id=item.id))
    agency = user.agency if agencies is None else Agency.get_by_id(form.agency.data)
    _, count, over = meetings.request_move(item, agency, user, form.note.data)
    message = f"Request recorded: {agency.name} has asked to move {count} {'case' if count == 1 else 'cases'}."
    if over:
        message += f" That is more than the panel's limit of {settings.get('move_request_limit')} per agency."
    flash(message, "error" if over else "success")
    return redirect(url_for("meetings.board", meeting_id=meeting.id))


# --- research -------------------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/listings/<int:listing_id>/research", methods=["GET", "POST"])
@roles_required(*MEETING_ROLES)
def research(meeting_id, listing_id):
    """A representative records what their agency holds; the coordinator and chair read every agency's."""
    meeting = access.get_meeting_or_404(meeting_id)
    item = access.get_listing_or_404(meeting, listing_id)
    user = _user()
    may_record = meetings.may_record_research(user, item)
    if request.method == "POST" and not may_record:
        access.deny(403, object_type="listing", object_id=listing_id, reason="research")
    form = ResearchForm()
    if may_record and form.validate_on_submit():
        try:
            meetings.save_research(item, user, victim_info=form.victim_info.data or "",
                                   perpetrator_info=form.perpetrator_info.data or "",
                                   children_info=form.children_info.data or "",
                                   nothing_known=form.nothing_known.data,
                                   written_submission=form.written_submission.data)
        except MeetingError as error:
            _form_error(form, error, "victim_info")
        else:
            flash(f"Research saved for case {item.case.number}.", "success")
            return redirect(url_for("meetings.board", meeting_id=meeting.id))
    rows = meetings.research_rows(item, user)
    own = next((r for r in rows if r.agency_id == user.agency_id), None)
    if request.method == "GET" and own is not None and may_record:
        form = ResearchForm(obj=own)
    line = meetings.line_for(meeting, item)
    return render_template("meetings/research.html", meeting=meeting, item=item, line=line, form=form, rows=rows,
                           may_record=may_record, written_due=meetings.written_info_due(meeting))


# --- circulation ----------------------------------------------------------------------------------------


@bp.route("/<int:meeting_id>/circulate", methods=["GET", "POST"])
@coordinator_required
def circulate(meeting_id):
    """Confirm, then freeze and circulate the agenda (warns when after the circulation time)."""
    meeting = access.get_meeting_or_404(meeting_id)
    form = EmptyForm()
    error = None
    if form.validate_on_submit():
        try:
            version = meetings.circulate(meeting, _user())
        except MeetingError as e:
            error = e.message
        else:
            message = f"Agenda version {version.version} circulated."
            if version.late:
                message += (f" This is after the circulation time "
                            f"({schedule.format_datetime(meeting.circulation_due)}).")
            flash(message, "error" if version.late else "success")
            return redirect(url_for("meetings.board", meeting_id=meeting.id))
    late = bool(meeting.circulation_due and meetings.local_now() > meeting.circulation_due)
    return render_template("meetings/circulate.html", meeting=meeting, form=form, error=error, late=late,
                           count=len(meetings.case_lines(meeting)), agencies=list(meetings.member_agencies()),
                           latest=meetings.latest_version(meeting))


def _copy_for_request(meeting):
    """The circulated version and recipient this user asked for: a representative gets their own
    agency's copy only; the coordinator and chair may pick any agency's copy, or the full one."""
    user = _user()
    version = meetings.latest_version(meeting, request.args.get("version", type=int))
    if version is None:
        abort(404)
    agency = None
    if user.role == REPRESENTATIVE:
        agency = user.agency
    elif request.args.get("agency", type=int):
        agency = Agency.get_or_none(Agency.id == request.args.get("agency", type=int)) or abort(404)
    return meetings.agenda_copy(meeting, version, agency)


@bp.get("/<int:meeting_id>/agenda")
@roles_required(*MEETING_ROLES)
def agenda(meeting_id):
    """The circulated agenda, print-friendly, as one recipient agency receives it."""
    meeting = access.get_meeting_or_404(meeting_id)
    copy = _copy_for_request(meeting)
    meetings.record_agenda_access(meeting, copy, "agenda.view", _user())
    agencies = list(meetings.member_agencies()) if _user().role != REPRESENTATIVE else []
    return render_template("meetings/agenda.html", meeting=meeting, copy=copy, agencies=agencies,
                           panel_name=meetings.panel_name(), kinds=meetings.MEETING_KINDS)


@bp.get("/<int:meeting_id>/agenda.docx")
@roles_required(*MEETING_ROLES)
def agenda_docx(meeting_id):
    """The circulated agenda as a Word document for one recipient agency."""
    meeting = access.get_meeting_or_404(meeting_id)
    copy = _copy_for_request(meeting)
    meetings.record_agenda_access(meeting, copy, "agenda.download", _user())
    body = meetings.agenda_docx(copy, meetings.panel_name())
    response = make_response(body)
    response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    # Meeting date, version and agency number only: no personal data in file names.
    name = f"agenda-{meeting.starts_at:%Y-%m-%d}-v{copy.version.version}-{copy.agency.id if copy.agency else 'all'}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.docx"'
    return response
