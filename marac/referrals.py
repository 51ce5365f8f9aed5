"""Referrals: a referrer's draft, section by section; the live score; submission; amendments.

Referral.data (JSON) holds the form as the referrer wrote it. Layout (other areas read it):

    {
      "people": [                   # the main person first, then children, then perpetrators
        {"ref": "k3v9q2",           # stable id of the entry inside this referral (not personal)
         "role": "victim" | "subject" | "child" | "perpetrator" | "witness",
         "given_name": "", "family_name": "",
         "aliases": "",             # other names, separated by ";"
         "date_of_birth": "YYYY-MM-DD" | "",
         "address": "", "postcode": "",
         "lives_in_area": "yes" | "no" | "",    # main person, when the panel asks (no postcode list)
         "sex": "", "gender_identity": "", "sexual_orientation": "", "ethnicity": "", "disability": "",
                                    # codes from SEX, GENDER_IDENTITY, SEXUAL_ORIENTATION, ETHNICITY,
                                    # DISABILITY below ("" = not recorded)
         "school": "",              # children: school, nursery or early-years setting
         "pregnant": bool},         # the victim (domestic-abuse panels)
        ...],
      "has_children": "yes" | "no" | "",        # children in the household
      "safe_contact": {"phone": "", "times": "", "safe_to_post": "yes" | "no" | "",
                       "safe_address": "", "notes": ""},
      "consent": {"status": "given" | "not_given" | "not_asked" | "", "reason": ""},
      "barriers": {"interpreter": "yes" | "no" | "", "language": "", "disability_needs": "", "other": ""},
      "incident": {"date": "YYYY-MM-DD" | "", "description": "", "background": "", "police_reference": ""},
      "current_risk": "",
      "actions_taken": "",
      "checklist": {"source": ""},  # who gave the answers, if not the victim
      "saved_sections": ["person", ...],        # sections saved at least once (for the task list)
      "criteria": {"professional_judgement": bool, "professional_judgement_reason": "",
                   "incidents_last_12_months": int | None, "escalating": bool,
                   "honour_based_violence": bool, "forced_marriage": bool, "fgm": bool,
                   "serious_incident": bool | None}
    }

A draft may also hold "<field>_input" keys beside a date or number ("date_of_birth_input",
"date_input", "incidents_last_12_months_input"): what was typed that is not a valid value yet,
so nothing typed is lost. A submitted referral never has them (submit validates first).

Referral.answers: {item id: "yes" | "no" | "dont_know"} (questions not answered are left out).
Referral.instrument_json: the instrument as scored (frozen at submission).
Referral.verdict: {"summary", "eligible", "meets_threshold", "met": [{key, label, reason}],
"not_met": [...], "missing": [...], "ineligible_reasons": [...], "notes": [...], "flags": [...],
"reasons": [...], "closed_session", "is_repeat", "repeat_of": "YYYY-MM-DD" | None,
"needs_quality_assurance", "threshold", "score": ScoreResult.to_dict(), "rules": PanelRules.to_dict()}.
"""
import copy
import json
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date
from functools import lru_cache

from marac import audit, clock, people, settings
from marac.db import db
from marac.formatting import LONDON
from marac.instruments import get_instrument
from marac.models import Referral, ReferralAmendment
from marac.risk import (
    ANSWER_LABELS,
    DOMESTIC_ABUSE,
    Instrument,
    PanelRules,
    ReferralFacts,
    ScoreResult,
    Verdict,
    evaluate,
    normalise_answer,
    score,
)

YES_NO = {"yes": "Yes", "no": "No"}
SEX = {"female": "Female", "male": "Male", "not_known": "Not known"}
GENDER_IDENTITY = {
    "same": "Same as the sex registered at birth",
    "different": "Different from the sex registered at birth (for example trans or non-binary)",
    "not_known": "Not known or not asked",
}
SEXUAL_ORIENTATION = {
    "heterosexual": "Heterosexual or straight",
    "gay_lesbian": "Gay or lesbian",
    "bisexual": "Bisexual",
    "other": "Another sexual orientation",
    "not_known": "Not known or not asked",
}
ETHNICITY = {
    "asian": "Asian or Asian British",
    "black": "Black, Black British, Caribbean or African",
    "mixed": "Mixed or multiple ethnic groups",
    "white_british": "White: English, Welsh, Scottish, Northern Irish or British",
    "white_other": "White: any other background (including Irish, Gypsy, Irish Traveller or Roma)",
    "other": "Another ethnic group",
    "not_known": "Not known or not asked",
}
DISABILITY = {"yes": "Yes", "no": "No", "not_known": "Not known or not asked"}
EQUALITY_FIELDS = {
    "sex": ("Sex", SEX),
    "gender_identity": ("Gender identity", GENDER_IDENTITY),
    "sexual_orientation": ("Sexual orientation", SEXUAL_ORIENTATION),
    "ethnicity": ("Ethnicity", ETHNICITY),
    "disability": ("Disability", DISABILITY),
}
CONSENT = {
    "given": "Yes, the victim agreed to the referral",
    "not_given": "No, the victim did not agree",
    "not_asked": "No, the victim was not asked",
}
MAIN_ROLES = ("victim", "subject")
EDITABLE_STATUSES = ("draft", "returned")
PERSON_KEYS = ("ref", "role", "given_name", "family_name", "aliases", "date_of_birth", "address", "postcode",
               "lives_in_area", "sex", "gender_identity", "sexual_orientation", "ethnicity", "disability",
               "school", "pregnant")


class NotAllowed(Exception):
    """This user may not make this change to this referral (the view answers 404)."""


