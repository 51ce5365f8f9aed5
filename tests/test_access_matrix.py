"""The access matrix (SECURITY.md checks 10, 11): every rule in app.url_map, for every role, as a full
page and as an htmx request, GET and POST, against seeded objects, with the outcome written down
here for each (endpoint, role). A route missing from EXPECTED fails the test, so a new route cannot
ship without someone deciding who may use it.

Roles (one letter each, in this order in the table):
  C coordinator, H chair, R representative of the involved agency, X representative of another
  member agency, F the referrer who wrote the referral, G another referrer, O an observer approved
  for the meeting, A anonymous.

Outcomes:
  ok     answered (2xx, 3xx other than to the login page, 400 for an incomplete post)
  login  sent to the login page (htmx: 401 with HX-Redirect)
  403    refused by role, audited as access.denied in the same request
  404    refused as if the object did not exist, audited as access.denied in the same request
  nf     404 with no object to protect (a switched-off feature, an unknown token): not audited

The seeded case is heard in a closed session to which only the involved agency is invited, so the
other agency's representative may see meetings but not this case or anything hanging off it.

Set MATRIX_PRINT=1 to print the observed table (to review, then paste) instead of comparing.
"""
import os
import re
from urllib.parse import urlsplit

import pytest
from marac_testing import login
from security_world import build_world, signed_in_client, url_for_rule

from marac.models import AuditEvent

ROLES = "CHRXFGOA"
ROLE_NAMES = {"C": "coordinator", "H": "chair", "R": "involved representative", "X": "other-agency representative",
              "F": "referrer", "G": "other referrer", "O": "observer", "A": "anonymous"}

