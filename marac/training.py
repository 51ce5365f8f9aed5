"""Training mode: a fictional borough in its own database, and guided exercises the app checks.

`python app.py --training` serves instance/training.db (never the real database: create_app
forces the file when TRAINING_MODE is on), fills it with a fictional borough the first time,
and prints the training accounts. `python app.py reset-training` rebuilds the starting state
in a scratch file and copies it over the training database with SQLite's backup API, so it
works in seconds whether or not the training server is running (signed-in trainees are simply
asked to sign in again). The passwords stay the same across resets (instance/training-accounts.txt).

Every name, address and event here is invented. Postcodes use the area "AN", which does not
exist in the UK.
"""
import json
import os
import random
import re
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from marac import accounts, audit, clock, demo, passwords
from marac.db import db
from marac.models import (
    Action,
    ActionUpdate,
    Agency,
    AuditEvent,
    Case,
    CasePerson,
    Listing,
    Meeting,
    Note,
    Person,
    Referral,
    ReferralPerson,
    Research,
    User,
)
from marac.panels import current_panel_id
from marac.risk import BUILTIN_INSTRUMENTS, NO, YES, PanelRules, score

TRAINING_DATABASE = "training.db"
ACCOUNTS_FILE = "training-accounts.txt"
DOMAIN = demo.DEMO_DOMAIN
START_ACTION = "training.start"
DONE_ACTION = "training.exercise_done"
INSTRUMENT_ID = "dash"

# Trainee accounts: new representatives of member agencies (name, e-mail local part, agency index
# in demo.AGENCIES). Index 4 is Anytown Housing: the "who has looked" exercise asks about it.
TRAINEES = [
    ("Trainee One", "trainee1", 0),
    ("Trainee Two", "trainee2", 2),
    ("Trainee Three", "trainee3", 3),
    ("Trainee Four", "trainee4", 6),
    ("Trainee Five", "trainee5", 7),
    ("Trainee Six", "trainee6", 8),
]
HOUSING = 4

_VICTIMS = ["Amelia", "Bethany", "Chloe", "Daisy", "Ellie", "Freya", "Grace", "Hannah", "Isla", "Jasmine",
            "Keira", "Lola", "Maisie", "Naomi", "Olivia", "Poppy", "Rosie", "Sophie", "Tilly", "Zara",
            "Aisha", "Bianca", "Carla", "Dana", "Esme", "Fern", "Gemma", "Holly", "Imogen", "Jodie",
            "Kelly", "Leah", "Megan", "Nadia", "Paige", "Ruby", "Sadie", "Tanya", "Vicky", "Wendy"]
_PERPETRATORS = ["Aaron", "Bradley", "Callum", "Darren", "Ethan", "Frankie", "Gavin", "Harvey", "Jake", "Kane",
                 "Lewis", "Mason", "Nathan", "Oscar", "Reece", "Scott", "Tyler", "Wayne", "Dale", "Kieran"]
_CHILDREN = ["Alfie", "Bella", "Charlie", "Darcy", "Evie", "Finley", "Georgia", "Harry", "Ivy", "Jack"]
_FAMILIES = ["Ashgrove", "Bramwell", "Copperfield", "Dunmore", "Elderton", "Fairholme", "Greystone", "Hollins",
             "Ivybridge", "Juniper", "Kingsmere", "Larkspur", "Millbrook", "Northcote", "Oakhurst", "Pennyfeather",
             "Quarrington", "Redmayne", "Sandford", "Thistlewood", "Underhill", "Westbury", "Yewdale", "Ambleside"]
