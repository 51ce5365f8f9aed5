"""Minutes (issue 6): compiled from the record, signed off by the chair and then frozen, amendments,
and each agency's copy (page, print, Word) holding only what it may see. Fictional data."""
import io
from datetime import date, datetime

import pytest
from docx import Document
from marac_testing import make_agency, make_agenda_case, make_listing, make_meeting, make_user

from marac import meeting_run, minutes
from marac.db import db
from marac.meeting_run import RunError
from marac.minutes import MinutesError
from marac.models import Action, AuditEvent, Meeting, MinutesAmendment

MEMBER = {"isa_signed_on": date(2025, 1, 6), "isa_signatory": "A Signatory"}
SECRET = "Closed-session detail ZQX (fictional)"


@pytest.fixture
def held(app, fake_clock):
    """A meeting heard: two open cases and one closed session (police and IDVA invited)."""
    fake_clock.current = datetime(2026, 11, 18, 9, 25)

    class H:
        pass

    h = H()
    h.police = make_agency("Anytown Police", is_police=True, **MEMBER)
    h.idva = make_agency("Anytown IDVA Service", **MEMBER)
    h.housing = make_agency("Anytown Homes", **MEMBER)
    h.coordinator = make_user("coordinator", agency=make_agency("MARAC Team", **MEMBER))
    h.chair = make_user("chair", agency=h.police, name="Chris Chair")
    h.rep_police = make_user("representative", agency=h.police, name="Pat Police")
    h.rep_housing = make_user("representative", agency=h.housing, name="Hal Housing")
    h.meeting = make_meeting(datetime(2026, 11, 18, 9, 30))
    h.case1 = make_agenda_case(children=1, number="MC-00201", agency=h.housing)
    h.case2 = make_agenda_case(number="MC-00202", agency=h.police)
    h.case3 = make_agenda_case(number="MC-00203", agency=h.idva)
    h.l1 = make_listing(h.meeting, h.case1)
    h.l2 = make_listing(h.meeting, h.case2)
    h.l3 = make_listing(h.meeting, h.case3, kind="closed", invited=[h.police, h.idva])
    for listing in (h.l1, h.l2, h.l3):
        listing.meeting = h.meeting
    meeting_run.add_attendee(h.meeting, h.coordinator, user=h.rep_police)
    meeting_run.add_attendee(h.meeting, h.coordinator, user=h.rep_housing)
    meeting_run.record_apologies(h.meeting, h.coordinator, agency=h.idva, written_info=True)
    meeting_run.save_discussion(h.l1, h.coordinator, {"risk_victim": "Threats (fictional)", "decision": "actions",
                                                      "returns_for_review": False},
                                shared={h.housing.id: "Rent arrears (fictional)"})
    meeting_run.add_action(h.l1, h.coordinator, owner_agency=h.housing, description="Fit new locks (fictional)")
    meeting_run.add_action(h.l2, h.coordinator, owner_agency=h.police, description="Visit weekly (fictional)")
    meeting_run.save_discussion(h.l3, h.coordinator, {"risk_victim": SECRET, "decision": "actions"},
                                shared={h.police.id: SECRET})
    meeting_run.add_action(h.l3, h.coordinator, owner_agency=h.idva, description="Secret plan ZQX (fictional)")
    return h


def word_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_minutes_are_compiled_from_the_record(held):
    h = held
    data = minutes.minutes_data(h.meeting)
    assert [c["number"] for c in data["cases"]] == ["MC-00201", "MC-00202", "MC-00203"]
    first = data["cases"][0]
    assert first["shared"] == [{"agency": "Anytown Homes", "agency_id": h.housing.id,
                                "text": "Rent arrears (fictional)"}]
    assert first["risks"][0]["text"] == "Threats (fictional)" and first["decision"] == "Actions agreed"
    assert first["review"] == "No" and first["actions"][0]["text"] == "Fit new locks (fictional)"
    assert "Testfield" not in str(data)  # people by initials and role only
    assert first["people"].startswith("AT (victim)")
    names = {r["name"]: r for r in data["attendance"]}
    assert names["Pat Police"]["status"] == "present"
    assert [r for r in data["attendance"] if r["status"] == "apologies"][0]["written_info"] is True
    assert data["signed_off"] is False
    assert minutes.due_date(h.meeting) == h.meeting.minutes_due == date(2026, 11, 25)


