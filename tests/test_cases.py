"""The case record: page, timeline order / filters / pagination, search, access, closure, transfer."""
import io
import json
import zipfile
from datetime import date, datetime, timedelta

import pytest
from docx import Document as WordDocument
from marac_testing import make_action, make_agency, make_case, make_note, make_person, make_user

from marac import cases
from marac.models import (
    ActionUpdate,
    AuditEvent,
    Case,
    CaseEvent,
    Listing,
    Meeting,
    Referral,
    ReferralAmendment,
    Research,
)


def member_agency(name=None):
    return make_agency(name=name, isa_signed_on=date(2025, 1, 1), isa_signatory="A Signatory")


def referral(case, author, at, **kw):
    return Referral.create(author=author, agency=author.agency_id, case=case, status=kw.pop("status", "accepted"),
                           created_at=at, submitted_at=at, **kw)


def audit_actions(action=None):
    query = AuditEvent.select().order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(query)


@pytest.fixture
def world(app, fake_clock):
    """Two agencies; a case involving the first; people with fictional names."""
    police = member_agency("Test Police")
    housing = member_agency("Test Housing")
    other = make_agency("Uninvolved Agency")  # not a member: sees only what it is involved in
    coord = make_user("coordinator", name="Casey Coordinator")
    rep = make_user("representative", agency=housing, name="Harper Housing")
    police_rep = make_user("representative", agency=police, name="Parker Police")
    outsider = make_user("representative", agency=other, name="Olive Outsider")
    victim = make_person("Zoë", "Fictional-Smith", date_of_birth=date(1990, 3, 27), postcode="ZZ1 1ZZ")
    perp = make_person("Quentin", "Madeup", date_of_birth=date(1985, 1, 2), postcode="ZZ9 9ZZ")
    case = make_case(number="TC-2026-0001", people=[(victim, "victim"), (perp, "perpetrator")], lead_agency=police)
    return type("World", (), dict(police=police, housing=housing, other=other, coord=coord, rep=rep,
                                  police_rep=police_rep, outsider=outsider, victim=victim, perp=perp, case=case))


def build_timeline(w, clock):
    """One entry of every kind, a minute apart, oldest first; returns them in that order."""
    t0 = datetime(2026, 10, 1, 9, 0)
    r = referral(w.case, w.police_rep, t0, score_total=15, band="High", criteria_met="visible_high_risk")
    amendment = ReferralAmendment.create(referral=r, user=w.police_rep, at=t0 + timedelta(minutes=1),
                                         reason="Corrected a date", changes=json.dumps({"incident_date": [1, 2]}))
    meeting = Meeting.create(starts_at=datetime(2026, 10, 20, 9, 30))
    listing = Listing.create(meeting=meeting, case=w.case, referral=r, created_at=t0 + timedelta(minutes=2))
    research = Research.create(listing=listing, agency=w.housing, user=w.rep, victim_info="Tenant since 2020",
                               created_at=t0 + timedelta(minutes=3))
    action = make_action(w.case, w.housing, "Fit extra locks", due_date=date(2026, 10, 30), listing=listing,
                         created_at=t0 + timedelta(minutes=4))
    update = ActionUpdate.create(action=action, user=w.rep, kind="completed", text="Locks fitted",
                                 at=t0 + timedelta(minutes=5))
    note = make_note(w.case, w.rep, "Visited the tenant", created_at=t0 + timedelta(minutes=6))
    event = CaseEvent.create(case=w.case, user=w.coord, agency=w.coord.agency_id, kind="reopened",
                             at=t0 + timedelta(minutes=7))
    return [r, amendment, listing, research, action, update, note, event]


def test_timeline_newest_first_with_every_kind(world, fake_clock):
    made = build_timeline(world, fake_clock)
    page = cases.timeline(world.case, world.coord)
    assert [e["obj"].id for e in page.entries] == [o.id for o in reversed(made)]
    assert [e["kind"] for e in page.entries] == ["event", "note", "action_update", "action", "research", "listing",
                                                 "amendment", "referral"]
    assert page.next_cursor is None