_STREETS = ["Training Street", "Practice Road", "Example Avenue", "Sample Close", "Rehearsal Way", "Drill Lane"]
_INCIDENTS = [
    "Police called by a neighbour after shouting and a smashed window; the victim had bruising to her arm.",
    "The victim reported being followed home from work three times this month and sent repeated messages.",
    "An argument over child contact ended with threats to kill; the perpetrator left before police arrived.",
    "The victim attended A&E with an injury she said was a fall; staff were concerned about her account.",
    "The perpetrator breached bail conditions by attending the address late at night.",
    "The victim disclosed strangulation during an incident last week to her GP.",
]
_NOTES = [
    ("contact", "Spoke to the victim by phone at a safe time; she is staying with her sister for now."),
    ("update", "Locks changed at the address through the sanctuary scheme."),
    ("risk", "The perpetrator has been released from custody; the victim was told by the IDVA."),
    ("update", "School has added the children to its safeguarding list."),
    ("contact", "Home visit completed; no concerns seen for the children today."),
]
_ACTIONS = [
    ("Flag and tag the victim's and perpetrator's records for 12 months.", "flag_tag"),
    ("Place a 'treat all calls as urgent' marker on the address.", "urgent_marker"),
    ("Offer the victim an IDVA and confirm contact within 2 working days.", "idva_referral"),
    ("Check the children's school attendance and share any concerns with the lead agency.", ""),
    ("Assess the victim for the sanctuary scheme (extra locks, door viewer).", ""),
    ("Review the perpetrator's licence conditions and report back to the panel.", ""),
    ("Arrange a joint home visit with the IDVA.", ""),
]


class NotEmpty(RuntimeError):
    """The training database already holds a borough."""


# --- the fictional borough -------------------------------------------------------------------------


@dataclass
class Account:
    email: str
    password: str
    role: str
    agency: str
    name: str


def _new_password() -> str:
    return "-".join(secrets.token_hex(3) for _ in range(4))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def _past(moment: datetime, now: datetime) -> datetime:
    """Seeded work happened before the training starts (exercises count only what comes after)."""
    return min(moment, now - timedelta(hours=1))


def _working_day_before(day: date, n: int) -> date:
    while n > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _account_specs():
    for name, local, role, agency_index, deputy in demo.USERS:
        yield name, local, role, agency_index, deputy
    for name, local, agency_index in TRAINEES:
        yield name, local, "representative", agency_index, False


def fill(known_passwords: dict[str, str] | None = None, known_hashes: dict[str, str] | None = None) -> list[Account]:
    """Create the fictional borough in the (empty) bound database; return its accounts.

    `known_passwords` (e-mail -> password) keeps the passwords of an earlier fill, and
    `known_hashes` (e-mail -> argon2 hash of that same password) saves hashing them again."""
    if User.select().exists() or Agency.select().exists():
        raise NotEmpty("the training database already holds agencies or users")
    known = dict(known_passwords or {})
    specs = list(_account_specs())
    emails = [f"{local}@{DOMAIN}" for _, local, *_ in specs]
    wanted = [known.get(email) or _new_password() for email in emails]
    reuse = {email: h for email, h in (known_hashes or {}).items() if email in known and h}

    def hashed(pair):
        email, password = pair
        return reuse.get(email) or passwords.hash_password(password)

    # argon2 is slow on purpose: reuse the hashes of a reset, hash the rest in threads.
    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = list(pool.map(hashed, zip(emails, wanted, strict=True)))
    rng = random.Random(10)  # noqa: S311 (the same fictional borough every time; not a secret)
    now = clock.now()
    made: list[Account] = []
    with db.atomic():
        agencies = []
        for name, kind, police in demo.AGENCIES:
            agencies.append(accounts.save_agency({
                "name": name, "kind": kind, "is_police": police,
                "isa_signed_on": date(2025, 4, 1) if kind != "referrer" else None,
                "isa_signatory": "Head of service (training)" if kind != "referrer" else "",
                "dpo_contact": f"dpo@{DOMAIN}" if kind != "referrer" else "",
            }))
        users = {}
        for (name, local, role, agency_index, deputy), password, hashed in zip(specs, wanted, hashes, strict=True):
            email = f"{local}@{DOMAIN}"
            user = accounts.save_user({"name": name, "email": email, "role": role, "agency": agencies[agency_index],
                                       "is_deputy": deputy, "active": True})
            User.update(password_hash=hashed, password_changed_at=now).where(User.id == user.id).execute()
            users[local] = user
            made.append(Account(email, password, role, agencies[agency_index].name, name))
        _settings(users["coordinator"])
        _cases(rng, agencies, users, now)
        audit.record(START_ACTION, object_type="training", object_id="borough", user=None,
                     detail={"accounts": len(made)})
    return made