def test_only_the_chair_signs_off_and_the_minutes_are_then_frozen(held, client, sign_in):
    h = held
    meeting_run.agree_self(h.meeting, h.coordinator)
    sign_in(h.coordinator)
    assert client.post(f"/meetings/{h.meeting.id}/run/minutes/sign-off").status_code == 403
    with pytest.raises(MinutesError, match="Only the chair"):
        minutes.sign_off(h.meeting, h.coordinator)
    client.post("/logout")
    sign_in(h.chair)
    page = client.get(f"/meetings/{h.meeting.id}/run/minutes/sign-off").get_data(as_text=True)
    assert "Sign off the minutes" in page and "MC-00202" in page  # case 2 has no decision yet
    assert client.post(f"/meetings/{h.meeting.id}/run/minutes/sign-off").status_code == 302
    meeting = Meeting.get_by_id(h.meeting.id)
    assert meeting.minutes_signed_off_by_id == h.chair.id
    assert "minutes.sign_off" in [e.action for e in AuditEvent.select()]

    # Frozen: the record refuses changes, and later changes elsewhere do not alter the minutes.
    with pytest.raises(RunError, match="signed off"):
        meeting_run.save_discussion(h.l1, h.coordinator, {"risk_victim": "changed"})
    with pytest.raises(RunError, match="signed off"):
        meeting_run.add_action(h.l1, h.coordinator, owner_agency=h.police, description="late")
    with pytest.raises(RunError, match="signed off"):
        meeting_run.add_attendee(h.meeting, h.coordinator, agency=h.police, name="Late Comer")
    with pytest.raises(MinutesError, match="signed off"):
        minutes.save_notes(h.meeting, h.coordinator, "late notes")
    Action.update(description="Edited later").where(Action.listing == h.l1.id).execute()
    data = minutes.minutes_data(h.meeting)
    assert data["signed_off"] and data["signed_off_by"] == "Chris Chair"
    assert data["cases"][0]["actions"][0]["text"] == "Fit new locks (fictional)"
    with pytest.raises(MinutesError, match="already signed off"):
        minutes.sign_off(h.meeting, h.chair)
    client.post("/logout")
    sign_in(h.coordinator)
    r = client.post(f"/meetings/{h.meeting.id}/run/cases/{h.l1.id}/discussion", headers={"HX-Request": "true"},
                    data={"risk_victim": "changed"})
    assert "Not saved" in r.get_data(as_text=True)


def test_corrections_after_sign_off_are_amendments(held, client, sign_in):
    h = held
    with pytest.raises(MinutesError, match="not signed off yet"):
        minutes.amend(h.meeting, h.coordinator, "Too early")
    minutes.sign_off(h.meeting, h.chair)
    sign_in(h.coordinator)
    r = client.post(f"/meetings/{h.meeting.id}/run/minutes/amendments",
                    data={"listing": h.l1.id, "text": "The locks are for the back door (fictional)"})
    assert r.status_code == 302
    r = client.post(f"/meetings/{h.meeting.id}/run/minutes/amendments", data={"listing": 0, "text": ""})
    assert r.status_code == 200 and "Enter the correction" in r.get_data(as_text=True)
    minutes.amend(h.meeting, h.coordinator, f"{SECRET} amended", h.l3)
    assert MinutesAmendment.select().count() == 2
    page = client.get(f"/meetings/{h.meeting.id}/run/minutes").get_data(as_text=True)
    assert "The locks are for the back door (fictional)" in page and "Amendments after sign-off" in page
    housing_copy = minutes.for_agency(minutes.minutes_data(h.meeting), h.housing)
    assert [a["text"] for a in housing_copy["amendments"]] == ["The locks are for the back door (fictional)"]


def test_sending_is_recorded(held, client, sign_in):
    h = held
    with pytest.raises(MinutesError, match="after the chair"):
        minutes.record_sent(h.meeting, h.coordinator, "minutes")
    sign_in(h.coordinator)
    client.post(f"/meetings/{h.meeting.id}/run/minutes/sent", data={"what": "actions"})
    assert meeting_run.record_for(h.meeting).actions_sent_at == datetime(2026, 11, 18, 9, 25)
    minutes.sign_off(h.meeting, h.chair)
    client.post(f"/meetings/{h.meeting.id}/run/minutes/sent", data={"what": "minutes"})
    assert Meeting.get_by_id(h.meeting.id).minutes_sent_at == datetime(2026, 11, 18, 9, 25)
    page = client.get(f"/meetings/{h.meeting.id}/run/minutes").get_data(as_text=True)
    assert "Wednesday 25 November 2026" in page and "Not yet" not in page