class NoChange(Exception):
    """An amendment that changes nothing."""


class Invalid(Exception):
    """The referral (or an amendment) does not pass validation; `errors` says where and why."""

    def __init__(self, errors: "list[FieldError]"):
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


# --- sections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    group: str


def sections(rules: PanelRules) -> list[Section]:
    """The sections of the form, in order, worded for the panel's type."""
    da = rules.panel_type == DOMESTIC_ABUSE
    return [
        Section("person", "The victim" if da else "The person referred", "People"),
        Section("children", "Children in the household", "People"),
        Section("perpetrators", "The perpetrator" if da else "People causing harm (if known)", "People"),
        Section("equality", "Equality details", "People"),
        Section("contact", "Safe contact", "Safety and consent"),
        Section("consent", "Consent", "Safety and consent"),
        Section("barriers", "Interpreter, disability and other barriers", "Safety and consent"),
        Section("incident", "The incident and background", "What is happening"),
        Section("risk", "Current risk and what you have done", "What is happening"),
        Section("checklist", "Risk checklist and referral criteria", "Risk"),
    ]


def section(rules: PanelRules, slug: str) -> Section | None:
    """The section with this slug, or None."""
    return next((s for s in sections(rules) if s.slug == slug), None)


def next_section(rules: PanelRules, slug: str) -> Section | None:
    """The section after this one (None after the last)."""
    slugs = [s.slug for s in sections(rules)]
    i = slugs.index(slug)
    return sections(rules)[i + 1] if i + 1 < len(slugs) else None


# --- reading the data ------------------------------------------------------------------------


def load(referral: Referral) -> dict:
    """The referral's data as a dict."""
    return json.loads(referral.data or "{}")


def load_answers(referral: Referral) -> dict:
    """The checklist answers as saved ({item id: answer})."""
    return json.loads(referral.answers or "{}")


def load_verdict(referral: Referral) -> dict:
    """The frozen verdict of a submitted referral ({} for a draft)."""
    return json.loads(referral.verdict or "{}")


def main_role(rules: PanelRules) -> str:
    """What the person at the centre of a referral is, for this panel."""
    return "victim" if rules.panel_type == DOMESTIC_ABUSE else "subject"


def main_person(data: dict) -> dict:
    """The victim (or subject): the first such entry, or an empty dict."""
    return next((p for p in data.get("people", []) if p.get("role") in MAIN_ROLES), {})


def people_in(data: dict, role: str) -> list[dict]:
    """The people of one role, in order."""
    return [p for p in data.get("people", []) if p.get("role") == role]


def full_name(person: dict) -> str:
    """Given and family name, as typed."""
    return f"{person.get('given_name', '')} {person.get('family_name', '')}".strip()


def display_name(referral: Referral, data: dict | None = None) -> str:
    """How a referral is named in lists: the main person's name, or a placeholder."""
    return full_name(main_person(data if data is not None else load(referral))) or "Name not given yet"


def is_editable(referral: Referral) -> bool:
    """Whether the referral is a draft (or was returned for more information)."""
    return referral.status in EDITABLE_STATUSES


def can_edit(user, referral: Referral) -> bool:
    """Only the author edits a draft, or a referral returned to them."""
    return referral.author_id == user.id and is_editable(referral)


def can_amend(user, referral: Referral) -> bool:
    """The coordinator corrects any submitted referral; its author only until it is decided."""
    if is_editable(referral):
        return False
    if user.role == "coordinator":
        return True
    return (referral.author_id == user.id and referral.status == "submitted" and referral.decided_at is None
            and referral.qa_status in ("", "pending"))


def today() -> date:
    """Today's date in the UK (dates of birth and ages are UK dates)."""
    return clock.now().replace(tzinfo=UTC).astimezone(LONDON).date()


def age_on(born: date, day: date) -> int:
    """Age in whole years on a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def new_ref() -> str:
    """A short id for a person entry, unique enough inside one referral."""
    return secrets.token_hex(4)


# --- applying a section's values (pure) ---------------------------------------------------------


def _person(entry: dict, role: str, old: dict | None = None) -> dict:
    """A person entry: the old entry's fields, overwritten by the new values."""
    person = {key: "" for key in PERSON_KEYS}
    person["pregnant"] = False
    person.update(old or {})
    person.update({k: v for k, v in entry.items() if (k in PERSON_KEYS or k.endswith("_input")) and k != "ref"})
    _tidy(person)
    person["role"] = role
    person["ref"] = person.get("ref") or new_ref()
    return person


def _tidy(values: dict) -> dict:
    """Drop empty "<field>_input" keys: a valid (or empty) value needs no copy of what was typed."""
    for key in [k for k, v in values.items() if k.endswith("_input") and not v]:
        del values[key]
    return values


def _is_blank(entry: dict) -> bool:
    return not any(str(v).strip() for k, v in entry.items() if k not in ("ref", "role") and v not in (False, None))


def _people_list(data: dict, main: dict | None, children: list[dict], perpetrators: list[dict]) -> list[dict]:
    others = [p for p in data.get("people", []) if p.get("role") not in MAIN_ROLES + ("child", "perpetrator")]
    return ([main] if main else []) + children + perpetrators + others


def _merge_people(old_list: list[dict], new_list: list[dict], role: str) -> list[dict]:
    """New entries of one role matched to old ones by ref; blank entries dropped."""
    by_ref = {p.get("ref"): p for p in old_list}
    return [_person(entry, role, by_ref.get(entry.get("ref"))) for entry in new_list if not _is_blank(entry)]


