"""Panels are separate (issue 12): nothing of one panel reaches a user of another.

Panel A is the install's own, with security_world's borough; panel B is a second panel with a full
borough of its own (tests/panel_world.py) whose every free-text column, and every free-text value in its
JSON columns, holds a sentinel of its own (PBLEAK0001Z, ...): its users, people, cases, referrals in
every status, meetings with listings, research, attendance and signed-off minutes, actions, notes,
documents, release requests and its panel name.

Each role of panel A crawls every GET route of the url_map, with A's object ids and with B's (and A's
parents with B's children), as a page and as htmx, follows every link and hx-get of what it receives,
and submits its GET forms (filters, period pickers) with each choice. No answer (page, fragment,
header, Word document or spreadsheet: zips are read member by member) may hold a B sentinel, and every
URL naming a B object answers 404 (or the same refusal by role A's own object gets), never 200 or 500.
Every POST route naming an object, posted by A's coordinator and chair with B's ids, answers 404 (or
the matrix's refusal by role) and changes no row. The other way round: a user of A granted panel B who
switches to it sees B's cases and not A's. B's own coordinator crawling B does receive B's sentinels
(the search is not vacuous).

Numbers carry no sentinel: a count, a figure or a list that took in B's rows is found by replaying the
same requests of A's user against A alone and against A beside B, and comparing the answers. E-mails
(chases, escalations, the daily reminders over every panel) go to one panel's users and name its cases.

Each failure names the route, the role and the column each leaked sentinel came from: the findings go
to the areas' developers (issue 12)."""
import difflib
import re
from urllib.parse import urlsplit

import pytest
from marac_testing import login, make_user
from panel_world import build_panel_b, readable, sentinels_in, snapshot
from postgres_testing import sqlite_only
from security_world import build_world, signed_in_client
from test_access_matrix import EXPECTED
from test_mail import smtp  # noqa: F401  (the SMTP server fixture)
from werkzeug.routing import AnyConverter

from marac.models import Agency, Case, UserPanel, UserSession

ROLES = "CHRXFGOA"  # as in test_access_matrix: A's coordinator, chair, representatives, referrers, observer, anonymous
# url_map arguments naming a panel's object (the rest are shared: agencies, instruments, static files).
OBJECT_ARGS = ("case_id", "referral_id", "action_id", "note_id", "document_id", "meeting_id", "listing_id",
               "attendance_id", "match_id", "user_id", "person_id", "release_id")
# A's parent with B's child: the child must be looked up within its parent and its panel.
CHILD_ARGS = ("listing_id", "note_id", "attendance_id", "document_id", "action_id", "match_id")
LINKS = re.compile(r'\b(?:href|hx-get|data-url)\s*=\s*["\']([^"\']*)["\']', re.I)
SKIP_ENDPOINTS = ("static", "auth.logout")
MAX_FOLLOWED = 600  # links and GET forms followed per role, beyond the url_map's routes


@pytest.fixture
def two_panels(app, fake_clock):
    a = build_world(app)
    a.values["open_listing_id"] = a.objects["open_listing"].id
    a.values["open_case_id"] = a.objects["open_case"].id
    b = build_panel_b(app)
    return a, b


def _variants(values) -> list[dict]:
    """The ids of the closed-session case and listing, and of the open ones."""
    return [values, {**values, "listing_id": values["open_listing_id"], "case_id": values["open_case_id"]}]


def _value_sets(a, b):
    """(label, values): A's ids (closed-session and open case), B's ids, A's parents with B's children."""
    b_values = {**a.values, **{k: b.world.values[k] for k in OBJECT_ARGS + ("open_listing_id", "open_case_id")}}
    mixed = {**a.values, **{k: b.world.values[k] for k in CHILD_ARGS}}
    return ([("A", v) for v in _variants(a.values)] + [("B", v) for v in _variants(b_values)]
            + [("A+B", mixed)])


def _routes(app, method: str):
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
            if method in r.methods and r.endpoint not in SKIP_ENDPOINTS]


