"""The instruments shipped with the app, written in our own plain words."""
from .schema import COUNT_YES, PRODUCT_OF_SECTIONS, WEIGHTED_SUM, Band, Instrument, Item


def _items(section: str, rows: list[tuple[str, ...]]) -> tuple[Item, ...]:
    """Yes/no items of one section from (id, text) or (id, text, help) rows."""
    return tuple(Item(id=row[0], text=row[1], section=section, help=row[2] if len(row) > 2 else "")
                 for row in rows)


def _weighted(section: str, rows: list[tuple]) -> tuple[Item, ...]:
    """Weighted items of one section from (id, points, text) or (id, points, text, help) rows."""
    return tuple(Item(id=row[0], points=row[1], text=row[2], section=section,
                      help=row[3] if len(row) > 3 else "")
                 for row in rows)


_HBV_HINT = ("Think about honour-based violence, forced marriage, female genital mutilation, "
             "human trafficking and modern slavery.")

# DASH: the 24 SafeLives topics in the form's order. The form has no scoring sections; the
# three headings only group the questions on screen.
_DASH_NOW = "Current situation"
_DASH_PATTERN = "Pattern of abuse"
_DASH_ABUSER = "The abuser"

DASH = Instrument(
    id="dash",
    name="DASH risk identification checklist",
    version=1,
    method=COUNT_YES,
    description=(
        "The SafeLives domestic abuse, stalking and harassment risk identification checklist "
        "(DASH RIC), with each question put in our own words. Each \"yes\" scores one point; "
        "14 or more is visible high risk and a MARAC referral, 10 or more is a referral to the "
        "IDSVA service. Record the source of the information if it is not the victim."
    ),
    sections=(_DASH_NOW, _DASH_PATTERN, _DASH_ABUSER),
    items=(
        _items(_DASH_NOW, [
            ("injury", "Was the victim hurt in the latest incident?",
             "Say what the injuries are, and whether this is the first time."),
            ("frightened", "Does the victim say they are very scared?",
             "Use the victim's own words where you can."),
            ("fears", "Is the victim afraid of further injury or violence, to themselves or "
             "someone else?", "Record what they fear, for example being killed or the children "
             "being harmed."),
            ("isolated", "Is the abuser keeping the victim away from family, friends, their GP "
             "or other people?"),
            ("depressed", "Is the victim feeling very low, or having thoughts of suicide?"),
            ("separation", "Has the victim left the abuser, or tried to, in the past year?"),
            ("child_contact", "Is there a dispute over contact with the children?"),
            ("stalking", "Does the abuser keep contacting, following or watching the victim "
             "when they do not want it?", "Calls, texts, messages, turning up, following, "
             "tracking."),
            ("pregnant", "Is the victim pregnant, or have they had a baby in the last 18 "
             "months?"),
        ])
        + _items(_DASH_PATTERN, [
            ("more_often", "Is the abuse happening more often than before?"),
            ("getting_worse", "Is the abuse becoming more serious?"),
            ("controlling", "Does the abuser try to control what the victim does, or show "
             "extreme jealousy?"),
            ("weapons", "Has the abuser ever used a weapon or an object to hurt the victim?"),
            ("threats_to_kill", "Has the abuser threatened to kill the victim or someone else, "
             "and the victim believed it?"),
            ("strangling", "Has the abuser ever tried to strangle, choke, smother or drown the "
             "victim?"),
            ("sexual_abuse", "Has the abuser done or said sexual things that hurt or degraded "
             "the victim or someone else?"),
            ("others_threaten", "Is anyone else threatening the victim, or is there someone "
             "else the victim is afraid of?"),
        ])
        + _items(_DASH_ABUSER, [
            ("hurt_others", "Is the abuser known to have hurt anyone else?",
             "Children, relatives, a former partner, anyone else."),
            ("animals", "Has the abuser ever been cruel to an animal or a family pet?"),
            ("financial", "Are there money problems?",
             "For example the victim depends on the abuser for money, or the abuser recently "
             "lost their job."),
            ("abuser_problems", "In the past year, has the abuser had problems with drugs, "
             "alcohol or mental health?"),
            ("abuser_suicide", "Has the abuser ever threatened or tried to take their own "
             "life?"),
            ("breach", "Has the abuser ever broken bail conditions, a court order or a formal "
             "agreement?"),
            ("criminal_history", "Does the abuser have a criminal record or a history with the "
             "police?", "Domestic abuse, sexual or other violence, or other offences."),
        ])
    ),
    threshold=14,
    secondary_threshold=10,
    secondary_label="IDSVA referral (10+)",
    bands=(
        Band("Standard", 0, 9, high_risk=False),
        Band("Medium", 10, 13, high_risk=False),
        Band("High", 14, None, high_risk=True),
    ),
)

# MeRIT: the Liverpool form (seed 004, appendix 5) prints a tally after question 6
# (Breakdown), 21 (Social) and 40 (Violence); the total is the product of the three tallies.
_BREAKDOWN = "Breakdown"
_SOCIAL = "Social"
_VIOLENCE = "Violence"

