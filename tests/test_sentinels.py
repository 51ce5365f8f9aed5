"""Restricted fields never reach those who may not read them (SECURITY.md check 12), no URL the app
produces carries a name, date of birth or address (check 29), and every answer is Cache-Control:
no-store (check 19).

Every GET route is crawled for every role, as a full page and as htmx, against the seeded borough
of security_world (a case heard in a closed session with a restricted note, research and minutes,
and an open case on the same agenda); Word documents are read as text. Sentinel values planted in
the restricted fields are searched for in everything each role receives. Every href, action, src
and hx-* URL in those pages, and every redirect, is searched for the seeded person's details."""
import re
from urllib.parse import unquote_plus

import pytest
from security_world import PERSONAL, SENTINELS, build_world, docx_text, signed_in_client, url_for_rule

# sentinel -> the roles (letters as in test_access_matrix) that must never receive it.
NEVER = {
    # a restricted note: its agency (R) and the coordinator only
    SENTINELS["restricted_note"]: "HXFGOA",
    # the closed session: invited agency, coordinator and chair only
    SENTINELS["closed_summary"]: "XFGOA",
    SENTINELS["closed_research"]: "XFGOA",
    PERSONAL["family"]: "XGOA",  # the referrer (F) wrote the referral naming them
    SENTINELS["referral_text"]: "XGOA",
    # agencies' research on an open case: member agencies, not observers or referrers
    SENTINELS["open_research"]: "FGOA",
}
ROLES = "CHRXFGOA"
URL_ATTRIBUTES = re.compile(r'\b(?:href|action|src|formaction|hx-get|hx-post|hx-put|hx-patch|hx-delete|'
                            r'hx-push-url|hx-replace-url|data-url)\s*=\s*["\']([^"\']*)["\']', re.I)
DOWNLOADS = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)


def crawl(app, world, role):
    """(url, text) of everything this role receives from every GET route, and every redirect target."""
    client = signed_in_client(app, world, role)
    value_sets = [world.values, {**world.values, "listing_id": world.values["open_listing_id"],
                                 "case_id": world.values["open_case_id"]}]
    received, redirects = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.logout"):
            continue
        urls = {url_for_rule(rule, values) for values in value_sets}
        for url in sorted(urls):
            for headers in ({}, {"HX-Request": "true"}):
                r = client.get(url, headers=headers)
                # SECURITY.md check 19: nothing the app answers may sit in a browser or proxy cache.
                assert "no-store" in r.headers.get("Cache-Control", ""), url
                for header in ("Location", "HX-Redirect"):
                    if r.headers.get(header):
                        redirects.append((url, r.headers[header]))
                content_type = r.headers.get("Content-Type", "")
                if r.status_code == 200 and content_type.startswith(DOWNLOADS):
                    received.append((url, docx_text(r.data)))
                elif r.status_code < 500 and content_type.startswith("text/"):
                    received.append((url, r.get_data(as_text=True)))
                r.close()
    return received, redirects


@pytest.fixture
def seeded(app, fake_clock):
    world = build_world(app)
    world.values["open_listing_id"] = world.objects["open_listing"].id
    world.values["open_case_id"] = world.objects["open_case"].id
    return world


@pytest.mark.parametrize("role", list(ROLES))
def test_restricted_fields_and_personal_urls(app, seeded, role):
    received, redirects = crawl(app, seeded, role)
    assert len(received) > 20
    leaks = []
    for sentinel, never in NEVER.items():
        if role in never:
            leaks += [f"{sentinel} in {url}" for url, text in received if sentinel in text]
    assert not leaks, "\n".join(leaks)
    # The roles who may read them do see them somewhere (the search is not vacuous).
    everything = "\n".join(text for _, text in received)
    if role == "C":
        for sentinel in NEVER:
            assert sentinel in everything, f"the coordinator never sees {sentinel}: the crawl misses it"
    # SECURITY.md check 29: URLs.
    urls = [u for _, text in received for u in URL_ATTRIBUTES.findall(text)] + [u for _, u in redirects]
    assert urls
    bad = [u for u in urls if personal_data_in(u)]
    assert not bad, bad
    # A GET form's fields go into the URL: no free text there, only the numbers, dates and years
    # listed here (anything else, such as a name, posts instead).
    typed = {name for _, text in received for name in get_form_text_fields(text)}
    assert typed <= GET_FORM_TEXT_FIELDS, typed - GET_FORM_TEXT_FIELDS
    if role == "C":  # the audit log's and the reports' filters are found: the check is not vacuous
        assert {"object_id", "date_from", "year"} <= typed, typed