def _urls(rule, value_sets) -> dict:
    """url -> label ('A', or 'B'/'A+B' when it names one of B's objects), with every choice of an any(...)."""
    urls = {}
    choices = [{}]
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            choices = [{**c, name: item} for c in choices for item in sorted(converter.items)]
    for label, values in value_sets:
        for choice in choices:
            merged = {**values, **choice}
            url = rule.build({name: merged[name] for name in rule.arguments})[1]
            if urls.get(url) != "A":
                urls[url] = label
    return urls


def _links_to(html: str, prefix: str, object_id) -> bool:
    return re.search(rf'href="{re.escape(prefix)}{object_id}(?:["/?#])', html) is not None


def _status_word(r) -> str:
    location = urlsplit(r.headers.get("Location") or r.headers.get("HX-Redirect") or "").path
    if r.status_code in (301, 302, 303, 401) and location == "/login":
        return "login"
    return str(r.status_code)


def _leaks_in(r) -> set[str]:
    found = sentinels_in(readable(r.data))
    for header in ("Location", "HX-Redirect", "HX-Trigger", "HX-Location", "Content-Disposition"):
        found |= sentinels_in(r.headers.get(header, ""))
    return found


GET_FORM = re.compile(r'<form\b(?![^>]*method="post")([^>]*)>(.*?)</form>', re.S | re.I)
SELECT = re.compile(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.S | re.I)
OPTION = re.compile(r'<option\b[^>]*value="([^"]*)"', re.I)
CHOICE = re.compile(r'<input\b(?=[^>]*type="(?:radio|checkbox)")(?=[^>]*name="([^"]+)")(?=[^>]*value="([^"]*)")[^>]*>',
                    re.I)


def _form_urls(html: str, page_url: str) -> list[str]:
    """A page's GET forms (filters, tabs, period pickers) submitted once for each choice of each list or
    radio button: the inbox's statuses, the reports' periods, the actions' agencies..."""
    from urllib.parse import urlencode

    urls = []
    for attributes, body in GET_FORM.findall(html):
        action = re.search(r'action="([^"]*)"', attributes)
        target = (action.group(1) if action and action.group(1) else page_url.split("?")[0]).replace("&amp;", "&")
        fields = [(name, value) for name, options in SELECT.findall(body) for value in OPTION.findall(options)]
        fields += CHOICE.findall(body)
        urls += [f"{target}?{urlencode({name: value})}" for name, value in fields if value]
    return urls