def _settings(coordinator) -> None:
    """The training borough works like Barking and Dagenham: a domestic-abuse MARAC scoring with DASH."""
    from marac import presets

    presets.apply("barking_dagenham", coordinator, panel_name="Anytown MARAC (training)")


def _person(rng, role: str, given: str, family: str, born: date, postcode: str, address: str) -> Person:
    sex = "female" if role == "victim" else "male" if role == "perpetrator" else rng.choice(["female", "male"])
    return Person.create(given_name=given, family_name=family, name_key=_key(given + family), date_of_birth=born,
                         address=address, postcode=postcode, postcode_key=postcode.replace(" ", ""),
                         sex=sex, ethnicity=rng.choice(["white_british", "asian", "black", "mixed", "white_other"]),
                         disability=rng.choice(["no", "no", "no", "yes"]))


def _entry(person: Person, role: str, ref: str, **extra) -> dict:
    entry = {"ref": ref, "role": role, "given_name": person.given_name, "family_name": person.family_name,
             "aliases": "", "date_of_birth": person.date_of_birth.isoformat(), "address": person.address,
             "postcode": person.postcode, "lives_in_area": "yes" if role == "victim" else "", "sex": person.sex,
             "gender_identity": "same" if role in ("victim", "perpetrator") else "",
             "sexual_orientation": "heterosexual" if role in ("victim", "perpetrator") else "",
             "ethnicity": person.ethnicity if role in ("victim", "perpetrator") else "",
             "disability": person.disability if role in ("victim", "perpetrator") else "",
             "school": "", "pregnant": False}
    entry.update(extra)
    return entry


def _meetings(now: datetime) -> list[Meeting]:
    """Four past meetings and two coming ones, three weeks apart, on Tuesdays at 10:00."""
    today = now.date()
    next_day = today + timedelta(days=(1 - today.weekday()) % 7 + 7)  # the Tuesday after next
    made = []
    for offset in (-84, -63, -42, -21, 0, 21):
        day = next_day + timedelta(days=offset)
        starts = datetime.combine(day, time(10, 0))
        past = day < today
        made.append(Meeting.create(
            starts_at=starts, venue="Anytown Civic Centre, Room 2 (training)", kind="regular",
            status="held" if past else "planned",
            referral_deadline=datetime.combine(_working_day_before(day, 8), time(17, 0)),
            circulation_due=datetime.combine(_working_day_before(day, 5), time(12, 0)),
            minutes_due=day + timedelta(days=7),
            circulated_at=datetime.combine(_working_day_before(day, 5), time(11, 0)) if past else None,
            minutes_signed_off_at=starts + timedelta(days=3) if past else None,
            minutes_sent_at=starts + timedelta(days=4) if past else None,
            created_at=starts - timedelta(days=90)))
    return made


