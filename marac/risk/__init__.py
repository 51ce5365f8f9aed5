"""Risk instruments as data, pure scoring and referral criteria (no Flask, no database)."""
from .criteria import (
    AUTOMATIC_CATEGORY,
    COMMUNITY,
    CRITERION_LABELS,
    DOMESTIC_ABUSE,
    ESCALATION,
    PANEL_TYPES,
    PROFESSIONAL_JUDGEMENT,
    REPEAT,
    RULE_PRESETS,
    VISIBLE_HIGH_RISK,
    Criterion,
    PanelRules,
    PreviousReferral,
    ReferralFacts,
    Verdict,
    add_months,
    evaluate,
    months_before,
)
from .instruments import ASB_MATRIX_EXAMPLE, BUILTIN_INSTRUMENTS, COMMUNITY_EXAMPLE, DASH, MERIT
from .schema import (
    ANSWER_LABELS,
    COUNT_YES,
    DONT_KNOW,
    METHODS,
    NO,
    NOT_ASKED,
    PRODUCT_OF_SECTIONS,
    WEIGHTED_SUM,
    YES,
    Answer,
    Band,
    Instrument,
    InstrumentError,
    Item,
    validate_instrument,
)
from .scoring import ScoreResult, normalise_answer, score

__all__ = [
    "ANSWER_LABELS", "ASB_MATRIX_EXAMPLE", "AUTOMATIC_CATEGORY", "Answer", "BUILTIN_INSTRUMENTS",
    "Band", "COMMUNITY", "COMMUNITY_EXAMPLE", "COUNT_YES", "CRITERION_LABELS", "Criterion",
    "DASH", "DOMESTIC_ABUSE", "DONT_KNOW", "ESCALATION", "Instrument", "InstrumentError",
    "Item", "MERIT", "METHODS", "NO", "NOT_ASKED", "PANEL_TYPES", "PROFESSIONAL_JUDGEMENT",
    "PRODUCT_OF_SECTIONS", "PanelRules", "PreviousReferral", "REPEAT", "RULE_PRESETS",
    "ReferralFacts", "ScoreResult", "VISIBLE_HIGH_RISK", "Verdict", "WEIGHTED_SUM", "YES",
    "add_months", "evaluate", "months_before", "normalise_answer", "score",
    "validate_instrument",
]