def apply_section(data: dict, slug: str, values: dict, rules: PanelRules) -> dict:
    """A copy of `data` with one section's values put in; the values are in that section's shape.

    person: a person dict; children: {"has_children", "children": [person dicts]};
    perpetrators: {"perpetrators": [...]}; equality: {"people": [{"ref", <equality fields>}]};
    contact / consent / barriers / incident: the dict stored under safe_contact / consent /
    barriers / incident; risk: {"current_risk", "actions_taken"}; checklist: {"checklist",
    "criteria"}.
    """
    data = copy.deepcopy(data)
    main = main_person(data) or None
    children = people_in(data, "child")
    perpetrators = people_in(data, "perpetrator")
    if slug == "person":
        main = _person(values, main_role(rules), main)
    elif slug == "children":
        data["has_children"] = values.get("has_children", "")
        children = _merge_people(children, values.get("children", []), "child")
    elif slug == "perpetrators":
        perpetrators = _merge_people(perpetrators, values.get("perpetrators", []), "perpetrator")
    elif slug == "equality":
        entries = values.get("people", [])
        by_ref = {entry.get("ref"): entry for entry in entries if entry.get("ref")}
        for i, person in enumerate(([main] if main else []) + perpetrators):
            # Matched by ref; an entry posted without one is taken by position.
            entry = by_ref.get(person["ref"]) or (entries[i] if i < len(entries) and not entries[i].get("ref")
                                                   else {})
            for key in EQUALITY_FIELDS:
                if key in entry:
                    person[key] = entry[key]
    elif slug in ("contact", "consent", "barriers", "incident"):
        key = {"contact": "safe_contact"}.get(slug, slug)
        data[key] = _tidy(dict(values))
    elif slug == "risk":
        data["current_risk"] = values.get("current_risk", "")
        data["actions_taken"] = values.get("actions_taken", "")
    elif slug == "checklist":
        data["checklist"] = dict(values.get("checklist", {}))
        data["criteria"] = _tidy(dict(values.get("criteria", {})))
    else:
        raise KeyError(f"no section {slug!r}")
    data["people"] = _people_list(data, main, children, perpetrators)
    if slug not in data.setdefault("saved_sections", []):
        data["saved_sections"].append(slug)
    return data


def clean_answers(instrument: Instrument, answers: dict) -> dict:
    """Only this instrument's questions, only real answers."""
    result = {}
    for item in instrument.items:
        answer = normalise_answer(answers.get(item.id))
        if answer != "not_asked":
            result[item.id] = answer
    return result


# --- validation (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem: the section, the form field (its HTML id), and the message."""

    section: str
    field: str
    message: str
    anchor: str = ""  # the element to link to, when not the field id (a date's day box)
    in_summary: bool = True  # listed in the error summary
    beside: bool = True  # shown beside its field

    @property
    def href_id(self) -> str:
        return self.anchor or self.field


@dataclass(frozen=True)
class Context:
    """What validation and scoring need to know about the panel."""

    rules: PanelRules
    instrument: Instrument
    postcode_prefixes: tuple[str, ...] = ()
    today: date | None = None

    @property
    def asks_area(self) -> bool:
        """Whether the referrer is asked if the person lives in the area (no postcode list set)."""
        return self.rules.require_in_area and not self.postcode_prefixes


def in_area(person: dict, prefixes) -> bool | None:
    """Whether the main person lives in the panel's area: by postcode when the panel lists its
    outward codes, otherwise the referrer's answer; None when unknown."""
    if prefixes:
        outward = people.outward_code(person.get("postcode", ""))
        if not outward:
            return None
        return outward in {people.postcode_key(p) for p in prefixes}
    answer = person.get("lives_in_area", "")
    return {"yes": True, "no": False}.get(answer)


def _check_date(errors, slug, field, entry, key, what, required, today_):
    """A date: a real date, not in the future, and given if `required` (the message when it is
    not). Returns the date or None."""
    if entry.get(f"{key}_input"):
        errors.append(FieldError(slug, field, f"{what} must be a real date", f"{field}-day"))
        return None
    value = _date(entry.get(key))
    if value is None:
        if required:
            errors.append(FieldError(slug, field, required, f"{field}-day"))
        return None
    if value > today_:
        errors.append(FieldError(slug, field, f"{what} must be today or in the past", f"{field}-day"))
        return None
    return value


