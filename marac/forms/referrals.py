"""The referral form, one Flask-WTF form per section.

Each form renders from the draft (`Form(formdata=None, data=initial_data(...))`) and turns a
post into the section's values (`form.values()`, in marac.referrals.apply_section's shape).
Nothing is refused here: a draft keeps whatever was typed, and marac.referrals.validate()
decides what must be fixed before submitting (its errors are put on the fields with
put_errors()).
"""
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, Field, FieldList, Form, FormField, HiddenField, RadioField, SelectField, StringField
from wtforms import TextAreaField as _TextAreaField

from marac import referrals
from marac.forms import choices
from marac.risk import ANSWER_LABELS, DONT_KNOW, NO, YES, Instrument

ANSWER_CHOICES = choices([(YES.value, ANSWER_LABELS[YES]), (NO.value, ANSWER_LABELS[NO]),
                          (DONT_KNOW.value, ANSWER_LABELS[DONT_KNOW])])
TEXT_LIMIT = 20000  # characters kept from one free-text box (a long history fits; a 16 MB post does not)


class RadioInput(GovRadioInput):
    """GOV.UK radios without an empty hint (govuk_frontend_wtf passes the description even when blank)."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        if not (params.get("hint") or {}).get("text"):
            params.pop("hint", None)
        return params


class CheckboxInput(GovCheckboxInput):
    """A single GOV.UK checkbox without an empty hint."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        if not (params.get("hint") or {}).get("text"):
            params.pop("hint", None)
        return params


def _text(value) -> str:
    return (value or "").strip()[:TEXT_LIMIT]


class TextAreaField(_TextAreaField):
    widget = GovTextArea()


class DatePartsField(Field):
    """A GOV.UK date input (day, month, year) that keeps what was typed when it is not a date.

    data: a date or None; parts: [day, month, year] as typed. Initial data may be an ISO date
    string, a date, or a list of parts (a draft's "<field>_input").
    """

    widget = GovDateInput()

    def process_data(self, value):
        self.parts = ["", "", ""]
        self.data = None
        if isinstance(value, list | tuple):
            self.parts = [str(v) for v in (list(value) + ["", "", ""])[:3]]
            self.data = _parse(self.parts)
            self.raw_data = self.parts
        elif isinstance(value, date):
            self.data = value
        elif isinstance(value, str) and value:
            try:
                self.data = date.fromisoformat(value)
            except ValueError:
                self.data = None

    def process_formdata(self, valuelist):
        self.parts = [v.strip()[:8] for v in (list(valuelist) + ["", "", ""])[:3]]
        self.raw_data = self.parts  # the widget shows these three boxes again, as typed
        self.data = _parse(self.parts)

    def _value(self):
        return ""

    def stored(self) -> tuple[str, list[str] | str]:
        """(ISO date or "", what was typed when it is not a date, else "")."""
        if self.data is not None:
            return self.data.isoformat(), ""
        typed = [p for p in self.parts if p]
        return "", (self.parts if typed else "")


def _parse(parts) -> date | None:
    day, month, year = parts
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _radio(label, pairs, description=None):
    return RadioField(label, choices=choices(pairs), widget=RadioInput(), validate_choice=False,
                      description=description or "")


def _select(label, pairs):
    return SelectField(label, choices=choices([("", "Select an option")] + list(pairs.items())), widget=GovSelect(),
                       validate_choice=False)


def _choice(value, allowed) -> str:
    return value if value in allowed else ""


# --- people ------------------------------------------------------------------------------------


class _PersonFields:
    """Mixed into the person forms: name, other names, date of birth, address."""

    @staticmethod
    def person_values(form) -> dict:
        iso, typed = form.date_of_birth.stored()
        values = {"given_name": _text(form.given_name.data)[:120], "family_name": _text(form.family_name.data)[:120],
                  "date_of_birth": iso, "date_of_birth_input": typed}
        if hasattr(form, "ref") and _text(form.ref.data):
            values["ref"] = _text(form.ref.data)[:16]
        for name in ("aliases", "address", "postcode", "school"):
            if hasattr(form, name):
                values[name] = _text(getattr(form, name).data)[:300 if name != "address" else 1000]
        return values