def _cases(rng, agencies, users, now: datetime) -> None:
    """About forty cases across past and coming meetings, with referrals, research, actions and notes."""
    instrument = BUILTIN_INSTRUMENTS[INSTRUMENT_ID]
    rules = PanelRules(instrument_id=INSTRUMENT_ID)
    meetings = _meetings(now)
    past, coming = meetings[:4], meetings[4:]
    referrers = [users[k] for k in ("police.rep", "idva.rep", "housing.rep", "gp.referrer")]
    members = [a for a in agencies if a.kind != "referrer"]
    number = 0
    plan = [(m, 7) for m in past] + [(coming[0], 8), (coming[1], 3)] + [(None, 5)]
    names = iter(range(1000))
    for meeting, count in plan:
        for _ in range(count):
            n = next(names)
            family = _FAMILIES[n % len(_FAMILIES)]
            victim_given = _VICTIMS[n % len(_VICTIMS)]
            street = f"{rng.randint(1, 120)} {_STREETS[n % len(_STREETS)]}, Anytown"
            postcode = f"AN{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                       f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            victim = _person(rng, "victim", victim_given, family, date(rng.randint(1970, 2004), rng.randint(1, 12),
                                                                       rng.randint(1, 28)), postcode, street)
            perpetrator = _person(rng, "perpetrator", _PERPETRATORS[n % len(_PERPETRATORS)],
                                  _FAMILIES[(n + 7) % len(_FAMILIES)],
                                  date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                                  postcode, street)
            children = [_person(rng, "child", _CHILDREN[(n + i) % len(_CHILDREN)], family,
                                date(rng.randint(2012, 2023), rng.randint(1, 12), rng.randint(1, 28)), postcode,
                                street) for i in range(rng.choice([0, 0, 1, 2]))]
            submitted = _past(meeting.referral_deadline - timedelta(days=rng.randint(2, 12)), now - timedelta(days=1)) \
                if meeting else now - timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 6))
            referrer = rng.choice(referrers)
            answers = {item.id: YES if rng.random() < 0.62 else NO for item in instrument.items}
            result = score(instrument, answers)
            data = {
                "people": [_entry(victim, "victim", "v1")]
                + [_entry(c, "child", f"c{i}", school="Anytown Primary School (training)")
                   for i, c in enumerate(children, start=1)]
                + [_entry(perpetrator, "perpetrator", "p1")],
                "has_children": "yes" if children else "no",
                "safe_contact": {"phone": "07700 900000", "times": "Weekday mornings", "safe_to_post": "no",
                                 "safe_address": "", "notes": "Fictional training data."},
                "consent": {"status": "given", "reason": ""},
                "barriers": {"interpreter": "no", "language": "", "disability_needs": "", "other": ""},
                "incident": {"date": (submitted.date() - timedelta(days=3)).isoformat(),
                             "description": rng.choice(_INCIDENTS), "background": "Fictional training case.",
                             "police_reference": f"TRN/{1000 + n}"},
                "current_risk": "High: see the risk checklist.",
                "actions_taken": "Safety planning with the victim; police informed.",
                "checklist": {"source": ""},
                "criteria": {"professional_judgement": False, "professional_judgement_reason": "",
                             "incidents_last_12_months": rng.randint(1, 5), "escalating": rng.random() < 0.4,
                             "honour_based_violence": False, "forced_marriage": False, "fgm": False,
                             "serious_incident": None},
            }
            met = ["visible_high_risk"] if result.total >= instrument.threshold else ["escalation"]
            verdict = {"summary": "Meets the threshold on: " + ("Visible high risk" if met[0] == "visible_high_risk"
                                                                 else "Potential escalation"),
                       "eligible": True, "meets_threshold": True,
                       "met": [{"key": met[0], "label": met[0].replace("_", " ").capitalize(),
                                "reason": "Training data."}],
                       "not_met": [], "missing": [], "ineligible_reasons": [], "notes": [], "flags": [],
                       "reasons": ["Training data."], "closed_session": False, "is_repeat": False,
                       "repeat_of": None, "needs_quality_assurance": False, "threshold": instrument.threshold,
                       "score": result.to_dict(), "rules": rules.to_dict()}
            case = None
            if meeting is not None:
                number += 1
                case = Case.create(number=f"M-{submitted.year}-{number:04d}",
                                   status="heard" if meeting.status == "held" else "listed",
                                   opened_at=submitted + timedelta(days=1), updated_at=submitted + timedelta(days=1),
                                   lead_agency=referrer.agency_id,
                                   flag_until=(meeting.starts_at.date() + timedelta(days=365)))
                for person, role in [(victim, "victim"), (perpetrator, "perpetrator")] + [(c, "child")
                                                                                           for c in children]:
                    CasePerson.create(case=case, person=person, role=role, added_at=case.opened_at)
            referral = Referral.create(
                author=referrer, agency=referrer.agency_id, status="accepted" if case else "submitted", case=case,
                created_at=submitted - timedelta(hours=2), updated_at=submitted, submitted_at=submitted,
                data=json.dumps(data), instrument_id=instrument.id, instrument_version=instrument.version,
                instrument_json=json.dumps(instrument.to_dict()), answers=json.dumps(result.answers),
                score_total=result.total, band=result.band.name if result.band else "",
                threshold_met=result.threshold_met, verdict=json.dumps(verdict), criteria_met=",".join(met),
                decided_by=users["coordinator"] if case else None,
                decided_at=submitted + timedelta(days=1) if case else None)
            for position, (person, role) in enumerate([(victim, "victim")] + [(c, "child") for c in children]
                                                      + [(perpetrator, "perpetrator")]):
                ReferralPerson.create(referral=referral, person=person, role=role, position=position)
            if case is not None:
                _listing(rng, case, referral, meeting, members, users, now)


