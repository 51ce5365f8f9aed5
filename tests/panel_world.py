"""Two panels in one database for the isolation tests (issue 12): panel A, the install's own, with
security_world's borough; panel B, a second Panel with a full borough of its own whose every free-text
column (and every free-text value inside its JSON columns) holds a sentinel of its own.

B is built inside `with panels.using(B.id):` so that every default lands in B, with security_world's
build_world (the same shape as A: closed-session and open case, referral, note, restricted note,
document, action, meeting with listings, research, minutes, attendance, observer, release request),
plus what that world lacks: referrals in every status (draft, submitted, QA pending, returned,
declined, transferred), a held meeting with signed-off minutes and an amendment, a closed case due for
retention review, an alias, amendments, action updates and reviews, a move request, a case event.

Agencies are a shared directory across panels by design (a county police force serves several), so
B's users belong to A's agencies, which carry no sentinels; B's users, people, cases, referrals,
meetings, settings and everything hanging off them carry sentinels. Fictional data only."""
import contextlib
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime

import peewee
import security_world
from marac_testing import make_agency, make_case, make_listing, make_meeting, make_person, make_referral, make_user

from marac import models, panels, settings
from marac.models import (
    Action,
    ActionReview,
    ActionUpdate,
    Attendance,
    CaseDiscussion,
    CaseEvent,
    Meeting,
    MoveRequest,
    Panel,
    PersonAlias,
    ReferralAmendment,
    ViewReason,
)

PREFIX = "PBLEAK"
SENTINEL = re.compile(PREFIX + r"\d{4}Z", re.I)

# Tables that are not a panel's: shared by design (agencies, instruments, the one audit chain), or the
# machinery of signing in. Their rows made while B is built are not seeded.
SHARED = {"Agency", "BoroughInstrument", "AuditEvent", "Panel", "UserSession", "LoginFailure", "Lockout",
          "SetupToken", "MailNotice", "UserPanel", "PanelSetting"}
# Text columns holding a code, a key or a choice from a list (the app reads them back as such), or
# JSON (seeded inside, see JSON_COLUMNS): left as built.
CODE_COLUMNS = {
    "User": {"role", "password_hash", "totp_secret"},
    "Person": {"sex", "gender_identity", "sexual_orientation", "ethnicity", "disability"},
    "Case": {"status", "close_reason"},
    "CasePerson": {"role"},
    # instrument_json: the frozen copy of the (shared) instrument, the same text as every panel's
    "Referral": {"status", "instrument_id", "instrument_json", "band", "criteria_met", "qa_status", "decision_code",
                 "source"},
    "ReferralPerson": {"role"},
    "PersonMatch": {"reason", "status"},
    "Meeting": {"kind", "status"},
    "Listing": {"kind"},
    "Action": {"priority", "status", "standard_key", "cannot_reason"},
    "ActionReview": {"outcome"},
    "ActionUpdate": {"kind"},
    "Note": {"category"},
    "Document": {"content_type", "sha256", "stored_name"},
    "CaseEvent": {"kind", "reason"},
    "Attendance": {"capacity", "status", "observer_status"},
    "CaseDiscussion": {"decision"},
    "ReleaseRequest": {"basis", "status"},
    "ViewReason": {"object_type", "request_id"},
    "RetentionDecision": {"decision"},
}
JSON_COLUMNS = {
    "Referral": {"data", "answers", "verdict"},
    "ReferralAmendment": {"changes"},
    "AgendaVersion": {"content"},
    "MeetingRecord": {"minutes_json"},
    "CaseDiscussion": {"standard_dismissed"},
}
# Inside JSON: values under these keys, and values that look like codes, dates or numbers, stay.
JSON_CODE_KEYS = {"role", "kind", "status", "decision", "outcome", "basis", "category", "id", "key", "type",
                  "instrument_id", "band", "priority", "capacity", "compiled_at", "at", "due", "due_date",
                  "signed_off_at", "version", "criterion", "criteria", "answer"}
CODE_LIKE = re.compile(r"^(?:[a-z0-9_.\-:+]*|\d[\d\-/:T. ]*)$")  # a code has no space; a date, digits


@dataclass
class PanelB:
    panel: Panel
    world: security_world.World  # users, values (ids for every url_map argument), objects
    sentinels: dict  # sentinel -> "Model.column" where it was put
    extra: dict  # more of B's objects: referrals by status, the held meeting, ...


class _Counter:
    def __init__(self):
        self._n = itertools.count(1)

    def __call__(self) -> str:
        return f"{PREFIX}{next(self._n):04d}Z"  # 11 characters: fits a postcode column


def _models() -> dict:
    return {m.__name__: m for m in vars(models).values() if isinstance(m, type) and issubclass(m, peewee.Model)
            and m.__module__ == models.__name__ and m is not models.BaseModel}


def _max_ids() -> dict:
    out = {}
    for name, model in _models().items():
        pk = model._meta.primary_key
        if isinstance(pk, peewee.AutoField):
            out[name] = model.select(peewee.fn.MAX(pk)).scalar() or 0
    return out