GET_FORM = re.compile(r"<form\b(?![^>]*method=\"post\")[^>]*>.*?</form>", re.S | re.I)
TEXT_FIELD = re.compile(r"<(?:input\b(?![^>]*type=\"(?:hidden|radio|checkbox|submit|button)\")|textarea\b)[^>]*>", re.I)
# Dates (day, month, year share a name), years and the audit log's digits-only object number.
GET_FORM_TEXT_FIELDS = {"date_from", "date_to", "start", "end", "year", "object_id"}


def get_form_text_fields(html: str) -> set[str]:
    """Names of the text inputs and text areas of the GET forms in a page."""
    names = set()
    for form in GET_FORM.findall(html):
        for field_tag in TEXT_FIELD.findall(form):
            name = re.search(r'name="([^"]*)"', field_tag)
            names.add(name.group(1) if name else "(no name)")
    return names


def test_the_get_form_check_would_catch_a_name_field():
    page = ('<form method="get"><input name="year" type="text"><input class="x" name="name" type="text"></form>'
            '<form method="post" action="/cases/"><input name="postcode" type="text"></form>'
            '<form action="/x"><textarea name="filter"></textarea><input type="hidden" name="v"></form>')
    assert get_form_text_fields(page) == {"year", "name", "filter"}


def personal_data_in(url: str) -> bool:
    text = unquote_plus(unquote_plus(url)).lower()
    dob = PERSONAL["dob"]
    needles = [PERSONAL["given"], PERSONAL["family"], PERSONAL["address"], PERSONAL["postcode"],
               PERSONAL["postcode"].replace(" ", ""), dob.isoformat(), dob.strftime("%d/%m/%Y"),
               f"{dob.day} {dob.month} {dob.year}", dob.strftime("%d%m%Y"), "sentinel street"]
    return any(n.lower() in text for n in needles)


def test_the_url_check_would_catch_a_name(app):
    assert personal_data_in("/cases/?name=Matrixvictim+Sentinelname")
    assert personal_data_in("/x?dob=1990-03-27") and personal_data_in("/x?postcode=IG11%207AB")
    assert not personal_data_in("/cases/12/timeline?before=abc")


SEARCH_FORM = re.compile(r"<form\b[^>]*role=\"search\"[^>]*>.*?</form>", re.S | re.I)
HIDDEN = re.compile(r"<input\b[^>]*type=\"hidden\"[^>]*>", re.I)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
SEARCHES = {  # each seeded detail, typed the ways a user would
    "name": {"name": f"{PERSONAL['given']} {PERSONAL['family']}"},
    "family name": {"name": PERSONAL["family"].lower()},
    "date of birth": {"date_of_birth": [str(PERSONAL["dob"].day), str(PERSONAL["dob"].month),
                                        str(PERSONAL["dob"].year)]},
    "postcode": {"postcode": PERSONAL["postcode"]},
    "everything": {"name": PERSONAL["given"], "postcode": PERSONAL["postcode"].replace(" ", "").lower(),
                   "date_of_birth": [str(PERSONAL["dob"].day), str(PERSONAL["dob"].month),
                                     str(PERSONAL["dob"].year)]},
}


def submit_search(client, terms: dict, htmx: bool):
    """Submit the search form of /cases/ as a browser does: with its own method, action (or hx-*
    attribute for htmx), hidden fields and, for htmx, the CSRF header on <body>. Returns the URL the
    browser asked for and the answer; a GET form puts the terms in that URL."""
    from urllib.parse import urlencode

    page = client.get("/cases/").get_data(as_text=True)
    form = SEARCH_FORM.search(page).group(0)
    attrs = dict(ATTRIBUTE.findall(form[:form.index(">")]))
    data = {a["name"]: a.get("value", "") for a in (dict(ATTRIBUTE.findall(h)) for h in HIDDEN.findall(form))}
    data.update(terms)
    headers = {}
    if htmx:
        method = next(m for m in ("get", "post") if f"hx-{m}" in attrs)
        url = attrs[f"hx-{method}"]
        headers["HX-Request"] = "true"
        token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page)
        if token:
            headers["X-CSRFToken"] = token.group(1)
    else:
        method, url = attrs.get("method", "get").lower(), attrs.get("action") or "/cases/"
    if method == "get":
        url += "?" + urlencode(data, doseq=True)
        return url, client.get(url, headers=headers)
    return url, client.post(url, data=data, headers=headers)


