"""Risk instruments as data: items, bands, thresholds, and checks for imported JSON."""
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Answer(StrEnum):
    """The answers a risk question accepts; members compare equal to their plain strings."""

    YES = "yes"
    NO = "no"
    DONT_KNOW = "dont_know"
    NOT_ASKED = "not_asked"


YES = Answer.YES
NO = Answer.NO
DONT_KNOW = Answer.DONT_KNOW
NOT_ASKED = Answer.NOT_ASKED

ANSWER_LABELS: dict[str, str] = {
    YES: "Yes",
    NO: "No",
    DONT_KNOW: "Don't know",
    NOT_ASKED: "Not asked",
}

COUNT_YES = "count_yes"
PRODUCT_OF_SECTIONS = "product_of_sections"
WEIGHTED_SUM = "weighted_sum"
METHODS: tuple[str, ...] = (COUNT_YES, PRODUCT_OF_SECTIONS, WEIGHTED_SUM)

_REQUIRED_KEYS = ("id", "name", "version", "method", "items", "sections", "threshold", "bands")
_OPTIONAL_KEYS = ("example", "description", "secondary_threshold", "secondary_label")
_ITEM_KEYS = ("id", "text", "section", "points", "help")
_BAND_KEYS = ("name", "min_score", "max_score", "high_risk")


class InstrumentError(ValueError):
    """An instrument definition that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) or "invalid instrument")


@dataclass(frozen=True)
class Item:
    """One question; `points` is what a "yes" is worth on a weighted matrix."""

    id: str
    text: str
    section: str
    points: int = 1
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        """This item as JSON-safe data."""
        return {"id": self.id, "text": self.text, "section": self.section,
                "points": self.points, "help": self.help}


@dataclass(frozen=True)
class Band:
    """A named score range; `max_score` None means open-ended upwards."""

    name: str
    min_score: int
    max_score: int | None
    high_risk: bool

    def contains(self, total: int) -> bool:
        """Whether a total falls inside this band."""
        return total >= self.min_score and (self.max_score is None or total <= self.max_score)

    @property
    def range_label(self) -> str:
        """The range as people write it: "10-13" or "14+"."""
        if self.max_score is None:
            return f"{self.min_score}+"
        if self.max_score == self.min_score:
            return str(self.min_score)
        return f"{self.min_score}-{self.max_score}"

    def to_dict(self) -> dict[str, Any]:
        """This band as JSON-safe data."""
        return {"name": self.name, "min_score": self.min_score,
                "max_score": self.max_score, "high_risk": self.high_risk}


@dataclass(frozen=True)
class Instrument:
    """A versioned risk form: its questions, how they score, and where the lines fall."""

    id: str
    name: str
    version: int
    method: str
    items: tuple[Item, ...]
    sections: tuple[str, ...]
    threshold: int
    bands: tuple[Band, ...]
    example: bool = False
    description: str = ""
    secondary_threshold: int | None = None
    secondary_label: str = ""

    def item(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        return next((it for it in self.items if it.id == item_id), None)

    def items_in(self, section: str) -> tuple[Item, ...]:
        """The items of one section, in form order."""
        return tuple(it for it in self.items if it.section == section)

    @property
    def max_score(self) -> int:
        """The highest total the form can produce (every answer "yes")."""
        section_points = [(it.section, it.points) for it in self.items]
        return _max_score(self.method, self.sections, section_points)

    def band_for(self, total: int) -> Band | None:
        """The band a total falls in, or None when no band covers it."""
        return next((b for b in self.bands if b.contains(total)), None)

    def to_dict(self) -> dict[str, Any]:
        """This instrument as JSON-safe data that `from_dict` turns back into an equal one."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "method": self.method,
            "description": self.description,
            "example": self.example,
            "threshold": self.threshold,
            "secondary_threshold": self.secondary_threshold,
            "secondary_label": self.secondary_label,
            "sections": list(self.sections),
            "items": [it.to_dict() for it in self.items],
            "bands": [b.to_dict() for b in self.bands],
        }

    @classmethod
    def from_dict(cls, d: Any) -> "Instrument":
        """Build an instrument from imported data; InstrumentError lists every problem."""
        problems = validate_instrument(d)
        if problems:
            raise InstrumentError(problems)
        return cls(
            id=d["id"],
            name=d["name"],
            version=d["version"],
            method=d["method"],
            items=tuple(
                Item(id=it["id"], text=it["text"], section=it["section"],
                     points=it.get("points", 1), help=it.get("help", ""))
                for it in d["items"]
            ),
            sections=tuple(d["sections"]),
            threshold=d["threshold"],
            bands=tuple(
                Band(name=b["name"], min_score=b["min_score"],
                     max_score=b.get("max_score"), high_risk=b.get("high_risk", False))
                for b in d["bands"]
            ),
            example=d.get("example", False),
            description=d.get("description", ""),
            secondary_threshold=d.get("secondary_threshold"),
            secondary_label=d.get("secondary_label", ""),
        )

    @staticmethod
    def validate(d: Any) -> list[str]:
        """Human-readable problems with imported instrument data; empty when it is usable."""
        return validate_instrument(d)