def validate(data: dict, answers: dict, ctx: Context) -> list[FieldError]:
    """Every problem that stops the referral being submitted, in form order."""
    rules = ctx.rules
    today_ = ctx.today or today()
    who = rules.person
    errors: list[FieldError] = []
    da = rules.panel_type == DOMESTIC_ABUSE

    # The main person.
    main = main_person(data)
    e = errors.append
    if not (main.get("given_name") or "").strip():
        e(FieldError("person", "given_name", f"Enter the {who}'s first name"))
    if not (main.get("family_name") or "").strip():
        e(FieldError("person", "family_name", f"Enter the {who}'s last name"))
    born = _check_date(errors, "person", "date_of_birth", main, "date_of_birth", "Date of birth",
                       f"Enter the {who}'s date of birth", today_)
    if born and rules.min_age is not None and age_on(born, today_) < rules.min_age:
        e(FieldError("person", "date_of_birth",
                     f"The {who} is {age_on(born, today_)}: this panel hears people aged {rules.min_age} and over",
                     "date_of_birth-day"))
    if not (main.get("address") or "").strip():
        e(FieldError("person", "address", f"Enter the {who}'s address"))
    if ctx.postcode_prefixes:
        if not (main.get("postcode") or "").strip():
            e(FieldError("person", "postcode", f"Enter the {who}'s postcode"))
        elif not people.outward_code(main["postcode"]):
            e(FieldError("person", "postcode", "Enter a real postcode, like IG11 7AB"))
        elif rules.require_in_area and not in_area(main, ctx.postcode_prefixes):
            e(FieldError("person", "postcode",
                         "This postcode is outside the area this panel covers: refer to the panel where the "
                         f"{who} lives"))
    elif ctx.asks_area:
        answer = main.get("lives_in_area", "")
        if answer not in YES_NO:
            e(FieldError("person", "lives_in_area", f"Select whether the {who} lives in the area this panel covers"))
        elif answer == "no":
            e(FieldError("person", "lives_in_area", "This panel only hears people who live in its area: "
                         f"refer to the panel where the {who} lives"))

    # Children.
    has_children = data.get("has_children", "")
    children = people_in(data, "child")
    if has_children not in YES_NO:
        e(FieldError("children", "has_children", "Select whether there are children in the household"))
    elif has_children == "yes" and not children:
        e(FieldError("children", "children-0-given_name", "Enter the details of each child in the household"))
    for i, child in enumerate(children if has_children == "yes" else []):
        n = f"child {i + 1}" if len(children) > 1 else "the child"
        if not (child.get("given_name") or "").strip():
            e(FieldError("children", f"children-{i}-given_name", f"Enter the first name of {n}"))
        if not (child.get("family_name") or "").strip():
            e(FieldError("children", f"children-{i}-family_name", f"Enter the last name of {n}"))
        _check_date(errors, "children", f"children-{i}-date_of_birth", child, "date_of_birth",
                    f"Date of birth of {n}", f"Enter the date of birth of {n}", today_)
        if not (child.get("school") or "").strip():
            e(FieldError("children", f"children-{i}-school",
                         f"Enter the school, nursery or early-years setting of {n} (or \"none\")"))

    # Perpetrators.
    perpetrators = people_in(data, "perpetrator")
    if da and not perpetrators:
        e(FieldError("perpetrators", "perpetrators-0-given_name", "Enter the perpetrator's name"))
    for i, person in enumerate(perpetrators):
        n = f"perpetrator {i + 1}" if len(perpetrators) > 1 else "the perpetrator"
        if not (person.get("given_name") or "").strip() and not (person.get("family_name") or "").strip():
            e(FieldError("perpetrators", f"perpetrators-{i}-given_name", f"Enter the name of {n}"))
        _check_date(errors, "perpetrators", f"perpetrators-{i}-date_of_birth", person, "date_of_birth",
                    f"Date of birth of {n}", "", today_)

    # Equality details: required for the main person (a "not known" answer is always offered).
    for key, (label, _) in EQUALITY_FIELDS.items():
        if main and not main.get(key):
            e(FieldError("equality", f"people-0-{key}", f"Select the {who}'s {label.lower()} (or \"not known\")"))

    contact = data.get("safe_contact", {})
    if contact.get("safe_to_post") not in YES_NO:
        e(FieldError("contact", "safe_to_post", "Select whether it is safe to send letters"))

    consent = data.get("consent", {})
    if consent.get("status") not in CONSENT:
        e(FieldError("consent", "status", "Select whether the victim agreed to the referral"
                     if da else "Select whether the person agreed to the referral"))
    elif consent["status"] != "given" and not (consent.get("reason") or "").strip():
        e(FieldError("consent", "reason", "Give the reason for sharing without consent"))

    barriers = data.get("barriers", {})
    if barriers.get("interpreter") not in YES_NO:
        e(FieldError("barriers", "interpreter", "Select whether an interpreter is needed"))
    elif barriers["interpreter"] == "yes" and not (barriers.get("language") or "").strip():
        e(FieldError("barriers", "language", "Enter the language needed"))

    incident = data.get("incident", {})
    _check_date(errors, "incident", "date", incident, "date", "The date of the latest incident", "", today_)
    if not (incident.get("description") or "").strip():
        e(FieldError("incident", "description", "Describe what happened"))

    if not (data.get("current_risk") or "").strip():
        e(FieldError("risk", "current_risk", "Describe the current risk"))
    if not (data.get("actions_taken") or "").strip():
        e(FieldError("risk", "actions_taken", "Say what you have already done"))

    # The checklist and criteria.
    instrument = ctx.instrument
    if rules.require_checklist:
        unanswered = [i for i, item in enumerate(instrument.items)
                      if normalise_answer(answers.get(item.id)) == "not_asked"]
        if unanswered:
            # One line in the summary, a message beside each question still to answer.
            left = "1 question is" if len(unanswered) == 1 else f"{len(unanswered)} questions are"
            e(FieldError("checklist", f"item{unanswered[0]}",
                         f"Answer every question of the risk checklist: {left} not answered", beside=False))
            for i in unanswered:
                e(FieldError("checklist", f"item{i}", "Select yes, no or don't know", in_summary=False))
    criteria = data.get("criteria", {})
    if criteria.get("professional_judgement") and not (criteria.get("professional_judgement_reason") or "").strip():
        e(FieldError("checklist", "professional_judgement_reason",
                     "Give your reason for a professional-judgement referral"))
    if criteria.get("incidents_last_12_months_input"):
        e(FieldError("checklist", "incidents_last_12_months",
                     "The number of incidents must be a whole number, like 3"))
    return errors


def section_errors(errors: list[FieldError], slug: str) -> list[FieldError]:
    """The errors of one section."""
    return [err for err in errors if err.section == slug]


