"""E-mail notices through the council's SMTP relay (config MAIL_HOST...); nothing is sent without one.

An e-mail never holds a victim's or perpetrator's name, nor an action's wording (free text may
name people): only the case number, the agency, a date and a link that needs signing in.
Sending happens after the change it reports has committed; a failure is logged, never raised.

Panels (issue 12): an e-mail is about the panel in view and goes only to users who may work in it
(agencies are shared by several panels); the daily reminders run once per panel (send_reminders_all).
"""
import smtplib
import ssl
from collections import defaultdict
from datetime import date, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from peewee import fn
from werkzeug.routing import BuildError

from marac import audit, clock, meetings, panels, settings
from marac.db import db
from marac.models import Action, Agency, Case, MailNotice, Panel, User

FOOTER = ("\n\nThis e-mail holds no personal details on purpose: sign in to see the case."
          "\nDo not reply to it, and do not forward case details by e-mail.\n")


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_HOST"))


def _long_date(d: date) -> str:
    return d.strftime("%d %B %Y").lstrip("0")


def link(endpoint: str, **values) -> str:
    """An absolute link into the app (EXTERNAL_URL, else the current request's host, else HOST:PORT).

    Built on the URL map directly: pushing a request context here would run the teardown hooks,
    which close the database connection in the middle of the caller's work.
    """
    cfg = current_app.config
    base = cfg.get("EXTERNAL_URL")
    if not base:
        base = request.host_url if has_request_context() else f"http://{cfg['HOST']}:{cfg['PORT']}/"
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def send(recipients, subject: str, body: str, *, kind: str = "", object_type: str = "", object_id=None) -> int:
    """Send one message to these addresses; returns how many it went to (0 when mail is off or it failed)."""
    recipients = sorted({r for r in recipients if r})
    if not enabled() or not recipients:
        return 0
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_SENDER"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body + FOOTER)
    try:
        with smtplib.SMTP(cfg["MAIL_HOST"], cfg.get("MAIL_PORT") or 25, timeout=cfg.get("MAIL_TIMEOUT", 10)) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        current_app.logger.warning("e-mail %s not sent: %s", kind, exc.__class__.__name__)
        with db.atomic():
            audit.record("mail.failed", object_type=object_type, object_id=object_id or "",
                         detail={"kind": kind, "error": exc.__class__.__name__})
        return 0
    if kind and object_type and object_id:
        with db.atomic():
            MailNotice.create(kind=kind, object_type=object_type, object_id=object_id, sent_at=clock.now(),
                              recipients=len(recipients))
    return len(recipients)


def agency_addresses(agency_ids) -> dict[int, list[str]]:
    """Active representatives' addresses per agency, of those who work in the panel in view (one query)."""
    result = defaultdict(list)
    for user in User.select(User.email, User.agency).where(
            User.agency.in_(list(agency_ids)) & (User.active == True) & (User.role == "representative")  # noqa: E712
            & meetings.panel_user_where()):
        result[user.agency_id].append(user.email)
    return result


def _panel() -> str:
    return meetings.panel_name()


def _action_context(action: Action):
    case = Case.get_by_id(action.case_id)
    agency = Agency.get_by_id(action.owner_agency_id)
    return case, agency


def notify_new_action(action: Action) -> int:
    """Tell the owner agency's representatives about a new action on a case."""
    if not enabled():
        return 0
    case, agency = _action_context(action)
    body = (f"A new action for {agency.name} has been recorded on MARAC case {case.number}.\n"
            f"Due: {_long_date(action.due_date)}."
            f"{' Priority: high.' if action.priority == 'high' else ''}\n\n"
            f"Open the action: {link('actions.show', action_id=action.id)}")
    return send(agency_addresses([agency.id])[agency.id], f"{_panel()}: new action on case {case.number}", body,
                kind="action_new", object_type="action", object_id=action.id)


def notify_chased(action: Action) -> int:
    """The coordinator chased an overdue action: tell the owner agency."""
    if not enabled():
        return 0
    case, agency = _action_context(action)
    body = (f"The MARAC coordinator is chasing an action for {agency.name} on case {case.number}, "
            f"due {_long_date(action.due_date)}.\nPlease complete it, or record why it cannot be completed.\n\n"
            f"Open the action: {link('actions.show', action_id=action.id)}")
    return send(agency_addresses([agency.id])[agency.id], f"{_panel()}: action chased on case {case.number}", body,
                kind="action_chased", object_type="action", object_id=action.id)


def notify_escalated(action: Action) -> int:
    """The coordinator escalated an action: tell the chair(s)."""
    if not enabled():
        return 0
    case, agency = _action_context(action)
    chairs = [u.email for u in User.select(User.email).where(
        (User.role == "chair") & (User.active == True) & meetings.panel_user_where())]  # noqa: E712
    body = (f"The MARAC coordinator has escalated to you an action for {agency.name} on case {case.number}, "
            f"due {_long_date(action.due_date)}.\n\nOpen the action: {link('actions.show', action_id=action.id)}")
    return send(chairs, f"{_panel()}: action escalated on case {case.number}", body,
                kind="action_escalated", object_type="action", object_id=action.id)


