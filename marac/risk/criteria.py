"""Pure referral criteria: does a referral meet this panel's threshold, and why."""
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from .scoring import ScoreResult

DOMESTIC_ABUSE = "domestic_abuse"
COMMUNITY = "community"
PANEL_TYPES: tuple[str, ...] = (DOMESTIC_ABUSE, COMMUNITY)

VISIBLE_HIGH_RISK = "visible_high_risk"
PROFESSIONAL_JUDGEMENT = "professional_judgement"
ESCALATION = "escalation"
AUTOMATIC_CATEGORY = "automatic_category"
REPEAT = "repeat"

CRITERION_LABELS: dict[str, str] = {
    VISIBLE_HIGH_RISK: "Visible high risk",
    PROFESSIONAL_JUDGEMENT: "Professional judgement",
    ESCALATION: "Potential escalation",
    AUTOMATIC_CATEGORY: "Honour-based violence, forced marriage or FGM",
    REPEAT: "Repeat referral",
}

MISSING_CHECKLIST = "Answer the risk checklist"
MISSING_PJ_REASON = "Give a reason for a professional-judgement referral"


def add_months(d: date, n: int) -> date:
    """The same day n calendar months later (n may be negative), clamped to the month's end."""
    index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = (first_of_next - timedelta(days=1)).day
    return date(year, month, min(d.day, last_day))


def months_before(d: date, n: int) -> date:
    """The same day n calendar months earlier, clamped to the month's end (31 Mar - 1 = 29 Feb)."""
    return add_months(d, -n)


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


