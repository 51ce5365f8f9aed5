"""Hypothesis-generated submissions to the app's forms (SECURITY.md check 17): no 5xx, and no invalid
row afterwards. Each form's field names and offered choices are read from its own page, so the
posts look like a browser's, with hostile values (any text, control characters, huge numbers,
missing parts of a date, too many parts, stray extra fields such as role and agency_id)."""
import io
import json
import os
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marac_testing import make_referral
from security_world import build_world, signed_in_client, url_for_rule

from marac.db import db, is_sqlite
from marac.models import (
    AGENCY_KINDS,
    ROLES,
    Action,
    Agency,
    Note,
    Referral,
    ReleaseRequest,
    Research,
    User,
    ViewReason,
)

EXAMPLES = int(os.environ.get("MARAC_FUZZ_EXAMPLES", "10"))  # more for a longer hunt
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
NUMBERISH = st.one_of(st.integers(-10**12, 10**12).map(str), st.sampled_from(["", "0", "-1", "1e9", "NaN", "31"]))
EXTRA = st.sampled_from(["role", "agency_id", "case_id", "created_by", "author", "user_id", "status"])

FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
NAMED = re.compile(r"<(input|select|textarea|button)\b([^>]*)>", re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
OPTION = re.compile(r'<option\b[^>]*value="([^"]*)"', re.I)


def form_fields(html: str) -> dict[str, list[str]]:
    """{field name: values the page offers (radio, checkbox, select options)} of its post forms."""
    fields: dict[str, list[str]] = {}
    for form in FORM.findall(html):
        for match in NAMED.finditer(form):
            attrs = dict(ATTR.findall(match.group(2)))
            name = attrs.get("name")
            if not name or name == "csrf_token":
                continue
            if attrs.get("type") in ("submit", "button") or match.group(1).lower() == "button":
                if name != "submit":  # a named button (save, preview, recalculate) is part of the body it sends
                    fields.setdefault(name, []).append(attrs.get("value", "y"))
                continue
            offered = fields.setdefault(name, [])
            if "value" in attrs and attrs.get("type") in ("radio", "checkbox"):
                offered.append(attrs["value"])
            if match.group(1).lower() == "select":
                tail = form[match.end():form.find("</select>", match.end())]
                offered += OPTION.findall(tail)
    return fields


def submissions(fields: dict[str, list[str]]):
    """A strategy of form bodies: each field left out, empty, an offered value, or anything."""
    def value(name, offered):
        options = [TEXT, NUMBERISH, st.just("")]
        if offered:
            options.append(st.sampled_from(offered))
        single = st.one_of(*options)
        return st.one_of(single, st.lists(single, min_size=0, max_size=4))

    body = st.fixed_dictionaries({}, optional={name: value(name, offered) for name, offered in fields.items()})
    extra = st.dictionaries(EXTRA, st.one_of(TEXT, NUMBERISH), max_size=2)
    return st.tuples(body, extra).map(lambda pair: {**pair[1], **pair[0]})


def assert_valid_rows():
    from marac.actions import STATUSES
    from marac.notes import CATEGORIES, MAX_LENGTH

    with db.connection_context():
        if is_sqlite():  # PostgreSQL checks every foreign key as it is written
            assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        for note in Note.select():
            assert note.category in CATEGORIES and 0 < len(note.text.strip()) <= MAX_LENGTH, note.id
        for agency in Agency.select():
            assert agency.kind in AGENCY_KINDS and agency.name.strip(), agency.id
        for user in User.select():
            assert user.role in ROLES and "@" in user.email and user.name.strip(), user.id
        for action in Action.select():
            assert action.description.strip() and isinstance(action.due_date, date), action.id
            assert action.status in STATUSES and action.priority in ("normal", "high"), action.id
        for referral in Referral.select():
            assert isinstance(json.loads(referral.data), dict), referral.id
        for row in Research.select():
            assert row.listing_id and row.agency_id
        for row in ViewReason.select():
            assert row.reason.strip()
        for row in ReleaseRequest.select():
            assert row.requester_name.strip() and row.basis in ("dhr", "sar", "court") and row.due_on >= row.received_on


@pytest.fixture
def world(app, fake_clock):
    w = build_world(app)
    person = {"ref": "fz1", "role": "victim", "given_name": "Fuzz", "family_name": "Draftperson"}
    draft = make_referral(author=w.users["F"], status="draft", instrument_id="dash", data={"people": [person]})
    w.values["draft_id"] = draft.id
    # The meeting is running and its closed case under discussion, so the meeting-run forms are live.
    coordinator = signed_in_client(app, w, "C")
    v = w.values
    assert coordinator.post(f"/meetings/{v['meeting_id']}/run/start").status_code == 302
    assert coordinator.post(f"/meetings/{v['meeting_id']}/run/cases/{v['listing_id']}/start").status_code == 302
    w.objects["coordinator_client"] = coordinator
    return w


# POST rules not given generated values, with the reason. Every other POST rule of app.url_map is fuzzed
# (test_every_posted_form_is_fuzzed fails on a new one that is in neither list).
NOT_FUZZED = {
    "auth.logout": "takes no field: a button that signs out",
    "auth.setup": "only before the first coordinator exists, with a one-time token (test_auth's setup tests)",
    "security.code": "only half-way through a sign-in with the second factor on (test_totp)",
    "security.enrol": "only half-way through a first sign-in with the second factor on (test_totp)",
    "training.who_looked": "404 outside training mode (the matrix's nf cell); test_training checks the answer",
}
# POST rules whose form is on no page of the seeded borough in this state: their fields, from the form class.
FIELDS = {
    "panels.switch": {"panel": []},  # the form shows only to a user of two panels (tests/test_panels.py)
    "actions.done": {"tab": []}, "actions.reopen": {}, "cases.reopen": {"text": []},
    "governance.release_download": {}, "governance.retention_keep": {"reason": [], "review_date": []},
    "governance.retention_delete": {"reason": [], "confirm": ["y"]},
    "inbox.qa": {"outcome": ["supported", "not_supported"], "code": ["pj_not_supported"], "reason": []},
    "instruments.preview": {"name": [], "method": ["count_yes", "weighted_sum", "product_of_sections"], "items": [],
                            "threshold": [], "bands": []},
    "instruments.use": {}, "meeting_run.add_observer": {"name": [], "organisation": [], "account": ["0"]},
    "meeting_run.confidentiality": {}, "meeting_run.minutes_amend": {"listing": ["1", "2"], "text": []},
    "meeting_run.observer_step": {"reason": []}, "meeting_run.record_agreement": {},
    "meeting_run.restore_standard_actions": {}, "meeting_run.start": {}, "meeting_run.remove_action": {},
    "meeting_run.remove_attendee": {}, "referrals.submit": {}, "auth.login": {"email": [], "password": []},
    # shown only where there is another panel (the seeded borough has one)
    "admin.user_grant": {"email": []}, "admin.user_revoke": {},
}
FIELDS["instruments.preview_score"] = {**FIELDS["instruments.preview"], "tick": ["injury", "frightened"]}
# The role that posts each form when the access matrix lets no role post it in this state.
ROLE = {"auth.login": "A", "referrals.submit": "F", "referrals.score": "F", "meeting_run.remove_action": "C",
        "meeting_run.remove_attendee": "C"}
UPLOADS = {"cases.document_new", "instruments.import_"}
FILE = st.tuples(st.binary(max_size=3000), st.sampled_from(["a.pdf", "a.docx", "a.json", "a.exe", "", "../x.pdf"]))

FORM_TAG = re.compile(r"<form\b([^>]*)>.*?</form>", re.S | re.I)
_PAGE_FORMS: dict = {}  # role -> {form action: fields}, from a crawl of every page (ids are the same each test)


def _page_forms(app, client, world, role) -> dict:
    """{action path: fields} of every post form on every page this role can open."""
    if role in _PAGE_FORMS:
        return _PAGE_FORMS[role]
    found: dict = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout", "static"):
            continue
        url = url_for_rule(rule, world.values)
        r = client.get(url)
        if r.status_code == 200 and r.content_type.startswith("text/html"):
            for match in FORM_TAG.finditer(r.get_data(as_text=True)):
                attrs = dict(ATTR.findall(match.group(1)))
                if attrs.get("method", "").lower() == "post":
                    found.setdefault((attrs.get("action") or url).split("?")[0], form_fields(match.group(0)))
        r.close()
    _PAGE_FORMS[role] = found
    return found


class _Clients(dict):
    """Signed-in clients by role, each signed in when first asked for."""

    def __init__(self, app, world, **clients):
        super().__init__(**clients)
        self.app, self.world = app, world

    def __missing__(self, role):
        self[role] = signed_in_client(self.app, self.world, role)
        return self[role]


def _post_rules(app) -> dict:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


# Every POST rule of the app but the referral sections (one test per section below) and NOT_FUZZED.
FUZZED = [
    "actions.cannot", "actions.chase", "actions.complete", "actions.done", "actions.escalate", "actions.new",
    "actions.reopen", "admin.agency_edit", "admin.agency_new", "admin.user_edit", "admin.user_grant", "admin.user_new",
    "admin.user_revoke", "auth.account",
    "auth.login", "cases.close", "cases.document_new", "cases.lead_agency", "cases.note_correct", "cases.note_new",
    "cases.reopen", "cases.search", "cases.transfer_out", "governance.reason", "governance.release_download",
    "governance.release_new", "governance.release_show", "governance.retention_delete", "governance.retention_keep",
    "governance.subject_access_export", "inbox.decide", "inbox.match_decide", "inbox.qa", "inbox.split",
    "inbox.transfer_in", "instruments.edit", "instruments.import_", "instruments.new", "instruments.preview",
    "instruments.preview_score", "instruments.use", "meeting_run.add_action", "meeting_run.add_observer",
    "meeting_run.apologies", "meeting_run.case_step", "meeting_run.confidentiality", "meeting_run.end",
    "meeting_run.minutes_amend", "meeting_run.minutes_notes", "meeting_run.minutes_sent", "meeting_run.observer_step",
    "meeting_run.record_agreement", "meeting_run.record_standard_actions", "meeting_run.remove_action",
    "meeting_run.remove_attendee", "meeting_run.restore_standard_actions", "meeting_run.review_action",
    "meeting_run.save_discussion", "meeting_run.sign_in", "meeting_run.sign_off", "meeting_run.sign_out",
    "meeting_run.start", "meetings.cancel", "meetings.circulate", "meetings.edit", "meetings.list_case",
    "meetings.listing", "meetings.listing_remove", "meetings.move_request", "meetings.new", "meetings.order",
    "meetings.order_rule", "meetings.pattern", "meetings.proposal", "meetings.research", "referrals.amend_section",
    "panels.switch", "referrals.new", "referrals.score", "referrals.submit", "security.reset", "settings.edit",
    "settings.preset",
]


def test_every_posted_form_is_fuzzed(app):
    """A POST rule added later fails here until it is fuzzed or listed with its reason."""
    posted = set(_post_rules(app))
    assert posted - set(FUZZED) - set(NOT_FUZZED) - {"referrals.section"} == set()
    assert set(FUZZED) | set(NOT_FUZZED) <= posted  # the lists name real rules
    assert not set(FUZZED) & set(NOT_FUZZED)


def _fuzz(app, client, url, fields, upload=False):
    strategy = submissions(fields)
    if upload:
        strategy = st.tuples(strategy, FILE).map(lambda pair: {**pair[0], "file": (io.BytesIO(pair[1][0]), pair[1][1])})

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(body=strategy, htmx=st.booleans())
    def post(body, htmx):
        r = client.post(url, data=body, headers={"HX-Request": "true"} if htmx else {})
        assert r.status_code < 500, (url, body, r.status_code)
        r.close()

    post()
    assert_valid_rows()


@pytest.mark.parametrize("endpoint", FUZZED)
def test_generated_submissions_give_no_5xx_and_no_invalid_rows(app, world, endpoint):
    from test_access_matrix import EXPECTED
    from test_security_review import _preparations, _role_for_post, _valid_bodies

    rule = _post_rules(app)[endpoint]
    role = ROLE.get(endpoint) or _role_for_post(EXPECTED[endpoint]) or "C"
    on_draft = endpoint in ("referrals.submit", "referrals.score")
    values = {**world.values, "referral_id": world.values["draft_id"]} if on_draft else world.values
    client = world.objects["coordinator_client"] if role == "C" else signed_in_client(app, world, role)
    page_forms = _page_forms(app, client, world, role)  # read before any step changes the borough
    steps = _preparations(app, world, _Clients(app, world, C=world.objects["coordinator_client"]))
    step = steps.get(endpoint)
    prepared = step() if step and endpoint != "referrals.score" else {}
    url = url_for_rule(rule, values)
    if prepared:  # the state where the form saves (check 13's steps): closed case, signed-off minutes, ...
        url = url_for_rule(rule, {**values, **prepared})
        page = client.get(url) if "GET" in rule.methods else None
        fields = form_fields(page.get_data(as_text=True)) if page is not None and page.status_code == 200 else {}
        if not fields:
            fields = FIELDS[endpoint] if endpoint in FIELDS else page_forms.get(url_for_rule(rule, values))
        assert fields is not None, f"no fields known for {endpoint}"
    elif endpoint == "referrals.score":  # the checklist section's "Recalculate" button posts its answers
        page = client.get(f"/referrals/{world.values['draft_id']}/section/checklist")
        fields = form_fields(page.get_data(as_text=True))
        assert "score" in page.get_data(as_text=True) and fields
    elif endpoint in FIELDS:
        fields = FIELDS[endpoint]
    else:
        assert url in page_forms, f"no form posts to {url} on any page {role} can open: add its fields to FIELDS"
        fields = page_forms[url]
    # The values check 13 posts to make the form save are among those offered, so the save path is fuzzed too.
    valid = _valid_bodies(world).get(endpoint, {})
    fields = {name: list(offered) for name, offered in fields.items()}
    for name, value in ({} if callable(valid) else valid).items():
        if value is not None:
            fields.setdefault(name, []).append(value)
    _fuzz(app, client, url, fields, upload=endpoint in UPLOADS)


@pytest.mark.parametrize("index", range(10), ids=[f"referral section {n}" for n in range(10)])
def test_generated_referral_sections_give_no_5xx_and_no_invalid_rows(app, world, index):
    from marac.referrals import sections
    from marac.settings import panel_rules

    slugs = [s.slug for s in sections(panel_rules())]
    assert len(slugs) == 10, slugs  # the referral has ten sections
    url = f"/referrals/{world.values['draft_id']}/section/{slugs[index]}"
    client = signed_in_client(app, world, "F")
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    fields = form_fields(page.get_data(as_text=True))
    assert fields, f"no form fields found on {url}"
    _fuzz(app, client, url, fields)


# --- SECURITY.md check 13: extra fields change nothing ---------------------------------------------------

FORGED = {"role": "coordinator", "agency_id": "1", "agency": "1", "case_id": "2", "created_by": "1",
          "author": "1", "author_id": "1", "user_id": "1", "owner_agency": "1", "restricted": ""}


def test_extra_form_fields_change_nothing(app, world):
    v, users = world.values, world.users
    rep = users["R"]
    client = signed_in_client(app, world, "R")
    other_case = world.objects["open_case"]
    FORGED["case_id"] = str(other_case.id)
    r = client.post(f"/cases/{v['case_id']}/notes/new", data={**FORGED, "category": "contact", "text": "Forged?"})
    assert r.status_code == 302
    note = Note.select().order_by(Note.id.desc()).get()
    assert (note.case_id, note.author_id, note.agency_id) == (v["case_id"], rep.id, rep.agency_id)
    r = client.post(f"/meetings/{v['meeting_id']}/listings/{v['listing_id']}/research",
                    data={**FORGED, "victim_info": "Research text"})
    assert r.status_code in (200, 302)
    rows = list(Research.select().where(Research.listing == v["listing_id"]))
    assert [(row.agency_id, row.user_id, row.victim_info) for row in rows] == [(rep.agency_id, rep.id, "Research text")]
    r = client.post(f"/actions/{v['action_id']}/complete",
                    data={**FORGED, "completed_on": ["2", "11", "2026"], "note": "Done"})
    assert r.status_code == 302
    action = Action.get_by_id(v["action_id"])
    assert (action.case_id, action.owner_agency_id, action.completed_by_id) == (v["case_id"], rep.agency_id, rep.id)
    r = client.post("/account", data={**FORGED, "current_password": "wrong"})
    assert User.get_by_id(rep.id).role == "representative" and User.get_by_id(rep.id).agency_id == rep.agency_id
    referrer = signed_in_client(app, world, "F")
    r = referrer.post(f"/referrals/{v['draft_id']}/section/risk", data={**FORGED, "current_risk": "Typed"})
    assert r.status_code == 302
    draft = Referral.get_by_id(v["draft_id"])
    assert (draft.author_id, draft.agency_id, draft.case_id, draft.status) == (
        users["F"].id, users["F"].agency_id, None, "draft")


def test_a_meeting_form_without_its_venue_field_saves_an_empty_venue(app, world):
    """Found by the check-13 walk: a post leaving the optional venue field out was a 500."""
    from marac.models import Meeting

    client = world.objects["coordinator_client"]
    r = client.post("/meetings/new", data={"kind": "regular", "day": ["9", "12", "2026"], "time": "10:00"})
    assert r.status_code == 302
    meeting = Meeting.select().order_by(Meeting.id.desc()).get()
    assert meeting.venue == "" and meeting.starts_at.date() == date(2026, 12, 9)
    r = client.post(f"/meetings/{meeting.id}/edit", data={"day": ["10", "12", "2026"], "time": "11:00"})
    assert r.status_code == 302
    assert Meeting.get_by_id(meeting.id).venue == ""


def test_a_listing_change_without_its_emergency_reason_field_is_no_500(app, world):
    """Found by the fuzzing on PostgreSQL (intermittently: only when the example left the field out):
    changing a listing with no emergency_reason field called .strip() on None."""
    from marac.models import Listing

    client = world.objects["coordinator_client"]
    meeting_id, listing_id = world.values["meeting_id"], world.values["listing_id"]
    r = client.post(f"/meetings/{meeting_id}/listings/{listing_id}", data={"kind": "closed"})
    assert r.status_code in (200, 302)
    assert Listing.get_by_id(listing_id).emergency_reason == ""