MERIT = Instrument(
    id="merit",
    name="MeRIT (Merseyside Risk Indicator Toolkit)",
    version=1,
    method=PRODUCT_OF_SECTIONS,
    description=(
        "The 40-question form used by Liverpool MARAC, paraphrased. Every question must be "
        "answered. Score = Breakdown \"yes\" answers × Social × Violence. GOLD (72+) is the "
        "MARAC threshold; SILVER is 16-71 and BRONZE 1-15. The form does not say what an "
        "empty section means: a total of 0 gets no band. Use professional judgement to grade "
        "a case higher, and explain why."
    ),
    sections=(_BREAKDOWN, _SOCIAL, _VIOLENCE),
    items=(
        _items(_BREAKDOWN, [
            ("q1", "Are there separation or divorce issues, however long ago?"),
            ("q2", "Are there any issues over contact with children?"),
            ("q3", "Have threats been made to the victim?", _HBV_HINT),
            ("q4", "Has the victim been stalked or harassed, by the perpetrator or by someone "
             "acting for them?",
             "Use professional judgement. Has the perpetrator harassed family or friends, or "
             "used manipulation or aggression to find out about the victim from others? Has the "
             "stalking suddenly moved from a distance to confrontation and direct threats?"),
            ("q5", "Were children present?", "If so, say where they were."),
            ("q6", "Did children witness the incident?"),
        ])
        + _items(_SOCIAL, [
            ("q7", "Is the victim pregnant, or have they had a baby in the last year?"),
            ("q8", "Has the victim been heard at MARAC with the same perpetrator in the last "
             "12 months?"),
            ("q9", "Does the victim have mental health issues?"),
            ("q10", "Does the perpetrator have mental health issues?"),
            ("q11", "Is the victim unemployed?"),
            ("q12", "Is the perpetrator unemployed?"),
            ("q13", "Has the perpetrator ever self-harmed, or threatened self-harm or "
             "suicide?"),
            ("q14", "Does the victim deny an assault happened, although there are signs of "
             "one?"),
            ("q15", "Were the victim and the perpetrator violent to each other?"),
            ("q16", "Was violence used in self-defence?"),
            ("q17", "Was alcohol involved: the perpetrator only?"),
            ("q18", "Was alcohol involved: the victim only?"),
            ("q19", "Was alcohol involved: both of them?"),
            ("q20", "Were drugs involved: the perpetrator only?"),
            ("q21", "Were drugs involved: the victim only?"),
        ])
        + _items(_VIOLENCE, [
            ("q22", "Were drugs involved: both of them?"),
            ("q23", "Is the victim socially isolated?", _HBV_HINT),
            ("q24", "Is the victim unwilling to co-operate?"),
            ("q25", "Does the victim appear afraid?", "Describe how they came across."),
            ("q26", "Does the victim feel they are at risk?", "If yes, give details."),
            ("q27", "Is there emotional abuse?", _HBV_HINT),
            ("q28", "Is there financial abuse?"),
            ("q29", "Is there extreme jealousy?"),
            ("q30", "Have there been earlier incidents that were never reported?",
             "If so, say how many."),
            ("q31", "Have the incidents become more serious or more frequent?"),
            ("q32", "Does the perpetrator have a recorded history of violence?"),
            ("q33", "Has the perpetrator ever been violent, or threatened violence, towards the "
             "children?"),
            ("q34", "Has the perpetrator ever been violent, or threatened violence, towards "
             "pets?"),
            ("q35", "Has the perpetrator ever sexually abused the victim or behaved in a "
             "sexually inappropriate way, including threats?"),
            ("q36", "Was any property or belongings damaged?"),
            ("q37", "Was there physical violence?"),
            ("q38", "Did the perpetrator strangle the victim, try to, or put their hands around "
             "the victim's throat?"),
            ("q39", "Was a weapon brought along on purpose?"),
            ("q40", "Was a weapon of opportunity present (something to hand)?"),
        ])
    ),
    threshold=72,
    bands=(
        Band("BRONZE", 1, 15, high_risk=False),
        Band("SILVER", 16, 71, high_risk=False),
        Band("GOLD", 72, None, high_risk=True),
    ),
)

_EXAMPLE_NOTE = (
    "An example written by the marac project, not any borough's published form. Replace it "
    "with your borough's own {what} (import it, or copy this one and edit it) before taking "
    "real referrals."
)

_PERSON = "The person"
_SITUATION = "What is happening"
_RESPONSE = "Support so far"