@dataclass(frozen=True)
class PanelRules:
    """One panel's referral criteria; every threshold, window and switch is a setting."""

    panel_type: str = DOMESTIC_ABUSE
    instrument_id: str = "dash"
    # None uses the instrument's own threshold; a number overrides it for the panel's own
    # instrument only (some areas refer DASH at 17+), never for another instrument accepted
    # alongside it.
    high_risk_threshold: int | None = None
    require_checklist: bool = True
    criteria_visible_high_risk: bool = True
    criteria_professional_judgement: bool = True
    criteria_escalation: bool = True
    escalation_incidents: int = 3
    escalation_months: int = 12
    criteria_automatic_categories: bool = True
    closed_session_hbv: bool = False
    criteria_repeat: bool = True
    repeat_months: int = 12
    # Liverpool: any abuse within 3 months of the last referral is a repeat, while within
    # 12 months the new incident must involve violence or threats, stalking or harassment,
    # or sexual abuse. None: any incident within repeat_months is a repeat (SafeLives).
    repeat_any_incident_months: int | None = None
    min_age: int | None = 16
    require_in_area: bool = True

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """Settings that make no sense, in plain words; empty when the rules are usable."""
        problems = []
        if self.panel_type not in PANEL_TYPES:
            problems.append(f"panel type must be one of {', '.join(PANEL_TYPES)}")
        for name in ("escalation_incidents", "escalation_months", "repeat_months"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name.replace('_', ' ')} must be a whole number of 1 or more")
        for name in ("high_risk_threshold", "repeat_any_incident_months"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                problems.append(f"{name.replace('_', ' ')} must be empty or a whole number of "
                                "1 or more")
        if self.min_age is not None and (not isinstance(self.min_age, int)
                                         or isinstance(self.min_age, bool)
                                         or not 0 <= self.min_age <= 120):
            problems.append("min age must be empty or a whole number from 0 to 120")
        return problems

    @property
    def person(self) -> str:
        """What the panel calls the person at the centre of a referral."""
        return "victim" if self.panel_type == DOMESTIC_ABUSE else "person referred"

    def to_dict(self) -> dict[str, Any]:
        """These rules as JSON-safe data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PanelRules":
        """Rules from stored data; unknown keys are skipped so older or newer saves still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


RULE_PRESETS: dict[str, PanelRules] = {
    "merton": PanelRules(panel_type=COMMUNITY, instrument_id="community_example",
                         criteria_automatic_categories=False, min_age=18),
    "ealing": PanelRules(panel_type=COMMUNITY, instrument_id="community_example",
                         criteria_automatic_categories=False, repeat_months=10, min_age=16),
    "barking_dagenham": PanelRules(panel_type=DOMESTIC_ABUSE, instrument_id="dash",
                                   min_age=16),
    "redbridge": PanelRules(panel_type=COMMUNITY, instrument_id="asb_matrix_example",
                            criteria_automatic_categories=False, min_age=18),
    "liverpool": PanelRules(panel_type=DOMESTIC_ABUSE, instrument_id="merit",
                            closed_session_hbv=True, repeat_any_incident_months=3, min_age=16),
}


@dataclass(frozen=True)
class PreviousReferral:
    """An earlier referral involving the victim or a perpetrator of the new one."""

    date: date
    victim_id: Hashable
    perpetrator_id: Hashable | None
    panel_heard: bool = True
    information_only: bool = False
    other_marac: bool = False

    @property
    def counts_for_repeat(self) -> bool:
        """Whether this referral can make a later one a repeat (heard here, not for info only)."""
        return self.panel_heard and not self.information_only and not self.other_marac


@dataclass(frozen=True, kw_only=True)
class ReferralFacts:
    """What a referral says, as far as the criteria need it; every answer may still be blank."""

    referral_date: date
    score: ScoreResult | None = None
    professional_judgement: bool = False
    professional_judgement_reason: str = ""
    incidents_last_12_months: int | None = None
    # Dated incidents let a panel count over a window other than 12 months (Kent: 3 in 6).
    incident_dates: Sequence[date] = ()
    escalating: bool = False
    honour_based_violence: bool = False
    forced_marriage: bool = False
    fgm: bool = False
    subject_age: int | None = None
    in_area: bool | None = None
    victim_id: Hashable | None = None
    perpetrator_ids: Sequence[Hashable] = ()
    # Did the new incident involve violence or threats, stalking or harassment, or sexual
    # abuse? Only asked where a repeat window depends on it (repeat_any_incident_months).
    serious_incident: bool | None = None
    # Must not include the referral being evaluated.
    previous_referrals: Sequence[PreviousReferral] = ()


@dataclass(frozen=True)
class Criterion:
    """One referral criterion and why it is, or is not, met for this referral."""

    key: str
    label: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Whether a referral meets the panel's threshold, on which criteria, and what is missing."""

    eligible: bool
    meets_threshold: bool
    met: list[Criterion]
    not_met: list[Criterion]
    missing: list[str]
    ineligible_reasons: list[str]
    closed_session: bool
    is_repeat: bool
    repeat_of: PreviousReferral | None = None
    needs_quality_assurance: bool = False
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Plain-English sentences explaining the verdict; never empty."""
        sentences = list(self.ineligible_reasons)
        if self.met:
            sentences += [c.reason for c in self.met]
        else:
            sentences.append("No referral criterion is met yet." if self.not_met
                             else "This panel has no referral criteria switched on.")
            sentences += [c.reason for c in self.not_met]
        return sentences + self.notes

    @property
    def summary(self) -> str:
        """One line: the outcome and the criteria met."""
        if not self.eligible:
            return "Not eligible for this panel"
        if self.meets_threshold:
            return "Meets the threshold on: " + ", ".join(c.label for c in self.met)
        return "Does not meet the threshold"

    def met_keys(self) -> list[str]:
        """The keys of the criteria met, in the panel's order."""
        return [c.key for c in self.met]


def evaluate(rules: PanelRules, facts: ReferralFacts) -> Verdict:
    """Apply a panel's referral criteria to what a referral says."""
    met: list[Criterion] = []
    not_met: list[Criterion] = []
    missing: list[str] = []
    notes: list[str] = []

    def record(key: str, ok: bool, reason: str) -> None:
        (met if ok else not_met).append(Criterion(key, CRITERION_LABELS[key], reason))

    score = facts.score
    answered = score is not None and score.answered_count > 0
    if rules.require_checklist:
        if not answered:
            missing.append(MISSING_CHECKLIST)
        elif not score.complete:
            left = ("question" if score.not_asked_count == 1
                    else f"{score.not_asked_count} questions")
            missing.append(f"Answer the remaining {left} of the risk checklist "
                           "(\"Don't know\" is an answer)")

    if rules.criteria_visible_high_risk:
        record(VISIBLE_HIGH_RISK, *_visible_high_risk(rules, score if answered else None))
    if score is not None and score.secondary_met:
        notes.append(f"The score of {score.total} is {score.secondary_threshold} or more: "
                     f"{score.secondary_label or 'the secondary threshold is met'}.")

    if rules.criteria_professional_judgement:
        no_reason = not facts.professional_judgement_reason.strip()
        if facts.professional_judgement and no_reason:
            missing.append(MISSING_PJ_REASON)
        record(PROFESSIONAL_JUDGEMENT, *_professional_judgement(facts.professional_judgement,
                                                                no_reason))

    if rules.criteria_escalation:
        record(ESCALATION, *_escalation(rules, facts))

    if rules.criteria_automatic_categories:
        found = [name for name, present in (("honour-based violence", facts.honour_based_violence),
                                            ("forced marriage", facts.forced_marriage),
                                            ("FGM", facts.fgm)) if present]
        if found:
            record(AUTOMATIC_CATEGORY, True,
                   f"The referral involves {_join(found)}, which this panel always hears.")
        else:
            record(AUTOMATIC_CATEGORY, False,
                   "No honour-based violence, forced marriage or FGM is recorded.")

    repeat_of, repeat_reason, repeat_question = _repeat(rules, facts)
    if repeat_question:
        missing.append(repeat_question)
    if rules.criteria_repeat:
        record(REPEAT, repeat_of is not None, repeat_reason)
    elif repeat_of is not None:
        # Still counted and flagged on the agenda, though this panel does not list on it alone.
        notes.append(f"This is a repeat: the same {rules.person} and perpetrator were referred "
                     f"on {_long_date(repeat_of.date)}.")

    ineligible = _eligibility(rules, facts, missing)
    closed = rules.closed_session_hbv and facts.honour_based_violence
    if closed:
        notes.append("Honour-based violence cases are heard in a closed session.")
    only_pj = [c.key for c in met] == [PROFESSIONAL_JUDGEMENT]
    if only_pj:
        notes.append("A professional-judgement referral is quality-assured before it is listed "
                     "(by the chair for police referrals, by the coordinator for others).")

    return Verdict(
        eligible=not ineligible,
        meets_threshold=not ineligible and bool(met),
        met=met,
        not_met=not_met,
        missing=missing,
        ineligible_reasons=ineligible,
        closed_session=closed,
        is_repeat=repeat_of is not None,
        repeat_of=repeat_of,
        needs_quality_assurance=only_pj,
        notes=notes,
        flags=_cross_links(rules, facts),
    )


def _visible_high_risk(rules: PanelRules, score: ScoreResult | None) -> tuple[bool, str]:
    if score is None:
        return False, "The risk checklist has not been answered yet."
    threshold = score.threshold
    if rules.high_risk_threshold is not None and score.instrument_id == rules.instrument_id:
        threshold = rules.high_risk_threshold
    if score.total >= threshold:
        return True, (f"Visible high risk: the score of {score.total} is at or over the "
                      f"threshold of {threshold}.")
    return False, f"The score of {score.total} is under the threshold of {threshold}."


def _professional_judgement(claimed: bool, no_reason: bool) -> tuple[bool, str]:
    if not claimed:
        return False, "The referrer has not made this a professional-judgement referral."
    if no_reason:
        return False, "A professional-judgement referral needs the referrer's reason."
    return True, "The referrer has made a professional-judgement referral and given a reason."


def _escalation(rules: PanelRules, facts: ReferralFacts) -> tuple[bool, str]:
    window = _months(rules.escalation_months)
    count = _incidents_in_window(rules, facts)
    if facts.escalating:
        return True, ("Potential escalation: the referrer says incidents are becoming more "
                      "frequent or more serious.")
    if count is not None and count >= rules.escalation_incidents:
        return True, (f"Potential escalation: {count} incidents in the last {window} (the panel "
                      f"hears {rules.escalation_incidents} or more).")
    if count is None:
        return False, (f"No count of incidents in the last {window} is given, and the referrer "
                       "does not say incidents are rising.")
    return False, (f"{count} incidents in the last {window}, fewer than "
                   f"{rules.escalation_incidents}, and the referrer does not say incidents are "
                   "rising.")


def _incidents_in_window(rules: PanelRules, facts: ReferralFacts) -> int | None:
    """Incidents inside the escalation window, or None when the facts cannot say."""
    if facts.incident_dates:
        since = months_before(facts.referral_date, rules.escalation_months)
        return sum(1 for d in facts.incident_dates if since <= d <= facts.referral_date)
    if rules.escalation_months == 12:
        return facts.incidents_last_12_months
    return None


def _same_people(prev: PreviousReferral, facts: ReferralFacts) -> bool:
    if facts.victim_id is None or prev.victim_id != facts.victim_id:
        return False
    if prev.perpetrator_id is None:
        # A community case may have no perpetrator: then the same subject is the same case.
        return not facts.perpetrator_ids
    return prev.perpetrator_id in facts.perpetrator_ids


def _repeat(rules: PanelRules, facts: ReferralFacts
            ) -> tuple[PreviousReferral | None, str, str | None]:
    """The referral this one repeats (or None), why, and a question when a fact decides it."""
    who = f"the same {rules.person} and perpetrator"
    earlier = [p for p in facts.previous_referrals
               if p.counts_for_repeat and p.date <= facts.referral_date and _same_people(p, facts)]
    if not earlier:
        return None, (f"There is no earlier referral of {who} heard at this panel."), None
    last = max(earlier, key=lambda p: p.date)
    when = _long_date(last.date)
    # Counted from the last referral, and a referral exactly N calendar months on is within.
    short = rules.repeat_any_incident_months
    if short is not None and last.date >= months_before(facts.referral_date, short):
        return last, (f"This is a repeat: {who} were referred on {when}, within "
                      f"{_months(short)}. Repeats are heard whatever the score."), None
    if last.date < months_before(facts.referral_date, rules.repeat_months):
        return None, (f"Not a repeat: {who} were last referred on {when}, more than "
                      f"{_months(rules.repeat_months)} ago."), None
    if short is None or facts.serious_incident:
        return last, (f"This is a repeat: {who} were referred on {when}, within "
                      f"{_months(rules.repeat_months)}. Repeats are heard whatever the "
                      "score."), None
    serious = "violence or threats, stalking or harassment, or sexual abuse"
    if facts.serious_incident is None:
        return None, (f"{who.capitalize()} were referred on {when}: this is a repeat if the new "
                      f"incident involved {serious}."), (
                    f"Say whether the new incident involved {serious} (it decides whether "
                    "this is a repeat)")
    return None, (f"Not a repeat: {who} were referred on {when}, more than {_months(short)} "
                  f"ago, and the new incident did not involve {serious}."), None


def _cross_links(rules: PanelRules, facts: ReferralFacts) -> list[str]:
    """Earlier referrals here that share only the victim or only a perpetrator, newest first."""
    flags = []
    for prev in sorted(facts.previous_referrals, key=lambda p: p.date, reverse=True):
        if prev.other_marac or prev.date > facts.referral_date:
            continue
        same_victim = facts.victim_id is not None and prev.victim_id == facts.victim_id
        same_perpetrator = (prev.perpetrator_id is not None
                            and prev.perpetrator_id in facts.perpetrator_ids)
        when = _long_date(prev.date)
        if same_victim and not same_perpetrator and prev.perpetrator_id is not None:
            flags.append(f"Same {rules.person}, different perpetrator: referred on {when}.")
        elif same_perpetrator and not same_victim:
            flags.append(f"Same perpetrator, different {rules.person}: referred on {when}.")
    return flags


def _eligibility(rules: PanelRules, facts: ReferralFacts, missing: list[str]) -> list[str]:
    """Reasons the panel cannot hear this referral; adds to `missing` what it needs to know."""
    reasons = []
    if rules.min_age is not None:
        if facts.subject_age is None:
            missing.append(f"Give the {rules.person}'s age")
        elif facts.subject_age < rules.min_age:
            reasons.append(f"The {rules.person} is {facts.subject_age}; this panel hears people "
                           f"aged {rules.min_age} and over.")
    if rules.require_in_area:
        if facts.in_area is None:
            missing.append(f"Say whether the {rules.person} lives in the area the panel covers")
        elif not facts.in_area:
            reasons.append(f"The {rules.person} does not live in the area this panel covers.")
    return reasons


def _months(n: int) -> str:
    return "1 month" if n == 1 else f"{n} months"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
