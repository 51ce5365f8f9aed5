"""A synthetic borough for the benchmark: 1,000 / 10,000 / 100,000 cases, cached in bench/cache/.

    .venv/bin/python -m bench.generate 1000 10000 100000     # build what is missing (or stale)
    .venv/bin/python -m bench.generate 1000 --force          # rebuild
    .venv/bin/python -m bench.generate 100000 --panels 5     # five panels in one database (issue 12)

Every name, address and text is fictional, made from small built-in lists. The borough runs as a
busy domestic-abuse MARAC does: a meeting every fortnight with 40 cases on the agenda (34 new,
6 returning: repeats and reviews), about 900 new cases a year, so 100,000 cases is a long history.
What a page shows "now" (the next meeting, the inbox, open actions) is the same at every size, so
the growth ratio measures the pages' queries, not more work on screen:

- the next meeting (in a few days) has 40 cases and half of its research grid filled in;
- a showcase case has a long timeline (7 listings, 150 notes, 35 actions), identical at every size;
- the inbox holds 25 new referrals and 5 awaiting quality assurance; referrers have drafts;
- each case has about 10 notes and 5 actions, each listing about 6 agencies' research, each
  referral its risk answers, people and frozen instrument, and the audit log has the rows all
  that implies (a valid hash chain).

The schema comes from the app's own migrations (marac.db.init_db); rows are written with bulk
`executemany` inside one transaction per table batch on a generation-only connection
(journal off, synchronous off, indexes dropped during the load and rebuilt after). The result is
an ordinary WAL database the app opens as it is. A JSON file next to it holds the facts the
benchmark needs (ids of the showcase meeting and case, users) and a fingerprint of the schema
and generator, so a stale cache is rebuilt.

Panels (issue 12): with `panels=N` the cases are spread evenly over N panels in one database, as a
county service holds them. Each panel walks the same cycle on its own (its own meetings, the meeting
under way, inbox, showcase case, coordinator, chair, referrers and observer, and a `panel_name`
setting); the agencies are the shared directory and the representatives are panel 1's, granted the
other panels (UserPanel), as a county police or health trust representative serves several panels.
The facts (users, ids) are panel 1's: the benchmark signs in there and measures one panel's pages
with every panel's rows in the database. With one panel the rows are exactly those of before.
"""
import argparse
import hashlib
import json
import math
import random
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from marac.people import name_key

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / "cache"
SIZES = (1000, 10000, 100000)
BENCH_DOMAIN = "bench.marac.invalid"
BENCH_PASSWORD = "bench-loader-password-2026"
GENERATOR_VERSION = 1

NEW_PER_MEETING = 34
RUNNING_HEARD = 19  # cases already heard at the meeting under way
RETURNING_PER_MEETING = 6
MEETING_EVERY = timedelta(days=14)

# --- fictional word lists -------------------------------------------------------------------------

GIVEN_F = """Abigail Ada Aisha Alma Amara Anya Beatrix Bella Carys Celia Chloe Daisy Delia Edie Elif Elsie
Esme Freya Gemma Hana Hattie Ines Isla Jada Keira Lena Lila Maisie Mariam Nell Niamh Olive Orla Priya
Rosa Ruby Sadie Tamsin Una Zara""".split()
GIVEN_M = """Aaron Adil Alfie Arlo Barney Callum Cian Dario Declan Ellis Emre Ezra Felix Finn Gareth Harvey
Idris Jasper Jude Kian Leon Luca Marek Milo Nate Omar Otis Rafe Reggie Rowan Ryan Sami Seth Tariq Theo
Tobin Vince Wes Yusuf Zane""".split()
FAMILY = """Abbott Ainsworth Ashdown Bramley Brightwell Carrow Castell Chalk Copley Cresswell Dunmore Eastwood
Elstow Fairley Farrant Fenwick Galloway Garside Hadley Halloran Harker Hollins Ingram Jessop Keswick
Kingsley Lathom Linwood Lockett Mabry Marlow Merriman Netley Norwood Oakden Ormerod Pargeter Pickett
Quarry Radley Redfern Rowntree Sandford Selby Shale Stanway Tarrant Thursby Tolley Upshaw Varley Wadley
Warrender Westcott Whitlow Wickham Winslade Yardley Yelland Ziegler""".split()
STREETS = """Acacia Avenue|Beech Road|Canal Street|Dove Close|Elm Grove|Ferry Lane|Gorse Way|Hazel Court|
Ivy Terrace|Juniper Walk|Kiln Road|Larch Crescent|Mill Lane|Nettle Row|Orchard Place|Poplar Street|
Quay Road|Rowan Drive|Sorrel Gardens|Tanners Yard|Union Street|Vale Road|Willow Mews|Yew Tree Close""".replace(
    "\n", "").split("|")
