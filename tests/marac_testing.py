"""Shared test helpers (a uniquely named module, importable from any test folder)."""
import itertools
from datetime import datetime, timedelta

from marac import passwords
from marac.models import Agency, User

TEST_PASSWORD = "correct-horse-battery-42"
_hash_cache = {}
_counter = itertools.count(1)


def password_hash() -> str:
    """argon2id is slow on purpose: hash the shared test password once per run."""
    if "h" not in _hash_cache:
        _hash_cache["h"] = passwords.hash_password(TEST_PASSWORD)
    return _hash_cache["h"]


class Clock:
    """A movable clock: tests call advance() instead of sleeping."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **kwargs):
        self.current += timedelta(**kwargs)


def make_agency(name=None, kind="core", **kw) -> Agency:
    return Agency.create(name=name or f"Agency {next(_counter)}", kind=kind, **kw)


def make_user(role="representative", agency=None, email=None, **kw) -> User:
    agency = agency or make_agency()
    n = next(_counter)
    return User.create(name=kw.pop("name", f"Test User {n}"), email=email or f"user{n}@example.test", role=role,
                       agency=agency, password_hash=kw.pop("password_hash", None) or password_hash(), **kw)


def make_referral(author=None, people=(), status="submitted", submitted_at=None, data=None, **kw):
    """A referral as submit() leaves it (issue 4's inbox tests); people is a list of (Person, role).

    Fictional data only. `data` is merged into Referral.data (the form as typed)."""
    import json

    from marac.models import Referral, ReferralPerson

    author = author or make_user(role="referrer")
    body = {"people": [{"role": role, "given_name": p.given_name, "family_name": p.family_name,
                        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else "",
                        "postcode": p.postcode} for p, role in people]}
    body.update(data or {})
    kw.setdefault("agency", author.agency_id)
    kw.setdefault("threshold_met", True)
    if status != "draft" and "instrument_json" not in kw:
        from marac.risk import DASH

        kw.update(instrument_id=DASH.id, instrument_version=DASH.version, instrument_json=json.dumps(DASH.to_dict()))
    if submitted_at is None and status != "draft":
        submitted_at = datetime(2026, 11, 2, 8, 0, 0)
    referral = Referral.create(author=author, status=status, submitted_at=submitted_at, data=json.dumps(body), **kw)
    for position, (person, role) in enumerate(people):
        ReferralPerson.create(referral=referral, person=person, role=role, position=position)
    return referral


def login(client, user, password=TEST_PASSWORD, follow=False):
    return client.post("/login", data={"email": user.email, "password": password}, follow_redirects=follow)


# --- case record factories (issue 7) ------------------------------------------------------------


def make_person(given_name="Alex", family_name=None, date_of_birth=None, postcode="", **kw):
    """A fictional person with the forgiving search keys filled in."""
    from marac.cases import name_key, postcode_key
    from marac.models import Person

    family_name = family_name if family_name is not None else f"Testperson{next(_counter)}"
    return Person.create(given_name=given_name, family_name=family_name, name_key=name_key(given_name, family_name),
                         date_of_birth=date_of_birth, postcode=postcode, postcode_key=postcode_key(postcode), **kw)


def make_case(number=None, people=(), **kw):
    """A case; people is a list of (Person, role)."""
    from marac.models import Case, CasePerson

    case = Case.create(number=number or f"TC-{next(_counter):05d}", **kw)
    for person, role in people:
        CasePerson.create(case=case, person=person, role=role)
    return case


def make_action(case, owner_agency, description="Fictional action for a test", due_date=None, **kw):
    from datetime import date

    from marac.models import Action

    return Action.create(case=case, owner_agency=owner_agency, description=description,
                         due_date=due_date or date(2026, 11, 16), **kw)


def make_note(case, author, text="A fictional note", category="contact", restricted=False, **kw):
    from marac.models import Note

    return Note.create(case=case, author=author, agency=author.agency_id, text=text, category=category,
                       restricted=restricted, **kw)


# --- meetings and agenda factories (issue 5) -------------------------------------------------------


def make_meeting(starts_at=None, kind="regular", **kw):
    """A planned meeting (UK local start) with its deadlines from the panel's default settings."""
    from marac import schedule
    from marac.models import Meeting

    starts_at = starts_at or datetime(2026, 11, 18, 9, 30)
    d = schedule.deadlines(starts_at, schedule.DeadlineRules())
    fields = {"referral_deadline": None if kind == "emergency" else d.referral,
              "circulation_due": None if kind == "emergency" else d.circulation, "minutes_due": d.minutes}
    fields.update(kw)
    return Meeting.create(starts_at=starts_at, kind=kind, **fields)


def make_agenda_case(victim=("Ava", "Testfield"), perpetrator=("Bo", "Testfield"), children=0, number=None,
                     referral=True, agency=None, submitted_at=None, **kw):
    """An accepted case with fictional people (victim, perpetrator, n children) and, by default, its
    accepted referral (keyword arguments starting referral_ go to the referral)."""
    from marac.models import Case, CasePerson, Person, Referral

    ref_kw = {k[len("referral_"):]: kw.pop(k) for k in list(kw) if k.startswith("referral_")}
    case = Case.create(number=number or f"MC-{next(_counter):05d}", **kw)
    people = [(victim, "victim"), (perpetrator, "perpetrator")] + [
        (("Kit", f"Child{i}"), "child") for i in range(children)]
    for name, role in people:
        if name:
            person = Person.create(given_name=name[0], family_name=name[1], name_key=f"{name[0]} {name[1]}".lower())
            CasePerson.create(case=case, person=person, role=role)
    if referral:
        agency = agency or make_agency()
        author = ref_kw.pop("author", None) or make_user(role="referrer", agency=agency)
        Referral.create(author=author, agency=agency, status=ref_kw.pop("status", "accepted"), case=case,
                        submitted_at=submitted_at or datetime(2026, 11, 2, 9, 0), **ref_kw)
    return case


# --- running the meeting (issue 6) -----------------------------------------------------------------


def make_listing(meeting, case, position=None, kind="full", invited=(), **kw):
    """A case on a meeting's agenda (kind full, information or closed; closed: invited agencies)."""
    from marac.models import Listing, ListingInvite

    if position is None:
        position = Listing.select().where(Listing.meeting == meeting.id).count() + 1
    listing = Listing.create(meeting=meeting, case=case, position=position, kind=kind, **kw)
    for agency in invited:
        ListingInvite.create(listing=listing, agency=agency)
    return listing


class CountQueries:
    """with CountQueries() as q: ... then q.sql holds every statement sent to the database meanwhile, and
    q.calls each (statement, parameters), e.g. to EXPLAIN them."""

    def __enter__(self):
        from marac.db import db

        self.sql, self.calls, self._db = [], [], db.obj
        self._original = self._db.execute_sql

        def counting(sql, params=None, *a, **kw):
            self.sql.append(sql)
            self.calls.append((sql, params))
            return self._original(sql, params, *a, **kw)

        self._db.execute_sql = counting
        return self

    def __exit__(self, *exc):
        self._db.execute_sql = self._original
        return False


class AuditWriter:
    """A thread appending audit rows through the app's write path (one transaction each, chained),
    until stop(): the write load of the backup tests. `written` counts the rows, `errors` collects
    what went wrong."""

    def __init__(self):
        import threading

        self.written: list[int] = []
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        from marac import audit
        from marac.db import db

        try:
            with db.connection_context():
                for n in range(5000):  # bounded, whatever happens to the main thread
                    if self._stop.is_set():
                        break
                    with db.atomic():
                        audit.record("test.write", object_type="load", object_id=n)
                    self.written.append(n)
        except Exception as exc:  # noqa: BLE001 reported by the test
            self.errors.append(exc)

    def start(self, at_least: int = 50):
        """Start, and return once `at_least` rows are written."""
        self._thread.start()
        while len(self.written) < at_least and self._thread.is_alive():
            self._stop.wait(0.01)
        return self

    def stop(self) -> bool:
        """Stop; True when the thread ended without an error."""
        self._stop.set()
        self._thread.join(timeout=30)
        return not self.errors and not self._thread.is_alive()