def section_status(data: dict, answers: dict, slug: str, errors: list[FieldError]) -> str:
    """"not_started", "in_progress" or "completed", for the task list."""
    if not _section_started(data, answers, slug):
        return "not_started"
    return "in_progress" if section_errors(errors, slug) else "completed"


def _section_started(data: dict, answers: dict, slug: str) -> bool:
    if slug in data.get("saved_sections", ()):
        return True
    main = main_person(data)
    if slug == "person":
        return any(main.get(k) for k in ("given_name", "family_name", "date_of_birth", "date_of_birth_input",
                                         "address", "postcode", "lives_in_area"))
    if slug == "children":
        return bool(data.get("has_children"))
    if slug == "perpetrators":
        return bool(people_in(data, "perpetrator"))
    if slug == "equality":
        return any(main.get(k) for k in EQUALITY_FIELDS)
    if slug == "checklist":
        return bool(answers) or bool(data.get("criteria"))
    if slug == "risk":
        return bool(data.get("current_risk") or data.get("actions_taken"))
    key = {"contact": "safe_contact"}.get(slug, slug)
    return any(v for v in data.get(key, {}).values())


# --- scoring (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The live score panel: the score, the effective threshold and the verdict."""

    score: ScoreResult
    threshold: int
    verdict: Verdict
    instrument: Instrument

    @property
    def threshold_met(self) -> bool:
        return self.score.total >= self.threshold


def effective_threshold(rules: PanelRules, result: ScoreResult) -> int:
    """The instrument's threshold, or the panel's own where it overrides it for its instrument."""
    if rules.high_risk_threshold is not None and result.instrument_id == rules.instrument_id:
        return rules.high_risk_threshold
    return result.threshold


def facts_for(data: dict, result: ScoreResult | None, ctx: Context, victim_id=None, perpetrator_ids=(),
              previous=()) -> ReferralFacts:
    """What the criteria need to know, from the referral's data."""
    today_ = ctx.today or today()
    main = main_person(data)
    criteria = data.get("criteria", {})
    born = _date(main.get("date_of_birth"))
    born = born if born and born <= today_ else None
    incidents = criteria.get("incidents_last_12_months")
    return ReferralFacts(
        referral_date=today_,
        score=result,
        professional_judgement=bool(criteria.get("professional_judgement")),
        professional_judgement_reason=criteria.get("professional_judgement_reason", "") or "",
        incidents_last_12_months=incidents if isinstance(incidents, int) and not isinstance(incidents, bool) else None,
        escalating=bool(criteria.get("escalating")),
        honour_based_violence=bool(criteria.get("honour_based_violence")),
        forced_marriage=bool(criteria.get("forced_marriage")),
        fgm=bool(criteria.get("fgm")),
        subject_age=age_on(born, today_) if born else None,
        in_area=in_area(main, ctx.postcode_prefixes) if ctx.rules.require_in_area else True,
        victim_id=victim_id,
        perpetrator_ids=tuple(perpetrator_ids),
        serious_incident=criteria.get("serious_incident"),
        previous_referrals=tuple(previous),
    )


def score_preview(data: dict, answers: dict, ctx: Context) -> Preview:
    """The live score and verdict for answers being ticked: pure, nothing is stored.

    Repeats are left out: whether this is a repeat depends on matching its people to earlier
    referrals, which happens when it is submitted.
    """
    result = score(ctx.instrument, answers)
    rules = replace(ctx.rules, criteria_repeat=False)
    verdict = evaluate(rules, facts_for(data, result, replace(ctx, rules=rules)))
    return Preview(result, effective_threshold(ctx.rules, result), verdict, ctx.instrument)


def verdict_to_dict(verdict: Verdict, result: ScoreResult, threshold: int, rules: PanelRules) -> dict:
    """A verdict as stored on a submitted referral."""
    def crit(c):
        return {"key": c.key, "label": c.label, "reason": c.reason}

    return {
        "summary": verdict.summary,
        "eligible": verdict.eligible,
        "meets_threshold": verdict.meets_threshold,
        "met": [crit(c) for c in verdict.met],
        "not_met": [crit(c) for c in verdict.not_met],
        "missing": list(verdict.missing),
        "ineligible_reasons": list(verdict.ineligible_reasons),
        "notes": list(verdict.notes),
        "flags": list(verdict.flags),
        "reasons": verdict.reasons,
        "closed_session": verdict.closed_session,
        "is_repeat": verdict.is_repeat,
        "repeat_of": verdict.repeat_of.date.isoformat() if verdict.repeat_of else None,
        "needs_quality_assurance": verdict.needs_quality_assurance,
        "threshold": threshold,
        "score": result.to_dict(),
        "rules": rules.to_dict(),
    }


# --- services (database) -------------------------------------------------------------------------


def context(referral: Referral | None = None) -> Context:
    """The panel's rules and instrument for a referral.

    A draft uses the panel's current rules and its own instrument; a submitted referral is
    judged again (when amended) by the rules, instrument and date it was submitted with.
    """
    values = settings.all_settings()
    prefixes = tuple(values.get("borough_postcode_prefixes") or ())
    day = today()
    rules = None
    if referral is not None and not is_editable(referral) and referral.submitted_at:
        frozen = load_verdict(referral).get("rules")
        rules = PanelRules.from_dict(frozen) if frozen else None
        day = referral.submitted_at.replace(tzinfo=UTC).astimezone(LONDON).date()
    rules = rules or settings.panel_rules(values)
    instrument = instrument_for(referral) if referral is not None else get_instrument(values["instrument_id"])
    return Context(rules=rules, instrument=instrument, postcode_prefixes=prefixes, today=day)


