"""Hypothesis-generated submissions to the app's forms (SECURITY.md check 17): no 5xx, and no invalid
row afterwards. Each form's field names and offered choices are read from its own page, so the
posts look like a browser's, with hostile values (any text, control characters, huge numbers,
missing parts of a date, too many parts, stray extra fields such as role and agency_id)."""
import json
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marac_testing import make_referral
from security_world import build_world, signed_in_client

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

EXAMPLES = 30
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
NUMBERISH = st.one_of(st.integers(-10**12, 10**12).map(str), st.sampled_from(["", "0", "-1", "1e9", "NaN", "31"]))
EXTRA = st.sampled_from(["role", "agency_id", "case_id", "created_by", "author", "user_id", "status"])

FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
NAMED = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
OPTION = re.compile(r'<option\b[^>]*value="([^"]*)"', re.I)


def form_fields(html: str) -> dict[str, list[str]]:
    """{field name: values the page offers (radio, checkbox, select options)} of its post forms."""
    fields: dict[str, list[str]] = {}
    for form in FORM.findall(html):
        for match in NAMED.finditer(form):
            attrs = dict(ATTR.findall(match.group(2)))
            name = attrs.get("name")
            if not name or name == "csrf_token" or attrs.get("type") in ("submit", "button"):
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
    return w


def _routes(w):
    v = w.values
    rows = [
        ("R", f"/cases/{v['case_id']}/notes/new"),
        ("C", f"/actions/new/{v['case_id']}"),
        ("R", f"/actions/{v['action_id']}/complete"),
        ("R", f"/actions/{v['action_id']}/cannot"),
        ("C", f"/actions/{v['action_id']}/escalate"),
        ("R", f"/meetings/{v['meeting_id']}/listings/{v['listing_id']}/research"),
        ("C", "/admin/agencies/new"),
        ("C", f"/admin/agencies/{v['agency_id']}"),
        ("C", "/admin/users/new"),
        ("C", f"/admin/users/{v['user_id']}"),
        ("C", f"/governance/cases/{v['case_id']}/releases/new"),
        ("H", f"/governance/cases/{v['case_id']}/reason"),
        ("C", f"/meetings/{v['meeting_id']}/run/cases/{v['listing_id']}"),
        ("C", "/meetings/new"),
        ("C", "/inbox/transfers/new"),
        ("R", "/cases/"),
    ]
    from marac.referrals import sections
    from marac.settings import panel_rules

    rows += [("F", f"/referrals/{v['draft_id']}/section/{s.slug}") for s in sections(panel_rules())]
    return rows


ROUTE_NAMES = ["note", "action new", "action complete", "action cannot", "action escalate", "research",
               "agency new", "agency edit", "user new", "user edit", "release request", "view reason",
               "meeting record", "meeting new", "transfer in", "case search"] + [f"referral {n}" for n in range(10)]


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
def test_generated_submissions_give_no_5xx_and_no_invalid_rows(app, world, index):
    routes = _routes(world)
    if index >= len(routes):
        pytest.skip("fewer referral sections for this panel")
    role, url = routes[index]
    client = signed_in_client(app, world, role)
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    fields = form_fields(page.get_data(as_text=True))
    assert fields, f"no form fields found on {url}"
    post_urls = {url}
    if "/run/cases/" in url:  # the meeting record posts to its own endpoint
        post_urls = {url + "/discussion"}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(body=submissions(fields), htmx=st.booleans())
    def post(body, htmx):
        for target in post_urls:
            r = client.post(target, data=body, headers={"HX-Request": "true"} if htmx else {})
            assert r.status_code < 500, (target, body, r.status_code)
            r.close()

    post()
    assert_valid_rows()


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
