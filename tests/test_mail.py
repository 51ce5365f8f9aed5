"""E-mail notices, received by a real SMTP server (aiosmtpd) started by the tests: new action, chase,
escalation, due-soon and overdue reminders, referral outcome. No e-mail ever holds a person's name."""
import socket
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from marac_testing import make_action, make_agency, make_case, make_person, make_user

from marac import actions, mail
from marac.models import Action, AuditEvent, MailNotice, Referral

NAMES = ("Zoë", "Fictional-Smith", "Quentin", "Madeup")
SECRET_WORDING = "Fictional wording that may name people"


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default),
                              envelope.content))
        return "250 Message accepted"

    def bodies(self):
        return [m.get_body(("plain",)).get_content() for _, m, _ in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(smtp):
    return {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_SENDER": "marac@council.example",
            "EXTERNAL_URL": "https://marac.council.example"}


@pytest.fixture
def w(app, fake_clock):
    housing = make_agency("Test Housing")
    police = make_agency("Test Police")
    victim = make_person("Zoë", "Fictional-Smith")
    perp = make_person("Quentin", "Madeup")
    case = make_case(number="TC-M-1", people=[(victim, "victim"), (perp, "perpetrator")])
    return type("W", (), dict(
        housing=housing, police=police, case=case,
        coord=make_user("coordinator", email="coord@council.example"),
        chair=make_user("chair", agency=police, email="chair@police.example"),
        rep=make_user("representative", agency=housing, email="rep@housing.example"),
        deputy=make_user("representative", agency=housing, email="deputy@housing.example", is_deputy=True),
        gone=make_user("representative", agency=housing, email="gone@housing.example", active=False),
        police_rep=make_user("representative", agency=police, email="rep@police.example")))


def assert_no_names(smtp):
    assert smtp.messages
    for _, _, raw in smtp.messages:
        text = raw.decode("utf-8", "replace")
        for name in NAMES + (SECRET_WORDING,):
            assert name not in text, name


def test_new_action_mails_the_owner_agency_with_a_case_number_and_link_only(client, sign_in, w, smtp):
    sign_in(w.coord)
    client.post(f"/actions/new/{w.case.id}", data={"owner_agency": w.housing.id, "description": SECRET_WORDING,
                                                   "due_date": ["16", "11", "2026"], "priority": "high"})
    action = Action.get()
    assert len(smtp.messages) == 1
    rcpt, msg, _ = smtp.messages[0]
    assert sorted(rcpt) == ["deputy@housing.example", "rep@housing.example"]  # active representatives
    assert msg["From"] == "marac@council.example" and "TC-M-1" in msg["Subject"]
    body = smtp.bodies()[0]
    assert "TC-M-1" in body and f"https://marac.council.example/actions/{action.id}" in body
    assert "16 November 2026" in body and "Priority: high" in body
    assert_no_names(smtp)
    assert MailNotice.get().kind == "action_new"


def test_chase_mails_the_agency_and_escalation_mails_the_chair(w, smtp, app):
    action = make_action(w.case, w.housing, SECRET_WORDING, due_date=date(2026, 10, 1))
    with app.test_request_context("/"):
        actions.chase(action, w.coord)
        actions.escalate(action, w.coord, "Fictional note naming Quentin Madeup")
    assert [sorted(r) for r, _, _ in smtp.messages] == [["deputy@housing.example", "rep@housing.example"],
                                                       ["chair@police.example"]]
    assert "chasing" in smtp.bodies()[0] and "escalated" in smtp.bodies()[1]
    assert_no_names(smtp)


def test_reminders_due_soon_and_overdue_one_email_per_agency_and_not_repeated(w, smtp, app, fake_clock):
    due1 = make_action(w.case, w.housing, SECRET_WORDING, due_date=date(2026, 11, 4))
    due2 = make_action(w.case, w.housing, SECRET_WORDING, due_date=date(2026, 11, 5))
    make_action(w.case, w.housing, SECRET_WORDING, due_date=date(2026, 11, 20))  # not yet
    late = make_action(w.case, w.police, SECRET_WORDING, due_date=date(2026, 10, 20))
    make_action(w.case, w.police, SECRET_WORDING, due_date=date(2026, 10, 1), status="done")
    with app.app_context():
        assert mail.send_reminders() == {"due": 1, "overdue": 1}
        assert len(smtp.messages) == 2
        by_rcpt = {tuple(sorted(r)): m for r, m, _ in smtp.messages}
        housing = by_rcpt[("deputy@housing.example", "rep@housing.example")].get_body(("plain",)).get_content()
        police = by_rcpt[("rep@police.example",)].get_body(("plain",)).get_content()
        assert f"/actions/{due1.id}" in housing and f"/actions/{due2.id}" in housing and "due within" in housing
        assert f"/actions/{late.id}" in police and "past their due date" in police
        assert_no_names(smtp)
        # The next day: nothing new to say.
        fake_clock.advance(days=1)
        assert mail.send_reminders() == {"due": 0, "overdue": 0}
        # A week later the overdue ones are reminded again (due1 and due2 are overdue by then).
        fake_clock.advance(days=7)
        assert mail.send_reminders() == {"due": 0, "overdue": 2}


def test_referral_outcome_goes_to_the_referrer(w, smtp, app):
    referrer = make_user("referrer", email="gp@surgery.example")
    referral = Referral.create(author=referrer, agency=referrer.agency_id, status="declined", case=w.case,
                               data='{"victim": "Zoë Fictional-Smith"}')
    with app.test_request_context("/"):
        assert mail.referral_outcome(referral) == 1
    rcpt, msg, _ = smtp.messages[0]
    assert rcpt == ["gp@surgery.example"] and f"reference {referral.id}" in smtp.bodies()[0]
    assert "declined" in smtp.bodies()[0]
    assert_no_names(smtp)


def test_nothing_is_sent_without_a_mail_host(w, smtp, app):
    app.config["MAIL_HOST"] = None
    with app.test_request_context("/"):
        actions.add(w.case, w.coord, owner_agency=w.housing, description="x")
        assert mail.send_reminders() == {"due": 0, "overdue": 0}
    assert smtp.messages == [] and MailNotice.select().count() == 0


def test_a_mail_failure_is_logged_and_the_change_stands(w, app):
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    with app.test_request_context("/"):
        action = actions.add(w.case, w.coord, owner_agency=w.housing, description="x")
    assert Action.get_by_id(action.id).status == "open"
    failed = AuditEvent.get(AuditEvent.action == "mail.failed")
    assert '"kind": "action_new"' in failed.detail and failed.object_id == str(action.id)


def test_links_fall_back_to_the_request_host(w, smtp, app):
    app.config["EXTERNAL_URL"] = None
    with app.test_request_context("/", base_url="http://marac.intranet:8080"):
        actions.add(w.case, w.coord, owner_agency=w.housing, description="x", due_date=date(2026, 11, 30))
    assert "http://marac.intranet:8080/actions/" in smtp.bodies()[0]


def test_time_moves_with_the_fake_clock(fake_clock):
    # Sanity check for the reminder test: the clock really advances.
    start = fake_clock()
    fake_clock.advance(days=1)
    assert fake_clock() - start == timedelta(days=1) and isinstance(start, datetime)


def test_send_reminders_entry_point_uses_the_instance_config(tmp_path, monkeypatch, smtp, capsys):
    """main_send_reminders() is what `python app.py send-reminders` runs each day."""
    from marac import create_app
    from marac.db import db

    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        f"SECRET_KEY = {'k' * 40!r}\nMAIL_HOST = '127.0.0.1'\nMAIL_PORT = {smtp.port}\n"
        "REQUIRE_SECOND_FACTOR = False\n", encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    app = create_app(instance_path=str(instance))
    with app.app_context(), db.connection_context():
        agency = make_agency("Entry Point Agency")
        make_user("representative", agency=agency, email="rep@entry.example")
        make_action(make_case(number="TC-M-9"), agency, SECRET_WORDING, due_date=date(2020, 1, 1))
    db.close()
    assert mail.main_send_reminders() == 0
    assert "1 'overdue'" in capsys.readouterr().out
    assert [r for r, _, _ in smtp.messages] == [["rep@entry.example"]]
    assert_no_names(smtp)
