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