ETHNICITIES = ["white_british", "white_british", "white_other", "black", "asian", "mixed", "other", "not_known"]
NOTE_CATEGORIES = ["contact", "incident", "risk_change", "safeguarding", "other"]
NOTE_TEXTS = [
    "Spoke with the victim by phone at a safe time; safety plan reviewed and still in place.",
    "Police attended a call-out at the address; no arrest, words of advice given, crime report raised.",
    "Perpetrator seen near the victim's workplace in breach of the non-molestation order; police informed.",
    "School reports the eldest child is withdrawn and attendance has dropped this half term.",
    "Housing confirmed the lock change and door viewer were fitted; sanctuary scheme referral accepted.",
    "IDVA met the victim at the GP surgery; victim reports calls and messages have started again.",
    "Health visitor visit completed; baby well, mother anxious about contact arrangements.",
    "Probation: perpetrator attended supervision, engaging with the building better relationships programme.",
    "Victim has moved to temporary accommodation out of borough; new address held by the IDVA only.",
    "Mental health team have offered an assessment; victim agreed to a referral.",
]
ACTION_TEXTS = [
    ("flag_victim", "Flag and tag the victim's records for 12 months"),
    ("flag_perpetrator", "Flag and tag the perpetrator's records for 12 months"),
    ("urgent_marker", "Place a 'treat all calls as urgent' marker on the address"),
    ("idva_referral", "Refer the victim to the IDVA service"),
    ("feedback", "Feed back the outcome of the MARAC to the victim"),
    ("", "Check school attendance and share any concerns with children's social care"),
    ("", "Arrange a joint home visit with housing"),
    ("", "Consider a domestic violence protection notice"),
    ("", "Offer a sanctuary scheme assessment"),
    ("", "Refer the perpetrator to a behaviour change programme"),
]
RESEARCH_TEXTS = [
    "Known to us since 2019: three call-outs to the address, last one six weeks ago.",
    "Open case: allocated worker, last contact two weeks ago, no new concerns raised.",
    "Closed to us last year after support was completed; no contact since.",
    "Registered with the practice; attended A&E twice this year with injuries.",
    "Tenancy in the victim's sole name; rent arrears; reports of noise and shouting from neighbours.",
]
AGENCIES = [
    # name, kind, police
    ("Anytown Police Public Protection Unit", "core", True),
    ("Anytown Council Community Safety", "core", False),
    ("Anytown Council Adult Social Care", "core", False),
    ("Anytown Council Children's Services", "core", False),
    ("Anytown Council Housing Needs", "core", False),
    ("Anytown Homes Housing Association", "core", False),
    ("Anytown Independent Domestic Violence Advocates", "core", False),
    ("Anytown Mental Health Trust", "core", False),
    ("Probation Service, Anytown", "core", False),
    ("Anytown Drug and Alcohol Service", "core", False),
    ("Anytown Health Visiting Service", "core", False),
    ("Anytown School Nursing Service", "core", False),
    ("Anytown General Hospital Safeguarding", "core", False),
    ("Anytown Education Safeguarding", "core", False),
    ("Anytown Youth Offending Service", "core", False),
    ("Anytown Women's Refuge", "flexible", False),
    ("Anytown Victim Support", "flexible", False),
    ("Anytown Fire and Rescue", "flexible", False),
    ("Anytown Ambulance Service", "flexible", False),
    ("Anytown Early Help", "flexible", False),
    ("Anytown Multi-Agency Safeguarding Hub", "core", False),
    ("Anytown Perpetrator Programme", "flexible", False),
    ("Anytown Integrated Care Board", "core", False),
    ("Anytown Job Centre Plus", "flexible", False),
    ("Anytown Hate Crime Service", "flexible", False),
    ("Riverside GP Practice", "referrer", False),
    ("Hilltop Medical Centre", "referrer", False),
    ("Anytown Citizens Advice", "referrer", False),
    ("Anytown College", "referrer", False),
    ("St Anne's Primary School", "referrer", False),
]
POLICE, COUNCIL_CS, IDVA = 1, 2, 7  # agency ids (1-based, in AGENCIES order)
PANEL_NAMES = ["Anytown MARAC", "Brookford MARAC", "Castleby MARAC", "Dunmere MARAC", "Eastwick MARAC"]


def panel_name(panel: int) -> str:
    """Panel 1 keeps the name the migration gives a new install's panel (the settings' default)."""
    return PANEL_NAMES[panel - 1] if panel <= len(PANEL_NAMES) else f"Panel {panel} MARAC"


def panel_sizes(cases: int, panels: int) -> list[int]:
    """Cases per panel: an even spread, the first panels taking the remainder."""
    if panels < 1 or cases < panels:
        raise ValueError(f"cannot spread {cases} cases over {panels} panels")
    base, extra = divmod(cases, panels)
    return [base + (1 if p < extra else 0) for p in range(panels)]


def panel_email(panel: int, local: str) -> str:
    """Panel 1's users keep the addresses the benchmark has always signed in with."""
    return f"{local}@{BENCH_DOMAIN}" if panel == 1 else f"p{panel}-{local}@{BENCH_DOMAIN}"


def panel_seed(panel: int, seed):
    """Panel 1 draws from the random streams it always did (so one panel gives the same rows as before);
    every other panel from its own, so panels do not hold copies of each other's people."""
    return seed if panel == 1 else f"{seed}-panel{panel}"


def fingerprint(panels: int = 1) -> str:
    """Changes when the generator, the schema (the migrations) or the number of panels changes: the cache
    is then rebuilt."""
    h = hashlib.sha256(str(GENERATOR_VERSION).encode() + (f"/panels={panels}".encode() if panels != 1 else b""))
    for path in [Path(__file__), *sorted((ROOT / "marac" / "migrations").glob("m*.py"))]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_paths(cases: int, panels: int = 1) -> tuple[Path, Path]:
    name = str(cases) if panels == 1 else f"{cases}-{panels}panels"
    return CACHE / f"{name}.db", CACHE / f"{name}.json"


