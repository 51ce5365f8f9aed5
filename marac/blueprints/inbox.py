"""The coordinator's referral inbox (and the chair's quality-assurance queue)."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marac import access, htmx, inbox, mail, meetings, nav, people, schedule
from marac.forms import EmptyForm
from marac.forms.inbox import (
    AcceptForm,
    DeclineForm,
    InboxFilterForm,
    QualityAssuranceForm,
    ReturnForm,
    TransferInForm,
    TransferOutForm,
)
from marac.models import Listing, Meeting, PersonMatch

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
nav.register("Inbox", "inbox.index", ["coordinator", "chair"], 20,
             also=["inbox.show", "inbox.decide", "inbox.qa", "inbox.split", "inbox.transfer_in"])

OUTCOMES = {
    "accept": (AcceptForm, "Accept the referral"),
    "decline": (DeclineForm, "Decline the referral"),
    "return": (ReturnForm, "Return the referral to the referrer"),
    "transfer": (TransferOutForm, "Transfer to another MARAC"),
}
# Other areas' pages, linked when those areas are installed (issue 3: the full referral; issue 7: the case).
REFERRAL_PAGE_ENDPOINTS = ("referrals.show", "referrals.view")
CASE_PAGE_ENDPOINTS = ("cases.show", "cases.case", "cases.view")


@bp.context_processor
def links():
    def first_endpoint(names, **values):
        for name in names:
            if name in current_app.view_functions:
                return url_for(name, **values)
        return None

    return {
        "full_referral_url": lambda referral_id: first_endpoint(REFERRAL_PAGE_ENDPOINTS, referral_id=referral_id),
        "case_url": lambda case_id: first_endpoint(CASE_PAGE_ENDPOINTS, case_id=case_id),
        "route_labels": inbox.QA_ROUTE_LABELS,
        "decline_reasons": inbox.DECLINE_REASONS,
        "accept_grounds": inbox.ACCEPT_GROUNDS,
        "match_reasons": inbox.MATCH_REASON_LABELS,
        "decline_repeated_at": inbox.DECLINE_REPEATED_AT,
    }


def _user():
    return current_user._get_current_object()


@bp.get("/")
@access.roles_required("coordinator", "chair")
def index():
    """New referrals in arrival order with the system's flags (the chair: their QA queue)."""
    form = InboxFilterForm(request.args)
    show = form.show.data if form.validate() and form.show.data else "all"
    items = inbox.view_queue(_user(), show)
    counts = inbox.decline_counts() if current_user.role == "coordinator" else None
    return htmx.render("inbox/index.html", "inbox/_queue.html", form=form, items=items, show=show,
                       declines=counts)


def _page(referral_id):
    referral = access.get_inbox_referral_or_404(referral_id)
    return inbox.detail(referral, _user())


def _checks(item):
    return {"item": item, "matches": inbox.matches_for(item.referral), "match_form": EmptyForm()}


@bp.get("/referrals/<int:referral_id>")
@access.roles_required("coordinator", "chair")
def show(referral_id):
    """One referral: its people, score, flags, possible duplicates and the decisions open to the user."""
    item = _page(referral_id)
    return render_template("inbox/referral.html", verdict=inbox.verdict_of(item.referral),
                           transfer=inbox.transfer_details(item.referral),
                           decision_summary=inbox.decision_summary(item.referral), **_checks(item))


@bp.route("/referrals/<int:referral_id>/<any(accept, decline, return, transfer):outcome>", methods=["GET", "POST"])
@access.roles_required("coordinator")
def decide(referral_id, outcome):
    """Accept, decline, return or transfer out: a form page that is also the confirmation step."""
    referral = access.get_inbox_referral_or_404(referral_id)
    if request.method == "GET" and referral.status != "submitted":
        return _already_decided(referral)
    form_class, title = OUTCOMES[outcome]
    form = form_class()
    problem = ""
    if form.validate_on_submit():
        try:
            decided = _apply(outcome, referral.id, form)
        except inbox.DecisionError as error:
            problem = str(error)
        else:
            flash(_done_message(outcome, referral.id), "success")
            if outcome == "accept":
                _list_accepted(decided)
            mail.referral_outcome(decided)
            return redirect(url_for("inbox.index"), 303)
    item = inbox.detail(referral, _user())
    return render_template("inbox/decide.html", form=form, item=item, outcome=outcome, title=title,
                           problem=problem, grounds=inbox.accept_grounds(item))


def _already_decided(referral):
    flash(f"Referral {referral.id} has already been dealt with.", "info")
    return redirect(url_for("inbox.show", referral_id=referral.id), 303)


def _apply(outcome, referral_id, form):
    user = _user()
    if outcome == "accept":
        return inbox.accept(referral_id, user, form.reason.data)
    if outcome == "decline":
        return inbox.decline(referral_id, user, form.code.data, form.reason.data)
    if outcome == "return":
        return inbox.return_to_referrer(referral_id, user, form.comment.data)
    return inbox.transfer_out(referral_id, user, form.area.data, form.reason.data)