def _person_initial(person: dict) -> dict:
    initial = dict(person)
    initial["date_of_birth"] = person.get("date_of_birth_input") or person.get("date_of_birth", "")
    return initial


class MainPersonForm(FlaskForm):
    given_name = StringField("First name", widget=GovTextInput())
    family_name = StringField("Last name", widget=GovTextInput())
    aliases = StringField("Other names or aliases (optional)", widget=GovTextInput(),
                          description="Separate names with a semicolon")
    date_of_birth = DatePartsField("Date of birth", description="For example, 27 3 1990")
    address = TextAreaField("Address")
    postcode = StringField("Postcode", widget=GovTextInput())
    lives_in_area = _radio("Does this person live in the area this panel covers?", referrals.YES_NO)
    pregnant = BooleanField("The victim is pregnant, or has had a baby in the last 18 months",
                            widget=CheckboxInput())

    def configure(self, ctx: referrals.Context):
        """Word the form for the panel, and drop what it does not ask."""
        who = ctx.rules.person
        self.lives_in_area.label.text = f"Does the {who} live in the area this panel covers?"
        if not ctx.asks_area:
            del self.lives_in_area
        if ctx.rules.panel_type != "domestic_abuse":
            del self.pregnant
        return self

    def values(self) -> dict:
        values = _PersonFields.person_values(self)
        values["lives_in_area"] = _choice(self.lives_in_area.data, referrals.YES_NO) if "lives_in_area" in self else ""
        values["pregnant"] = bool(self.pregnant.data) if "pregnant" in self else False
        return values

    @staticmethod
    def initial(data: dict) -> dict:
        return _person_initial(referrals.main_person(data))


class ChildForm(Form):
    ref = HiddenField()
    given_name = StringField("First name", widget=GovTextInput())
    family_name = StringField("Last name", widget=GovTextInput())
    date_of_birth = DatePartsField("Date of birth", description="For example, 4 9 2019")
    school = StringField("School, nursery or early-years setting", widget=GovTextInput(),
                         description="Write \"none\" if the child is not at a school or nursery")


class ChildrenForm(FlaskForm):
    has_children = _radio("Are there children in the household?", referrals.YES_NO,
                          description="Children under 18 who live with the victim or the perpetrator, or visit "
                                      "regularly")
    children = FieldList(FormField(ChildForm), min_entries=0)

    def values(self) -> dict:
        return {"has_children": _choice(self.has_children.data, referrals.YES_NO),
                "children": [_PersonFields.person_values(entry.form) for entry in self.children]}

    @staticmethod
    def initial(data: dict) -> dict:
        return {"has_children": data.get("has_children", ""),
                "children": [_person_initial(p) for p in referrals.people_in(data, "child")]}


class PerpetratorForm(Form):
    ref = HiddenField()
    given_name = StringField("First name", widget=GovTextInput())
    family_name = StringField("Last name", widget=GovTextInput())
    aliases = StringField("Other names or aliases (optional)", widget=GovTextInput(),
                          description="Separate names with a semicolon")
    date_of_birth = DatePartsField("Date of birth (if known)", description="For example, 27 3 1988")
    address = TextAreaField("Address (if known)")
    postcode = StringField("Postcode (if known)", widget=GovTextInput())


class PerpetratorsForm(FlaskForm):
    perpetrators = FieldList(FormField(PerpetratorForm), min_entries=0)

    def values(self) -> dict:
        return {"perpetrators": [_PersonFields.person_values(entry.form) for entry in self.perpetrators]}

    @staticmethod
    def initial(data: dict) -> dict:
        return {"perpetrators": [_person_initial(p) for p in referrals.people_in(data, "perpetrator")]}


class EqualityEntryForm(Form):
    ref = HiddenField()
    sex = _select("Sex", referrals.SEX)
    gender_identity = _select("Gender identity", referrals.GENDER_IDENTITY)
    sexual_orientation = _select("Sexual orientation", referrals.SEXUAL_ORIENTATION)
    ethnicity = _select("Ethnicity", referrals.ETHNICITY)
    disability = _select("Disability", referrals.DISABILITY)