# endpoint -> outcomes for C H R X F G O A (space separated). Several outcomes for one role in the
# form GET:ok/POST:404 when the methods differ.
EXPECTED = {
    "actions.cannot":                       "ok 403 ok 404 403 403 403 login",
    "actions.chase":                        "ok 403 403 403 403 403 403 login",
    "actions.complete":                     "ok 403 ok 404 403 403 403 login",
    "actions.done":                         "ok 403 ok 404 403 403 403 login",
    "actions.escalate":                     "ok 403 403 403 403 403 403 login",
    "actions.mine":                         "ok ok ok ok 403 403 403 login",
    "actions.new":                          "ok 403 403 403 403 403 403 login",
    "actions.overview":                     "ok 403 403 403 403 403 403 login",
    "actions.reopen":                       "ok 403 403 403 403 403 403 login",
    "actions.show":                         "ok ok ok 404 403 403 403 login",
    "admin.agencies":                       "ok 403 403 403 403 403 403 login",
    "admin.agency_edit":                    "ok 403 403 403 403 403 403 login",
    "admin.agency_new":                     "ok 403 403 403 403 403 403 login",
    "admin.audit_log":                      "ok 403 403 403 403 403 403 login",
    "admin.user_edit":                      "ok 403 403 403 403 403 403 login",
    "admin.user_grant":                     "ok 403 403 403 403 403 403 login",
    "admin.user_new":                       "ok 403 403 403 403 403 403 login",
    # the seeded user has no grant to take back (issue 12): 404, audited
    "admin.user_revoke":                    "404 403 403 403 403 403 403 login",
    "admin.users":                          "ok 403 403 403 403 403 403 login",
    "auth.account":                         "ok ok ok ok ok ok ok login",
    "auth.login":                           "ok ok ok ok ok ok ok ok",
    # signing out ends at the login page, for everyone
    "auth.logout":                          "login login login login login login login login",
    # no valid setup token once a coordinator exists
    "auth.setup":                           "nf nf nf nf nf nf nf nf",
    "cases.close":                          "ok 403 403 403 403 403 403 login",
    "cases.document_download":              "ok ok ok 404 403 403 403 login",
    "cases.document_new":                   "ok ok ok 404 403 403 403 login",
    "cases.lead_agency":                    "ok 403 403 403 403 403 403 login",
    "cases.note_correct":                   "ok 403 ok 404 403 403 403 login",
    "cases.note_new":                       "ok ok ok 404 403 403 403 login",
    "cases.reopen":                         "ok 403 403 403 403 403 403 login",
    # GET: the empty search form; POST: the search (its terms never travel in a URL, check 29)
    "cases.search":                         "ok ok ok ok 403 403 403 login",
    # the other agency is not invited to the closed session: 404, audited
    "cases.show":                           "ok ok ok 404 403 403 403 login",
    "cases.timeline":                       "ok ok ok 404 403 403 403 login",
    "cases.transfer_out":                   "ok 403 403 403 403 403 403 login",
    "dashboard.home":                       "ok ok ok ok ok ok ok login",
    # the panel in view (issue 12): anyone signed in may open it; the seeded users have one panel each
    "panels.switch":                        "ok ok ok ok ok ok ok login",
    "governance.case_history":              "ok 403 403 403 403 403 403 login",
    "governance.person":                    "ok 403 403 403 403 403 403 login",
    "governance.person_history":            "ok 403 403 403 403 403 403 login",
    "governance.reason":                    "ok ok ok 404 403 403 403 login",
    "governance.release_download":          "ok ok 403 403 403 403 403 login",
    "governance.release_new":               "ok 403 403 403 403 403 403 login",
    "governance.release_show":              "GET:ok/POST:403 ok 403 403 403 403 403 login",
    "governance.releases_index":            "ok ok 403 403 403 403 403 login",
    "governance.retention_delete":          "ok 403 403 403 403 403 403 login",
    "governance.retention_keep":            "ok 403 403 403 403 403 403 login",
    "governance.retention_queue":           "ok 403 403 403 403 403 403 login",
    "governance.subject_access_export":     "ok 403 403 403 403 403 403 login",
    "health.healthz":                       "ok ok ok ok ok ok ok ok",
    "inbox.decide":                         "ok 403 403 403 403 403 403 login",
    "inbox.index":                          "ok ok 403 403 403 403 403 login",
    "inbox.match_decide":                   "ok 403 403 403 403 403 403 login",
    # the chair sees only police referrals routed to them
    "inbox.qa":                             "ok 404 403 403 403 403 403 login",
    # the chair sees only police referrals routed to them
    "inbox.show":                           "ok 404 403 403 403 403 403 login",
    "inbox.split":                          "ok 403 403 403 403 403 403 login",
    "inbox.transfer_in":                    "ok 403 403 403 403 403 403 login",
    "instruments.edit":                     "ok 403 403 403 403 403 403 login",
    "instruments.export":                   "ok 403 403 403 403 403 403 login",
    "instruments.import_":                  "ok 403 403 403 403 403 403 login",
    "instruments.index":                    "ok 403 403 403 403 403 403 login",
    "instruments.new":                      "ok 403 403 403 403 403 403 login",
    "instruments.preview":                  "ok 403 403 403 403 403 403 login",
    "instruments.preview_score":            "ok 403 403 403 403 403 403 login",
    "instruments.show":                     "ok 403 403 403 403 403 403 login",
    "instruments.use":                      "ok 403 403 403 403 403 403 login",
    "meeting_run.add_action":               "ok 403 403 403 403 403 403 login",
    "meeting_run.add_observer":             "ok 403 403 403 403 403 403 login",
    "meeting_run.apologies":                "ok 403 403 403 403 403 403 login",
    "meeting_run.attendance":               "ok ok 403 403 403 403 403 login",
    # closed session: only invited agencies; observers never
    "meeting_run.case":                     "ok ok ok 404 403 403 404 login",
    "meeting_run.case_step":                "ok 403 403 403 403 403 403 login",
    "meeting_run.confidentiality":          "ok ok ok ok 403 403 ok login",
    "meeting_run.end":                      "ok 403 403 403 403 403 403 login",
    "meeting_run.minutes_amend":            "ok 403 403 403 403 403 403 login",
    "meeting_run.minutes_notes":            "ok 403 403 403 403 403 403 login",
    "meeting_run.minutes_page":             "ok ok ok ok 403 403 403 login",
    "meeting_run.minutes_print":            "ok ok ok ok 403 403 403 login",
    "meeting_run.minutes_sent":             "ok 403 403 403 403 403 403 login",
    # representatives: only signed-off minutes
    "meeting_run.minutes_word":             "ok ok 404 404 403 403 403 login",
    "meeting_run.observer_step":            "ok 403 403 403 403 403 403 login",
    "meeting_run.observers":                "ok ok 403 403 403 403 403 login",
    "meeting_run.overview":                 "ok ok ok ok 403 403 ok login",
    "meeting_run.record_agreement":         "ok 403 403 403 403 403 403 login",
    "meeting_run.record_standard_actions":  "ok 403 403 403 403 403 403 login",
    # the seeded action was not agreed at this meeting
    "meeting_run.remove_action":            "404 403 403 403 403 403 403 login",
    # the first post removes the row; the second finds none
    "meeting_run.remove_attendee":          "GET:ok/POST:404|ok 403 403 403 403 403 403 login",
    "meeting_run.restore_standard_actions": "ok 403 403 403 403 403 403 login",
    "meeting_run.review":                   "ok ok ok ok 403 403 ok login",
    "meeting_run.review_action":            "ok 403 403 403 403 403 403 login",
    "meeting_run.save_discussion":          "ok 403 403 403 403 403 403 login",
    "meeting_run.sign_in":                  "ok 403 403 403 403 403 403 login",
    # only the chair signs off
    "meeting_run.sign_off":                 "403 ok 403 403 403 403 403 login",
    "meeting_run.sign_out":                 "ok 403 403 403 403 403 403 login",
    "meeting_run.standard_actions":         "ok 403 403 403 403 403 403 login",
    "meeting_run.start":                    "ok 403 403 403 403 403 403 login",
    "meetings.agenda":                      "ok ok ok ok 403 403 403 login",
    "meetings.agenda_docx":                 "ok ok ok ok 403 403 403 login",
    "meetings.board":                       "ok ok ok ok 403 403 403 login",
    "meetings.cancel":                      "ok 403 403 403 403 403 403 login",
    "meetings.circulate":                   "ok 403 403 403 403 403 403 login",
    "meetings.edit":                        "ok 403 403 403 403 403 403 login",
    "meetings.index":                       "ok ok ok ok 403 403 403 login",
    "meetings.list_case":                   "ok 403 403 403 403 403 403 login",
    "meetings.listing":                     "ok GET:ok/POST:403 GET:ok/POST:403 404 403 403 403 login",
    "meetings.listing_remove":              "ok 403 403 403 403 403 403 login",
    "meetings.move_request":                "ok ok ok 404 403 403 403 login",
    "meetings.new":                         "ok 403 403 403 403 403 403 login",
    "meetings.order":                       "ok ok 403 403 403 403 403 login",
    "meetings.order_rule":                  "ok ok 403 403 403 403 403 login",
    "meetings.pattern":                     "ok 403 403 403 403 403 403 login",
    "meetings.proposal":                    "ok 403 403 403 403 403 403 login",
    "meetings.ready":                       "ok 403 403 403 403 403 403 login",
    "meetings.research":                    "GET:ok/POST:403 GET:ok/POST:403 ok 404 403 403 403 login",
    "referrals.amend":                      "ok 404 404 404 ok 404 403 login",
    "referrals.amend_section":              "ok 404 404 404 ok 404 403 login",
    "referrals.check":                      "404 404 404 404 ok 404 403 login",
    "referrals.index":                      "ok ok ok ok ok ok 403 login",
    "referrals.new":                        "ok ok ok ok ok ok 403 login",
    "referrals.score":                      "ok 404 404 404 ok 404 403 login",
    "referrals.section":                    "404 404 404 404 ok 404 403 login",
    # the author, coordinator and chair; never another referrer or an agency
    "referrals.show":                       "ok ok 404 404 ok 404 403 login",
    "referrals.submit":                     "404 404 404 404 ok 404 403 login",
    "referrals.tasks":                      "404 404 404 404 ok 404 403 login",
    # issue 9 in progress: no period chosen
    "reports.cases":                        "nf nf 403 403 403 403 403 login",
    # one panel each in the seeded borough: nothing to compare (issue 12), 404 audited
    "reports.county":                       "404 404 403 403 403 403 403 login",
    "reports.county_export":                "404 404 403 403 403 403 403 login",
    "reports.export":                       "ok ok 403 403 403 403 403 login",
    "reports.index":                        "ok ok 403 403 403 403 403 login",
    "reports.safelives":                    "ok ok 403 403 403 403 403 login",
    "reports.safelives_export":             "ok ok 403 403 403 403 403 login",
    "security.code":                        "ok ok ok ok ok ok ok login",
    "security.enrol":                       "ok ok ok ok ok ok ok login",
    "security.reset":                       "ok 403 403 403 403 403 403 login",
    "settings.edit":                        "ok 403 403 403 403 403 403 login",
    "settings.index":                       "ok 403 403 403 403 403 403 login",
    "settings.preset":                      "ok 403 403 403 403 403 403 login",
    "static":                               "ok ok ok ok ok ok ok ok",
    # training mode is off
    "training.exercises":                   "nf nf nf nf nf nf nf login",
    "training.glossary":                    "ok ok ok ok ok ok ok login",
    "training.progress":                    "nf 403 403 403 403 403 403 login",
    "training.who_looked":                  "nf 403 403 403 403 403 403 login",
}