def ensure(cases: int, force: bool = False, quiet: bool = False, panels: int = 1,
           stale_ok: bool = False) -> tuple[Path, dict]:
    """The cached database of this size (built when missing or stale) and its facts. stale_ok keeps a cache
    that a later generator or migration change made stale (its facts then say "stale": True): for a long
    run on a tree others keep changing, where the server's start-up applies the newer migrations anyway."""
    db_path, facts_path = cache_paths(cases, panels)
    if not force and db_path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
        if facts.get("fingerprint") == fingerprint(panels):
            return db_path, facts
        if stale_ok:
            return db_path, dict(facts, stale=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    facts = generate(tmp, cases, quiet=quiet, panels=panels)
    tmp.replace(db_path)
    facts_path.write_text(json.dumps(facts, indent=1))
    return db_path, facts


# --- writing rows fast ------------------------------------------------------------------------------


def _db_text(value):
    """A Python value as Peewee stores it in SQLite."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


class Writer:
    """Buffered executemany INSERTs into one table; columns the generator does not know get their
    model default, so a column added by a later migration does not break generation."""

    def __init__(self, conn: sqlite3.Connection, model, columns: list[str], batch: int = 50_000):
        table = model._meta.table_name
        actual = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        unknown = [c for c in columns if c not in actual]
        if unknown:
            raise RuntimeError(f"table {table} has no columns {unknown}: update bench/generate.py")
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        extra = [c for c in actual if c not in columns]
        self.extra = tuple(self._default(fields.get(c)) for c in extra)
        cols = columns + extra
        self.sql = f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) ' \
                   f'VALUES ({", ".join("?" * len(cols))})'
        self.conn = conn
        self.batch = batch
        self.rows: list[tuple] = []
        self.count = 0

    @staticmethod
    def _default(field):
        if field is None or field.primary_key:
            return None
        value = field.default() if callable(field.default) else field.default
        if value is None and not field.null:
            value = ""
        return _db_text(value)

    def add(self, row: tuple) -> None:
        self.rows.append(row + self.extra if self.extra else row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.conn.executemany(self.sql, self.rows)
            self.count += len(self.rows)
            self.rows = []


def ts(value: datetime) -> str:
    return value.isoformat(" ", timespec="seconds")


# --- the borough --------------------------------------------------------------------------------------


class Borough:
    """Builds every row in memory-light streams; ids are assigned here, so no row is read back."""

    def __init__(self, conn: sqlite3.Connection, cases: int, now: datetime, seed: int = 11, panels: int = 1):
        from marac import models as m

        self.m = m
        self.conn = conn
        self.sizes = panel_sizes(cases, panels)
        self.n_cases = self.sizes[0]
        self.now = now
        self.seed = seed
        self.panel_id = 1
        self.rng = random.Random(seed)
        self.audit: list[tuple] = []  # (at, user_id, action, object_type, object_id, detail, panel)
        self.ids = {"person": 0, "case": 0, "referral": 0, "listing": 0, "meeting": 0, "research": 0, "note": 0,
                    "action": 0}
        self.staff: dict[int, dict] = {}  # panel -> its coordinator, chair, referrers and observer (user ids)
        self.notes: list[tuple] = []
        self.actions: list[tuple] = []
        self.research: list[tuple] = []
        self.cases: dict[int, list] = {}
        self.facts: dict = {}
        self.main_facts = self.facts  # panel 1's: what the benchmark uses
        self._answer_pool = self._risk_pool()

    # -- reference data ----------------------------------------------------------------------------

    def agencies_and_users(self, password_hash: str) -> None:
        m = self.m
        created = ts(self.now - timedelta(days=3650))
        w = Writer(self.conn, m.Agency, ["id", "name", "kind", "isa_signed_on", "isa_signatory", "dpo_contact",
                                         "is_police", "created_at"])
        self.member_agencies = []
        for i, (name, kind, police) in enumerate(AGENCIES, start=1):
            member = kind != "referrer"
            w.add((i, name, kind, "2015-04-01" if member else None, "Head of service" if member else "",
                   f"dpo@{BENCH_DOMAIN}" if member else "", int(police), created))
            if member:
                self.member_agencies.append(i)
        w.flush()
        users = []  # (name, email, role, agency_id, deputy, panel)

        def add(name, local, role, agency, deputy=False, panel=1):
            users.append((name, panel_email(panel, local), role, agency, deputy, panel))
            return len(users)

        self.reps = {}
        deputies = []
        for panel in range(1, len(self.sizes) + 1):
            suffix = "" if panel == 1 else f" {panel}"
            staff = self.staff[panel] = {
                "coordinator": add(f"Casey Coordinator{suffix}", "coordinator", "coordinator", COUNCIL_CS, panel=panel),
                "chair": add(f"Jordan Chair{suffix}", "chair", "chair", POLICE, panel=panel),
                "referrers": []}
            if panel == 1:  # the representatives: panel 1's, granted the other panels below
                for agency in self.member_agencies:
                    self.reps[agency] = add(f"Rep {agency:02d} {FAMILY[agency]}", f"rep{agency:02d}",
                                            "representative", agency)
                for agency in self.member_agencies[:10]:
                    deputies.append(add(f"Deputy {agency:02d} {FAMILY[agency + 30]}", f"deputy{agency:02d}",
                                        "representative", agency, True))
            referrer_agencies = [POLICE] * 12 + [IDVA] * 4 + [3, 4, 5, 8, 9, 11, 13, 26, 27, 28, 29, 30]
            for n, agency in enumerate(referrer_agencies, start=1):
                staff["referrers"].append(add(f"Referrer {n:02d} {FAMILY[n + 10]}{suffix}", f"referrer{n:02d}",
                                              "referrer", agency, panel=panel))
            staff["observer"] = add(f"Olly Observer{suffix}", "observer", "observer", 23, panel=panel)
        self.panels_and_settings(created)
        w = Writer(self.conn, m.User, ["id", "name", "email", "password_hash", "role", "agency_id", "is_deputy",
                                       "active", "created_at", "password_changed_at", "panel_id"])
        for uid, (name, email, role, agency, deputy, panel) in enumerate(users, start=1):
            w.add((uid, name, email, password_hash, role, agency, int(deputy), 1, created, created, panel))
        w.flush()
        w = Writer(self.conn, m.UserPanel, ["user_id", "panel_id", "granted_by_id", "granted_at"])
        for panel in range(2, len(self.sizes) + 1):
            for user in [*self.reps.values(), *deputies]:
                w.add((user, panel, self.staff[panel]["coordinator"], created))
        w.flush()
        self.users = {uid: (name, role, agency) for uid, (name, _e, role, agency, _d, _p) in enumerate(users, start=1)}
        self.use_panel(1)
        self.facts["users"] = {
            "password": BENCH_PASSWORD,
            "coordinator": [users[self.coordinator - 1][1]],
            "chair": [users[self.chair - 1][1]],
            "representative": [users[self.reps[a] - 1][1] for a in self.member_agencies],
            "referrer": [users[u - 1][1] for u in self.referrers],
            "observer": [users[self.observer - 1][1]],
        }

    def panels_and_settings(self, created: str) -> None:
        """The panels after the first (which the migration made) and, with several, each panel's name setting."""
        if len(self.sizes) == 1:
            return
        w = Writer(self.conn, self.m.Panel, ["id", "name", "panel_type", "preset", "created_at"])
        for panel in range(2, len(self.sizes) + 1):
            w.add((panel, panel_name(panel), "domestic_abuse", "", created))
        w.flush()
        self.conn.execute('UPDATE "panel" SET "name" = ? WHERE "id" = 1', (panel_name(1),))
        w = Writer(self.conn, self.m.PanelSetting, ["panel_id", "key", "value", "updated_at", "updated_by"])
        for panel in range(1, len(self.sizes) + 1):
            w.add((panel, "panel_name", json.dumps(panel_name(panel)), created, None))
        w.flush()

    def use_panel(self, panel: int) -> None:
        """Generate into this panel from here on: its staff, size, random stream and facts."""
        self.panel_id = panel
        staff = self.staff[panel]
        self.coordinator, self.chair = staff["coordinator"], staff["chair"]
        self.referrers, self.observer = staff["referrers"], staff["observer"]
        self.n_cases = self.sizes[panel - 1]
        self.rng = random.Random(panel_seed(panel, self.seed))
        self.facts = self.main_facts if panel == 1 else {}

    def _risk_pool(self) -> list[tuple]:
        """64 answer sets with their score, band and verdict (scored by marac.risk, as the form does)."""
        from marac.referrals import effective_threshold, verdict_to_dict
        from marac.risk import DASH, DONT_KNOW, NO, YES, PanelRules, ReferralFacts, evaluate, score

        rng = random.Random(3)
        self.instrument_json = json.dumps(DASH.to_dict(), separators=(",", ":"))
        pool = []
        for _ in range(64):
            yes_share = rng.uniform(0.6, 0.95)  # most heard cases score 14+ on the DASH
            answers = {item.id: (YES if rng.random() < yes_share else rng.choice([NO, NO, DONT_KNOW])).value
                       for item in DASH.items}
            result = score(DASH, answers)
            verdict = evaluate(PanelRules(), ReferralFacts(referral_date=date(2026, 1, 5), score=result,
                                                           subject_age=30, in_area=True))
            rules = PanelRules()
            verdict_json = json.dumps(verdict_to_dict(verdict, result, effective_threshold(rules, result), rules))
            band = result.band.name if result.band else ""
            pool.append((json.dumps(answers), result.total, band, int(bool(result.threshold_met)),
                         verdict_json, ",".join(verdict.met_keys())))
        return pool

    # -- helpers ------------------------------------------------------------------------------------

    def audit_row(self, at: datetime, user: int | None, action: str, object_type: str = "", object_id="",
                  detail: str = "") -> None:
        if at <= self.now:
            self.audit.append((ts(at), user, action, object_type, str(object_id), detail, self.panel_id))

    def rep_of(self, agency: int) -> int:
        return self.reps.get(agency, self.coordinator)

    def person(self, w, role: str, rng: random.Random, at: datetime, family: str | None = None) -> tuple[int, dict]:
        self.ids["person"] += 1
        pid = self.ids["person"]
        if role == "victim":
            sex = "female" if rng.random() < 0.9 else "male"
            age = rng.randint(17, 70)
        elif role == "perpetrator":
            sex = "male" if rng.random() < 0.9 else "female"
            age = rng.randint(17, 70)
        else:
            sex = rng.choice(["female", "male"])
            age = rng.randint(0, 15)
        given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
        family = family or rng.choice(FAMILY)
        dob = date(self.now.year - age, rng.randint(1, 12), rng.randint(1, 28))
        street = f"{rng.randint(1, 240)} {rng.choice(STREETS)}, Anytown"
        postcode = f"AT{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                   f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        adult = role != "child"
        ethnicity = rng.choice(ETHNICITIES)
        disability = "yes" if rng.random() < 0.12 else "no"
        w.add((pid, given, family, name_key(given, family), dob.isoformat(), street, postcode,
               postcode.replace(" ", ""), sex, "same" if adult else "", "heterosexual" if adult else "",
               ethnicity if adult else "", disability if adult else "", ts(min(at, self.now)), self.panel_id))
        # The person as the referral form stores it (marac.referrals.PERSON_KEYS).
        return pid, {"ref": f"{role[0]}{pid}", "role": role, "given_name": given, "family_name": family,
                     "aliases": "", "date_of_birth": dob.isoformat(), "address": street, "postcode": postcode,
                     "lives_in_area": "yes" if role == "victim" else "", "sex": sex,
                     "gender_identity": "same" if adult else "", "sexual_orientation": "heterosexual" if adult else "",
                     "ethnicity": ethnicity if adult else "", "disability": disability if adult else "",
                     "school": "" if adult else "Anytown Primary School", "pregnant": False}

    # -- the cycle -----------------------------------------------------------------------------------

    def build(self) -> dict:
        """Every panel's history, then the one audit chain of the database; returns panel 1's facts."""
        for panel in range(1, len(self.sizes) + 1):
            self.use_panel(panel)
            self.build_panel()
        self.use_panel(1)
        self.write_audit()
        if len(self.sizes) > 1:
            self.facts["panels"] = {"count": len(self.sizes), "cases": self.sizes, "measured": 1,
                                    "names": [panel_name(p) for p in range(1, len(self.sizes) + 1)]}
        self.facts["counts"] = {t: self.conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in (
            "person", "case", "referral", "meeting", "listing", "research", "note", "action", "action_update",
            "audit_event")}
        return self.facts

    def build_panel(self) -> None:
        """One panel's meetings, cases, inbox, notes, research and actions (its audit rows are kept for the chain)."""
        m, rng, now = self.m, self.rng, self.now
        conn = self.conn
        n_meetings = max(2, math.ceil(self.n_cases / NEW_PER_MEETING))
        first_mid = self.ids["meeting"]  # meeting ids go on from the panel before
        self.ids["meeting"] += n_meetings
        # The latest meeting is under way: it started an hour ago and has heard its first cases.
        running = (now - timedelta(hours=1)).replace(minute=now.minute // 15 * 15, second=0)
        meeting_dates = [running - MEETING_EVERY * (n_meetings - 1 - i) for i in range(n_meetings)]
        self.running_mid = first_mid + n_meetings
        self.running_starts = running
        self.w_record = Writer(conn, m.MeetingRecord, ["meeting_id", "started_at", "ended_at", "statement",
                                                       "current_listing_id", "notes", "minutes_json", "updated_at"])
        self.w_attendance = Writer(conn, m.Attendance, [
            "meeting_id", "agency_id", "user_id", "name", "capacity", "status", "written_info", "time_in",
            "time_out", "last_listing_id", "agreed_at", "agreed_recorded_by_id", "recorded_by_id", "created_at",
            "updated_at"])
        self.w_discussion = Writer(conn, m.CaseDiscussion, [
            "listing_id", "risk_victim", "risk_children", "victim_views", "summary", "decision",
            "returns_for_review", "children", "started_at", "ended_at", "updated_at", "updated_by_id"])
        self.w_shared = Writer(conn, m.SharedInfo, ["listing_id", "agency_id", "text", "updated_at",
                                                    "updated_by_id"])
        self.w_person = Writer(conn, m.Person, ["id", "given_name", "family_name", "name_key", "date_of_birth",
                                                "address", "postcode", "postcode_key", "sex", "gender_identity",
                                                "sexual_orientation", "ethnicity", "disability", "created_at",
                                                "panel_id"])
        self.w_case_person = Writer(conn, m.CasePerson, ["case_id", "person_id", "role", "added_at"])
        self.w_referral = Writer(conn, m.Referral, [
            "id", "author_id", "agency_id", "status", "case_id", "created_at", "updated_at", "submitted_at", "data",
            "instrument_id", "instrument_version", "instrument_json", "answers", "score_total", "band",
            "threshold_met", "verdict", "criteria_met", "is_repeat", "professional_judgement", "qa_status",
            "decided_by_id", "decided_at", "decision_reason", "panel_id"])
        self.w_referral_person = Writer(conn, m.ReferralPerson, ["referral_id", "person_id", "role", "position"])
        self.w_listing = Writer(conn, m.Listing, ["id", "meeting_id", "case_id", "referral_id", "kind", "position",
                                                  "is_repeat", "is_review", "minutes_estimate", "listed_by_id",
                                                  "created_at"])
        w_meeting = Writer(conn, m.Meeting, ["id", "starts_at", "venue", "kind", "status", "referral_deadline",
                                             "circulation_due", "minutes_due", "circulated_at", "agenda_version",
                                             "minutes_signed_off_at", "minutes_signed_off_by_id", "minutes_sent_at",
                                             "created_at", "panel_id"])
        showcase_index = max(0, n_meetings - 13)
        recent: list[int] = []  # cases heard in the last year, for returning listings
        for index, starts in enumerate(meeting_dates):
            mid = first_mid + index + 1
            held = starts < now and mid != self.running_mid
            self._meeting_listings = []
            circulated = starts - timedelta(days=7)
            w_meeting.add((mid, ts(starts), "Anytown Civic Centre, Room 2", "regular", "held" if held else "planned",
                           ts(starts - timedelta(days=12, hours=-7)), ts(circulated.replace(hour=12)),
                           (starts + timedelta(days=8)).date().isoformat(),
                           ts(circulated.replace(hour=11)) if circulated < now else None, 1,
                           ts(starts + timedelta(days=3)) if held else None, self.chair if held else None,
                           ts(starts + timedelta(days=5)) if held and starts + timedelta(days=5) < now else None,
                           ts(starts - timedelta(days=60)), self.panel_id))
            new = NEW_PER_MEETING if index > 0 else self.n_cases - NEW_PER_MEETING * (n_meetings - 1)
            position = 0
            if index == showcase_index:
                position += 1
                self.facts["timeline_case_id"] = self.showcase_case(mid, starts, position)
                new -= 1
            returning_slots = RETURNING_PER_MEETING
            if index > showcase_index and (index - showcase_index) % 2 == 0:
                position += 1
                returning_slots -= 1
                self.listing(mid, self.facts["timeline_case_id"], None, starts, position, review=True,
                             rng=random.Random(f"showcase-{index - showcase_index}"))
            returning = rng.sample(recent, min(len(recent), returning_slots))
            for case_id in returning:
                position += 1
                repeat = rng.random() < 0.65
                referral = self.referral(case_id, self.cases[case_id][4], starts, repeat=True) if repeat else None
                self.listing(mid, case_id, referral, starts, position, review=not repeat, repeat=repeat, rng=rng)
            for _ in range(new):
                position += 1
                case_id = self.new_case(mid, starts, position)
                recent.append(case_id)
            recent = [c for c in recent if self.cases[c][3] > starts - timedelta(days=365)][-800:]
            self.meeting_record(mid, starts)
        w_meeting.flush()
        for w in (self.w_record, self.w_attendance, self.w_discussion, self.w_shared):
            w.flush()
        self.facts["board_meeting_id"] = self.running_mid
        self.facts["run_meeting_id"] = self.running_mid
        self.facts["meetings"] = n_meetings
        self.inbox()
        for w in (self.w_person, self.w_case_person, self.w_referral, self.w_referral_person, self.w_listing):
            w.flush()
        self.write_cases()
        self.write_research()
        self.write_notes()
        self.write_actions()

    def new_case(self, mid: int, starts: datetime, position: int, rng: random.Random | None = None,
                 notes: int | None = None, actions: int | None = None) -> int:
        rng = rng or self.rng
        self.ids["case"] += 1
        case_id = self.ids["case"]
        at = starts - timedelta(days=30)
        victim = self.person(self.w_person, "victim", rng, at)
        perpetrator = self.person(self.w_person, "perpetrator", rng, at)
        people = [victim, perpetrator]
        kids = rng.choices([0, 1, 2, 3], weights=[45, 25, 20, 10])[0]
        for _ in range(kids):
            people.append(self.person(self.w_person, "child", rng, at, family=victim[1]["family_name"]))
        lead = rng.choices([POLICE, IDVA, 3, 4, 5], weights=[50, 30, 7, 8, 5])[0]
        # [number, lead agency, opened_at, last listed, people, is_repeat, first meeting date, notes, actions]
        self.cases[case_id] = [f"MC{case_id:06d}", lead, None, starts, people, False, starts, notes, actions]
        referral = self.referral(case_id, people, starts, repeat=False, rng=rng)
        opened = self._referral_decided
        self.cases[case_id][2] = opened
        for pid, info in people:
            self.w_case_person.add((case_id, pid, info["role"], ts(opened)))
        self.audit_row(opened, self.coordinator, "case.create", "case", case_id)
        self.listing(mid, case_id, referral, starts, position, rng=rng)
        return case_id

    def referral(self, case_id: int | None, people: list, starts: datetime, repeat: bool,
                 rng: random.Random | None = None, status: str = "accepted", submitted: datetime | None = None,
                 qa: str = "", author: int | None = None) -> int:
        rng = rng or self.rng
        self.ids["referral"] += 1
        rid = self.ids["referral"]
        author = author or rng.choice(self.referrers)
        agency = self.users[author][2]
        if submitted is None:
            submitted = starts - timedelta(days=rng.randint(9, 30), hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
        created = submitted - timedelta(hours=rng.randint(1, 48))
        decided = submitted + timedelta(days=rng.randint(1, 3)) if status in ("accepted", "declined") else None
        self._referral_decided = decided or submitted
        answers, total, band, met, verdict, criteria = rng.choice(self._answer_pool)
        if status == "draft":  # a half-filled checklist; nothing frozen yet
            answers = json.dumps(dict(list(json.loads(answers).items())[:12]))
            total, band, met, verdict, criteria, instrument_json = None, "", 0, "{}", "", ""
        else:
            instrument_json = self.instrument_json
        ordered = [info for _pid, info in people if info["role"] == "victim"] \
            + [info for _pid, info in people if info["role"] == "child"] \
            + [info for _pid, info in people if info["role"] == "perpetrator"]
        children = any(info["role"] == "child" for info in ordered)
        data = {
            "people": ordered,
            "has_children": "yes" if children else "no",
            "safe_contact": {"phone": "07700 900123", "times": "Weekday mornings, text first", "safe_to_post": "no",
                             "safe_address": "", "notes": ""},
            "consent": {"status": "given", "reason": ""},
            "barriers": {"interpreter": "no", "language": "", "disability_needs": "", "other": ""},
            "incident": {"date": (submitted.date() - timedelta(days=3)).isoformat(),
                         "description": rng.choice(NOTE_TEXTS), "background": rng.choice(NOTE_TEXTS),
                         "police_reference": f"AT/{rid:07d}"},
            "current_risk": rng.choice(NOTE_TEXTS),
            "actions_taken": "Safety planning done; DASH completed with the victim; police informed.",
            "checklist": {"source": ""},
            "criteria": {"professional_judgement": qa != "", "professional_judgement_reason":
                         "Escalating controlling behaviour not shown by the score." if qa else "",
                         "incidents_last_12_months": rng.randint(1, 6), "escalating": rng.random() < 0.4,
                         "honour_based_violence": False, "forced_marriage": False, "fgm": False,
                         "serious_incident": "yes"},
        }
        self.w_referral.add((
            rid, author, agency, status, case_id, ts(created), ts(decided or submitted),
            ts(submitted) if status != "draft" else None, json.dumps(data), "dash", 1, instrument_json,
            answers, total, band, met, verdict, criteria, int(repeat), int(qa != ""), qa,
            self.coordinator if decided else None, ts(decided) if decided else None,
            "Not a domestic abuse case: referred to the community MARAC instead" if status == "declined" else "",
            self.panel_id))
        for position, (pid, info) in enumerate(people if status != "draft" else ()):
            self.w_referral_person.add((rid, pid, info["role"], position))
        self.audit_row(created, author, "referral.create", "referral", rid)
        if status != "draft":
            self.audit_row(submitted, author, "referral.submit", "referral", rid)
        if decided:
            self.audit_row(decided - timedelta(minutes=20), self.coordinator, "referral.view", "referral", rid)
            self.audit_row(decided, self.coordinator, f"referral.{'accept' if status == 'accepted' else 'decline'}",
                           "referral", rid)
        if case_id is not None and repeat:
            self.cases[case_id][5] = True
        if status == "accepted" and rng.random() < 0.08:
            self.referral(None, people, starts, False, rng, status="declined")  # a look-alike that was declined
            self._referral_decided = decided or submitted
        return rid

    def listing(self, mid: int, case_id: int, referral: int | None, starts: datetime, position: int,
                review: bool = False, repeat: bool = False, rng: random.Random | None = None) -> int:
        rng = rng or self.rng
        self.ids["listing"] += 1
        lid = self.ids["listing"]
        listed = min(self._referral_decided if referral else starts - timedelta(days=10), self.now)
        self.w_listing.add((lid, mid, case_id, referral, "full", position, int(repeat), int(review),
                            15 if self.cases[case_id][4][2:] else 10, self.coordinator, ts(listed)))
        self.audit_row(listed, self.coordinator, "listing.create", "listing", lid)
        case = self.cases[case_id]
        case[3] = max(case[3], starts)
        heard = starts < self.now and (mid != self.running_mid or position <= RUNNING_HEARD)
        # Research: complete for every meeting held or under way.
        agencies = rng.sample(self.member_agencies, rng.randint(4, 9))
        self._meeting_listings.append((lid, position, agencies, heard, bool(self.cases[case_id][4][2:])))
        for agency in agencies:
            at = min(starts - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6)), self.now)
            nothing = rng.random() < 0.3
            text = "" if nothing else rng.choice(RESEARCH_TEXTS)
            self.research.append((ts(at), lid, agency, self.rep_of(agency), text,
                                  "" if nothing else rng.choice(RESEARCH_TEXTS), "", int(nothing), 0))
        for _ in range(rng.randint(2, 4)):
            viewer = rng.choice([self.coordinator, self.chair, *rng.sample(list(self.reps.values()), 2)])
            self.audit_row(starts - timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 9)), viewer,
                           "case.view", "case", case_id)
        if heard:
            count = case[8] if case[8] is not None else rng.choices([3, 4, 5, 6], weights=[20, 35, 30, 15])[0]
            if case[8] is not None:
                case[8] = 0  # the showcase case's actions are all agreed at its first hearing
            for _ in range(count):
                key, text = rng.choice(ACTION_TEXTS)
                owner = rng.choice(self.member_agencies[:15])
                self.actions.append((min(starts + timedelta(minutes=10 * position + rng.randint(0, 9)), self.now),
                                     case_id, lid, owner, text, key, rng))
            self.audit_row(starts + timedelta(minutes=10 * position), self.coordinator, "case.view", "case", case_id)
        return lid

    def meeting_record(self, mid: int, starts: datetime) -> None:
        """The record of a meeting held or under way: attendance, each case heard, what agencies shared."""
        if starts >= self.now:
            return
        rng = self.rng
        running = mid == self.running_mid
        ends = None if running else starts + timedelta(minutes=10 * len(self._meeting_listings) + 15)
        heard = [entry for entry in self._meeting_listings if entry[3]]
        current = next((lid for lid, _p, _a, was_heard, _c in self._meeting_listings if not was_heard), None)
        self.w_record.add((mid, ts(starts + timedelta(minutes=2)), ts(ends) if ends else None,
                           "Everything shared at this meeting is confidential and for MARAC purposes only.",
                           current if running else None, "", "", ts(ends or self.now)))
        last = heard[-1][0] if heard else None
        present = [(COUNCIL_CS, self.coordinator, "coordinator"), (POLICE, self.chair, "chair")]
        present += [(a, self.reps[a], "representative") for a in rng.sample(self.member_agencies, 14)]
        for agency, user, capacity in present:
            name = self.users[user][0]
            self.w_attendance.add((mid, agency, user, name, capacity, "present", 0, ts(starts),
                                   ts(ends) if ends else None, last, ts(starts + timedelta(minutes=1)),
                                   self.coordinator, self.coordinator, ts(starts), ts(ends or starts)))
        for lid, position, agencies, _heard, children in heard:
            began = starts + timedelta(minutes=10 * position)
            self.w_discussion.add((lid, rng.choice(NOTE_TEXTS), rng.choice(NOTE_TEXTS) if children else "",
                                   "The victim wants the police to keep her informed.", rng.choice(NOTE_TEXTS),
                                   "actions", int(rng.random() < 0.2), int(children), ts(began),
                                   ts(began + timedelta(minutes=9)), ts(began + timedelta(minutes=9)),
                                   self.coordinator))
            for agency in agencies:
                self.w_shared.add((lid, agency, rng.choice(RESEARCH_TEXTS), ts(began + timedelta(minutes=5)),
                                   self.coordinator))

    def showcase_case(self, mid: int, starts: datetime, position: int) -> int:
        """The case with a long timeline: the same at every size (its own random stream)."""
        rng = random.Random(panel_seed(self.panel_id, "showcase"))
        return self.new_case(mid, starts, position, rng=rng, notes=150, actions=35)

    def inbox(self) -> None:
        """What waits for the coordinator now: new referrals, quality assurance, referrers' drafts."""
        rng = random.Random(panel_seed(self.panel_id, "inbox"))
        for n in range(30):
            people = [self.person(self.w_person, "victim", rng, self.now),
                      self.person(self.w_person, "perpetrator", rng, self.now)]
            submitted = self.now - timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 10))
            self.referral(None, people, self.now, False, rng, status="submitted", submitted=submitted,
                          qa="pending" if n < 5 else "")
        # One draft per referrer (the referral form and its live score are measured on these).
        self.facts["drafts"] = {}
        for author in self.referrers:
            people = [self.person(self.w_person, "victim", rng, self.now)]
            rid = self.referral(None, people, self.now, False, rng, status="draft",
                                submitted=self.now - timedelta(days=rng.randint(0, 20)), author=author)
            self.facts["drafts"][panel_email(self.panel_id, f"referrer{self.referrers.index(author) + 1:02d}")] = rid
        self.facts["search"] = {"name": None, "case_number": None}

    # -- the streams written after the walk ------------------------------------------------------------

    def write_cases(self) -> None:
        m, now = self.m, self.now
        w = Writer(self.conn, m.Case, ["id", "number", "status", "opened_at", "closed_at", "close_reason",
                                       "lead_agency_id", "closed_session", "is_repeat", "review_date", "flag_until",
                                       "updated_at", "panel_id"])
        w_event = Writer(self.conn, m.CaseEvent, ["case_id", "user_id", "agency_id", "at", "kind", "reason", "text"])
        rng = random.Random(panel_seed(self.panel_id, 5))
        for case_id, (number, lead, opened, last, _people, repeat, _first, notes, _a) in self.cases.items():
            closed = None
            if last >= self.running_starts:
                status = "listed"
            elif last > now - timedelta(days=180):
                status = "review" if rng.random() < 0.2 else "heard"
            else:
                status = "closed"
                closed = last + timedelta(days=rng.randint(60, 150))
                w_event.add((case_id, self.coordinator, COUNCIL_CS, ts(closed), "closed", "risk_reduced",
                             "Closed at review: risk reduced, actions completed."))
                self.audit_row(closed, self.coordinator, "case.close", "case", case_id)
            w.add((case_id, number, status, ts(opened), ts(closed) if closed else None,
                   "risk_reduced" if closed else "", lead, 0, int(repeat),
                   (last + timedelta(days=182)).date().isoformat() if not closed else None,
                   (last + timedelta(days=365)).date().isoformat(), ts(closed or last), self.panel_id))
            # Notes: about ten over the life of the case, by the agencies working it.
            count = notes if notes is not None else rng.randint(5, 15)
            end = min(now, (closed or last + timedelta(days=150)))
            span = max(60, int((end - opened).total_seconds()))
            note_rng = random.Random(f"notes-{case_id}") if notes is not None else rng
            for _ in range(count):
                at = opened + timedelta(seconds=note_rng.randint(0, span))
                if at > now:
                    at = now - timedelta(minutes=note_rng.randint(1, 600))
                agency = note_rng.choice([lead, lead, POLICE, IDVA, *self.member_agencies[:12]])
                self.notes.append((ts(at), case_id, self.rep_of(agency), agency, note_rng.choice(NOTE_CATEGORIES),
                                   note_rng.choice(NOTE_TEXTS), int(note_rng.random() < 0.05)))
        w.flush()
        w_event.flush()
        showcase = self.cases[self.facts["timeline_case_id"]]
        victim = showcase[4][0][1]
        self.facts["search"] = {"name": f"{victim['given_name']} {victim['family_name']}",
                                "family_name": victim["family_name"], "case_number": showcase[0],
                                "postcode": victim["postcode"], "date_of_birth": victim["date_of_birth"]}
        self.facts["cases"] = len(self.cases)
        self.cases.clear()

    def write_research(self) -> None:
        w = Writer(self.conn, self.m.Research, ["id", "listing_id", "agency_id", "user_id", "victim_info",
                                                "perpetrator_info", "children_info", "nothing_known",
                                                "written_submission", "created_at", "updated_at"])
        self.research.sort(key=lambda r: r[0])
        first = self.ids["research"] + 1
        self.ids["research"] += len(self.research)
        for rid, (at, lid, agency, user, victim, perp, children, nothing, written) in enumerate(self.research, first):
            w.add((rid, lid, agency, user, victim, perp, children, nothing, written, at, at))
            self.audit.append((at, user, "research.save", "research", str(rid), "", self.panel_id))
        w.flush()
        self.research = []

    def write_notes(self) -> None:
        w = Writer(self.conn, self.m.Note, ["id", "case_id", "author_id", "agency_id", "category", "text",
                                            "restricted", "created_at"])
        self.notes.sort(key=lambda r: r[0])
        first = self.ids["note"] + 1
        self.ids["note"] += len(self.notes)
        for nid, (at, case_id, author, agency, category, text, restricted) in enumerate(self.notes, first):
            w.add((nid, case_id, author, agency, category, text, restricted, at))
            self.audit.append((at, author, "note.create", "note", str(nid), "", self.panel_id))
        w.flush()
        self.notes = []

    def write_actions(self) -> None:
        now = self.now
        w = Writer(self.conn, self.m.Action, ["id", "case_id", "listing_id", "owner_agency_id", "description",
                                              "due_date", "priority", "status", "standard_key", "created_by_id",
                                              "created_at", "completed_at", "completed_by_id", "completion_note",
                                              "cannot_reason", "last_chased_at", "panel_id"])
        updates = []
        self.actions.sort(key=lambda r: r[0])
        first = self.ids["action"] + 1
        self.ids["action"] += len(self.actions)
        for aid, (created, case_id, lid, owner, text, key, rng) in enumerate(self.actions, first):
            due = (created + timedelta(days=14)).date()
            rep = self.rep_of(owner)
            status, completed, chased = "open", None, None
            overdue_for = (now.date() - due).days
            roll = rng.random()
            if overdue_for > 90:  # long past: completed, or closed as not possible
                status = "done" if roll < 0.97 else "cannot"
            elif overdue_for > 7:  # some stay open and overdue, to be chased and carried
                status = "done" if roll < 0.85 else ("cannot" if roll < 0.9 else "open")
            elif roll < 0.3:
                status = "done"
            if status != "open":
                completed = min(now.date(), due - timedelta(days=rng.randint(-5, 10)), )
                completed = max(completed, created.date())
            elif overdue_for > 0:
                chased = created + timedelta(days=16)
            w.add((aid, case_id, lid, owner, text, due.isoformat(), "high" if rng.random() < 0.1 else "normal",
                   status, key, self.coordinator, ts(created), completed.isoformat() if completed else None,
                   rep if completed else None, "Done." if status == "done" else "",
                   "no_contact" if status == "cannot" else "", ts(chased) if chased and chased < now else None,
                   self.panel_id))
            self.audit.append((ts(created), self.coordinator, "action.create", "action", str(aid), "", self.panel_id))
            updates.append((ts(created), aid, self.coordinator, "created", ""))
            if completed:
                at = datetime.combine(completed, datetime.min.time()) + timedelta(hours=11)
                at = min(at, now)
                updates.append((ts(at), aid, rep, "completed" if status == "done" else "cannot", ""))
                self.audit.append((ts(at), rep, f"action.{'complete' if status == 'done' else 'cannot'}", "action",
                                   str(aid), "", self.panel_id))
            if chased and chased < now:
                updates.append((ts(chased), aid, self.coordinator, "chased", ""))
                self.audit.append((ts(chased), self.coordinator, "action.chase", "action", str(aid), "",
                                   self.panel_id))
        w.flush()
        self.actions = []
        updates.sort(key=lambda r: r[0])
        w = Writer(self.conn, self.m.ActionUpdate, ["action_id", "user_id", "at", "kind", "text"])
        for at, aid, user, kind, text in updates:
            w.add((aid, user, at, kind, text))
        w.flush()

    def write_audit(self) -> None:
        """The audit log in time order, hash-chained exactly as marac.audit writes it. With several panels each
        event carries its panel (audit_event.panel_id, m1110, part of the hash when set); with one it stays
        None, as before."""
        from marac.audit import GENESIS, row_hash

        self.audit.sort(key=lambda r: r[0])
        columns = ["id", "at", "user_id", "user_name", "role", "agency_id", "action", "object_type", "object_id",
                   "detail", "ip", "request_id", "prev_hash", "hash"]
        table_columns = {row[1] for row in self.conn.execute('PRAGMA table_info("audit_event")')}
        with_panel = len(self.sizes) > 1 and "panel_id" in table_columns
        w = Writer(self.conn, self.m.AuditEvent, columns + (["panel_id"] if with_panel else []))
        prev = GENESIS
        rng = random.Random(9)
        for aid, (at, user, action, object_type, object_id, detail, panel) in enumerate(self.audit, 1):
            name, role, agency = self.users.get(user, ("", "", None))
            row = {"at": datetime.fromisoformat(at), "user_id": user, "user_name": name, "role": role,
                   "agency_id": agency, "action": action, "object_type": object_type, "object_id": object_id,
                   "detail": detail, "ip": f"10.20.{rng.randint(0, 9)}.{rng.randint(2, 250)}",
                   "request_id": f"{rng.getrandbits(128):032x}", "prev_hash": prev,
                   "panel_id": panel if with_panel else None}
            digest = row_hash(row)
            w.add((aid, at, user, name, role, agency, action, object_type, object_id, detail, row["ip"],
                   row["request_id"], prev, digest) + ((panel,) if with_panel else ()))
            prev = digest
        w.flush()
        self.audit = []