class EqualityForm(FlaskForm):
    people = FieldList(FormField(EqualityEntryForm), min_entries=0)

    def values(self) -> dict:
        result = []
        for entry in self.people:
            values = {"ref": _text(entry.form.ref.data)[:16]}
            for key, (_, allowed) in referrals.EQUALITY_FIELDS.items():
                values[key] = _choice(getattr(entry.form, key).data, allowed)
            result.append(values)
        return {"people": result}

    @staticmethod
    def initial(data: dict) -> dict:
        main = referrals.main_person(data)
        entries = ([main] if main else []) + referrals.people_in(data, "perpetrator")
        return {"people": [{"ref": p.get("ref", ""), **{k: p.get(k, "") for k in referrals.EQUALITY_FIELDS}}
                           for p in entries]}


# --- safety, consent, barriers, incident, risk -------------------------------------------------


class ContactForm(FlaskForm):
    phone = StringField("Safe phone number", widget=GovTextInput(),
                        description="A number on which the victim can talk safely. Leave blank if there is none.")
    times = StringField("Safe times to call or visit", widget=GovTextInput())
    safe_to_post = _radio("Is it safe to send letters to the victim's address?", referrals.YES_NO)
    safe_address = TextAreaField("Safe address for letters, if different (optional)")
    notes = TextAreaField("Anything else about contacting the victim safely (optional)")

    def configure(self, ctx):
        if ctx.rules.panel_type != "domestic_abuse":
            self.phone.description = "A number on which the person can talk safely. Leave blank if there is none."
            self.safe_to_post.label.text = "Is it safe to send letters to the person's address?"
            self.notes.label.text = "Anything else about contacting the person safely (optional)"
        return self

    def values(self) -> dict:
        return {"phone": _text(self.phone.data)[:60], "times": _text(self.times.data)[:300],
                "safe_to_post": _choice(self.safe_to_post.data, referrals.YES_NO),
                "safe_address": _text(self.safe_address.data)[:1000], "notes": _text(self.notes.data)}

    @staticmethod
    def initial(data: dict) -> dict:
        return dict(data.get("safe_contact", {}))


class ConsentForm(FlaskForm):
    status = _radio("Did the victim agree to this referral?", referrals.CONSENT)
    reason = TextAreaField("If you are sharing without consent, why?",
                           description="For example: the risk of serious harm to the victim or the children "
                                       "justifies sharing without consent")

    def configure(self, ctx):
        if ctx.rules.panel_type != "domestic_abuse":
            self.status.label.text = "Did the person agree to this referral?"
            self.status.choices = choices({k: v.replace("the victim", "the person")
                                           for k, v in referrals.CONSENT.items()})
        return self

    def values(self) -> dict:
        return {"status": _choice(self.status.data, referrals.CONSENT), "reason": _text(self.reason.data)}

    @staticmethod
    def initial(data: dict) -> dict:
        return dict(data.get("consent", {}))


class BarriersForm(FlaskForm):
    interpreter = _radio("Is an interpreter needed?", referrals.YES_NO)
    language = StringField("Language needed", widget=GovTextInput())
    disability_needs = TextAreaField("Disability or access needs (optional)")
    other = TextAreaField("Other barriers to engaging with services (optional)",
                          description="For example immigration status, caring responsibilities, no recourse to "
                                      "public funds, distrust of services")

    def values(self) -> dict:
        return {"interpreter": _choice(self.interpreter.data, referrals.YES_NO),
                "language": _text(self.language.data)[:100],
                "disability_needs": _text(self.disability_needs.data), "other": _text(self.other.data)}

    @staticmethod
    def initial(data: dict) -> dict:
        return dict(data.get("barriers", {}))