def test_search_terms_are_not_sent_in_the_url(app, seeded):
    """SECURITY.md check 29 (found in issue 8: the search was a GET form). The search form posts its
    terms with the CSRF token (on here, as in production), with and without htmx, and finds the case."""
    client = signed_in_client(app, seeded, "C")
    app.config["WTF_CSRF_ENABLED"] = True
    form = SEARCH_FORM.search(client.get("/cases/").get_data(as_text=True)).group(0)
    assert 'method="post"' in form.lower() and "hx-post=" in form and "hx-get=" not in form
    assert 'name="csrf_token"' in form
    for htmx in (False, True):
        url, r = submit_search(client, SEARCHES["name"], htmx)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert not personal_data_in(url), url
        assert f"{PERSONAL['given']} {PERSONAL['family']}" in r.get_data(as_text=True)  # the case was found
    # Without the token the search is refused, like every other post.
    assert client.post("/cases/", data=SEARCHES["name"]).status_code == 400


@pytest.mark.parametrize("role", list("CHR"))
def test_searching_for_a_person_leaves_no_trace_in_any_url(app, seeded, role):
    """Searches for the seeded person by each detail, plain and htmx: the person is found, and no
    header (Location, HX-*) and no URL in the answer (href, action, hx-*) holds a name, date of birth
    or postcode."""
    client = signed_in_client(app, seeded, role)
    case_id = seeded.values["case_id"]
    for label, terms in SEARCHES.items():
        for htmx in (False, True):
            url, r = submit_search(client, terms, htmx)
            body = r.get_data(as_text=True)
            assert r.status_code == 200, (label, htmx)
            assert f'href="/cases/{case_id}"' in body, (label, htmx)  # found: the result links by id only
            assert not personal_data_in(url), (label, url)
            headers = [f"{k}: {v}" for k, v in r.headers.items() if k.lower() == "location" or k.lower().startswith("hx-")]
            assert not [h for h in headers if personal_data_in(h)], (label, headers)
            urls = URL_ATTRIBUTES.findall(body)
            assert urls and not [u for u in urls if personal_data_in(u)], (label, htmx)


def _name_in_headers_or_urls(r) -> list[str]:
    headers = [f"{k}: {v}" for k, v in r.headers.items() if k.lower() == "location" or k.lower().startswith("hx-")]
    urls = URL_ATTRIBUTES.findall(r.get_data(as_text=True))
    return [u for u in headers + urls if personal_data_in(u)]


@pytest.mark.parametrize("role", ["C", "H"])
def test_a_name_added_to_a_report_url_comes_back_in_no_link_or_redirect(app, seeded, role):
    """The reports pages build their links and redirects from the validated period, figure, agency and
    side only: an argument someone added to the URL by hand (here the seeded family name, alone and in
    place of a field's value) is in no link, Location or HX-* header of the answer, plain or htmx."""
    client = signed_in_client(app, seeded, role)
    name = PERSONAL["family"]
    custom = "period=custom&start=1&start=1&start=2026&end=31&end=12&end=2026"
    pages = {  # url -> what the answer must hold, so that the check is not vacuous
        f"/reports/?{custom}&name={name}": "link",
        f"/reports/?period=month&year=2026&month=11&name={name}": "link",
        f"/reports/?period=quarter&year={name}&name={name}": "link",
        f"/reports/cases?figure=heard&{custom}&name={name}&side={name}": "link",
        f"/reports/cases?figure=heard&{custom}&page=2&agency={name}&name={name}": "link",
        f"/reports/cases?figure=heard&period=custom&start={name}&name={name}": "redirect",
        f"/reports/export/all.xlsx?period=custom&end={name}&name={name}": "redirect",
        f"/reports/export/all.xlsx?period=year&year=99999&name={name}": "redirect",
        f"/reports/safelives?year=2026&quarter=4&name={name}": "link",
        f"/reports/safelives.xlsx?year={name}&quarter=4&name={name}": "redirect",
    }
    for url, expected in pages.items():
        for htmx in ({}, {"HX-Request": "true"}):
            r = client.get(url, headers=htmx)
            assert r.status_code == (302 if expected == "redirect" else 200), (url, r.status_code)
            if expected == "redirect":
                assert r.headers["Location"].startswith("/reports/"), url
            else:
                assert URL_ATTRIBUTES.findall(r.get_data(as_text=True)), url
            assert not _name_in_headers_or_urls(r), (url, htmx, _name_in_headers_or_urls(r))
            if expected == "redirect":  # and the page it leads to holds no name either
                follow = client.get(r.headers["Location"], headers=htmx)
                assert follow.status_code == 200, url
                assert not _name_in_headers_or_urls(follow), (url, htmx)
    # The page links of the cases behind a figure are there, and carry the period and figure back.
    body = client.get(f"/reports/cases?figure=heard&{custom}&page=2&name={name}").get_data(as_text=True)
    previous = re.search(r'href="([^"]*)" rel="prev"', body).group(1)
    assert "figure=heard" in previous and "period=custom" in previous and "end=2026" in previous