def _outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"5xx({status})"
    location = urlsplit(response.headers.get("Location") or response.headers.get("HX-Redirect") or "").path
    if status in (301, 302, 303, 401) and location == "/login":
        return "login"
    if status in (403, 404):
        request_id = response.headers.get("X-Request-Id")
        audited = AuditEvent.select().where((AuditEvent.request_id == request_id)
                                            & (AuditEvent.action == "access.denied")).exists()
        if status == 403:
            return "403" if audited else "403 (not audited)"
        return "404" if audited else "nf"
    return "ok"


# Posts that remove what later posts work on, or end the session: made last, in this order.
LAST = ("meeting_run.remove_action", "meeting_run.remove_attendee", "meetings.listing_remove", "meetings.cancel",
        "governance.retention_delete", "auth.logout")


def _requests(app):
    """(endpoint, method, url-rule) in a fixed order: every GET first, then the posts, sign-out last."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    gets = [(r.endpoint, "GET", r) for r in rules if "GET" in r.methods]
    posts = [(r.endpoint, "POST", r) for r in rules if "POST" in r.methods]
    posts.sort(key=lambda item: LAST.index(item[0]) if item[0] in LAST else -1)
    return gets + posts


def observe(app, role: str) -> dict:
    """{endpoint: {method: set(outcomes)}} for one role, full page and htmx."""
    world = build_world(app)
    values = world.values
    # The case is heard in a closed session: the reason is given first where the role may open it, so
    # the case pages themselves are reached (the reason gate has its own tests in test_who_looked.py).
    client = signed_in_client(app, world, role)
    seen: dict = {}
    for endpoint, method, rule in _requests(app):
        url = url_for_rule(rule, values)
        for headers in ({}, {"HX-Request": "true"}):
            r = client.open(url, method=method, headers=headers, data={} if method == "POST" else None)
            seen.setdefault(endpoint, {}).setdefault(method, set()).add(_outcome(r))
            r.close()
    return seen


def _summarise(by_method: dict) -> str:
    """One word for a role's outcomes on an endpoint: 'ok', or 'GET:ok/POST:404' when methods differ."""
    per_method = {m: "|".join(sorted(o)) for m, o in by_method.items()}
    if len(set(per_method.values())) == 1:
        return next(iter(per_method.values()))
    return "/".join(f"{m}:{o}" for m, o in sorted(per_method.items()))


