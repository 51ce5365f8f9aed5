"""The pages the benchmark loads, by endpoint name, and the writes the drills make.

A page is measured when its endpoint is in app.url_map and reported as "not built yet" otherwise,
so this file is the only place to touch when an area lands or renames a route. URLs are built
with url_for inside an app context from the generated borough's facts (bench/generate.py): a
route with one path argument gets the page's object id whatever the argument is called.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

# The endpoint of each measured page (adjust here when a blueprint lands or renames a route).
ENDPOINTS = {
    "ceiling": "health.healthz",
    "floor": "training.glossary",
    "score": "referrals.score",
    "referral_form": "referrals.section",
    "inbox": "inbox.index",
    "board": "meetings.board",
    "meeting": "meeting_run.overview",
    "case": "cases.show",
    "actions": "actions.mine",
    "search": "cases.search",
    "report": "reports.index",
}

# The reason a coordinator gives before opening a case holding another agency's restricted notes
# (issue 8): given once per session before the case page is measured, as a coordinator would.
REASON_ENDPOINT = "governance.reason"
REASON_TEXT = "Preparing the case for today's MARAC meeting."

# Write routes the drills use when they exist (the agency form is there from the foundation).
WRITE_ENDPOINTS = {
    "agency_new": "admin.agency_new",
    "note_new": "cases.note_new",
}


def _dash_answers(facts: dict) -> dict:
    """A half-ticked DASH checklist, as the checklist page posts it while the referrer ticks."""
    from marac.risk import DASH

    return {f"item{n}": ("yes" if n % 2 == 0 else "no") for n, _item in enumerate(DASH.items)}


def _draft(facts: dict, email: str) -> dict:
    """The signed-in referrer's own draft (each bench referrer has one), at its checklist section."""
    return {"referral_id": facts["drafts"][email], "slug": "checklist"}


def _last_12_months(facts: dict) -> dict:
    """The report's "dates of your choice" period: the 12 months to the day the borough was generated,
    so every size reports over a full year of the same activity (day, month, year inputs)."""
    from datetime import date

    start, end = date.fromisoformat(facts["report_from"]), date.fromisoformat(facts["report_to"])
    return {"period": "custom", "start": [start.day, start.month, start.year], "end": [end.day, end.month, end.year]}


@dataclass(frozen=True)
class Page:
    key: str  # ENDPOINTS key
    title: str
    role: str | None  # who is signed in (None: nobody)
    obj: str | None = None  # facts key of the id for the route's path argument
    args: Callable[[dict, str], dict] | None = None  # path arguments by name, per signed-in user (e-mail)
    query: Callable[[dict], dict] = field(default=lambda facts: {})
    form: Callable[[dict], dict] | None = None  # POST body (with the CSRF token added)
    htmx: bool = False  # sent as an htmx request (HX-Request: true): the fragment
    reason: bool = False  # the case page: give the access reason first (REASON_ENDPOINT), when that exists
    p95_budget_ms: float = 50
    ratio_budget: float = 0.30  # share of the ceiling's requests per second
    reference: bool = False  # measured and printed for comparison, no budget line

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.key]

    @property
    def method(self) -> str:
        return "POST" if self.form else "GET"


PAGES = [
    Page("ceiling", "ceiling: /healthz (no DB, no template)", None, ratio_budget=1.0),
    # The floor under every real page: signed in (session row, Flask-Login, access check), the whole
    # layout (header, navigation, footer) around static text, no query of its own and no audit write.
    # A page cannot be faster than this, so it tells a slow page from a slow stack.
    Page("floor", "floor: signed-in static page (glossary)", "coordinator", reference=True),
    Page("score", "live score fragment", "referrer", args=lambda f, e: {"referral_id": _draft(f, e)["referral_id"]},
         form=_dash_answers, htmx=True, ratio_budget=0.70),
    Page("referral_form", "referral form (risk checklist)", "referrer", args=_draft),
    Page("inbox", "inbox", "coordinator"),
    Page("board", "agenda board, 40 cases + research", "coordinator", obj="board_meeting_id"),
    Page("meeting", "meeting screen", "coordinator", obj="run_meeting_id"),
    Page("case", "case page, long timeline", "coordinator", obj="timeline_case_id", reason=True),
    Page("actions", "my agency's actions", "representative"),
    # Posted with the CSRF token as the page does (a name never travels in a URL: SECURITY.md check 29).
    Page("search", "case search (name)", "coordinator", form=lambda facts: {"name": facts["search"]["name"]}),
    Page("report", "year's report (last 12 months)", "coordinator", p95_budget_ms=1000, query=_last_12_months),
]


def is_built(app, endpoint: str) -> bool:
    return endpoint in app.view_functions


def page_url(app, page: Page, facts: dict, email: str | None = None) -> str:
    """The page's URL for this borough and user (raises werkzeug BuildError when the route wants other arguments)."""
    from flask import url_for

    values = dict(page.query(facts))
    if page.args:
        values.update(page.args(facts, email))
    rules = list(app.url_map.iter_rules(page.endpoint))
    arguments = set().union(*(r.arguments for r in rules)) if rules else set()
    if page.obj and len(arguments) == 1:
        values[next(iter(arguments))] = facts[page.obj]
    with app.test_request_context():
        return url_for(page.endpoint, **values)


def reason_url(app, case_id: int) -> str | None:
    """Where the access reason for this case is posted, or None while that route does not exist."""
    from flask import url_for

    if REASON_ENDPOINT not in app.view_functions:
        return None
    with app.test_request_context():
        return url_for(REASON_ENDPOINT, case_id=case_id)


def give_reason(browser, url: str | None) -> None:
    """Post the access reason through the real form (the session remembers it for an hour)."""
    if url is None:
        return
    response = browser.post(url, {"reason": REASON_TEXT})
    if response.status != 302:
        raise RuntimeError(f"giving the access reason at {url}: HTTP {response.status}")
