"""What every drill needs: a small generated borough served by the real app, signed-in clients,
writes that are checked afterwards in the database file itself, and the audit chain check.

Checks read the SQLite file with the sqlite3 module, never through the app: after a SIGKILL the
file is the only truth, and the drills must not depend on the code they are checking.
"""
import itertools
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import generate
from bench.pages import WRITE_ENDPOINTS, give_reason, reason_url
from bench.server import Browser, Server, write_instance

DRILL_CASES = 60  # two meetings' worth: enough rows for every page, built in well under a second
_marker = itertools.count(1)


@dataclass
class Borough:
    """An instance folder with a freshly generated borough and the facts about it."""

    instance: Path
    facts: dict
    urls: dict

    @property
    def db_path(self) -> Path:
        return self.instance / "marac.db"

    def server(self, **kw) -> Server:
        return Server(self.instance, **kw)


def prepare(folder: Path, config: dict | None = None, cases: int = DRILL_CASES) -> Borough:
    """Generate a small borough into folder/instance (with instance/config.py) and resolve the drill URLs."""
    instance = write_instance(Path(folder) / "instance", config)
    facts = generate.generate(instance / "marac.db", cases, quiet=True)
    return Borough(instance, facts, resolve_urls(facts))


_url_app = []


def url_app():
    if not _url_app:
        from bench.run import url_app as make

        _url_app.append(make())
    return _url_app[0]


def resolve_urls(facts: dict) -> dict:
    """URLs of the reads and writes the drills use, for the routes that exist (by endpoint name)."""
    from flask import url_for

    app = url_app()
    case_id = facts["timeline_case_id"]
    wanted = {
        "home": ("dashboard.home", {}),
        "agencies": ("admin.agencies", {}),
        "inbox": ("inbox.index", {}),
        "board": ("meetings.board", {"meeting_id": facts["board_meeting_id"]}),
        "case": ("cases.show", {"case_id": case_id}),
        "search": ("cases.search", {"name": facts["search"]["name"]}),
        "actions": ("actions.mine", {}),
        "agency_new": (WRITE_ENDPOINTS["agency_new"], {}),
        "note_new": (WRITE_ENDPOINTS["note_new"], {"case_id": case_id}),
    }
    urls = {}
    with app.test_request_context():
        for key, (endpoint, values) in wanted.items():
            if endpoint in app.view_functions:
                urls[key] = url_for(endpoint, **values)
    return urls


def sign_in(server: Server, role: str, facts: dict, count: int, logins: int | None = None) -> list[Browser]:
    """`count` signed-in browsers of this role (users taken in turn). With `logins`, only that many
    sign in (argon2id takes a while on purpose) and the others share their sessions. A coordinator
    gives the access reason for the showcase case (restricted notes of other agencies) at once."""
    emails = facts["users"][role]
    reason = reason_url(url_app(), facts["timeline_case_id"]) if role == "coordinator" else None
    browsers = []
    for n in range(count):
        browser = Browser(server.address)
        if logins is None or n < logins:
            browser.login(emails[n % len(emails)], facts["users"]["password"])
            give_reason(browser, reason)
        else:
            model = browsers[n % logins]
            browser.cookies, browser.csrf, browser.email = dict(model.cookies), model.csrf, model.email
        browsers.append(browser)
    return browsers


def fetch(address, path: str, browser: Browser | None = None, timeout: float = 30):
    """One GET on a fresh connection (closed afterwards), with this browser's cookies if given."""
    client = Browser(address, timeout=timeout)
    if browser is not None:
        client.cookies = dict(browser.cookies)
    try:
        return client.request("GET", path)
    finally:
        client.close()


# --- acknowledged writes -----------------------------------------------------------------------------


@dataclass
class Write:
    kind: str  # "agency" or "note"
    marker: str  # the unique agency name or note text


@dataclass
class Ledger:
    """Writes the server acknowledged (a redirect after POST), collected from many threads."""

    acknowledged: list[Write] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, write: Write) -> None:
        with self.lock:
            self.acknowledged.append(write)


def new_marker(kind: str) -> str:
    return f"drill-{kind}-{next(_marker)}-{secrets.token_hex(4)}"


def write_once(browser: Browser, urls: dict, kind: str) -> tuple[Write, int, str]:
    """Make one write through the real form; return it, the HTTP status and the body."""
    marker = new_marker(kind)
    if kind == "agency":
        response = browser.post(urls["agency_new"], {"name": marker, "kind": "referrer"})
    elif kind == "note":
        response = browser.post(urls["note_new"], {"category": "contact", "text": marker})
    else:
        raise ValueError(kind)
    return Write(kind, marker), response.status, response.text


def write_kinds(urls: dict, role: str) -> list[str]:
    """The writes this role can make with the routes that exist."""
    kinds = []
    if role == "coordinator" and "agency_new" in urls:
        kinds.append("agency")
    if role in ("coordinator", "representative") and "note_new" in urls:
        kinds.append("note")
    return kinds


# --- checks on the database file ----------------------------------------------------------------------


def connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def integrity(db_path: Path) -> str:
    conn = connect(db_path)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def missing_writes(db_path: Path, writes: list[Write]) -> list[str]:
    """Every acknowledged write must be in the file, with its audit row."""
    problems = []
    conn = connect(db_path)
    try:
        for write in writes:
            if write.kind == "agency":
                row = conn.execute("SELECT id FROM agency WHERE name = ?", (write.marker,)).fetchone()
                action = "agency.create"
            else:
                row = conn.execute("SELECT id FROM note WHERE text = ?", (write.marker,)).fetchone()
                action = "note.create"
            if row is None:
                problems.append(f"acknowledged {write.kind} {write.marker} is missing")
                continue
            audited = conn.execute("SELECT 1 FROM audit_event WHERE action = ? AND object_id = ?",
                                   (action, str(row[0]))).fetchone()
            if audited is None:
                problems.append(f"acknowledged {write.kind} {write.marker} has no {action} audit row")
    finally:
        conn.close()
    return problems


def present(db_path: Path, write: Write) -> bool:
    conn = connect(db_path)
    try:
        table, column = ("agency", "name") if write.kind == "agency" else ("note", "text")
        return conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (write.marker,)).fetchone() is not None
    finally:
        conn.close()


def audit_chain_problem(db_path: Path) -> str | None:
    """None when every audit row's hash and link match (marac.audit's own hashing)."""
    from marac.audit import GENESIS, row_hash

    conn = connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        prev = GENESIS
        for row in conn.execute("SELECT * FROM audit_event ORDER BY id"):
            data = dict(row)
            data["at"] = datetime.fromisoformat(data["at"])
            if data["prev_hash"] != prev:
                return f"audit row {data['id']}: link to the previous row is broken"
            if row_hash(data) != data["hash"]:
                return f"audit row {data['id']}: content does not match its hash"
            prev = data["hash"]
        return None
    finally:
        conn.close()


def summary(result: dict) -> str:
    return json.dumps(result, indent=1, default=str)