REFERRAL_OUTCOMES = {
    "accepted": "has been accepted by the MARAC and will be listed for a meeting",
    "declined": "has been declined by the MARAC. Sign in to see the reason",
    "returned": "has been returned to you for more information",
    "transferred": "has been passed to another MARAC",
}


def referral_outcome(referral) -> int:
    """Tell the referrer what happened to their referral (for the inbox, issue 4). No names: a reference."""
    if not enabled():
        return 0
    outcome = REFERRAL_OUTCOMES.get(referral.status)
    if outcome is None:
        return 0
    author = User.get_by_id(referral.author_id)
    try:
        target = link("referrals.show", referral_id=referral.id)
    except BuildError:
        target = link("dashboard.home")
    body = f"Your MARAC referral (reference {referral.id}) {outcome}.\n\nSee it here: {target}"
    return send([author.email] if author.active else [], f"{_panel()}: your referral {referral.id}", body,
                kind=f"referral_{referral.status}", object_type="referral", object_id=referral.id)


def _digest(kind: str, actions: list[Action], subject: str, heading: str) -> int:
    """One e-mail per owner agency listing its actions (case numbers and links)."""
    by_agency = defaultdict(list)
    for action in actions:
        by_agency[action.owner_agency_id].append(action)
    addresses = agency_addresses(by_agency)
    sent = 0
    for agency_id, items in by_agency.items():
        agency = items[0].owner_agency
        lines = [f"- case {a.case.number}, due {_long_date(a.due_date)}: {link('actions.show', action_id=a.id)}"
                 for a in items]
        body = (heading.format(agency=agency.name, n=len(items)) + "\n\n" + "\n".join(lines)
                + f"\n\nAll your agency's actions: {link('actions.mine')}")
        n = send(addresses.get(agency_id, []), f"{_panel()}: " + subject.format(agency=agency.name, n=len(items)),
                 body)
        if n:
            with db.atomic():
                MailNotice.insert_many([{"kind": kind, "object_type": "action", "object_id": a.id,
                                         "sent_at": clock.now(), "recipients": n} for a in items]).execute()
            sent += 1
    return sent


def send_reminders(on: date | None = None) -> dict:
    """Daily job for the panel in view: 'due in N days' once per action, 'overdue' every N days (that
    panel's settings), one e-mail per agency, for that panel's cases only.

    Needs an app context and a database connection (see main_send_reminders); send_reminders_all runs
    it for every panel. Returns the number of e-mails sent of each kind.
    """
    from marac.actions import _with_case_and_agency, today

    if not enabled():
        return {"due": 0, "overdue": 0}
    on = on or today()
    due_by = on + timedelta(days=int(settings.get("reminder_due_days")))
    every = timedelta(days=int(settings.get("overdue_reminder_every_days")))
    open_actions = list(_with_case_and_agency(Action.select().where(
        (Action.status == "open") & (Action.due_date <= due_by))).where(Case.panel == panels.current_panel_id())
        .order_by(Action.owner_agency, Action.due_date))
    last = {}
    if open_actions:
        for row in (MailNotice.select(MailNotice.object_id, MailNotice.kind, fn.MAX(MailNotice.sent_at).alias("last"))
                    .where((MailNotice.object_type == "action") & MailNotice.kind.in_(["action_due", "action_overdue"])
                           & MailNotice.object_id.in_([a.id for a in open_actions]))
                    .group_by(MailNotice.object_id, MailNotice.kind)):
            last[(row.object_id, row.kind)] = row.last
    now = clock.now()
    due = [a for a in open_actions if a.due_date >= on and (a.id, "action_due") not in last]
    overdue = []
    for a in open_actions:
        sent = last.get((a.id, "action_overdue"))
        if a.due_date < on and (sent is None or _as_datetime(sent) <= now - every):
            overdue.append(a)
    return {
        "due": _digest("action_due", due, "{n} action(s) due soon for {agency}",
                       "These actions for {agency} are due within the next few days:"),
        "overdue": _digest("action_overdue", overdue, "{n} overdue action(s) for {agency}",
                           "These actions for {agency} are past their due date. Please complete them, or record "
                           "why they cannot be completed:"),
    }


def send_reminders_all(on: date | None = None) -> dict:
    """The daily job over every panel, each in its own `panels.using` block (its settings, its cases,
    its users, its name in the subject). Returns the e-mails sent of each kind, all panels together."""
    total = {"due": 0, "overdue": 0}
    for (panel_id,) in Panel.select(Panel.id).order_by(Panel.id).tuples():
        with panels.using(panel_id):
            result = send_reminders(on)
        for kind in total:
            total[kind] += result[kind]
    return total


def _as_datetime(value):
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def main_send_reminders(argv=None) -> int:
    """Entry point for `python app.py send-reminders` (run daily by the server's scheduler)."""
    from marac import create_app

    app = create_app()
    with app.app_context(), db.connection_context():
        if not enabled():
            print("MAIL_HOST is not set in instance/config.py: no e-mail is sent.")
            return 0
        result = send_reminders_all()
    print(f"Reminders sent: {result['due']} 'due soon' and {result['overdue']} 'overdue' e-mails.")
    return 0