class IncidentForm(FlaskForm):
    date = DatePartsField("Date of the latest incident (if known)", description="For example, 12 10 2026")
    police_reference = StringField("Police reference (optional)", widget=GovTextInput())
    description = TextAreaField("What happened")
    background = TextAreaField("Background and history (optional)",
                               description="Earlier incidents, how long the abuse has gone on, what has changed")

    def values(self) -> dict:
        iso, typed = self.date.stored()
        return {"date": iso, "date_input": typed, "police_reference": _text(self.police_reference.data)[:60],
                "description": _text(self.description.data), "background": _text(self.background.data)}

    @staticmethod
    def initial(data: dict) -> dict:
        incident = dict(data.get("incident", {}))
        incident["date"] = incident.get("date_input") or incident.get("date", "")
        return incident


class RiskForm(FlaskForm):
    current_risk = TextAreaField("What is the risk now?",
                                 description="What you are most worried about, and who is at risk")
    actions_taken = TextAreaField("What have you already done?",
                                  description="Safety planning, referrals made, police action, support offered")

    def values(self) -> dict:
        return {"current_risk": _text(self.current_risk.data), "actions_taken": _text(self.actions_taken.data)}

    @staticmethod
    def initial(data: dict) -> dict:
        return {"current_risk": data.get("current_risk", ""), "actions_taken": data.get("actions_taken", "")}


# --- the risk checklist and the criteria -----------------------------------------------------------


class ChecklistBase(FlaskForm):
    """The fields every checklist page has; the questions are added per instrument."""

    source = StringField("Source of the answers, if not the victim (optional)", widget=GovTextInput(),
                         description="For example: the referrer's own observation, a family member")
    professional_judgement = BooleanField("I am making this referral on professional judgement",
                                          widget=CheckboxInput())
    professional_judgement_reason = TextAreaField(
        "Why is this a professional-judgement referral?",
        description="What makes you believe the risk is high, although the checklist does not show it")
    incidents_last_12_months = StringField("How many incidents in the last 12 months? (optional)",
                                           widget=GovTextInput())
    escalating = BooleanField("The incidents are becoming more frequent or more serious", widget=CheckboxInput())
    honour_based_violence = BooleanField("Honour-based violence", widget=CheckboxInput())
    forced_marriage = BooleanField("Forced marriage", widget=CheckboxInput())
    fgm = BooleanField("Female genital mutilation (FGM)", widget=CheckboxInput())
    serious_incident = _radio("Did the latest incident involve violence or threats, stalking or harassment, or "
                              "sexual abuse?", referrals.YES_NO)

    instrument: Instrument

    def answers(self) -> dict:
        """{item id: answer} of the questions answered."""
        return checklist_answers(self.instrument, lambda name: self[name].data)

    def values(self) -> dict:
        """The checklist section's values (source and criteria)."""
        return checklist_values(lambda name: self[name].data)

    @staticmethod
    def initial(data: dict, answers: dict, instrument: Instrument) -> dict:
        criteria = dict(data.get("criteria", {}))
        count = criteria.get("incidents_last_12_months_input") or criteria.get("incidents_last_12_months")
        criteria["incidents_last_12_months"] = "" if count is None else str(count)
        serious = criteria.get("serious_incident")
        criteria["serious_incident"] = "" if serious is None else ("yes" if serious else "no")
        initial = {"source": data.get("checklist", {}).get("source", ""), **criteria}
        for i, item in enumerate(instrument.items):
            initial[f"item{i}"] = answers.get(item.id, "")
        return initial


_ANSWERS = frozenset((YES.value, NO.value, DONT_KNOW.value))


def checklist_answers(instrument: Instrument, get) -> dict:
    """{item id: answer} from posted fields item0..itemN (`get(name)` reads one field)."""
    result = {}
    for i, item in enumerate(instrument.items):
        value = get(f"item{i}")
        if value in _ANSWERS:
            result[item.id] = value
    return result


