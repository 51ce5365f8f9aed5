"""Borough risk instruments: saved versions, the editor's text format, JSON import and export.

A borough's own checklist is data (marac.risk.Instrument) kept in the borough_instrument
table, one row per version. A saved version is never changed: an edit or an import is a new
version, so a referral scored with an older one (it keeps a frozen copy in instrument_json)
never changes. A built-in instrument (marac.risk.BUILTIN_INSTRUMENTS) can be edited too: the
edit becomes the next version of the same id and replaces it for new referrals.

Lookups for the rest of the app go through marac.instruments.get_instrument(), which asks find().
"""
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from peewee import JOIN

from marac import audit
from marac.db import db
from marac.models import BoroughInstrument, User
from marac.prepared import Prepared
from marac.risk import (
    BUILTIN_INSTRUMENTS,
    COUNT_YES,
    METHODS,
    PRODUCT_OF_SECTIONS,
    WEIGHTED_SUM,
    Instrument,
    InstrumentError,
    validate_instrument,
)

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
# Words used in the instrument pages' URLs (/instruments/new, /instruments/import).
RESERVED_IDS = frozenset({"new", "import", "preview"})
MAX_ITEMS = 300
MAX_IMPORT_BYTES = 512 * 1024
METHOD_LABELS = {
    COUNT_YES: "Count the \"yes\" answers",
    WEIGHTED_SUM: "Add up the points of the \"yes\" answers (a weighted matrix)",
    PRODUCT_OF_SECTIONS: "Multiply the sections' \"yes\" counts together (like MeRIT)",
}
assert set(METHOD_LABELS) == set(METHODS)


@dataclass(frozen=True)
class VersionInfo:
    """One version of an instrument, for the versions list."""

    version: int
    created_at: datetime | None
    created_by: str
    builtin: bool


# --- lookups ----------------------------------------------------------------------------------


def _load(row: BoroughInstrument) -> Instrument:
    return _parsed(row.json)


@lru_cache(maxsize=32)
def _parsed(text: str) -> Instrument:
    # Rows were validated when saved; from_dict checks again so a hand-edited row fails loudly. A saved
    # version never changes, so parsing and checking one text once per process is enough.
    return Instrument.from_dict(json.loads(text))


def _stored(instrument_id, version=None):
    query = BoroughInstrument.select().where(BoroughInstrument.instrument_id == instrument_id)
    if version is not None:
        query = query.where(BoroughInstrument.version == version)
    return query.order_by(BoroughInstrument.version.desc()).limit(1)


# Every referral page and score asks for the panel's instrument: compiled once (marac.prepared).
_LATEST = Prepared(_stored, Prepared.TEXT)
_VERSION = Prepared(_stored, Prepared.TEXT, Prepared.INT)


def find(instrument_id: str, version: int | None = None) -> Instrument | None:
    """A stored borough version: the latest, or exactly `version`; None when not stored."""
    row = _LATEST.first(instrument_id) if version is None else _VERSION.first(instrument_id, int(version))
    return _load(row) if row is not None else None


def latest(instrument_id: str) -> Instrument | None:
    """The current version of an instrument, stored or built in; None when unknown."""
    return find(instrument_id) or BUILTIN_INSTRUMENTS.get(instrument_id)


def version_of(instrument_id: str, version: int) -> Instrument | None:
    """Exactly this version, stored or built in."""
    stored = find(instrument_id, version)
    if stored is not None:
        return stored
    builtin = BUILTIN_INSTRUMENTS.get(instrument_id)
    return builtin if builtin is not None and builtin.version == version else None


def catalogue() -> list[Instrument]:
    """The current version of every instrument a panel can choose: built-ins first, in their
    own order, then the borough's own by name. One query."""
    newest: dict[str, BoroughInstrument] = {}
    for row in BoroughInstrument.select().order_by(BoroughInstrument.instrument_id, BoroughInstrument.version):
        newest[row.instrument_id] = row
    result = []
    for instrument_id, builtin in BUILTIN_INSTRUMENTS.items():
        row = newest.pop(instrument_id, None)
        result.append(_load(row) if row is not None else builtin)
    own = [_load(row) for row in newest.values() if row.active]
    return result + sorted(own, key=lambda i: i.name.lower())


