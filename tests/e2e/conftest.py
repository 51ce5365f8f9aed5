"""Real-browser test fixtures: one system Chromium per session, pages that fail the test on any CSP
violation or console error, an axe-core check, and live servers (waitress in a thread).

Fixtures (no imports from this file are needed; tests/ is deliberately not a package):
  browser                           session: a Playwright Browser on system Chromium
  page_factory(base_url=None, **context_args) -> Page
                                    a fresh page in its own browser context (own cookies)
  page                              page_factory(base_url) for a `base_url` fixture you define
  assert_accessible(page, context=None, options=None)
                                    axe-core, WCAG 2.0/2.1 A+AA and 2.2 AA rules, no violations
  live_server_factory(app) -> str   serve a Flask app for one test; returns "http://127.0.0.1:<port>"
  session_live_server_factory(app)  the same, server kept until the end of the session

Chromium comes from the Debian package (`apt-get install chromium`), not `playwright install`.
Without Chromium or Playwright these tests are skipped, unless MARAC_REQUIRE_BROWSER=1 (set by
.ci/run), which turns that into a failure: CI must never pass by skipping the browser tests.
"""
import os
import threading
from pathlib import Path

import pytest
from waitress import wasyncore
from waitress.server import create_server

E2E_DIR = Path(__file__).resolve().parent
AXE_JS_PATH = E2E_DIR.parent / "vendor" / "axe.min.js"  # npm axe-core, vendored by vendor.py
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}
# Forward CSP violations to Python. Init scripts and exposed functions go through the DevTools
# protocol, so the page's own CSP does not block them. This also catches eval violations (hx-on,
# hx-vals "js:"), which Chromium does not log to the console when htmx catches the EvalError.
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', e =>
  window.__maracReportCsp(`${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));"""
# SECURITY.md check 20: nothing is left in browser storage, no key at all (htmx's current-path key
# included: static/js/app.js removes it after each write).
STORAGE_KEYS = """() => {
  const keys = s => Array.from({length: s.length}, (_, i) => s.key(i))
  try {
    return [...keys(localStorage).map(k => 'localStorage:' + k),
            ...keys(sessionStorage).map(k => 'sessionStorage:' + k)]
  } catch (e) { return [] }
}"""


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/e2e as `e2e` (deselect them with -m "not e2e")."""
    for item in items:
        # This hook sees the whole session's items, not only this folder's.
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


def _favicon_reset(message) -> bool:
    """Chromium fetches the favicon on its own, outside the page's behaviour; when the test
    navigates or closes while that fetch is in flight it logs ERR_CONNECTION_RESET, or, when the
    live server has already stopped at teardown, ERR_CONNECTION_REFUSED. Only those messages about the
    favicon are ignored: every other failed load still fails the test."""
    return (("ERR_CONNECTION_RESET" in message.text or "ERR_CONNECTION_REFUSED" in message.text)
            and message.location.get("url", "").endswith("/favicon.svg"))


def _browser_unavailable(reason: str):
    if os.environ.get("MARAC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (MARAC_REQUIRE_BROWSER=1, so browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """System Chromium driven by Playwright, shared by the whole session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _browser_unavailable(f"Chromium not found at {CHROMIUM}; install Debian package chromium "
                             "(or set CHROMIUM to its path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("Python package playwright is not installed; pip install -r requirements-dev.txt")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_factory(browser):
    """Return new_page(base_url=None, **context_args) -> Page. Each page gets its own context
    (separate cookies, so two users can act at once). At teardown the test fails if any page
    saw a CSP violation, a console error or an uncaught exception, or left data in storage.
    Each page's `problems` list may be inspected (or cleared) by the test."""
    opened = []

    def new_page(base_url=None, **context_args):
        # The real CSP must be enforced: bypassing it hides exactly the failures we look for.
        assert not context_args.get("bypass_csp"), "bypass_csp would hide CSP violations"
        ctx = browser.new_context(base_url=base_url, **context_args)
        problems: list[str] = []
        ctx.expose_function("__maracReportCsp", lambda msg: problems.append(f"CSP: {msg}"))
        ctx.add_init_script(CSP_LISTENER)
        ctx.on("console", lambda m: m.type == "error" and not _favicon_reset(m)
               and problems.append(f"console: {m.text} ({m.location})"))
        ctx.on("weberror", lambda e: problems.append(f"pageerror: {e.error}"))
        pg = ctx.new_page()
        pg.problems = problems
        opened.append((ctx, problems))
        return pg

    yield new_page

    failures = []
    for ctx, problems in opened:
        for pg in ctx.pages:
            if pg.url.startswith("http"):
                # What a page leaves once it has loaded: htmx writes its key when its script runs and
                # app.js (the next deferred script) removes it, so a page caught between the two
                # (a navigation the test's last action started) is read after it has loaded.
                pg.wait_for_load_state("load")
                if stored := pg.evaluate(STORAGE_KEYS):
                    problems.append(f"storage: {pg.url} left {stored}")
        ctx.close()
        failures.extend(problems)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
def page(base_url, page_factory):
    """One checked page with relative URLs resolved against `base_url`."""
    return page_factory(base_url)


@pytest.fixture(scope="session")
def _axe_js():
    return AXE_JS_PATH.read_text(encoding="utf-8")


@pytest.fixture
def assert_accessible(_axe_js):
    """Return assert_accessible(page, context=None, options=None): run axe-core on the page (or the
    `context` selector) and fail listing each violation."""

    def check(page, context=None, options=None):
        # page.evaluate goes through the DevTools protocol, which the page's CSP does not block;
        # page.add_script_tag would inject an inline <script> and fail under script-src 'self'.
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(_axe_js)
        result = page.evaluate("([c, o]) => axe.run(c ?? document, o)", [context, options or AXE_OPTIONS])
        violations = result["violations"]
        assert not violations, f"axe on {page.url}:\n" + "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}" for v in violations)

    return check


class _LiveServers:
    """Waitress servers, each in its own thread, stopped together by close()."""

    def __init__(self):
        self._running = []

    def start(self, app) -> str:
        srv = create_server(app, host="127.0.0.1", port=0, threads=4)  # port 0: any free port
        stop = threading.Event()

        def serve():
            # Our own loop (waitress's run() only ends when its socket map is empty) so that
            # close() can stop it and then close every socket from this side, deterministically.
            while not stop.is_set():
                wasyncore.loop(timeout=0.05, map=srv._map, count=1)

        thread = threading.Thread(target=serve, name=f"live-server-{srv.effective_port}", daemon=True)
        thread.start()
        self._running.append((srv, stop, thread))
        return f"http://127.0.0.1:{srv.effective_port}"

    def close(self):
        while self._running:
            srv, stop, thread = self._running.pop()
            stop.set()
            thread.join(timeout=5)
            srv.task_dispatcher.shutdown()  # let worker threads finish and exit
            srv.close()                     # listening socket and its trigger
            wasyncore.close_all(srv._map)   # keep-alive connections still open (no ResourceWarning)


@pytest.fixture
def live_server_factory():
    """Return start(app) -> base URL; the servers stop at the end of the test."""
    servers = _LiveServers()
    yield servers.start
    servers.close()


@pytest.fixture(scope="session")
def session_live_server_factory():
    """As live_server_factory, for session-scoped fixtures; the servers stop at the end of the session."""
    servers = _LiveServers()
    yield servers.start
    servers.close()


# --- the marac app in a real browser ------------------------------------------------------------


@pytest.fixture
def app_config():
    """Browser tests post real forms, so CSRF protection stays on (root conftest turns it off)."""
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def base_url(app, live_server_factory):
    """The marac app of this test (root conftest `app`: temp-file database) served by waitress."""
    return live_server_factory(app)


@pytest.fixture
def signed_in(base_url, page_factory):
    # base_url first: fixtures tear down in reverse order, so the browser contexts close
    # before the live server stops (no request cut off mid-flight).
    """signed_in(user, password=TEST_PASSWORD) -> a page of a browser signed in as that user."""
    from marac_testing import TEST_PASSWORD

    def sign_in(user, password=TEST_PASSWORD):
        pg = page_factory(base_url)
        pg.goto("/login")
        pg.get_by_label("E-mail address").fill(user.email)
        # exact: the GOV.UK password input's "Show password" button also matches "Password"
        pg.get_by_label("Password", exact=True).fill(password)
        pg.get_by_role("button", name="Sign in").click()
        pg.wait_for_url(lambda url: "/login" not in url)
        return pg

    return sign_in


# --- keyboard paths and screen-reader announcements (SECURITY.md 36, issue 8) ----------------------

FOCUS_DESCRIPTION = """() => {
  const el = document.activeElement
  if (!el || el === document.body || el === document.documentElement) return null
  const label = (el.labels && el.labels[0] && el.labels[0].textContent) || el.getAttribute('aria-label')
    || el.textContent || ''
  const r = el.getBoundingClientRect()
  const seen = r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== 'hidden' ? '' : 'UNSEEN '
  const name = `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}>`
  return `${seen}${name} ${label.trim().replace(/\\s+/g, ' ').slice(0, 60)}`
}"""


def focused(page) -> str:
    """A short description of the focused element; fails when focus is nowhere (on the body: a keyboard
    user would then start again from the top of the page) or on an element that cannot be seen."""
    description = page.evaluate(FOCUS_DESCRIPTION)
    assert description, f"focus is lost (on the body) at {page.url}"
    assert not description.startswith("UNSEEN"), f"focus is on an element that cannot be seen: {description}"
    return description


@pytest.fixture
def tab_to():
    """Return tab_to(page, locator, max_presses=80, key="Tab") -> Locator: press Tab (or key, e.g.
    "Shift+Tab") until `locator` has focus, checking after each press that focus is on an element that
    can be seen (never lost on the body). Fails naming the elements passed when it is not reached."""

    def press_until(page, locator, max_presses=80, key="Tab"):
        passed = []
        check = f"el => [el === document.activeElement, ({FOCUS_DESCRIPTION})()]"
        for _ in range(max_presses + 1):
            reached, description = locator.evaluate(check)
            if reached:
                return locator
            if passed:
                assert description, f"focus is lost (on the body) after {key} at {page.url}, after " + passed[-1]
                assert not description.startswith("UNSEEN"), f"focus cannot be seen at {page.url}: {description}"
            passed.append(description or "(page)")
            page.keyboard.press(key)
        pytest.fail(f"{locator} not reached with {max_presses} x {key} at {page.url}; focus went through:\n  "
                    + "\n  ".join(passed[-25:]), pytrace=False)

    return press_until


# Live regions a screen reader is already watching: only changes inside a region that was on the page
# before the change are announced (a region inserted together with its text is usually not read).
MARK_LIVE = """() => document
  .querySelectorAll('[aria-live]:not([aria-live="off"]), [role=status], [role=alert], [role=log]')
  .forEach(el => { el.__maracLiveBefore = true })"""
ANNOUNCED = """(sel) => {
  const el = document.querySelector(sel)
  if (!el) return ['missing']
  const how = []
  for (let a = el; a; a = a.parentElement) {
    if (a.__maracLiveBefore && (a.matches('[role=status], [role=alert], [role=log]') ||
        (a.getAttribute('aria-live') || 'off') !== 'off')) { how.push('live'); break }
  }
  const f = document.activeElement
  if (f && f !== document.body && el.contains(f)) how.push('focus')
  return how
}"""


@pytest.fixture
def announced():
    """Return a context manager: `with announced(page, selector, how=("live", "focus")):` wraps one
    user action. Before it, the live regions on the page are noted; after it, `selector` (the new
    content or its status message) must be inside one of those regions ("live"), or hold the focus
    ("focus"), and focus must not be lost."""
    from contextlib import contextmanager

    @contextmanager
    def check(page, selector, how=("live", "focus")):
        page.evaluate(MARK_LIVE)
        yield
        # Focus moves after htmx has settled (20 ms after the swap): wait for that, not for the content.
        page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
        page.wait_for_timeout(50)
        result = page.evaluate(ANNOUNCED, selector)
        assert set(result) & set(how), (f"{selector} after the swap at {page.url}: {result or 'silent'} "
                                        f"(wanted one of {how}: in a live region already on the page, or focused)")
        focused(page)

    return check


# --- shared data -------------------------------------------------------------------------------------


@pytest.fixture
def meeting_world(app):
    """A meeting starting now with three listed cases (the first with a child, the third in closed
    session for police and IDVA), the coordinator, the chair, two representatives, and an outstanding
    action from an earlier meeting for the review. Fictional data."""
    from datetime import date, timedelta

    from marac_testing import make_action, make_agency, make_agenda_case, make_listing, make_meeting, make_user

    from marac import clock, schedule

    member = {"isa_signed_on": date(2025, 1, 6), "isa_signatory": "A Signatory"}
    s = {}
    s["police"] = make_agency("Anytown Police", is_police=True, **member)
    s["idva"] = make_agency("Anytown IDVA Service", **member)
    s["homes"] = make_agency("Anytown Homes", **member)
    s["coordinator"] = make_user("coordinator", agency=make_agency("MARAC Team", **member), name="Casey Coord")
    s["chair"] = make_user("chair", agency=s["police"], name="Chris Chair")
    s["rep"] = make_user("representative", agency=s["police"], name="Pat Police")
    s["deputy"] = make_user("representative", agency=s["idva"], name="Dee Deputy", is_deputy=True)
    starts = schedule.uk_local(clock.now()).replace(second=0, microsecond=0)
    s["meeting"] = make_meeting(starts, venue="Committee Room 1")
    s["cases"] = [make_agenda_case(children=1, number="MC-00301", agency=s["homes"]),
                  make_agenda_case(number="MC-00302", agency=s["police"]),
                  make_agenda_case(number="MC-00303", agency=s["idva"])]
    s["listings"] = [make_listing(s["meeting"], s["cases"][0], minutes_estimate=15),
                     make_listing(s["meeting"], s["cases"][1], minutes_estimate=10),
                     make_listing(s["meeting"], s["cases"][2], kind="closed", invited=[s["police"], s["idva"]])]
    earlier = make_meeting(starts - timedelta(days=28))
    s["old_action"] = make_action(s["cases"][0], s["homes"], "Fit a door chain (fictional)",
                                  listing=make_listing(earlier, s["cases"][0]),
                                  due_date=starts.date() - timedelta(days=7))
    return s