COMMUNITY_EXAMPLE = Instrument(
    id="community_example",
    name="Example community risk checklist",
    version=1,
    method=COUNT_YES,
    example=True,
    description=(
        "A yes/no checklist for anti-social behaviour, hate crime and vulnerability cases. "
        "9 or more \"yes\" answers = high risk. " + _EXAMPLE_NOTE.format(what="checklist")
    ),
    sections=(_PERSON, _SITUATION, _RESPONSE),
    items=(
        _items(_PERSON, [
            ("mental_health", "Does the person have a mental health condition, diagnosed or "
             "suspected?"),
            ("drugs_alcohol", "Does the person misuse drugs or alcohol?"),
            ("learning_disability", "Does the person have a learning disability or "
             "difficulty?"),
            ("physical_disability", "Does the person have a physical disability or long-term "
             "illness that limits daily life?"),
            ("age", "Does the person's age make them more vulnerable?",
             "For example an older or frail person, or a young adult."),
            ("isolated", "Is the person isolated, with little contact with family, friends or "
             "services?"),
            ("self_neglect", "Is there self-neglect, hoarding or unsafe living conditions?"),
        ])
        + _items(_SITUATION, [
            ("repeat_victim", "Has the person been targeted more than once?"),
            ("escalating", "Is the behaviour getting more frequent or more serious?"),
            ("hate", "Is the person targeted because of who they are?",
             "Disability, race, religion, sexual orientation, gender identity or another "
             "part of their identity: a hate incident or hate crime."),
            ("violence", "Has there been violence, or threats of violence, towards the "
             "person?"),
            ("home_targeted", "Is the person's home being targeted?",
             "Damage, noise, intimidation at the door, people gathering outside."),
            ("feels_unsafe", "Does the person say they feel unsafe at home or in their "
             "area?"),
            ("health_harmed", "Is the situation harming the person's physical or mental "
             "health?"),
            ("exploited", "Is anyone exploiting the person?",
             "Taking over their home, money, medication or belongings."),
            ("housing_at_risk", "Is the person at risk of losing their home?"),
        ])
        + _items(_RESPONSE, [
            ("not_engaging", "Has the person refused support, or stopped engaging with it?"),
            ("agencies_stuck", "Are several agencies involved without the risk going down?"),
        ])
    ),
    threshold=9,
    bands=(
        Band("Standard", 0, 5, high_risk=False),
        Band("Medium", 6, 8, high_risk=False),
        Band("High", 9, None, high_risk=True),
    ),
)

_VULNERABILITY = "Vulnerability"
_IMPACT = "Impact"
_BEHAVIOUR = "Behaviour"

ASB_MATRIX_EXAMPLE = Instrument(
    id="asb_matrix_example",
    name="Example ASB vulnerability matrix",
    version=1,
    method=WEIGHTED_SUM,
    example=True,
    description=(
        "A weighted matrix for anti-social behaviour cases: each \"yes\" adds the points shown "
        "(1 to 5). 25 or more = high risk, to be supported by professional judgement. "
        + _EXAMPLE_NOTE.format(what="scoring matrix")
    ),
    sections=(_VULNERABILITY, _IMPACT, _BEHAVIOUR),
    items=(
        _weighted(_VULNERABILITY, [
            ("mental_health", 4, "Does the person have a mental health condition?"),
            ("learning_disability", 4, "Does the person have a learning disability or "
             "difficulty?"),
            ("physical_disability", 3, "Does the person have a physical disability or "
             "long-term illness?"),
            ("drugs_alcohol", 3, "Does the person misuse drugs or alcohol?"),
            ("age", 2, "Does the person's age add to their vulnerability?"),
            ("isolated", 3, "Does the person live alone or have little support around them?"),
            ("previous_victim", 2, "Has the person been a victim of crime or ASB before?"),
        ])
        + _weighted(_IMPACT, [
            ("feels_unsafe", 3, "Does the person feel unsafe at home?"),
            ("health_harmed", 4, "Is the ASB harming the person's physical or mental health?"),
            ("self_harm", 5, "Has the person spoken of self-harm or suicide because of the "
             "ASB?"),
            ("wants_to_move", 2, "Is the person thinking of leaving their home because of the "
             "ASB?"),
            ("routine_changed", 2, "Has the person changed their daily routine to avoid the "
             "ASB?"),
        ])
        + _weighted(_BEHAVIOUR, [
            ("hate", 5, "Is the ASB motivated by hostility to who the person is (hate "
             "incident)?"),
            ("violence", 5, "Has there been violence, or threats of violence?"),
            ("home_targeted", 3, "Is the person's home being targeted?"),
            ("repeated", 3, "Has the ASB happened again and again?"),
            ("escalating", 4, "Is the ASB getting more frequent or more serious?"),
            ("group", 2, "Is the ASB carried out by a group?"),
            ("known_perpetrator", 2, "Is a perpetrator known for violence or for prolific "
             "ASB?"),
        ])
    ),
    threshold=25,
    bands=(
        Band("Standard", 0, 14, high_risk=False),
        Band("Medium", 15, 24, high_risk=False),
        Band("High", 25, None, high_risk=True),
    ),
)

BUILTIN_INSTRUMENTS: dict[str, Instrument] = {
    instrument.id: instrument
    for instrument in (DASH, MERIT, COMMUNITY_EXAMPLE, ASB_MATRIX_EXAMPLE)
}