def test_each_agency_copy_holds_only_what_it_may_see(held):
    h = held
    minutes.sign_off(h.meeting, h.chair)
    data = minutes.minutes_data(h.meeting)
    housing = word_text(minutes.docx_bytes(minutes.for_agency(data, h.housing)))
    assert "Fit new locks (fictional)" in housing and "Visit weekly (fictional)" in housing
    assert "MC-00203" not in housing and "ZQX" not in housing
    assert "Copy for Anytown Homes" in housing
    police = word_text(minutes.docx_bytes(minutes.for_agency(data, h.police)))
    assert "MC-00203" in police and SECRET in police and "Secret plan ZQX (fictional)" in police
    full = word_text(minutes.docx_bytes(data))
    assert all(n in full for n in ("MC-00201", "MC-00202", "MC-00203"))


def test_a_representative_downloads_only_their_agency_copy(held, client, sign_in):
    h = held
    sign_in(h.rep_housing)
    page = client.get(f"/meetings/{h.meeting.id}/run/minutes")
    assert page.status_code == 200 and b"not signed off yet" in page.data and b"Fit new locks" not in page.data
    assert client.get(f"/meetings/{h.meeting.id}/run/minutes/word").status_code == 404
    with db.connection_context():
        minutes.sign_off(h.meeting, h.chair)
    r = client.get(f"/meetings/{h.meeting.id}/run/minutes/word?agency={h.police.id}")  # agency is ignored
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "Anytown" not in r.headers["Content-Disposition"]  # no names in the file name
    text = word_text(r.data)
    assert "Fit new locks (fictional)" in text and "ZQX" not in text and "MC-00203" not in text
    for url in ("/minutes", "/minutes/print"):
        body = client.get(f"/meetings/{h.meeting.id}/run{url}").get_data(as_text=True)
        assert "Fit new locks (fictional)" in body and "ZQX" not in body and "MC-00203" not in body
    views = AuditEvent.select().where(AuditEvent.action == "minutes.view")
    assert {e.detail for e in views} >= {f'{{"copy": {h.housing.id}, "format": "word"}}'}


def test_the_coordinator_previews_an_agency_copy(held, client, sign_in):
    h = held
    sign_in(h.coordinator)
    full = client.get(f"/meetings/{h.meeting.id}/run/minutes").get_data(as_text=True)
    assert "MC-00203" in full and "Draft" in full and "Change the record of case MC-00201" in full
    copy = client.get(f"/meetings/{h.meeting.id}/run/minutes?agency={h.housing.id}").get_data(as_text=True)
    assert "copy for Anytown Homes" in copy and "MC-00203" not in copy
    assert client.get(f"/meetings/{h.meeting.id}/run/minutes?agency=9999").status_code == 404
    r = client.get(f"/meetings/{h.meeting.id}/run/minutes/word")
    assert "ZQX" in word_text(r.data) and "DRAFT" in word_text(r.data)
    client.post(f"/meetings/{h.meeting.id}/run/minutes/notes", data={"notes": "Welcome to new members"})
    assert "Welcome to new members" in minutes.minutes_data(h.meeting)["notes"]


def test_compiling_the_minutes_takes_the_same_queries_for_more_cases(held, monkeypatch):
    h = held

    def count():
        seen = []
        real = type(db.obj).execute_sql

        def counting(self, sql, params=None, *args, **kwargs):
            seen.append(sql)
            return real(self, sql, params, *args, **kwargs)

        monkeypatch.setattr(type(db.obj), "execute_sql", counting)
        minutes.compile_minutes(h.meeting)
        monkeypatch.setattr(type(db.obj), "execute_sql", real)
        return len(seen)

    before = count()
    for n in range(5):
        case = make_agenda_case(children=1, number=f"MC-0030{n}", agency=h.housing)
        listing = make_listing(h.meeting, case)
        listing.meeting = h.meeting
        meeting_run.save_discussion(listing, h.coordinator, {"decision": "information"},
                                    shared={h.police.id: "Known (fictional)"})
        meeting_run.add_action(listing, h.coordinator, owner_agency=h.police, description="Flag (fictional)")
    assert count() == before