def _followable(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
        return None
    if parts.path in ("/logout",):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _query_urls(b) -> list[str]:
    """GET forms whose query names an object (the audit log's filters): with B's objects, A's log must
    still show nothing of B (B's users' names are sentinels, and B's users wrote B's events)."""
    v = b.world.values
    return [f"/admin/audit?object_type=case&object_id={v['case_id']}",
            f"/admin/audit?object_type=referral&object_id={v['referral_id']}",
            f"/admin/audit?object_type=meeting&object_id={v['meeting_id']}",
            f"/admin/audit?object_type=user&object_id={v['user_id']}", f"/admin/audit?user={v['user_id']}",
            f"/admin/audit?user={b.world.users['C'].id}"]


def crawl(app, client, value_sets, b_sentinels: dict, extra=()):
    """Visit every GET route with every value set, page and htmx, then `extra` URLs (checked for
    sentinels only), then the links found, breadth first. Returns (findings, received sentinels,
    number of answers)."""
    findings, received, count = [], set(), 0
    a_outcome = {}  # (endpoint, htmx) -> outcomes of A's own objects
    queue = []
    for rule in _routes(app, "GET"):
        for url, label in sorted(_urls(rule, value_sets).items(), key=lambda item: item[1] != "A"):
            queue.append((url, label, rule.endpoint))
    queue += [(url, "A", None) for url in extra]
    seen = {url for url, _, _ in queue}
    followed = 0
    while queue:
        url, label, endpoint = queue.pop(0)
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            r = client.get(url, headers=headers)
            count += 1
            word = _status_word(r)
            where = f"GET {url}{' (htmx)' if htmx else ''} [{endpoint or 'link'}]"
            leaked = _leaks_in(r)
            received |= leaked
            if leaked:
                findings.append(f"{where}: {r.status_code} holds {_describe(leaked, b_sentinels)}")
            if r.status_code >= 500:
                findings.append(f"{where}: {r.status_code}")
            if label == "A" and endpoint:
                a_outcome.setdefault((endpoint, htmx), set()).add(word)
            elif label != "A" and word != "404":
                refused_alike = word in ("403", "login") and a_outcome.get((endpoint, htmx)) == {word}
                if not refused_alike:
                    findings.append(f"{where} names B's object ({label}): {word}, not 404")
            if r.status_code == 200 and r.mimetype == "text/html" and followed < MAX_FOLLOWED:
                html = r.get_data(as_text=True)
                for link in LINKS.findall(html) + _form_urls(html, url):
                    target = _followable(link.replace("&amp;", "&"))
                    if target and target not in seen and followed < MAX_FOLLOWED:
                        seen.add(target)
                        followed += 1
                        queue.append((target, "A", None))
            r.close()
    return findings, received, count


def test_the_search_would_find_a_sentinel_anywhere():
    """Any case, inside a zip member, and split over two runs of a Word document."""
    import io
    import zipfile

    assert sentinels_in("<p>pbleak0042z</p> and PBLEAK0043Z") == {"PBLEAK0042Z", "PBLEAK0043Z"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:r><w:t>PBLEAK</w:t></w:r><w:r><w:t>0007Z</w:t></w:r>")
    assert sentinels_in(readable(buffer.getvalue())) == {"PBLEAK0007Z"}
    assert not sentinels_in("PBLEAK007Z PBLEAK00070")


def _describe(found: set, b_sentinels: dict) -> str:
    return ", ".join(f"{s} ({b_sentinels.get(s, '?')})" for s in sorted(found))


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_of_panel_a_shows_anything_of_panel_b(app, two_panels, role):
    a, b = two_panels
    client = signed_in_client(app, a, role)
    findings, _, count = crawl(app, client, _value_sets(a, b), b.sentinels, extra=_query_urls(b))
    assert count > 200
    assert not findings, f"{len(findings)} findings for role {role}:\n" + "\n".join(findings)


def test_panel_bs_own_coordinator_receives_its_sentinels(app, two_panels):
    """The crawl can see every kind of B's data: from inside B, B's coordinator receives sentinels of
    each of these columns (so their absence from A's answers means something)."""
    a, b = two_panels
    client = signed_in_client(app, b.world, "C")
    b_values = {**a.values, **b.world.values}
    sets = [("A", b_values), ("A", {**b_values, "listing_id": b_values["open_listing_id"],
                                    "case_id": b_values["open_case_id"]})]
    findings, received, _ = crawl(app, client, sets, b.sentinels)
    seen_columns = {b.sentinels[s].removesuffix(" (JSON)") for s in received if s in b.sentinels}
    expected = {"Person.given_name", "Person.family_name", "Case.number", "Referral.data", "Research.victim_info",
                "CaseDiscussion.summary", "Note.text", "Action.description", "User.name", "Meeting.venue",
                "Document.title", "ReleaseRequest.requester_name", "Attendance.name", "AgendaVersion.content",
                "MeetingRecord.minutes_json", "MinutesAmendment.text"}
    assert expected <= seen_columns, sorted(expected - seen_columns)
    assert b.panel.name in {s for s in received}, "B's panel name is shown to B's users"
    # B's coordinator gets no 500 either (B's seeded data is readable by the app).
    assert not [f for f in findings if f.endswith(": 500")], findings


# --- posts: B's ids change nothing -------------------------------------------------------------------

# A plausible form for the posts (besides an empty one): every common field filled, so that a route that
# forgot its panel check would get as far as changing something.
def _payload(a, b) -> dict:
    agency = str(a.values["agency_id"])
    return {"reason": "Isolation test", "text": "Isolation test", "description": "Isolation test",
            "summary": "Isolation test", "note": "Isolation test", "comment": "Isolation test",
            "decision": "accept", "outcome": "done", "confirm": "y", "name": "Isolation Test",
            "owner_agency": agency, "agency": agency, "lead_agency": agency, "category": "contact",
            "due_date": ["1", "12", "2026"], "review_date": ["1", "12", "2027"], "kind": "full",
            "status": "present", "capacity": "representative", "position": "1", "move": "up",
            "meeting": str(a.values["meeting_id"]), "case": str(a.values["open_case_id"]),
            "user": str(a.values["user_id"]), "priority": "normal", "basis": "dhr", "step": "next"}


@pytest.mark.parametrize("role", list("CH"))
def test_posting_bs_ids_is_a_404_and_changes_nothing(app, two_panels, role):
    """A's coordinator and chair post to every route naming an object, with B's ids: 404 (or the refusal
    by role the access matrix gives them for A's own object), no row of either panel changed."""
    a, b = two_panels
    client = signed_in_client(app, a, role)
    by_role = {endpoint: cells.split()[ROLES.index(role)] for endpoint, cells in EXPECTED.items()}
    sets = [s for s in _value_sets(a, b)]
    findings, tried = [], 0
    for rule in _routes(app, "POST"):
        for url, label in sorted(_urls(rule, sets).items()):
            if label == "A":
                continue
            for data in ({}, _payload(a, b)):
                for headers in ({}, {"HX-Request": "true"}):
                    before = snapshot()
                    r = client.post(url, data=data, headers=headers)
                    tried += 1
                    after = snapshot()
                    where = f"POST {url}{' (htmx)' if headers else ''} [{rule.endpoint}] {'form' if data else 'empty'}"
                    refused_alike = r.status_code == 403 and _post_outcome(by_role.get(rule.endpoint, "")) == "403"
                    if r.status_code != 404 and not refused_alike:
                        findings.append(f"{where} names B's object ({label}): {r.status_code}, not 404")
                    changed = sorted(t for t in before if before[t] != after[t])
                    if changed:
                        findings.append(f"{where}: changed rows of {changed}")
                    leaked = _leaks_in(r)
                    if leaked:
                        findings.append(f"{where}: holds {_describe(leaked, b.sentinels)}")
                    r.close()
    assert tried > 50
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(findings)


def _post_outcome(cell: str) -> str:
    """The access matrix's outcome of a POST from a cell ('403', or 'GET:ok/POST:403')."""
    parts = dict(p.split(":", 1) for p in cell.split("/")) if ":" in cell else {"POST": cell}
    return parts.get("POST", "")


# --- the other way round: a user granted B who switches to it works in B -------------------------------


def test_a_user_granted_panel_b_switches_to_it_and_sees_b_not_a(app, two_panels):
    a, b = two_panels
    coordinator = make_user("coordinator", Agency.get_by_id(a.users["C"].agency_id), name="Two Panel Coordinator")
    UserPanel.create(user=coordinator, panel=b.panel, granted_by=a.users["C"])
    client = app.test_client()
    assert login(client, coordinator).status_code == 302
    a_case, b_case = a.objects["open_case"], Case.get_by_id(b.world.objects["open_case"].id)
    b_number = b_case.number
    # In A (home): A's cases, none of B's.
    assert _links_to(_search(client, number=a_case.number), "/cases/", a_case.id)
    # (the search form shows the number typed, and this user may see B's name: it is in their switch)
    allowed = {b_number, b.panel.name}
    assert not sentinels_in(_search(client, number=b_number)) - allowed
    assert client.get(f"/cases/{b_case.id}").status_code == 404
    # Switch to B with the header's form.
    r = client.post("/panel", data={"panel": str(b.panel.id)})
    assert r.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert b.panel.name in home
    assert _links_to(_search(client, number=b_number), "/cases/", b_case.id)
    assert not _links_to(_search(client, number=a_case.number), "/cases/", a_case.id)
    page = client.get(f"/cases/{b_case.id}")
    assert page.status_code == 200 and b_number in page.get_data(as_text=True)
    assert client.get(f"/cases/{a_case.id}").status_code == 404
    inbox = client.get("/inbox/").get_data(as_text=True)
    qa_referral = b.extra["referrals"]["qa"]
    assert _links_to(inbox, "/inbox/referrals/", qa_referral.id)
    assert not _links_to(inbox, "/inbox/referrals/", a.values["referral_id"])
    meetings = client.get("/meetings/").get_data(as_text=True)
    assert _links_to(meetings, "/meetings/", b.world.values["meeting_id"])
    assert not _links_to(meetings, "/meetings/", a.values["meeting_id"])
    # And back to A: A's again, nothing of B.
    assert client.post("/panel", data={"panel": str(a.users['C'].panel_id)}).status_code == 302
    assert _links_to(_search(client, number=a_case.number), "/cases/", a_case.id)
    assert not sentinels_in(_search(client, number=b_number)) - allowed
    assert not sentinels_in(client.get("/").get_data(as_text=True)) - allowed
    # A user of A not granted B cannot switch to it (the form refuses; the panel stays A).
    other = app.test_client()
    login(other, a.users["C"])
    r = other.post("/panel", data={"panel": str(b.panel.id)})
    assert r.status_code in (400, 404)
    assert not sentinels_in(_search(other, number=b_number)) - {b_number}
    # Nor by writing B into their sign-in's panel in view: the panel is checked on each request.
    UserSession.update(panel_id=b.panel.id).where(UserSession.user == a.users["C"].id).execute()
    assert other.get(f"/cases/{b_case.id}").status_code == 404
    assert not sentinels_in(other.get("/").get_data(as_text=True))
    # A grant taken back while its user works in B: their next request is in their home panel again.
    client.post("/panel", data={"panel": str(b.panel.id)})
    assert client.get(f"/cases/{b_case.id}").status_code == 200
    UserPanel.delete().where(UserPanel.user == coordinator.id).execute()
    assert client.get(f"/cases/{b_case.id}").status_code == 404
    assert _links_to(_search(client, number=a_case.number), "/cases/", a_case.id)
    assert not sentinels_in(client.get("/").get_data(as_text=True))


def _search(client, **terms) -> str:
    return client.post("/cases/", data=terms).get_data(as_text=True)


@pytest.mark.parametrize("role", list("CHR"))
def test_searching_as_for_bs_people_and_case_numbers_finds_nothing(app, two_panels, role):
    """The case search of A, by B's case number, name, postcode: nothing of B comes back."""
    a, b = two_panels
    client = signed_in_client(app, a, role)
    victim = type(b.world.objects["victim"]).get_by_id(b.world.objects["victim"].id)
    searches = [{"number": c.number} for c in (b.world.objects["case"], b.world.objects["open_case"])]
    searches += [{"name": f"{victim.given_name} {victim.family_name}"}, {"name": victim.family_name},
                 {"postcode": victim.postcode},
                 {"date_of_birth": [str(victim.date_of_birth.day), str(victim.date_of_birth.month),
                                    str(victim.date_of_birth.year)]}]
    assert sentinels_in(searches[0]["number"])  # B's case numbers are sentinels too
    # The same searches in B find B's case (so finding nothing in A means something).
    in_b = signed_in_client(app, b.world, "C")
    for terms in searches:
        found = in_b.post("/cases/", data=terms).get_data(as_text=True)
        assert any(_links_to(found, "/cases/", b.world.values[k]) for k in ("case_id", "open_case_id")), terms
    for terms in searches:
        for headers in ({}, {"HX-Request": "true"}):
            r = client.post("/cases/", data=terms, headers=headers)
            assert r.status_code == 200, terms
            typed = sentinels_in(str(terms))  # the form shows back what was typed
            assert not sentinels_in(r.get_data(as_text=True)) - typed, (terms, headers)
            assert not _links_to(r.get_data(as_text=True), "/cases/", b.world.values["case_id"])


# --- counts and lists: B's existence changes no answer of A ---------------------------------------------

# What differs between two databases for reasons other than B's rows: tokens; the clock a spreadsheet or
# Word document stamps itself with; the audit log's event numbers and the row ids in its details (one chain
# and one id sequence per table for the database, so A's come after B's); the user admin's form that gives
# a user of another panel access, shown once there is another panel (issue 12's design: it names no panel
# and no user).
VOLATILE = [re.compile(p, re.S) for p in (
    r'name="csrf_token" value="[^"]*"', r'"X-CSRFToken": "[^"]*"', r'nonce="[^"]*"',
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    r'(?<=<tr class="govuk-table__row">)\s*<td class="govuk-table__cell">\d+</td>', r"(?<=_id&#34;: )\d+",
    r'<h2 class="govuk-heading-m" id="give-access">.*?</form>')]


def _normalised(r) -> str:
    text = readable(r.data)
    for pattern in VOLATILE:
        text = pattern.sub("", text)
    text = "\n".join(line for line in text.splitlines() if line.strip())
    return f"{r.status_code} {r.headers.get('Location', '')}\n{text}"


def _replay(app, world, role, urls=None):
    """(url, htmx) -> normalised answer, for A's GET routes and the links they lead to (or exactly
    `urls`, in that order, so that two databases go through the same requests)."""
    client = signed_in_client(app, world, role)
    answers, order = {}, []
    if urls is None:
        queue = [url for rule in _routes(app, "GET")
                 for url, label in sorted(_urls(rule, [("A", v) for v in _variants(world.values)]).items())]
        seen, followed = set(queue), 0
    else:
        queue, seen, followed = list(urls), None, MAX_FOLLOWED
    while queue:
        url = queue.pop(0)
        order.append(url)
        for htmx in (False, True):
            r = client.get(url, headers={"HX-Request": "true"} if htmx else {})
            answers[(url, htmx)] = _normalised(r)
            if seen is not None and r.status_code == 200 and r.mimetype == "text/html":
                html = r.get_data(as_text=True)
                for link in LINKS.findall(html) + _form_urls(html, url):
                    target = _followable(link.replace("&amp;", "&"))
                    if target and target not in seen and followed < MAX_FOLLOWED:
                        seen.add(target)
                        followed += 1
                        queue.append(target)
            r.close()
    return answers, order


def _new_app(path):
    """A fresh app and database, with the factories' counter back at 1 so that A's names and numbers are
    the same in both databases."""
    import itertools

    import marac_testing

    from marac import create_app

    marac_testing._counter = itertools.count(1)
    path.mkdir()
    return create_app({"TESTING": True, "SECRET_KEY": "t" * 40, "WTF_CSRF_ENABLED": False,
                       "REQUIRE_SECOND_FACTOR": False, "DATABASE_URL": f"sqlite:///{path / 'marac.db'}"},
                      instance_path=str(path / "instance"))


@sqlite_only("it builds two databases of its own on SQLite files; the crawls above run on both engines")
@pytest.mark.parametrize("role", list("CHRXFO"))
def test_panel_bs_rows_change_no_count_or_list_of_panel_a(tmp_path, fake_clock, role):
    """The same requests of A's user against A alone and against A beside B give the same answers:
    a count, a figure, a list or a choice that took in B's rows would differ (the sentinels catch text,
    this catches numbers). Both databases are built the same way, A first, on the same still clock."""
    from marac.db import db

    alone_app = _new_app(tmp_path / "alone")
    alone_world = build_world(alone_app)
    alone_world.values.update(open_listing_id=alone_world.objects["open_listing"].id,
                              open_case_id=alone_world.objects["open_case"].id)
    alone, urls = _replay(alone_app, alone_world, role)
    db.close()
    both_app = _new_app(tmp_path / "both")
    world = build_world(both_app)
    world.values.update(open_listing_id=world.objects["open_listing"].id, open_case_id=world.objects["open_case"].id)
    assert world.values == alone_world.values  # the same ids: A is built first in both
    build_panel_b(both_app)
    beside, _ = _replay(both_app, world, role, urls)
    db.close()
    assert len(urls) > 100
    differ = []
    for key, text in alone.items():
        if beside.get(key) != text:
            diff = [line for line in difflib.unified_diff(text.splitlines(), beside.get(key, "").splitlines(),
                                                          lineterm="", n=0) if line[:1] in "+-"][2:8]
            differ.append(f"GET {key[0]}{' (htmx)' if key[1] else ''}: " + " | ".join(d.strip()[:160] for d in diff))
    assert not differ, f"{len(differ)} answers of A change when B exists (role {role}):\n" + "\n".join(differ)


# --- e-mails: one panel's notices go to its own users only -----------------------------------------------


def test_each_panels_e_mails_go_to_its_own_users_and_name_its_own_cases(app, two_panels, smtp, fake_clock):  # noqa: F811
    """Both panels' coordinators chase and escalate an overdue action of their own, then the daily
    reminder job runs over every panel. The agencies are shared, so an agency's e-mail must still go
    only to the representatives (and chairs) of the panel whose case it is, and name only its cases."""
    from marac import mail

    a, b = two_panels
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SENDER="marac@council.example",
                      EXTERNAL_URL="https://marac.council.example")
    fake_clock.advance(days=20)  # every seeded action is overdue
    for world in (a, b.world):
        client = signed_in_client(app, world, "C")
        action_id = world.values["action_id"]
        assert client.post(f"/actions/{action_id}/chase").status_code == 302
        assert client.post(f"/actions/{action_id}/escalate", data={"text": "Escalated"}).status_code == 302
    with app.app_context():
        mail.send_reminders_all(fake_clock().date())
    a_numbers = {Case.get_by_id(c.id).number for c in (a.objects["case"], a.objects["open_case"])}
    a_emails = {u.email for u in a.users.values()}
    kinds = {"A": 0, "B": 0}
    for recipients, message, raw in smtp.messages:
        text = raw.decode("utf-8", "replace")
        to_b = {r for r in recipients if sentinels_in(r)}
        to_a = set(recipients) - to_b
        assert not (to_a and to_b), f"one e-mail to both panels' users: {recipients}"
        assert not (to_a - a_emails), f"sent to someone of neither world: {to_a - a_emails}"
        if to_a:
            kinds["A"] += 1
            assert not sentinels_in(text), f"{message['Subject']} to {to_a} holds {sentinels_in(text)}"
        else:
            kinds["B"] += 1
            assert not [n for n in a_numbers if n in text], f"{message['Subject']} to {to_b} names A's case"
            assert b.panel.name in message["Subject"]
    assert kinds["A"] >= 2 and kinds["B"] >= 2, kinds  # each panel's chase, escalation and reminders went out


# --- person matching: a referral of A is never matched to B's people ------------------------------------


def test_a_referral_in_a_naming_bs_victim_is_matched_to_nobody_in_b(app, two_panels):
    """A's referrer names a person exactly as B holds them (name, date of birth, postcode): the referral
    is linked to a new person of A and no one of B is proposed, nor shown on A's inbox. The same referral
    made in B is matched to B's victim (the check is not vacuous)."""
    from marac_testing import make_referral

    from marac import panels, people
    from marac.db import db
    from marac.models import Person, PersonMatch, ReferralPerson

    a, b = two_panels
    victim = Person.get_by_id(b.world.objects["victim"].id)
    typed = {"role": "victim", "given_name": victim.given_name, "family_name": victim.family_name,
             "date_of_birth": victim.date_of_birth.isoformat(), "postcode": victim.postcode}

    def submitted(author):
        referral = make_referral(author=author, data={"people": [typed]})
        with db.atomic():
            people.link_referral_people(referral)
        return referral

    referral = submitted(a.users["F"])  # made outside any request: in the first panel, A
    assert referral.panel_id == a.users["C"].panel_id
    linked = ReferralPerson.get(ReferralPerson.referral == referral.id).person
    assert linked.panel_id == referral.panel_id and linked.id != victim.id
    candidates = [m.candidate_id for m in PersonMatch.select().where(PersonMatch.referral == referral.id)]
    assert victim.id not in candidates
    assert all(Person.get_by_id(c).panel_id == referral.panel_id for c in candidates)
    client = signed_in_client(app, a, "C")
    for url in ("/inbox/", f"/inbox/referrals/{referral.id}"):
        body = client.get(url).get_data(as_text=True)
        assert not sentinels_in(body) - sentinels_in(str(typed)), url  # what A's referrer typed, only
        assert f"/governance/people/{victim.id}\"" not in body
    with panels.using(b.panel.id):
        in_b = submitted(b.world.users["F"])
    assert victim.id in [m.candidate_id for m in PersonMatch.select().where(PersonMatch.referral == in_b.id)]