def versions(instrument_id: str) -> list[VersionInfo]:
    """Every version of an instrument, newest first (the built-in one last)."""
    rows = (BoroughInstrument.select(BoroughInstrument, User.name)
            .join(User, JOIN.LEFT_OUTER)
            .where(BoroughInstrument.instrument_id == instrument_id)
            .order_by(BoroughInstrument.version.desc()))
    result = [VersionInfo(r.version, r.created_at, r.created_by.name if r.created_by_id else "", False)
              for r in rows]
    builtin = BUILTIN_INSTRUMENTS.get(instrument_id)
    if builtin is not None:
        result.append(VersionInfo(builtin.version, None, "", True))
    return result


def next_version(instrument_id: str) -> int:
    """The number the next saved version of this instrument gets."""
    highest = (BoroughInstrument.select(BoroughInstrument.version)
               .where(BoroughInstrument.instrument_id == instrument_id)
               .order_by(BoroughInstrument.version.desc()).scalar()) or 0
    builtin = BUILTIN_INSTRUMENTS.get(instrument_id)
    return max(highest, builtin.version if builtin else 0) + 1


def is_builtin(instrument_id: str) -> bool:
    """Whether the app ships an instrument with this id."""
    return instrument_id in BUILTIN_INSTRUMENTS


# --- checks and saving ------------------------------------------------------------------------


def problems(data) -> list[str]:
    """Everything that stops `data` being saved as a borough instrument, in plain words."""
    found = validate_instrument(data)
    if isinstance(data, dict):
        instrument_id = data.get("id")
        if instrument_id in RESERVED_IDS:
            found.append(f"The instrument id '{instrument_id}' is reserved: choose another.")
        elif isinstance(instrument_id, str) and instrument_id.strip() and not ID_PATTERN.match(instrument_id):
            found.append("The instrument id may only use lower-case letters, digits, '-' and '_', "
                         "start with a letter or digit, and be at most 60 characters long.")
        items = data.get("items")
        if isinstance(items, list) and len(items) > MAX_ITEMS:
            found.append(f"The instrument has {len(items)} questions; at most {MAX_ITEMS} are allowed.")
    return found


def save(data: dict, user, source: str = "editor") -> Instrument:
    """Save `data` as the next version of its instrument (audited). Raises InstrumentError
    listing every problem, and then nothing is saved."""
    found = problems(data)
    if found:
        raise InstrumentError(found)
    with db.atomic():
        # Numbered inside the write transaction (BEGIN IMMEDIATE), so two saves cannot
        # take the same version.
        version = next_version(data["id"])
        instrument = Instrument.from_dict({**data, "version": version})
        BoroughInstrument.create(instrument_id=instrument.id, version=version,
                                       json=json.dumps(instrument.to_dict(), ensure_ascii=False),
                                       created_by=getattr(user, "id", None))
        audit.record(f"instrument.{source}", object_type="instrument", object_id=instrument.id,
                     detail={"version": version, "items": len(instrument.items)}, user=user)
    return instrument