def test_timeline_filters_by_kind_and_agency(world, fake_clock):
    build_timeline(world, fake_clock)
    kinds = lambda **kw: [e["kind"] for e in cases.timeline(world.case, world.coord, **kw).entries]  # noqa: E731
    assert kinds(kind="action") == ["action_update", "action"]
    assert kinds(kind="referral") == ["amendment", "referral"]
    assert kinds(kind="meeting") == ["research", "listing"]
    assert kinds(kind="note") == ["note"]
    assert kinds(kind="case") == ["event"]
    # Housing: research, the action and its update, the note; listings belong to no agency.
    assert kinds(agency_id=world.housing.id) == ["note", "action_update", "action", "research"]
    assert kinds(agency_id=world.police.id) == ["amendment", "referral"]
    assert kinds(kind="note", agency_id=world.police.id) == []


def test_timeline_keyset_pagination_with_equal_times(world, fake_clock):
    at = datetime(2026, 10, 5, 12, 0)
    notes = [make_note(world.case, world.rep, f"Note {i}", created_at=at) for i in range(7)]
    actions = [make_action(world.case, world.housing, f"Action {i}", created_at=at) for i in range(3)]
    seen = []
    cursor = None
    while True:
        page = cases.timeline(world.case, world.coord, before=cursor, page_size=4)
        seen += [(e["kind"], e["obj"].id) for e in page.entries]
        if page.next_cursor is None:
            break
        cursor = cases.Cursor.decode(page.next_cursor.encode())
    # Same time: kinds in descending order, then ids descending, each exactly once.
    assert seen == [("note", n.id) for n in reversed(notes)] + [("action", a.id) for a in reversed(actions)]