def _list_accepted(referral):
    """DOMAIN 3: an accepted case goes on the agenda of the next meeting whose deadline it meets.
    When none fits (or the case is already on a coming agenda) the coordinator is told where it is."""
    case = referral.case
    upcoming = (Listing.select(Listing, Meeting).join(Meeting)
                .where((Listing.case == case.id) & (Meeting.status == "planned")
                       & (Meeting.starts_at > meetings.local_now())).order_by(Meeting.starts_at).first())
    if upcoming is not None:
        flash(f"Case {case.number} is already on the agenda of the meeting at "
              f"{schedule.format_datetime(upcoming.meeting.starts_at)}.", "info")
        return
    try:
        listing = meetings.list_case(case, referral, _user())
    except meetings.MeetingError as error:
        flash(f"Case {case.number} is not on an agenda yet: {error}. List it from Cases ready to list.", "info")
        return
    flash(f"Case {case.number} listed at the meeting at {schedule.format_datetime(listing.meeting.starts_at)}.",
          "success")


def _done_message(outcome, referral_id):
    return {"accept": f"Referral {referral_id} accepted.", "decline": f"Referral {referral_id} declined.",
            "return": f"Referral {referral_id} returned to the referrer.",
            "transfer": f"Referral {referral_id} marked as transferred."}[outcome]


@bp.route("/referrals/<int:referral_id>/quality-assurance", methods=["GET", "POST"])
@access.roles_required("coordinator", "chair")
def qa(referral_id):
    """Quality assurance of a professional-judgement referral, by the chair or coordinator it is routed to."""
    referral = access.get_inbox_referral_or_404(referral_id)
    if request.method == "GET" and (referral.status != "submitted" or referral.qa_status != "pending"):
        return _already_decided(referral)
    form = QualityAssuranceForm()
    problem = ""
    if form.validate_on_submit():
        try:
            inbox.quality_assure(referral.id, _user(), form.outcome.data, form.reason.data, form.code.data)
        except inbox.DecisionError as error:
            problem = str(error)
        else:
            flash(f"Quality assurance of referral {referral.id} saved.", "success")
            return redirect(url_for("inbox.index"), 303)
    item = inbox.detail(referral, _user())
    return render_template("inbox/qa.html", form=form, item=item, problem=problem)


# --- person matches ------------------------------------------------------------------------------


def _match_or_404(match_id):
    """A match of a referral the user may see in the inbox, between two people of one panel: a proposal
    naming another panel's person is a 404 like one that does not exist."""
    match = PersonMatch.get_or_none(PersonMatch.id == match_id)
    if match is None or match.referral_id is None:
        access.deny(404, object_type="person_match", object_id=match_id)
    access.get_inbox_referral_or_404(match.referral_id)
    if not people.same_panel(match.person_id, match.candidate_id):
        access.deny(404, object_type="person_match", object_id=match_id, reason="another panel's person")
    return match


def _after_match(match, message):
    """htmx: the refreshed checks region (flags change with the match); otherwise back to the referral."""
    if htmx.is_fragment_request():
        referral = access.get_inbox_referral_or_404(match.referral_id)
        item = inbox.detail(referral, _user())
        return htmx.render("inbox/referral.html", "inbox/_checks.html", notice=message, **_checks(item))
    flash(message, "success")
    return redirect(url_for("inbox.show", referral_id=match.referral_id), 303)


@bp.post("/matches/<int:match_id>/<any(confirm, reject):verdict>")
@access.roles_required("coordinator")
def match_decide(match_id, verdict):
    """Confirm that a referral's person is someone already known, or reject the proposal."""
    match = _match_or_404(match_id)  # the CSRF token is checked for every POST by CSRFProtect
    try:
        (people.confirm_match if verdict == "confirm" else people.reject_match)(match.id, _user())
    except people.MatchError as error:
        return _after_match(match, str(error))
    return _after_match(match, "Match confirmed: the referral now points at the existing person."
                        if verdict == "confirm" else "Match rejected: they are different people.")


@bp.route("/matches/<int:match_id>/split", methods=["GET", "POST"])
@access.roles_required("coordinator")
def split(match_id):
    """Undo a wrong match: the referral's person becomes a separate person again (history kept)."""
    match = _match_or_404(match_id)
    form = EmptyForm()
    problem = ""
    if form.validate_on_submit():
        try:
            people.split_match(match.id, _user())
        except people.MatchError as error:
            problem = str(error)
        else:
            flash("Match split: the two records are separate people again.", "success")
            return redirect(url_for("inbox.show", referral_id=match.referral_id), 303)
    referral = access.get_inbox_referral_or_404(match.referral_id)
    item = inbox.detail(referral, _user())
    matches = [m for m in inbox.matches_for(referral) if m.id == match.id]
    return render_template("inbox/split.html", form=form, item=item, match=matches[0], problem=problem)


# --- transfers in ----------------------------------------------------------------------------------


@bp.route("/transfers/new", methods=["GET", "POST"])
@access.roles_required("coordinator")
def transfer_in():
    """Record a case received from another MARAC; it enters the inbox like any referral."""
    form = TransferInForm()
    if form.validate_on_submit():
        referral = inbox.record_transfer_in(_user(), area=form.area.data.strip(), received_on=form.received_on.data,
                                            summary=form.summary.data.strip(), people=form.people(),
                                            closed_session=bool(form.closed_session.data))
        flash(f"Transfer from {form.area.data.strip()} added to the inbox as referral {referral.id}.", "success")
        return redirect(url_for("inbox.show", referral_id=referral.id), 303)
    return render_template("inbox/transfer_in.html", form=form)