def _listing(rng, case, referral, meeting, members, users, now: datetime) -> None:
    trainee_agencies = {users[local].agency_id for _, local, _ in TRAINEES}
    position = Listing.select().where(Listing.meeting == meeting).count() + 1
    listing = Listing.create(meeting=meeting, case=case, referral=referral, kind="full", position=position,
                             minutes_estimate=15, listed_by=users["coordinator"],
                             created_at=referral.decided_at)
    held = meeting.status == "held"
    for agency in members:
        # Trainees' agencies have not researched the coming meetings yet: that is exercise 2.
        if not held and (agency.id in trainee_agencies or rng.random() < 0.5):
            continue
        researcher = User.select().where(User.agency == agency).first()
        if researcher is None:
            continue
        nothing = rng.random() < 0.3
        researched = _past(meeting.starts_at - timedelta(days=3), now)
        Research.create(listing=listing, agency=agency, user=researcher, nothing_known=nothing,
                        victim_info="" if nothing else "Known to the service since last year (training data).",
                        perpetrator_info="" if nothing else "Two previous call-outs to the address.",
                        created_at=researched, updated_at=researched)
    if not held:
        return
    agreed = meeting.starts_at + timedelta(hours=1)
    owners = [a for a in members if a.id in trainee_agencies] + members
    for index, (text, key) in enumerate(rng.sample(_ACTIONS, 3)):
        owner = owners[(case.id + index) % len(owners)] if index else owners[case.id % len(trainee_agencies)]
        due = agreed.date() + timedelta(days=14)
        done = due < now.date() and rng.random() < 0.5 and index
        action = Action.create(case=case, listing=listing, owner_agency=owner, description=text, due_date=due,
                               standard_key=key, created_by=users["coordinator"], created_at=agreed,
                               status="done" if done else "open",
                               completed_at=due - timedelta(days=2) if done else None,
                               completed_by=User.select().where(User.agency == owner).first() if done else None,
                               completion_note="Done (training data)." if done else "")
        ActionUpdate.create(action=action, user=users["coordinator"], at=agreed, kind="created")
        if done:
            ActionUpdate.create(action=action, user=action.completed_by, kind="completed",
                                at=datetime.combine(action.completed_at, time(15, 0)))
    for category, text in rng.sample(_NOTES, 2):
        author = rng.choice([users["idva.rep"], users["police.rep"], users["housing.rep"]])
        Note.create(case=case, author=author, agency=author.agency_id, category=category, text=text,
                    created_at=_past(agreed + timedelta(days=rng.randint(1, 10)), now))
    case.status = "review" if rng.random() < 0.2 else "heard"
    case.save()
    # Someone at Anytown Housing looked at the case after the meeting (the "who has looked" exercise).
    if position == 1:
        audit.record("case.view", case, user=users["housing.deputy"])


# --- the accounts file -----------------------------------------------------------------------------