def parse_import(raw: bytes) -> dict:
    """The instrument in an uploaded JSON file; InstrumentError names each problem."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise InstrumentError([f"The file is larger than {MAX_IMPORT_BYTES // 1024} KB: it cannot be an "
                               "instrument exported from this app."])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InstrumentError(["The file is not text in UTF-8: choose the .json file exported from "
                               "this app or another MARAC app."]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstrumentError([f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}."]) from None
    if isinstance(data, dict) and "version" not in data:
        data["version"] = 1  # the version is ours to number; a file may leave it out
    found = problems(data)
    if found:
        raise InstrumentError(found)
    return data


def import_file(raw: bytes, user) -> Instrument:
    """Import an instrument from a JSON file as the next version of its id."""
    return save(parse_import(raw), user, source="import")


def export_json(instrument: Instrument) -> str:
    """The instrument as a JSON file others can import."""
    return json.dumps(instrument.to_dict(), indent=2, ensure_ascii=False) + "\n"


def new_id(name: str) -> str:
    """A free instrument id made from a name ("Merton checklist" -> "merton_checklist")."""
    base = _slug(name, 50) or "checklist"
    taken = set(BUILTIN_INSTRUMENTS) | RESERVED_IDS | {r.instrument_id for r in
                                        BoroughInstrument.select(BoroughInstrument.instrument_id).distinct()}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _slug(text: str, length: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:length].strip("_")


# --- the editor's plain-text format -----------------------------------------------------------
# Questions, one a line: "section | question | points | help" (points and help optional).
# Bands, one a line: "name | range | high" with a range like "0-5" or "9+", "high" optional.


def items_to_text(instrument: Instrument) -> str:
    """The questions of an instrument in the editor's format."""
    lines = []
    for item in instrument.items:
        parts = [item.section, item.text]
        if item.points != 1 or item.help:
            parts.append(str(item.points))
        if item.help:
            parts.append(item.help)
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def bands_to_text(instrument: Instrument) -> str:
    """The bands of an instrument in the editor's format."""
    return "\n".join(" | ".join([b.name, b.range_label] + (["high"] if b.high_risk else []))
                     for b in instrument.bands)


def _lines(text: str):
    for number, line in enumerate((text or "").splitlines(), start=1):
        if line.strip():
            yield number, [part.strip() for part in line.split("|")]


def items_from_text(text: str, previous: Instrument | None = None) -> tuple[list[dict], list[str], list[str]]:
    """(items, sections in order of first use, problems) from the editor's question lines.

    A question whose text is unchanged keeps its id from the previous version, so answers
    and reports line up across versions; a new question gets an id made from its words."""
    known = {item.text: item.id for item in previous.items} if previous else {}
    items, sections, found, used = [], [], [], set()
    for number, parts in _lines(text):
        if len(parts) < 2 or not parts[0] or not parts[1]:
            found.append(f"Question line {number}: write the section, then |, then the question "
                         "(for example: Vulnerability | Does the person live alone? | 3).")
            continue
        if len(parts) > 4:
            found.append(f"Question line {number} has more than four parts: a question cannot contain |.")
            continue
        section, question = parts[0], parts[1]
        points = 1
        if len(parts) > 2 and parts[2]:
            try:
                points = int(parts[2])
            except ValueError:
                found.append(f"Question line {number}: the points '{parts[2]}' must be a whole number.")
                continue
        item_id = known.get(question) or _slug(question, 40) or f"q{number}"
        base, n = item_id, 2
        while item_id in used:
            item_id, n = f"{base}_{n}", n + 1
        used.add(item_id)
        if section not in sections:
            sections.append(section)
        items.append({"id": item_id, "text": question, "section": section, "points": points,
                      "help": parts[3] if len(parts) > 3 else ""})
    if not items and not found:
        found.append("Write at least one question.")
    return items, sections, found


def bands_from_text(text: str) -> tuple[list[dict], list[str]]:
    """(bands, problems) from the editor's band lines."""
    bands, found = [], []
    for number, parts in _lines(text):
        if len(parts) < 2 or len(parts) > 3 or not parts[0]:
            found.append(f"Band line {number}: write the name, then |, then the scores "
                         "(for example: High | 9+ | high).")
            continue
        match = re.fullmatch(r"(\d+)\s*(?:(\+)|-\s*(\d+))?", parts[1])
        if not match:
            found.append(f"Band line {number}: the scores '{parts[1]}' must look like 0-5, 9+ or 7.")
            continue
        low = int(match.group(1))
        high = None if match.group(2) else int(match.group(3)) if match.group(3) else low
        flag = parts[2].lower() if len(parts) > 2 else ""
        if flag not in ("", "high"):
            found.append(f"Band line {number}: the third part may only be 'high' (a high-risk band).")
            continue
        bands.append({"name": parts[0], "min_score": low, "max_score": high, "high_risk": flag == "high"})
    if not bands and not found:
        found.append("Write at least one band.")
    return bands, found