def instrument_for(referral: Referral) -> Instrument:
    """The instrument a referral is scored with: its frozen copy once submitted."""
    if referral.instrument_json:
        return _frozen_instrument(referral.instrument_json)
    return get_instrument(referral.instrument_id)


@lru_cache(maxsize=32)
def _frozen_instrument(text: str) -> Instrument:
    # A frozen copy never changes, so parsing and checking it once per process is enough.
    return Instrument.from_dict(json.loads(text))


def record_view(referral: Referral, page: str) -> None:
    """Audit one view of a referral (which page)."""
    with db.atomic():
        audit.record("referral.view", referral, detail={"page": page})


def record_list(referrals: list[Referral]) -> None:
    """Audit a list of referrals being shown (their ids, no names)."""
    with db.atomic():
        audit.record("referral.list", object_type="referral",
                     detail={"ids": [r.id for r in referrals], "count": len(referrals)})


def create_draft(user) -> Referral:
    """Start a referral: a draft of this user, for their agency, on the panel's current instrument."""
    instrument_id = settings.get("instrument_id")
    get_instrument(instrument_id)  # refuse to start on an instrument that does not exist
    with db.atomic():
        referral = Referral.create(author=user, agency=user.agency_id, status="draft", instrument_id=instrument_id,
                                   data=json.dumps({"people": []}), answers="{}")
        audit.record("referral.create", referral, detail={"instrument": instrument_id})
    return referral


def save_section(referral: Referral, user, slug: str, values: dict, answers: dict | None = None) -> Referral:
    """Save one section of a draft as typed (valid or not): drafts keep everything."""
    if not can_edit(user, referral):
        raise NotAllowed("only the author edits a draft")
    data = apply_section(load(referral), slug, values, settings.panel_rules())
    with db.atomic():
        referral.data = json.dumps(data, ensure_ascii=False)
        if answers is not None:
            referral.answers = json.dumps(clean_answers(instrument_for(referral), answers))
        referral.updated_at = clock.now()
        referral.save()
        audit.record("referral.save", referral, detail={"section": slug})
    return referral


def _freeze(referral: Referral, data: dict, answers: dict, ctx: Context) -> None:
    """Score and judge the referral, link its people, and store the results on it (no save)."""
    result = score(ctx.instrument, answers)
    links = people.link_referral_people(referral)
    main_link = next((link for link in links if link.role in MAIN_ROLES), None)
    perpetrator_ids = [link.person_id for link in links if link.role == "perpetrator"]
    previous = people.previous_referrals(referral, links)
    facts = facts_for(data, result, ctx, victim_id=main_link.person_id if main_link else None,
                      perpetrator_ids=perpetrator_ids, previous=previous)
    verdict = evaluate(ctx.rules, facts)
    threshold = effective_threshold(ctx.rules, result)
    referral.instrument_id = ctx.instrument.id
    referral.instrument_version = ctx.instrument.version
    referral.instrument_json = json.dumps(ctx.instrument.to_dict(), ensure_ascii=False)
    referral.answers = json.dumps(clean_answers(ctx.instrument, answers))
    referral.score_total = result.total
    referral.band = result.band.name if result.band else ""
    referral.threshold_met = result.total >= threshold
    referral.verdict = json.dumps(verdict_to_dict(verdict, result, threshold, ctx.rules), ensure_ascii=False)
    referral.criteria_met = ",".join(verdict.met_keys())
    referral.is_repeat = verdict.is_repeat
    referral.closed_session = verdict.closed_session
    criteria = data.get("criteria", {})
    referral.professional_judgement = bool(criteria.get("professional_judgement"))
    if referral.qa_status not in ("accepted", "declined"):  # a decision made stays made
        referral.qa_status = "pending" if verdict.needs_quality_assurance else ""


def submit(referral: Referral, user) -> Referral:
    """Validate and send a draft: freeze its instrument, score and verdict; link its people.

    Raises Invalid (nothing changes: the draft already holds everything typed).
    """
    if not can_edit(user, referral):
        raise NotAllowed("only the author submits their draft")
    ctx = context(referral)
    data = load(referral)
    answers = load_answers(referral)
    errors = validate(data, answers, ctx)
    if errors:
        raise Invalid(errors)
    if data.get("has_children") == "no":
        # Children typed before "no" was chosen stay in the draft, but are not sent.
        data["people"] = [p for p in data.get("people", []) if p.get("role") != "child"]
    with db.atomic():
        resubmitted = referral.status == "returned"
        referral.data = json.dumps(data, ensure_ascii=False)
        referral.status = "submitted"
        referral.submitted_at = clock.now()
        referral.updated_at = referral.submitted_at
        _freeze(referral, data, answers, ctx)
        referral.save()
        audit.record("referral.submit", referral, detail={
            "instrument": referral.instrument_id, "version": referral.instrument_version,
            "score": referral.score_total, "band": referral.band, "criteria": referral.criteria_met,
            "qa": referral.qa_status, "resubmitted": resubmitted})
    return referral


