"""Pure scoring of a completed risk instrument."""
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema import (
    COUNT_YES,
    DONT_KNOW,
    NO,
    NOT_ASKED,
    PRODUCT_OF_SECTIONS,
    WEIGHTED_SUM,
    YES,
    Answer,
    Band,
    Instrument,
    Item,
)

_VALID_ANSWERS = frozenset(a.value for a in Answer)


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one set of answers, with enough detail to show why."""

    instrument_id: str
    instrument_version: int
    total: int
    section_counts: dict[str, int]
    yes_count: int
    no_count: int
    dont_know_count: int
    not_asked_count: int
    band: Band | None
    threshold: int
    threshold_met: bool
    secondary_threshold: int | None
    secondary_label: str
    secondary_met: bool
    drivers: list[Item]
    formula: str
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def answered_count(self) -> int:
        """Questions given any answer, "don't know" included."""
        return self.yes_count + self.no_count + self.dont_know_count

    @property
    def complete(self) -> bool:
        """Whether every question has an answer."""
        return self.not_asked_count == 0

    @property
    def summary(self) -> str:
        """One line for lists and agendas, e.g. "72 (GOLD)"."""
        return f"{self.total} ({self.band.name})" if self.band else f"{self.total} (no band)"

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe data, for storing beside a referral."""
        return {
            "instrument_id": self.instrument_id,
            "instrument_version": self.instrument_version,
            "total": self.total,
            "section_counts": dict(self.section_counts),
            "yes_count": self.yes_count,
            "no_count": self.no_count,
            "dont_know_count": self.dont_know_count,
            "not_asked_count": self.not_asked_count,
            "band": self.band.name if self.band else None,
            "threshold": self.threshold,
            "threshold_met": self.threshold_met,
            "secondary_threshold": self.secondary_threshold,
            "secondary_label": self.secondary_label,
            "secondary_met": self.secondary_met,
            "drivers": [item.id for item in self.drivers],
            "formula": self.formula,
            "answers": dict(self.answers),
        }


def normalise_answer(value: Any) -> str:
    """One of the four answer strings; anything unrecognised counts as not asked."""
    return value if isinstance(value, str) and value in _VALID_ANSWERS else NOT_ASKED.value


def score(instrument: Instrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Score answers (item id -> answer) against an instrument; unknown ids are ignored."""
    given = {item.id: normalise_answer(answers.get(item.id)) for item in instrument.items}
    drivers = [item for item in instrument.items if given[item.id] == YES]
    tallies = {answer: sum(1 for a in given.values() if a == answer) for answer in _VALID_ANSWERS}

    section_counts = {section: 0 for section in instrument.sections}
    for item in drivers:
        # A count method ignores points, so a stray weight on an imported form cannot skew it.
        section_counts[item.section] += item.points if instrument.method == WEIGHTED_SUM else 1

    total, formula = _total_and_formula(instrument, section_counts, drivers)
    secondary = instrument.secondary_threshold
    return ScoreResult(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        total=total,
        section_counts=section_counts,
        yes_count=tallies[YES],
        no_count=tallies[NO],
        dont_know_count=tallies[DONT_KNOW],
        not_asked_count=tallies[NOT_ASKED],
        band=instrument.band_for(total),
        threshold=instrument.threshold,
        threshold_met=total >= instrument.threshold,
        secondary_threshold=secondary,
        secondary_label=instrument.secondary_label,
        secondary_met=secondary is not None and total >= secondary,
        drivers=drivers,
        formula=formula,
        answers={item_id: a for item_id, a in given.items() if a != NOT_ASKED},
    )


def _total_and_formula(instrument: Instrument, section_counts: dict[str, int],
                       drivers: list[Item]) -> tuple[int, str]:
    if instrument.method == PRODUCT_OF_SECTIONS:
        total = 1
        for count in section_counts.values():
            total *= count
        return total, " × ".join(str(c) for c in section_counts.values()) + f" = {total}"
    if instrument.method == WEIGHTED_SUM:
        total = sum(item.points for item in drivers)
        if len(drivers) < 2:
            return total, _plural(total, "point")
        return total, " + ".join(str(item.points) for item in drivers) + f" = {total} points"
    if instrument.method == COUNT_YES:
        return len(drivers), _plural(len(drivers), "yes answer")
    # Instruments built in code skip validation, so say plainly what is wrong.
    raise ValueError(f"unknown scoring method {instrument.method!r}")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