@contextlib.contextmanager
def _patched(module, **names):
    old = {k: getattr(module, k) for k in names}
    for k, v in names.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


def _json_seed(value, next_sentinel, key=None):
    """The JSON value with every free-text string leaf replaced by a sentinel."""
    if isinstance(value, dict):
        return {k: _json_seed(v, next_sentinel, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_seed(v, next_sentinel, key) for v in value]
    if isinstance(value, str) and value and key not in JSON_CODE_KEYS and not CODE_LIKE.match(value):
        return next_sentinel()
    return value


def build_panel_b(app, name="Second Panel MARAC") -> PanelB:
    """Panel B and its world (call after A's world is built: every row made here is B's)."""
    before = _max_ids()
    next_sentinel = _Counter()
    panel = Panel.create(name=name)

    def b_agency(agency_name=None, kind="core", **kw):
        """A's agency of that name: agencies are one directory serving every panel, so B's users work in
        the same agencies as A's (an agency's lists must still show only the panel in view)."""
        from marac.models import Agency

        return Agency.get_or_none(Agency.name == agency_name) or make_agency(agency_name, kind=kind, **kw)

    early = {}  # the names B's users were created with: the audit rows of B's events keep them

    def b_user(role="representative", agency=None, email=None, **kw):
        s = next_sentinel()
        early[s] = "User.name (as created; kept in B's audit rows)"
        return make_user(role, agency, email=email or f"{s.lower()}@bshire.example", name=kw.pop("name", s), **kw)

    with panels.using(panel.id):
        settings.set_many({"panel_name": next_sentinel()})
        with _patched(security_world, make_agency=b_agency, make_user=b_user):
            world = security_world.build_world(app)
        extra = _more_of_b(app, world, b_user)
    world.values["open_listing_id"] = world.objects["open_listing"].id
    world.values["open_case_id"] = world.objects["open_case"].id
    sentinels = {**early, **_seed_text(before, next_sentinel)}
    panel = Panel.get_by_id(panel.id)
    world.users = {k: type(u).get_by_id(u.id) for k, u in world.users.items()}  # their seeded names, e-mails
    world.objects = {k: type(o).get_by_id(o.id) for k, o in world.objects.items()}
    return PanelB(panel=panel, world=world, sentinels=sentinels, extra=extra)


def _more_of_b(app, world, b_user) -> dict:
    """What security_world's borough lacks: every referral status, a held meeting with signed-off minutes
    and an amendment, a case closed long ago (retention), and one row of each smaller table."""
    from marac import meeting_run, minutes

    users, objects = world.users, world.objects
    case, victim, listing = objects["case"], objects["victim"], objects["listing"]
    author = users["F"]
    people = [(make_person("Bvictim", "Bfamily", date_of_birth=date(1992, 5, 6), postcode="N1 1AA"), "victim"),
              (make_person("Bperp", "Bfamily"), "perpetrator")]
    referrals = {
        "draft": make_referral(author=author, people=people, status="draft", submitted_at=None,
                               data={"background": "draft text"}, **_instrument()),
        "qa": make_referral(author=author, people=people, status="submitted", professional_judgement=True,
                            qa_status="pending", data={"judgement": "professional judgement text"}),
        "returned": make_referral(author=author, people=people, status="returned", coordinator_comment="more"),
        "declined": make_referral(author=author, people=people, status="declined", decision_reason="why not",
                                  decided_by=users["C"], decided_at=datetime(2026, 11, 1, 10, 0)),
        "transferred": make_referral(author=author, people=people, status="transferred",
                                     transfer_area="Elsewhere", decided_at=datetime(2026, 11, 1, 11, 0)),
    }
    ReferralAmendment.create(referral=world.objects["referral"], user=author, reason="amended",
                             changes=json.dumps({"current_risk": ["old words", "new words"]}))
    PersonAlias.create(person=victim, given_name="Alias", family_name="Aliasname", name_key="alias aliasname")
    closed = make_case(people=[(make_person("Bclosed", "Bcase"), "victim")], status="closed",
                       closed_at=datetime(2025, 6, 1, 12, 0), close_reason="risk_reduced")
    CaseEvent.create(case=closed, user=users["C"], agency=users["C"].agency_id, kind="closed", text="closing text")
    action = Action.get_by_id(world.values["action_id"])
    ActionUpdate.create(action=action, user=users["R"], kind="chased", text="chasing text")
    MoveRequest.create(meeting=listing.meeting_id, listing=listing, agency=users["R"].agency_id, user=users["R"],
                       note="move note")
    ViewReason.create(user=users["R"], object_type="case", object_id=case.id, case=case, reason="why I looked")
    # A meeting already held, its minutes signed off by the chair and amended since.
    held = make_meeting(starts_at=datetime(2026, 10, 14, 9, 30), venue="Town hall")
    held_listing = make_listing(held, objects["open_case"], kind="full")
    CaseDiscussion.create(listing=held_listing, summary="held summary", risk_victim="risk words",
                          decision="actions", decision_note="decided words")
    agreed = Action.create(case=objects["open_case"], listing=held_listing, owner_agency=users["R"].agency_id,
                           description="agreed action words", due_date=date(2026, 11, 20), created_by=users["C"])
    ActionReview.create(meeting=listing.meeting_id, action=agreed, outcome="carried", reason="carried words",
                        user=users["C"])
    Attendance.create(meeting=held, user=users["R"], agency=users["R"].agency_id, name=users["R"].name,
                      capacity="representative", status="present")
    with app.app_context():
        meeting_run.start_meeting(held, users["C"])
        meeting_run.end_meeting(held, users["C"])
        minutes.sign_off(held, users["H"])
        minutes.amend(Meeting.get_by_id(held.id), users["C"], "amendment words", held_listing)
    extra_user = b_user("coordinator", users["C"].agency)  # a second coordinator of B (user lists)
    return {"referrals": referrals, "closed_case": closed, "held": held, "held_listing": held_listing,
            "agreed_action": agreed, "extra_user": extra_user, "people": [p for p, _ in people]}


def _instrument() -> dict:
    """The frozen instrument fields a referral has once its form is started (make_referral sets them for
    submitted ones only)."""
    from marac.risk import DASH

    return {"instrument_id": DASH.id, "instrument_version": DASH.version, "instrument_json": json.dumps(DASH.to_dict())}


def _seeded_json(raw: str, label: str, next_sentinel, seeded: dict) -> str | None:
    """The JSON text with a sentinel in each free-text value (noted in `seeded`), or None if it has none."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    marked = []

    def counted():
        marked.append(next_sentinel())
        seeded[marked[-1]] = label
        return marked[-1]

    new = _json_seed(value, counted) if value is not None else None
    return json.dumps(new) if marked else None


def _seed_text(before: dict, next_sentinel) -> dict:
    """Every free-text column of every row made since `before` (B's), and every free-text value of its
    JSON columns, set to a sentinel of its own. Returns sentinel -> 'Model.column'."""
    seeded = {}
    for name, model in _models().items():
        if name in SHARED or name not in before:
            continue
        pk = model._meta.primary_key
        codes, jsons = CODE_COLUMNS.get(name, set()), JSON_COLUMNS.get(name, set())
        text_fields = [f for f in model._meta.sorted_fields
                       if isinstance(f, (peewee.TextField, peewee.CharField)) and f.name not in codes]
        if not text_fields:
            continue
        for row in model.select().where(pk > before[name]):
            changes = {}
            for f in text_fields:
                if f.name in jsons:
                    text = _seeded_json(getattr(row, f.name), f"{name}.{f.name} (JSON)", next_sentinel, seeded)
                    if text is not None:
                        changes[f.name] = text
                    continue
                s = next_sentinel()
                if name == "User" and f.name == "email":
                    s_value = f"{s.lower()}@bshire.example"
                elif f.name in ("name_key", "postcode_key"):
                    s_value = s.lower()
                else:
                    s_value = s
                changes[f.name] = s_value
                seeded[s] = f"{name}.{f.name}"
            if changes:
                _search_keys(name, changes)
                model.update(changes).where(pk == row.get_id()).execute()
    return seeded


def _search_keys(model_name: str, changes: dict) -> None:
    """A person's (or alias's) search keys made from their seeded name and postcode, as the app makes
    them: a search or a person match by B's names then finds B's people where it may (and must not
    elsewhere), rather than finding nothing whatever the panel."""
    from marac.cases import name_key, postcode_key

    if model_name in ("Person", "PersonAlias"):
        changes["name_key"] = name_key(changes["given_name"], changes["family_name"])
    if model_name == "Person":
        changes["postcode_key"] = postcode_key(changes["postcode"])


def sentinels_in(text: str) -> set[str]:
    """The B sentinels in a text (any case: some keys and e-mail addresses are lower case)."""
    return {m.upper() for m in SENTINEL.findall(text)}


def readable(data: bytes) -> str:
    """Everything a user could read in an answer: the text, or every member of a zip (Word documents,
    spreadsheets) with and without its XML tags (Word may split a run of text)."""
    import io
    import zipfile

    if data[:2] == b"PK":
        try:
            parts = []
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    xml = z.read(info).decode("utf-8", "replace")
                    parts += [xml, re.sub(r"<[^>]+>", "", xml)]
            return "\n".join(parts)
        except zipfile.BadZipFile:
            pass
    return data.decode("utf-8", "replace")


def snapshot() -> dict:
    """Every row of every table except the audit log and sign-in bookkeeping, as plain tuples: compare
    two snapshots to see what a request changed."""
    out = {}
    skip = {"AuditEvent", "UserSession", "LoginFailure", "Lockout", "MailNotice"}
    for name, model in _models().items():
        if name in skip:
            continue
        out[name] = sorted(map(repr, model.select().tuples()))
    return out