@pytest.fixture(scope="module")
def printed():
    rows = {}
    yield rows
    if rows:
        width = max(len(e) for e in rows)
        print("\nEXPECTED = {")
        for endpoint in sorted(rows):
            cells = " ".join(rows[endpoint].get(r, "?") for r in ROLES)
            print(f'    "{endpoint}":{" " * (width - len(endpoint))} "{cells}",')
        print("}")


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(EXPECTED))
    stale = sorted(set(EXPECTED) - endpoints)
    if os.environ.get("MATRIX_PRINT"):
        pytest.skip("printing")
    assert not missing, f"routes with no row in the access matrix (decide who may use them): {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for endpoint, cells in EXPECTED.items():
        assert len(cells.split()) == len(ROLES), endpoint


@pytest.mark.parametrize("role", list(ROLES))
def test_the_access_matrix(app, fake_clock, role, printed):
    seen = observe(app, role)
    if os.environ.get("MATRIX_PRINT"):
        for endpoint, by_method in seen.items():
            printed.setdefault(endpoint, {})[role] = _summarise(by_method)
        return
    index = ROLES.index(role)
    wrong = []
    for endpoint, by_method in sorted(seen.items()):
        if endpoint not in EXPECTED:
            continue  # reported by test_every_route_is_in_the_matrix
        expected = EXPECTED[endpoint].split()[index]
        actual = _summarise(by_method)
        if actual != expected:
            wrong.append(f"{endpoint}: expected {expected}, got {actual}")
    assert not wrong, f"{ROLE_NAMES[role]}:\n" + "\n".join(wrong)