def _flatten(data: dict, answers: dict) -> dict[str, object]:
    """Leaf values by path ("consent.reason", "people.<ref>.family_name", "answers.<item>")."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key == "people":
            for person in value:
                for field, v in person.items():
                    if field not in ("ref",) and not field.endswith("_input"):
                        flat[f"people.{person.get('ref')}.{field}"] = v
        elif isinstance(value, dict):
            for field, v in value.items():
                if not field.endswith("_input"):
                    flat[f"{key}.{field}"] = v
        else:
            flat[key] = value
    for item_id, answer in answers.items():
        flat[f"answers.{item_id}"] = answer
    return flat


def diff(old_data: dict, old_answers: dict, new_data: dict, new_answers: dict) -> dict[str, list]:
    """What changed: {path: [old, new]} (a removed or added entry shows as "" on one side)."""
    old, new = _flatten(old_data, old_answers), _flatten(new_data, new_answers)
    changes = {}
    for path in list(old) + [p for p in new if p not in old]:
        before, after = old.get(path, ""), new.get(path, "")
        if path.startswith("answers."):
            before, after = before or "not_asked", after or "not_asked"
        if before != after:
            changes[path] = [before, after]
    return changes


def amend(referral: Referral, user, changes: dict, reason: str) -> ReferralAmendment:
    """Correct a submitted referral, recorded as an amendment (who, when, what, why).

    `changes` maps section slugs to that section's new values (as for save_section), plus
    optionally "answers": the checklist answers. Changed answers or criteria are scored again
    with the frozen instrument and rules. Raises NotAllowed, Invalid (the corrected sections
    must still be valid, and a reason is required) or NoChange.
    """
    if not can_amend(user, referral):
        raise NotAllowed("this user may not amend this referral")
    ctx = context(referral)
    old_data, old_answers = load(referral), load_answers(referral)
    data = old_data
    for slug, values in changes.items():
        if slug != "answers":
            data = apply_section(data, slug, values, ctx.rules)
    answers = clean_answers(ctx.instrument, changes["answers"]) if "answers" in changes else old_answers
    touched = [slug for slug in changes if slug != "answers"] + (["checklist"] if "answers" in changes else [])
    errors = [err for err in validate(data, answers, ctx) if err.section in touched]
    if not (reason or "").strip():
        errors.append(FieldError("amend", "amend_reason", "Give the reason for the correction"))
    if errors:
        raise Invalid(errors)
    what = diff(old_data, old_answers, data, answers)
    if not what:
        raise NoChange("nothing changed")
    with db.atomic():
        before = {"score_total": referral.score_total, "band": referral.band, "criteria_met": referral.criteria_met}
        referral.data = json.dumps(data, ensure_ascii=False)
        referral.answers = json.dumps(answers)
        referral.updated_at = clock.now()
        # Personal details feed the Person links; answers and criteria feed the frozen score.
        _freeze(referral, data, answers, ctx)
        for key, old_value in before.items():
            if getattr(referral, key) != old_value:
                what[key] = [old_value, getattr(referral, key)]
        referral.save()
        amendment = ReferralAmendment.create(referral=referral, user=user, reason=reason.strip(),
                                             changes=json.dumps(what, ensure_ascii=False, default=str))
        audit.record("referral.amend", referral, detail={"amendment": amendment.id, "fields": sorted(what)})
    return amendment


def amendments(referral: Referral) -> list[ReferralAmendment]:
    """A referral's amendments, oldest first, with their authors (one query)."""
    from marac.models import User

    return list(ReferralAmendment.select(ReferralAmendment, User).join(User)
                .where(ReferralAmendment.referral == referral).order_by(ReferralAmendment.id))


def answer_label(answer: str) -> str:
    """"yes" -> "Yes"."""
    return ANSWER_LABELS.get(answer, "Not answered")


# --- what the referral says, for check-your-answers and the read-only view ---------------------------


def _label(mapping: dict, value) -> str:
    return mapping.get(value, "") if value else ""


def _long(value: str) -> str:
    d = _date(value)
    return f"{d.day} {d:%B %Y}" if d else ""


def _person_rows(person: dict, with_school=False, with_area=False, with_pregnant=False, today_=None) -> list:
    born = _date(person.get("date_of_birth"))
    dob = _long(person.get("date_of_birth", ""))
    if born and today_:
        dob += f" (aged {age_on(born, today_)})"
    rows = [("Name", full_name(person)), ("Other names", person.get("aliases", "")), ("Date of birth", dob)]
    if with_school:
        rows.append(("School or setting", person.get("school", "")))
    else:
        rows += [("Address", person.get("address", "")), ("Postcode", person.get("postcode", ""))]
    if with_area:
        rows.append(("Lives in the area", _label(YES_NO, person.get("lives_in_area"))))
    if with_pregnant:
        rows.append(("Pregnant or a baby under 18 months", "Yes" if person.get("pregnant") else "No"))
    return rows