# --- the generation run ----------------------------------------------------------------------------------

LOADED_TABLES = ("person", "case_person", "case", "referral", "referral_person", "listing", "meeting", "research",
                 "note", "action", "action_update", "audit_event", "case_event", "meeting_record", "attendance",
                 "case_discussion", "shared_info")


def generate(path: Path, cases: int, quiet: bool = False, now: datetime | None = None, panels: int = 1) -> dict:
    """Build a borough of `cases` cases (spread over `panels` panels) into a new database file at `path`;
    return its facts (panel 1's ids and users)."""
    from marac import clock, passwords
    from marac.db import db, init_db

    started = time.perf_counter()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    path = Path(path)
    init_db(f"sqlite:///{path}")  # the app's own migrations make the schema
    db.close()
    now = (now or clock.now()).replace(microsecond=0)
    password_hash = passwords.hash_password(BENCH_PASSWORD)  # argon2id once, shared by every bench user

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=DELETE", "journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                   "cache_size=-1000000", "temp_store=MEMORY", "foreign_keys=OFF"):
        conn.execute(f"PRAGMA {pragma}")
    placeholders = ",".join("?" * len(LOADED_TABLES))
    indexes = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                           f"AND tbl_name IN ({placeholders})", LOADED_TABLES).fetchall()
    conn.execute("BEGIN")
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    borough = Borough(conn, cases, now, panels=panels)
    borough.agencies_and_users(password_hash)
    say(f"[generate {cases}] walking {sum(max(2, math.ceil(n / NEW_PER_MEETING)) for n in borough.sizes)} meetings "
        f"in {panels} panel{'s' if panels != 1 else ''} ...")
    facts = borough.build()
    say(f"[generate {cases}] rows written in {time.perf_counter() - started:.0f}s; rebuilding indexes ...")
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    problems = conn.execute("PRAGMA foreign_key_check").fetchmany(5) if cases <= 10000 else []
    if problems:
        raise RuntimeError(f"generated rows break foreign keys: {problems}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    facts.update({"size": cases, "fingerprint": fingerprint(panels), "generated_at": now.isoformat(),
                  "generation_seconds": round(time.perf_counter() - started, 1),
                  "bytes": path.stat().st_size})
    say(f"[generate {cases}] done in {facts['generation_seconds']}s, {facts['bytes'] / 2**20:.0f} MB: "
        f"{facts['counts']}")
    return facts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate (or refresh) the cached benchmark boroughs.")
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES), help="cases (default: 1000 10000 100000)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is fresh")
    parser.add_argument("--panels", type=int, default=1, help="spread the cases over this many panels (default 1)")
    args = parser.parse_args(argv)
    for size in args.sizes:
        path, facts = ensure(size, force=args.force, panels=args.panels)
        print(f"{size} cases: {path} ({facts['generation_seconds']}s to build)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