# --- SECURITY.md check 11: another agency gets 404 (not the content), and the attempt is audited ----------


def _without_tokens(response) -> str:
    """The body without its CSRF tokens (signed with the time, so they differ between two requests)."""
    body = response.get_data(as_text=True)
    body = re.sub(r'"X-CSRFToken": "[^"]*"', "", body)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", body)


def test_another_agency_gets_a_plain_404_for_each_kind_of_object_and_it_is_audited(app, fake_clock):
    world = build_world(app)
    v = world.values
    client = app.test_client()
    login(client, world.users["X"])
    targets = [
        ("case", v["case_id"], "/cases/{}"), ("case", v["case_id"], "/cases/{}/timeline"),
        ("action", v["action_id"], "/actions/{}"), ("document", v["document_id"], "/cases/documents/{}"),
        ("referral", v["referral_id"], "/referrals/{}"), ("listing", v["listing_id"],
                                                          f"/meetings/{v['meeting_id']}/listings/{{}}"),
        ("listing", v["listing_id"], f"/meetings/{v['meeting_id']}/run/cases/{{}}"),
        ("note", v["note_id"], f"/cases/{v['case_id']}/notes/{{}}/correct"),
    ]
    for object_type, object_id, pattern in targets:
        for headers in ({}, {"HX-Request": "true"}):
            real = client.get(pattern.format(object_id), headers=headers)
            missing = client.get(pattern.format(999999), headers=headers)
            assert real.status_code == 404, pattern
            # The same page as for an object that does not exist: nothing of the content.
            assert _without_tokens(real) == _without_tokens(missing), pattern
            body = real.get_data(as_text=True)
            assert world.objects["case"].number not in body
            row = (AuditEvent.select().where(AuditEvent.request_id == real.headers["X-Request-Id"]).get())
            assert row.action == "access.denied", pattern
            assert (row.user_id, row.agency_id) == (world.users["X"].id, world.users["X"].agency_id)
            assert row.object_type in (object_type, "case"), (pattern, row.object_type)
    # Another referrer asking for someone else's referral: the same.
    other = app.test_client()
    login(other, world.users["G"])
    r = other.get(f"/referrals/{v['referral_id']}")
    assert r.status_code == 404
    assert AuditEvent.select().where((AuditEvent.request_id == r.headers["X-Request-Id"])
                                     & (AuditEvent.action == "access.denied")
                                     & (AuditEvent.object_type == "referral")).exists()


def test_exports_and_person_records_are_refused_to_agencies(app, fake_clock):
    """Person records and the exports of whole records are the coordinator's: a representative is
    refused by role (403, whatever the id, so nothing about the object is revealed), audited."""
    world = build_world(app)
    v = world.values
    client = app.test_client()
    login(client, world.users["X"])
    for method, url in (("GET", f"/governance/people/{v['person_id']}"),
                        ("POST", f"/governance/people/{v['person_id']}/subject-access"),
                        ("POST", f"/cases/{v['case_id']}/transfer"),
                        ("GET", f"/meetings/{v['meeting_id']}/run/minutes/word"),
                        ("POST", f"/governance/releases/{v['release_id']}/release")):
        r = client.open(url, method=method)
        assert r.status_code in (403, 404), url
        assert r.headers["Content-Type"].startswith("text/html"), url
        assert AuditEvent.select().where((AuditEvent.request_id == r.headers["X-Request-Id"])
                                         & (AuditEvent.action == "access.denied")).exists(), url