def _is_int(value: Any) -> bool:
    # bool is a subclass of int, and `true` in a JSON file is never meant as a score.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _max_score(method: str, sections, section_points) -> int:
    if method == WEIGHTED_SUM:
        return sum(points for _, points in section_points)
    if method == PRODUCT_OF_SECTIONS:
        product = 1
        for section in sections:
            product *= sum(1 for s, _ in section_points if s == section)
        return product
    return len(section_points)


def validate_instrument(d: Any) -> list[str]:
    """Every problem that stops `d` being used as an instrument, in plain words."""
    if not isinstance(d, dict):
        return ["The instrument must be a JSON object (a set of named fields)."]
    problems: list[str] = []
    for key in _REQUIRED_KEYS:
        if key not in d:
            problems.append(f"The field '{key}' is missing.")
    for key in d:
        if key not in _REQUIRED_KEYS and key not in _OPTIONAL_KEYS:
            problems.append(f"The field '{key}' is not part of an instrument.")

    if "id" in d and not _is_text(d["id"]):
        problems.append("The instrument id must be non-empty text.")
    if "name" in d and not _is_text(d["name"]):
        problems.append("The instrument name must be non-empty text.")
    if "version" in d and not (_is_int(d["version"]) and d["version"] >= 1):
        problems.append("The version must be a whole number of 1 or more.")
    method = d.get("method")
    if "method" in d and method not in METHODS:
        problems.append(f"The scoring method {method!r} is unknown; use one of "
                        f"{', '.join(METHODS)}.")
    if "example" in d and not isinstance(d["example"], bool):
        problems.append("The field 'example' must be true or false.")
    for key in ("description", "secondary_label"):
        if key in d and not isinstance(d[key], str):
            problems.append(f"The field '{key}' must be text.")

    # None when the section list itself is unusable: that is reported once, not per question.
    sections = _check_sections(d["sections"], problems) if "sections" in d else None
    section_points = []
    if "items" in d:
        section_points = _check_items(d["items"], sections, method, problems)
    for section in sections or ():
        if section_points and not any(s == section for s, _ in section_points):
            problems.append(f"The section '{section}' has no questions.")

    max_score = None
    if method in METHODS and section_points and sections:
        max_score = _max_score(method, sections, section_points)

    if "threshold" in d:
        _check_threshold("threshold", d["threshold"], max_score, problems, required=True)
    if "secondary_threshold" in d:
        _check_threshold("secondary_threshold", d["secondary_threshold"], max_score, problems,
                         required=False)
        if d["secondary_threshold"] is not None and not _is_text(d.get("secondary_label", "")):
            problems.append("Give a label for the secondary threshold (say what it leads to).")

    if "bands" in d:
        _check_bands(d["bands"], max_score, problems)
    return problems


def _check_sections(sections: Any, problems: list[str]) -> list[str] | None:
    if not isinstance(sections, list) or not sections:
        problems.append("The instrument needs a list of at least one section.")
        return None
    seen: list[str] = []
    for position, section in enumerate(sections, start=1):
        if not _is_text(section):
            problems.append(f"Section {position} must be a non-empty name.")
        elif section in seen:
            problems.append(f"The section '{section}' is listed twice.")
        else:
            seen.append(section)
    return seen