def summary(data: dict, answers: dict, ctx: Context) -> list[dict]:
    """Every section as rows of (question, answer) for a summary list; answers may be multi-line."""
    rules, today_ = ctx.rules, ctx.today or today()
    da = rules.panel_type == DOMESTIC_ABUSE
    titles = {s.slug: s.title for s in sections(rules)}
    main = main_person(data)
    out = []

    def add(slug, rows, heading=None):
        out.append({"slug": slug, "title": heading or titles[slug], "rows": rows})

    add("person", _person_rows(main, with_area=ctx.asks_area, with_pregnant=da, today_=today_))
    children = people_in(data, "child")
    rows = [("Children in the household", _label(YES_NO, data.get("has_children")))]
    for i, child in enumerate(children):
        rows += [(f"Child {i + 1}: {key.lower()}", value) for key, value in
                 _person_rows(child, with_school=True, today_=today_) if key != "Other names"]
    add("children", rows)
    perpetrators = people_in(data, "perpetrator")
    rows = []
    for i, person in enumerate(perpetrators):
        prefix = f"Perpetrator {i + 1}: " if len(perpetrators) > 1 else ""
        rows += [(f"{prefix}{key}" if not prefix else f"{prefix}{key.lower()}", value)
                 for key, value in _person_rows(person, today_=today_)]
    add("perpetrators", rows or [("Perpetrator", "None given")])
    rows = []
    for i, person in enumerate(([main] if main else []) + perpetrators):
        who = rules.person.capitalize() if i == 0 else (f"Perpetrator {i}" if len(perpetrators) > 1 else "Perpetrator")
        rows += [(f"{who}: {label.lower()}", _label(options, person.get(key)))
                 for key, (label, options) in EQUALITY_FIELDS.items()]
    add("equality", rows)
    contact = data.get("safe_contact", {})
    add("contact", [("Safe phone number", contact.get("phone", "")), ("Safe times", contact.get("times", "")),
                    ("Safe to send letters", _label(YES_NO, contact.get("safe_to_post"))),
                    ("Safe address for letters", contact.get("safe_address", "")),
                    ("Other contact notes", contact.get("notes", ""))])
    consent = data.get("consent", {})
    add("consent", [("Consent", _label(CONSENT, consent.get("status"))),
                    ("Reason for sharing without consent", consent.get("reason", ""))])
    barriers = data.get("barriers", {})
    add("barriers", [("Interpreter needed", _label(YES_NO, barriers.get("interpreter"))),
                     ("Language", barriers.get("language", "")),
                     ("Disability or access needs", barriers.get("disability_needs", "")),
                     ("Other barriers", barriers.get("other", ""))])
    incident = data.get("incident", {})
    add("incident", [("Date of the latest incident", _long(incident.get("date", ""))),
                     ("Police reference", incident.get("police_reference", "")),
                     ("What happened", incident.get("description", "")),
                     ("Background and history", incident.get("background", ""))])
    add("risk", [("Current risk", data.get("current_risk", "")),
                 ("Already done", data.get("actions_taken", ""))])
    criteria = data.get("criteria", {})
    rows = [("Source of the answers", data.get("checklist", {}).get("source", ""))]
    if rules.criteria_professional_judgement:
        rows += [("Professional judgement", "Yes" if criteria.get("professional_judgement") else "No"),
                 ("Reason for professional judgement", criteria.get("professional_judgement_reason", ""))]
    if rules.criteria_escalation:
        count = criteria.get("incidents_last_12_months")
        rows += [("Incidents in the last 12 months", "" if count is None else str(count)),
                 ("Becoming more frequent or serious", "Yes" if criteria.get("escalating") else "No")]
    if rules.criteria_automatic_categories or rules.closed_session_hbv:
        found = [label for key, label in (("honour_based_violence", "Honour-based violence"),
                                          ("forced_marriage", "Forced marriage"), ("fgm", "FGM"))
                 if criteria.get(key)]
        rows.append(("Honour-based violence, forced marriage or FGM", ", ".join(found) or "None recorded"))
    if rules.repeat_any_incident_months is not None:
        serious = criteria.get("serious_incident")
        rows.append(("Violence, threats, stalking or sexual abuse in the latest incident",
                     "" if serious is None else ("Yes" if serious else "No")))
    add("checklist", rows, "Referral criteria")
    return out


def answer_rows(instrument: Instrument, answers: dict) -> list[tuple[int, str, str, str]]:
    """(number, section, question, answer label) for every question of the checklist."""
    return [(i + 1, item.section, item.text, answer_label(normalise_answer(answers.get(item.id))))
            for i, item in enumerate(instrument.items)]


def amendment_rows(referral: Referral, amendment: ReferralAmendment, data: dict | None = None) -> list[tuple]:
    """An amendment's changes as (what, before, after), in words."""
    data = data if data is not None else load(referral)
    instrument = instrument_for(referral)
    refs = {}
    for role, label in (("victim", "Victim"), ("subject", "Person referred"), ("child", "Child"),
                        ("perpetrator", "Perpetrator")):
        group = people_in(data, role)
        for i, person in enumerate(group):
            refs[person.get("ref")] = f"{label} {i + 1}" if len(group) > 1 else label
    field_labels = {"given_name": "first name", "family_name": "last name", "date_of_birth": "date of birth",
                    "lives_in_area": "lives in the area", "gender_identity": "gender identity",
                    "sexual_orientation": "sexual orientation", "safe_to_post": "safe to send letters",
                    "professional_judgement_reason": "reason for professional judgement",
                    "incidents_last_12_months": "incidents in the last 12 months",
                    "current_risk": "Current risk", "actions_taken": "Already done",
                    "score_total": "Score", "band": "Band", "criteria_met": "Criteria met"}
    rows = []
    for path, (before, after) in json.loads(amendment.changes or "{}").items():
        parts = path.split(".")
        if parts[0] == "people" and len(parts) == 3:
            what = f"{refs.get(parts[1], 'Person (removed)')}: {field_labels.get(parts[2], parts[2].replace('_', ' '))}"
        elif parts[0] == "answers" and len(parts) == 2:
            item = instrument.item(parts[1])
            what = f"Checklist: {item.text if item else parts[1]}"
            before, after = answer_label(before), answer_label(after)
        elif len(parts) == 2:
            group = parts[0].replace("_", " ").capitalize()
            what = f"{group}: {field_labels.get(parts[1], parts[1].replace('_', ' '))}"
        else:
            what = field_labels.get(path, path.replace("_", " ").capitalize())
        rows.append((what, _shown(before), _shown(after)))
    return rows


def _shown(value) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return "" if value is None else str(value)