def checklist_values(get) -> dict:
    """The checklist section's values (source and criteria) from posted fields.

    Shared by the form and the score endpoint, which reads the post directly: building a
    WTForms form of 40 questions for every tick would cost more than the scoring itself.
    """
    def flag(name):
        return get(name) not in (None, "", False)

    count = _text(get("incidents_last_12_months"))[:6]
    number = int(count) if count.isdigit() else None
    serious = _choice(get("serious_incident"), referrals.YES_NO)
    return {
        "checklist": {"source": _text(get("source"))[:300]},
        "criteria": {
            "professional_judgement": flag("professional_judgement"),
            "professional_judgement_reason": _text(get("professional_judgement_reason")),
            "incidents_last_12_months": number,
            "incidents_last_12_months_input": count if count and number is None else "",
            "escalating": flag("escalating"),
            "honour_based_violence": flag("honour_based_violence"),
            "forced_marriage": flag("forced_marriage"),
            "fgm": flag("fgm"),
            "serious_incident": {"yes": True, "no": False}.get(serious),
        },
    }


_checklist_forms: dict[tuple[str, int, tuple], type] = {}


def checklist_form_class(instrument: Instrument) -> type[ChecklistBase]:
    """A form class with one yes / no / don't know question per item (built once per version)."""
    key = (instrument.id, instrument.version, tuple(item.id for item in instrument.items))
    cls = _checklist_forms.get(key)
    if cls is None:
        fields = {"instrument": instrument}
        for i, item in enumerate(instrument.items):
            label = f"{i + 1}. {item.text}"
            if instrument.method == "weighted_sum":
                label += f" ({item.points} {'point' if item.points == 1 else 'points'})"
            fields[f"item{i}"] = RadioField(label, choices=ANSWER_CHOICES, widget=RadioInput(),
                                            validate_choice=False, description=item.help or "")
        cls = type(f"Checklist_{instrument.id}_{instrument.version}", (ChecklistBase,), fields)
        _checklist_forms[key] = cls
    return cls


class AmendReasonForm(FlaskForm):
    amend_reason = TextAreaField("Why are you making this correction?",
                           description="The referrer, the coordinator and the chair see the reason with the change")


SECTION_FORMS = {
    "person": MainPersonForm,
    "children": ChildrenForm,
    "perpetrators": PerpetratorsForm,
    "equality": EqualityForm,
    "contact": ContactForm,
    "consent": ConsentForm,
    "barriers": BarriersForm,
    "incident": IncidentForm,
    "risk": RiskForm,
}


def section_form(slug: str, ctx: referrals.Context, data: dict | None = None, answers: dict | None = None,
                 formdata=None, extra_entries: int = 0):
    """The form of one section: from the draft (`data`) or from a post (`formdata`)."""
    if slug == "checklist":
        cls = checklist_form_class(ctx.instrument)
        if formdata is not None:
            return cls(formdata=formdata)
        return cls(formdata=None, data=cls.initial(data, answers or {}, ctx.instrument))
    cls = SECTION_FORMS[slug]
    form = cls(formdata=formdata) if formdata is not None else cls(formdata=None, data=cls.initial(data))
    if hasattr(form, "configure"):
        form.configure(ctx)
    if formdata is None:
        _pad_entries(form, slug, extra_entries)
    return form


def _pad_entries(form, slug: str, extra: int) -> None:
    """Show one empty entry where a list is empty (a perpetrator is always asked), plus any added."""
    if slug not in ("children", "perpetrators"):
        return
    entries = form.children if slug == "children" else form.perpetrators
    wanted = extra + (1 if len(entries) == 0 else 0)
    for _ in range(wanted):
        entries.append_entry()


def put_errors(form, errors: list[referrals.FieldError]) -> list[dict]:
    """Show validation errors beside their fields; return the error summary's list."""
    fields = {}

    def walk(f):
        for field in f:
            if isinstance(field, FieldList):
                walk(field.entries)
            elif isinstance(field, FormField):
                walk(field.form)
            else:
                fields[field.id] = field

    walk(form)
    summary = []
    for err in errors:
        field = fields.get(err.field)
        if field is not None and err.beside:
            field.errors = list(field.errors or []) + [err.message]
        if err.in_summary:
            summary.append({"text": err.message, "href": f"#{err.href_id}"})
    return summary
