"""Standard actions as data: what a panel proposes for every case (or for cases with children, an
adult with care and support needs, hate crime), who owns each, and the lists of the five presets.

Pure: no Flask, no database (marac.settings imports the default list from here). The meeting
screen (marac.meeting_run) turns a list into proposals for one listed case.

An item is a dict:
  key       short slug, unique in the list (kept on the Action as standard_key)
  text      what the owner agency is to do, in plain words
  owner     alternatives tried in order until one names an agency:
              "police"   the agency marked as the police
              "referrer" the agency that referred the case
              "lead"     the case's lead agency
              "all"      each member agency present at the meeting (one action each)
              any other text: the first agency whose name contains it (e.g. "IDVA")
  when      "always", "children", "care_needs" or "hate_crime" (see WHEN)
  due_days  days from the meeting to the due date; None uses the panel's action_due_days

Nothing here is ever addressed to a perpetrator (DOMAIN.md): problems() refuses an item that is.
"""
import copy
import re

WHEN = {
    "always": "Every case",
    "children": "Where there are children in the household",
    "care_needs": "Where an adult has care and support needs",
    "hate_crime": "Where the victim perceives hate crime as the motive",
}
OWNER_WORDS = {
    "police": "The police",
    "referrer": "The referring agency",
    "lead": "The lead agency",
    "all": "Each agency present",
}

# Barking and Dagenham toolkit (seed 002, "Action planning"), the model for domestic-abuse panels.
DOMESTIC_ABUSE = [
    {"key": "flag_tag", "text": "Flag and tag the victim's, the perpetrator's and any children's files",
     "owner": ["all"], "when": "always", "due_days": None},
    {"key": "tacau", "text": "Put a 'treat all calls as urgent' (TACAU) marker on the victim's address and any "
                             "other relevant addresses",
     "owner": ["police"], "when": "always", "due_days": None},
    {"key": "idva_referral", "text": "Refer the victim to the IDVA service for specialist support and advice",
     "owner": ["IDVA", "IDSVA", "referrer"], "when": "always", "due_days": None},
    {"key": "victim_feedback", "text": "Give the victim feedback on the MARAC outcome (the IDVA, or the referrer "
                                       "when the victim has no IDVA)",
     "owner": ["IDVA", "IDSVA", "referrer"], "when": "always", "due_days": None},
    {"key": "mash", "text": "Refer the children to the Multi-Agency Safeguarding Hub (MASH) if not already known",
     "owner": ["referrer"], "when": "children", "due_days": None},
    {"key": "adult_safeguarding", "text": "Make an adult safeguarding referral to Adult Social Care for the adult "
                                          "with care and support needs",
     "owner": ["Adult Social", "referrer"], "when": "care_needs", "due_days": None},
]

# Redbridge terms of reference (seed 003: section 5, 6.10, 7.1), the model for Community MARACs.
COMMUNITY = [
    {"key": "flag_tag", "text": "Flag and tag the files of the people discussed in this case",
     "owner": ["all"], "when": "always", "due_days": None},
    {"key": "victim_feedback", "text": "Give the person referred feedback on the panel's decisions and actions "
                                       "(the lead agency)",
     "owner": ["lead", "referrer"], "when": "always", "due_days": None},
    {"key": "adult_safeguarding", "text": "Make an adult safeguarding referral to Adult Social Care for the adult "
                                          "with care and support needs",
     "owner": ["Adult Social", "referrer"], "when": "care_needs", "due_days": None},
    {"key": "mash", "text": "Refer the children to the Multi-Agency Safeguarding Hub (MASH) as a priority if not "
                            "already in place",
     "owner": ["referrer"], "when": "children", "due_days": None},
    {"key": "hate_crime", "text": "Refer the case to the hate crime services and the relevant agencies",
     "owner": ["police"], "when": "hate_crime", "due_days": None},
]


def _liverpool() -> list[dict]:
    # Seed 004: the IDVA receives the referral within 3 days; actions are confirmed done within 14 days.
    items = copy.deepcopy(DOMESTIC_ABUSE)
    for item in items:
        if item["key"] == "idva_referral":
            item["due_days"] = 3
    return items


PRESETS: dict[str, list[dict]] = {
    "merton": copy.deepcopy(COMMUNITY),
    "ealing": copy.deepcopy(COMMUNITY),
    "barking_dagenham": copy.deepcopy(DOMESTIC_ABUSE),
    "redbridge": copy.deepcopy(COMMUNITY),
    "liverpool": _liverpool(),
}
BY_PANEL_TYPE: dict[str, list[dict]] = {"domestic_abuse": DOMESTIC_ABUSE, "community": COMMUNITY}


def for_preset(preset: str) -> list[dict]:
    """A copy of a preset's standard actions (issue 10 stores it as the setting `standard_actions`)."""
    return copy.deepcopy(PRESETS[preset])


def for_panel_type(panel_type: str) -> list[dict]:
    """A copy of the standard actions for a domestic-abuse or Community MARAC."""
    return copy.deepcopy(BY_PANEL_TYPE.get(panel_type, DOMESTIC_ABUSE))


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# "tell / inform / feed back ... to the perpetrator", unless the same sentence says never / not.
_TO_PERPETRATOR = re.compile(
    r"\b(feed\s?back|feedback|inform|tell|notify|update|letter|write|contact|advise)\w*\b[^.]*\b(to|with)\s+the\s+"
    r"(perpetrator|abuser|alleged perpetrator)", re.IGNORECASE)
_NEGATED = re.compile(r"\b(never|not|no)\b", re.IGNORECASE)


def problems(items) -> list[str]:
    """What is wrong with a list of standard actions, in plain words; empty when usable."""
    if not isinstance(items, list):
        return ["Standard actions must be a list"]
    found = []
    keys = set()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            found.append(f"Standard action {n} is not a set of fields")
            continue
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            found.append(f"Standard action {n}: the key must be lower-case letters, digits and _")
        elif key in keys:
            found.append(f"Standard action {n}: the key {key} is used twice")
        keys.add(key)
        text = item.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            found.append(f"Standard action {n}: enter what is to be done (500 characters or fewer)")
        elif any(_TO_PERPETRATOR.search(s) and not _NEGATED.search(s) for s in re.split(r"[.;]", text)):
            found.append(f"Standard action {n}: nothing may be addressed to the perpetrator")
        owner = item.get("owner")
        if (not isinstance(owner, list) or not owner
                or not all(isinstance(o, str) and o.strip() for o in owner)):
            found.append(f"Standard action {n}: name at least one owner")
        elif any("perpetrator" in o.lower() or "abuser" in o.lower() for o in owner):
            found.append(f"Standard action {n}: the perpetrator cannot own an action")
        if item.get("when", "always") not in WHEN:
            found.append(f"Standard action {n}: 'when' must be one of {', '.join(WHEN)}")
        due = item.get("due_days")
        if due is not None and (not isinstance(due, int) or isinstance(due, bool) or not 1 <= due <= 365):
            found.append(f"Standard action {n}: due days must be empty or a whole number from 1 to 365")
    return found


def owner_label(owner: list[str]) -> str:
    """'The police', 'IDVA, else the referring agency' for an owner list."""
    words = [OWNER_WORDS.get(o, o) for o in owner]
    rest = [w[0].lower() + w[1:] if o in OWNER_WORDS else w for o, w in zip(owner[1:], words[1:], strict=True)]
    return ", else ".join([words[0], *rest])