def test_case_page_shows_people_risk_and_timeline(client, sign_in, world, fake_clock):
    build_timeline(world, fake_clock)
    sign_in(world.coord)
    r = client.get(f"/cases/{world.case.id}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Zoë Fictional-Smith" in body and "Quentin Madeup" in body
    assert "15 (High)" in body and "Test Police" in body
    assert "Visited the tenant" in body and "Fit extra locks" in body and "Tenant since 2020" in body
    assert body.index("Visited the tenant") < body.index("Fit extra locks")  # newest first
    # Flag and tag: 12 months after the last referral.
    assert "01 Oct 2027" in body
    views = audit_actions("case.view")
    assert len(views) == 1 and views[0].object_id == str(world.case.id) and views[0].user_id == world.coord.id


def test_links_to_other_cases_only_when_visible(client, sign_in, world, fake_clock):
    visible = make_case(number="TC-VIS", people=[(world.victim, "victim")], lead_agency=world.housing)
    hidden = make_case(number="TC-HID", people=[(world.victim, "victim")], lead_agency=world.other)
    make_action(world.case, world.housing)  # the housing rep can see the main case
    sign_in(world.rep)
    body = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert f"/cases/{visible.id}" in body and "TC-VIS" in body
    assert "TC-HID" not in body and f"/cases/{hidden.id}" not in body


def test_htmx_filter_and_load_more_are_fragments_and_audited(client, sign_in, world, fake_clock):
    for i in range(30):
        make_note(world.case, world.rep, f"Numbered note {i:02d}",
                  created_at=datetime(2026, 10, 1) + timedelta(hours=i))
    sign_in(world.coord)
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert "Numbered note 29" in page and "Numbered note 04" not in page
    link = page.split('id="timeline-more"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    # Without JavaScript: the whole case page with the older entries.
    plain = client.get(link)
    assert b"<html" in plain.data and b"Numbered note 04" in plain.data and b"Numbered note 29" not in plain.data
    assert b"Back to the newest entries" in plain.data
    # With htmx: only the next page.
    more = client.get(link, headers={"HX-Request": "true"})
    assert b"<html" not in more.data and b"Numbered note 00" in more.data and b"Numbered note 05" not in more.data
    assert "HX-Request" in more.headers["Vary"]
    filtered = client.get(f"/cases/{world.case.id}?kind=action", headers={"HX-Request": "true"})
    assert b"<html" not in filtered.data and b'id="case-timeline"' in filtered.data
    assert b"No entries match these filters" in filtered.data
    assert len(audit_actions("case.view")) == 4


def test_timeline_is_a_fixed_number_of_queries(world, fake_clock, app):
    build_timeline(world, fake_clock)
    for i in range(20):
        make_note(world.case, world.rep, f"n{i}")
        a = make_action(world.case, world.housing, f"a{i}")
        ActionUpdate.create(action=a, user=world.rep, kind="chased")
    from marac.db import db

    counted = []
    original = db.obj.execute_sql

    def counting(sql, params=None, *a, **kw):
        counted.append(sql)
        return original(sql, params, *a, **kw)

    db.obj.execute_sql = counting
    try:
        page = cases.timeline(world.case, world.coord, page_size=50)
        for e in page.entries:  # the template touches these: no lazy loads
            o = e["obj"]
            if e["kind"] == "note":
                _ = (o.author.name, o.agency.name)
            if e["kind"] == "action_update":
                _ = (o.action.owner_agency.name, o.user.name)
    finally:
        db.obj.execute_sql = original
    assert len(page.entries) == 50
    assert len(counted) <= 5, counted


# --- access -------------------------------------------------------------------------------------


def test_other_agency_gets_404_on_case_and_timeline_and_it_is_audited(client, sign_in, world):
    sign_in(world.outsider)
    for url in (f"/cases/{world.case.id}", f"/cases/{world.case.id}/timeline",
                f"/cases/{world.case.id}/notes/new", f"/cases/{world.case.id}/documents/new"):
        assert client.get(url).status_code == 404, url
    denied = audit_actions("access.denied")
    assert denied and denied[-1].object_type == "case" and denied[-1].object_id == str(world.case.id)
    assert not audit_actions("case.view")


def test_referrer_and_observer_cannot_open_cases(client, sign_in, world):
    sign_in(make_user("referrer"))
    assert client.get(f"/cases/{world.case.id}").status_code == 403
    assert client.get("/cases/").status_code == 403


def test_coordinator_only_pages(client, sign_in, world):
    make_action(world.case, world.housing)
    sign_in(world.rep)
    for url in (f"/cases/{world.case.id}/close", f"/cases/{world.case.id}/reopen",
                f"/cases/{world.case.id}/transfer", f"/actions/new/{world.case.id}"):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data={"reason": "other", "text": "x", "area": "x"}).status_code == 403
    assert Case.get_by_id(world.case.id).status == "open"


# --- search -------------------------------------------------------------------------------------


def search(client, headers=None, **params):
    """The search as the page sends it: a post (the terms are personal data, never in a URL)."""
    return client.post("/cases/", data=params, headers=headers or {})


def test_search_forgiving_name_dob_postcode_and_number(client, sign_in, world):
    sign_in(world.coord)
    for params in ({"name": "zoe fictional smith"}, {"name": "ZOË FICTIONALSMITH"}, {"name": "Fictional-Smith Zoe"},
                   {"name": "fictional smith"}, {"name": "zoe"},
                   {"date_of_birth": ["27", "3", "1990"]}, {"postcode": "zz11zz"}, {"postcode": "ZZ1"},
                   {"number": "tc-2026-0001"}, {"name": "Zoe", "postcode": "ZZ1 1ZZ"}):
        body = search(client, **params).get_data(as_text=True)
        assert "TC-2026-0001" in body, params
    for params in ({"name": "nobody"}, {"name": "Zoe", "date_of_birth": ["1", "1", "2000"]},
                   {"name": "Quentin", "postcode": "ZZ1 1ZZ"}):  # criteria must match the same person
        body = search(client, **params).get_data(as_text=True)
        assert "TC-2026-0001" not in body and "No cases found" in body, params


def test_search_never_returns_a_case_the_user_may_not_see(client, sign_in, world):
    # Same person in a case the housing rep may see, and one they may not.
    make_action(world.case, world.housing)
    secret = make_case(number="TC-SECRET", people=[(world.victim, "victim")], lead_agency=world.other)
    sign_in(world.rep)
    body = search(client, name="Zoe").get_data(as_text=True)
    assert "TC-2026-0001" in body and "TC-SECRET" not in body
    body = search(client, number="TC-SECRET").get_data(as_text=True)
    assert "No cases found" in body and f"/cases/{secret.id}" not in body
    client.post("/logout")
    sign_in(world.outsider)  # the lead agency of TC-SECRET only
    body = search(client, name="Zoe").get_data(as_text=True)
    assert "TC-SECRET" in body and "TC-2026-0001" not in body


def test_search_is_audited_without_the_terms_and_htmx_gets_results_only(client, sign_in, world):
    sign_in(world.coord)
    r = search(client, name="Madeup", headers={"HX-Request": "true"})
    assert b"<html" not in r.data and b'id="search-results"' in r.data and b"TC-2026-0001" in r.data
    row = audit_actions("case.search")[-1]
    assert "Madeup" not in row.detail and json.loads(row.detail) == {"fields": ["name"], "results": 1}
    plain = search(client, name="Madeup")  # without JavaScript: the whole page, the terms kept in the form
    assert plain.status_code == 200 and b"<html" in plain.data and b"TC-2026-0001" in plain.data
    assert b'value="Madeup"' in plain.data
    assert client.get("/cases/").status_code == 200  # empty form: no search, no audit row
    assert len(audit_actions("case.search")) == 2


def test_search_queries_do_not_grow_with_the_results(client, sign_in, world, monkeypatch):
    """One query for the result list and one for their people, however many cases are found; the
    reads come before the audit row's short write transaction (no write lock held while searching)."""
    from marac.db import db

    sign_in(world.coord)
    counted = []
    original = db.obj.execute_sql

    def counting(sql, params=None, *a, **kw):
        counted.append(sql)
        return original(sql, params, *a, **kw)

    def searched(n_more):
        for i in range(n_more):
            make_case(number=f"TC-MANY-{len(Case.select()):03}", people=[(world.perp, "perpetrator")])
        counted.clear()
        monkeypatch.setattr(db.obj, "execute_sql", counting)
        body = search(client, name="Quentin Madeup").get_data(as_text=True)
        monkeypatch.setattr(db.obj, "execute_sql", original)
        return body, list(counted)

    body_few, few = searched(2)
    body_many, many = searched(20)
    assert body_few.count('href="/cases/') < body_many.count('href="/cases/')
    assert "23 cases found" in body_many and "Zoë Fictional-Smith" in body_many
    assert len(few) == len(many), many
    insert = next(i for i, sql in enumerate(many) if sql.startswith('INSERT INTO "audit_event"'))
    assert any('FROM "case" AS' in sql for sql in many[:insert])  # the result list was read before it


def test_search_terms_in_a_url_are_ignored(client, sign_in, world):
    """An old bookmark or a hand-made link with terms in its query searches nothing."""
    sign_in(world.coord)
    r = client.get("/cases/", query_string={"name": "Zoe", "number": "TC-2026-0001"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "TC-2026-0001" not in body and "Zoe" not in body
    assert not audit_actions("case.search")


# --- closure and transfer -----------------------------------------------------------------------


def test_close_with_confirmation_then_reopen(client, sign_in, world, fake_clock):
    referral(world.case, world.police_rep, datetime(2026, 6, 15, 10, 0))
    sign_in(world.coord)
    page = client.get(f"/cases/{world.case.id}/close")
    assert page.status_code == 200 and b"Are you sure you want to close" in page.data and b"15 Jun 2027" in page.data
    bad = client.post(f"/cases/{world.case.id}/close", data={"reason": "other"})
    assert b"Say why the case is being closed" in bad.data and Case.get_by_id(world.case.id).status == "open"
    r = client.post(f"/cases/{world.case.id}/close", data={"reason": "moved_away"})
    assert r.status_code == 302
    case = Case.get_by_id(world.case.id)
    assert case.status == "closed" and case.close_reason == "moved_away" and case.flag_until == date(2027, 6, 15)
    body = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert "Case closed: Moved out of the area" in body
    r = client.post(f"/cases/{world.case.id}/reopen", data={"text": "New incident reported"})
    assert r.status_code == 302 and Case.get_by_id(world.case.id).status == "open"
    assert [e.action for e in audit_actions() if e.action.startswith("case.") and e.action != "case.view"] == [
        "case.close", "case.reopen"]


def test_transfer_pack_is_a_zip_of_word_documents_recorded_on_the_timeline(client, sign_in, world, fake_clock):
    made = build_timeline(world, fake_clock)
    made[0].answers = json.dumps({"q1": "yes"})
    made[0].instrument_json = json.dumps({"items": [{"id": "q1", "text": "Fictional question one"}]})
    made[0].data = json.dumps({"background": {"summary": "Fictional background text"}})
    made[0].save()
    sign_in(world.coord)
    r = client.post(f"/cases/{world.case.id}/transfer", data={"area": "Othertown MARAC"})
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert "attachment" in r.headers["Content-Disposition"] and "TC-2026-0001" in r.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    names = archive.namelist()
    assert len(names) == 3 and all(n.endswith(".docx") for n in names)
    texts = {}
    for name in names:
        doc = WordDocument(io.BytesIO(archive.read(name)))
        texts[name] = "\n".join([p.text for p in doc.paragraphs]
                                + [c.text for t in doc.tables for row in t.rows for c in row.cells])
    referral_text, minutes_text, plan_text = (texts[n] for n in sorted(names))
    assert "Zoë Fictional-Smith" in referral_text and "Fictional question one" in referral_text
    assert "Fictional background text" in referral_text and "15" in referral_text
    assert "Tenant since 2020" in minutes_text and "Fit extra locks" in minutes_text
    assert "Fit extra locks" in plan_text and "Test Housing" in plan_text
    event = CaseEvent.get(CaseEvent.kind == "transfer_out")
    assert event.text == "Othertown MARAC"
    assert audit_actions("case.transfer_out")[0].object_id == str(world.case.id)
    assert b"Transfer pack prepared for Othertown MARAC" in client.get(f"/cases/{world.case.id}").data


def test_coordinator_sets_the_lead_agency(client, sign_in, world):
    sign_in(world.coord)
    assert b"Change the lead agency" in client.get(f"/cases/{world.case.id}").data
    r = client.post(f"/cases/{world.case.id}/lead", data={"lead_agency": world.housing.id})
    assert r.status_code == 302 and Case.get_by_id(world.case.id).lead_agency_id == world.housing.id
    client.post(f"/cases/{world.case.id}/lead", data={"lead_agency": 0})
    assert Case.get_by_id(world.case.id).lead_agency_id is None
    assert audit_actions("case.update")[-1].detail == '{"fields": ["lead_agency"]}'
    client.post("/logout")
    sign_in(world.police_rep)
    assert client.post(f"/cases/{world.case.id}/lead", data={"agency": world.police.id}).status_code == 403


def test_meeting_minutes_join_the_timeline_once_signed_off(client, sign_in, world, fake_clock):
    from marac.models import CaseDiscussion, SharedInfo

    meeting = Meeting.create(starts_at=datetime(2026, 10, 20, 9, 30))
    listing = Listing.create(meeting=meeting, case=world.case, created_at=datetime(2026, 10, 10, 9, 0))
    CaseDiscussion.create(listing=listing, summary="Fictional summary of the discussion",
                          risk_victim="Fictional risk", updated_at=datetime(2026, 10, 20, 10, 0))
    SharedInfo.create(listing=listing, agency=world.housing, text="Fictional tenancy information")
    kinds = [e["kind"] for e in cases.timeline(world.case, world.coord, kind="meeting").entries]
    assert kinds == ["listing"]  # draft minutes are not shared
    meeting.minutes_signed_off_at = datetime(2026, 10, 21, 12, 0)
    meeting.save()
    kinds = [e["kind"] for e in cases.timeline(world.case, world.coord, kind="meeting").entries]
    assert kinds == ["minutes", "listing"]
    sign_in(world.coord)
    body = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert "Heard at the meeting on 20 October 2026" in body and "Fictional summary of the discussion" in body
    assert "Shared by Test Housing" in body and "Fictional tenancy information" in body
    r = client.post(f"/cases/{world.case.id}/transfer", data={"area": "Othertown MARAC"})
    minutes = zipfile.ZipFile(io.BytesIO(r.data)).read("2-minutes-extracts.docx")
    text = "\n".join(p.text for p in WordDocument(io.BytesIO(minutes)).paragraphs)
    assert "Fictional summary of the discussion" in text and "Shared at the meeting by Test Housing" in text