def accounts_path(instance_path) -> Path:
    return Path(instance_path) / ACCOUNTS_FILE


def write_accounts(instance_path, made: list[Account]) -> None:
    """Keep the training passwords beside the training database (instance/ is private)."""
    lines = ["# Training accounts (fictional data only). Kept so a reset keeps the same passwords.",
             "# role | e-mail | password | agency"]
    lines += [f"{a.role} | {a.email} | {a.password} | {a.agency}" for a in made]
    path = accounts_path(instance_path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        path.chmod(0o600)
    except OSError:  # Windows: the instance folder's ACLs apply
        pass


def read_accounts(instance_path) -> list[Account]:
    """The accounts recorded by the last fill (empty when there is no file)."""
    path = accounts_path(instance_path)
    if not path.exists():
        return []
    made = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if line.startswith("#") or len(parts) != 4:
            continue
        made.append(Account(parts[1], parts[2], parts[0], parts[3], ""))
    return made


def print_accounts(made: list[Account]) -> None:
    print("Training accounts (fictional borough; the passwords are for this training copy only):")
    for a in made:
        print(f"  {a.role:15} {a.email:40} {a.password}   ({a.agency})")


# --- serving and resetting -------------------------------------------------------------------------


def prepare(app) -> list[Account]:
    """Before serving in training mode: fill the training database when empty; return the accounts."""
    with app.app_context(), db.connection_context():
        if not User.select().exists():
            made = fill({a.email: a.password for a in read_accounts(app.instance_path)})
            write_accounts(app.instance_path, made)
            return made
    return read_accounts(app.instance_path)


def rebuild(app) -> list[Account]:
    """Put the training database back to its starting state (a fresh fictional borough)."""
    from marac.db import init_db

    target = Path(app.config["DATABASE_URL"][len("sqlite:///"):])
    with app.app_context(), db.connection_context():
        # The accounts file and these hashes were written together by the last fill.
        # A password a trainee changed since is not reused (it no longer matches the file).
        hashes = {u.email: u.password_hash for u in User.select(User.email, User.password_hash)
                  .where(User.password_changed_at <= started_at())}
    scratch = target.with_name(f"training-reset-{os.getpid()}.db")
    for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        init_db("sqlite:///" + scratch.as_posix(), app.config["SQLITE_BUSY_TIMEOUT_MS"])
        with app.app_context(), db.connection_context():
            made = fill({a.email: a.password for a in read_accounts(app.instance_path)}, hashes)
        src = sqlite3.connect(str(scratch))
        dst = sqlite3.connect(str(target), timeout=30)
        try:
            # The backup API replaces the whole training database in one step, also under a running
            # server (its connections see the new content at their next transaction).
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    finally:
        for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
            leftover.unlink(missing_ok=True)
        init_db(app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT_MS"])
    write_accounts(app.instance_path, made)
    return made


def reset_command(args) -> int:
    """python app.py reset-training"""
    import time as _time

    from marac import create_app

    started = _time.perf_counter()
    app = create_app({"TRAINING_MODE": True})
    made = rebuild(app)
    print(f"Training data reset to its starting state in {_time.perf_counter() - started:.1f}s "
          f"({app.config['DATABASE_URL'][len('sqlite:///'):]}).")
    print_accounts(made)
    return 0


# --- guided exercises ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    roles: tuple[str, ...]
    steps: tuple[str, ...]


EXERCISES = (
    Exercise("first_referral", "Make your first referral and read its score",
             ("representative", "referrer", "coordinator", "chair"),
             ("Open Referrals and start a new referral.",
              "Fill in each section with made-up details (this is a training copy: never use a real person).",
              "In the risk checklist, answer each question and watch the score and the verdict change as you go.",
              "Submit the referral, then open it and read which answers drove the score.")),
    Exercise("research", "Record your agency's research for the next meeting", ("representative",),
             ("Open the next meeting's agenda (Meetings).",
              "Pick a case your agency has not researched yet.",
              "Record what your agency holds on the victim, the perpetrator and any children, or tick "
              "'nothing known', and save it.")),
    Exercise("overdue_action", "Complete an overdue action and add a case note", ("representative",),
             ("Open your agency's actions and find one that is overdue.",
              "Mark it complete, saying what was done.",
              "Open the case it belongs to and add a case note about it.")),
    Exercise("who_looked", "Find who has looked at a case", ("coordinator",),
             ("Someone at Anytown Housing has looked at the case named below.",
              "Find who it was: the case record's history, or the audit log filtered by object type 'case' "
              "and the case's record number.",
              "Type their name below.")),
)
EXERCISES_BY_KEY = {e.key: e for e in EXERCISES}


def started_at() -> datetime:
    """When the training borough was filled (exercises count only what trainees did since)."""
    row = (AuditEvent.select(AuditEvent.at).where(AuditEvent.action == START_ACTION)
           .order_by(AuditEvent.id.desc()).first())
    return row.at if row else datetime.min


def who_looked_case() -> Case | None:
    """The case the 'who has looked' exercise asks about."""
    row = (AuditEvent.select(AuditEvent.object_id)
           .join(User, on=(AuditEvent.user_id == User.id))
           .join(Agency, on=(User.agency == Agency.id))
           .where((AuditEvent.action == "case.view") & (Agency.name == demo.AGENCIES[HOUSING][0])
                  & audit.panel_where())
           .order_by(AuditEvent.id).first())
    return Case.get_or_none((Case.id == int(row.object_id)) & (Case.panel == current_panel_id())) if row else None


def check_who_looked(user, answer: str) -> bool:
    """Whether `answer` names someone at Anytown Housing who viewed the exercise's case; records success."""
    case = who_looked_case()
    given = _key(answer or "")
    if case is None or not given:
        return False
    viewers = (User.select(User.id, User.name, User.email)
               .join(Agency).where((Agency.name == demo.AGENCIES[HOUSING][0]) & User.id.in_(
                   AuditEvent.select(AuditEvent.user_id).where(
                       (AuditEvent.action == "case.view") & (AuditEvent.object_type == "case")
                       & (AuditEvent.object_id == str(case.id))))))
    if not any(given in (_key(v.name), _key(v.email)) for v in viewers):
        return False
    with db.atomic():
        audit.record(DONE_ACTION, object_type="exercise", object_id="who_looked", user=user)
    return True


def progress(users) -> dict[int, set[str]]:
    """Exercise keys each user has completed (one query per exercise, whatever the number of users)."""
    ids = [u.id for u in users]
    since = started_at()
    done: dict[int, set[str]] = {i: set() for i in ids}

    def mark(key, user_ids):
        for user_id in user_ids:
            if user_id in done:
                done[user_id].add(key)

    mark("first_referral", {r.author_id for r in Referral.select(Referral.author).where(
        Referral.author.in_(ids) & Referral.submitted_at.is_null(False) & (Referral.submitted_at >= since))})
    mark("research", {r.user_id for r in Research.select(Research.user).where(
        Research.user.in_(ids) & (Research.updated_at >= since))})
    completed = {a.completed_by_id for a in Action.select(Action.completed_by).where(
        Action.completed_by.in_(ids) & (Action.status == "done") & (Action.completed_at > Action.due_date)
        & (Action.completed_at >= since.date()))}
    noted = {n.author_id for n in Note.select(Note.author).where(Note.author.in_(ids) & (Note.created_at >= since))}
    mark("overdue_action", completed & noted)
    mark("who_looked", {e.user_id for e in AuditEvent.select(AuditEvent.user_id).where(
        (AuditEvent.action == DONE_ACTION) & (AuditEvent.object_id == "who_looked") & AuditEvent.user_id.in_(ids))})
    return done


def exercises_for(user) -> list[Exercise]:
    """The exercises meant for this user's role."""
    return [e for e in EXERCISES if user.role in e.roles]