def _check_items(items: Any, sections: list[str] | None, method: Any,
                 problems: list[str]) -> list[tuple[str, int]]:
    """Check every item; return (section, points) of the usable ones for further checks."""
    if not isinstance(items, list) or not items:
        problems.append("The instrument needs a list of at least one question.")
        return []
    first_position: dict[str, int] = {}
    usable: list[tuple[str, int]] = []
    for position, item in enumerate(items, start=1):
        where = f"Question {position}"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with an id, text and section.")
            continue
        for key in item:
            if key not in _ITEM_KEYS:
                problems.append(f"{where} has a field '{key}' that questions do not have.")
        item_id = item.get("id")
        if not _is_text(item_id):
            problems.append(f"{where} needs an id (non-empty text).")
        elif item_id in first_position:
            problems.append(f"{where} reuses the id '{item_id}' of question "
                            f"{first_position[item_id]}; ids must be unique.")
        else:
            first_position[item_id] = position
            where = f"Question {position} ('{item_id}')"
        if not _is_text(item.get("text")):
            problems.append(f"{where} needs its question text.")
        if "help" in item and not isinstance(item["help"], str):
            problems.append(f"{where}: the help must be text.")
        section = item.get("section")
        if sections is not None and section not in sections:
            problems.append(f"{where} is in the section {section!r}, which is not in the list "
                            "of sections.")
        points = item.get("points", 1)
        if not _is_int(points):
            problems.append(f"{where}: points must be a whole number.")
            continue
        if method == WEIGHTED_SUM and points < 1:
            problems.append(f"{where}: points must be 1 or more.")
        elif method in (COUNT_YES, PRODUCT_OF_SECTIONS) and points != 1:
            # Points only weigh on a weighted matrix; a stray value elsewhere suggests the
            # wrong method was chosen, and it would silently do nothing.
            problems.append(f"{where}: points must be 1 when the method is {method} "
                            "(use weighted_sum for weighted questions).")
        if sections is None or section in sections:
            usable.append((section, points))
    return usable


def _check_threshold(key: str, value: Any, max_score: int | None, problems: list[str],
                     required: bool) -> None:
    if value is None and not required:
        return
    if not _is_int(value):
        problems.append(f"The {key.replace('_', ' ')} must be a whole number.")
    elif value < 1:
        problems.append(f"The {key.replace('_', ' ')} must be 1 or more.")
    elif max_score is not None and value > max_score:
        problems.append(f"The {key.replace('_', ' ')} {value} can never be reached: the highest "
                        f"possible score is {max_score}.")


def _check_bands(bands: Any, max_score: int | None, problems: list[str]) -> None:
    if not isinstance(bands, list) or not bands:
        problems.append("The instrument needs a list of at least one band.")
        return
    usable: list[tuple[int, int | None, str]] = []
    names: set[str] = set()
    for position, band in enumerate(bands, start=1):
        if not isinstance(band, dict):
            problems.append(f"Band {position} must be an object with a name and a score range.")
            continue
        for key in band:
            if key not in _BAND_KEYS:
                problems.append(f"Band {position} has a field '{key}' that bands do not have.")
        name = band.get("name")
        label = f"Band {position}"
        if not _is_text(name):
            problems.append(f"{label} needs a name.")
        elif name in names:
            problems.append(f"The band name '{name}' is used twice.")
        else:
            names.add(name)
            label = f"Band '{name}'"
        if "high_risk" in band and not isinstance(band["high_risk"], bool):
            problems.append(f"{label}: high_risk must be true or false.")
        low, high = band.get("min_score"), band.get("max_score")
        if not (_is_int(low) and low >= 0):
            problems.append(f"{label}: the lowest score must be a whole number of 0 or more.")
            continue
        if high is not None and not _is_int(high):
            problems.append(f"{label}: the highest score must be a whole number, or empty for "
                            "no upper limit.")
            continue
        if high is not None and high < low:
            problems.append(f"{label}: the highest score {high} is below the lowest {low}.")
            continue
        usable.append((low, high, label))

    usable.sort(key=lambda b: b[0])
    for (_, high_a, label_a), (low_b, _, label_b) in zip(usable, usable[1:], strict=False):
        if high_a is None or high_a >= low_b:
            problems.append(f"{label_a} and {label_b} overlap: a score can only be in one band.")
        elif high_a + 1 < low_b:
            gap = str(high_a + 1) if high_a + 2 == low_b else f"{high_a + 1}-{low_b - 1}"
            problems.append(f"No band covers the scores {gap}, between {label_a} and {label_b}.")
    top_high, top_label = (usable[-1][1], usable[-1][2]) if usable else (None, "")
    if top_high is not None and (max_score is None or top_high < max_score):
        # Scores above the top band would silently get no band at all.
        reach = f" (the highest possible score is {max_score})" if max_score is not None else ""
        problems.append(f"{top_label} stops at {top_high}{reach}: leave its highest score "
                        "empty so that every higher score has a band.")
