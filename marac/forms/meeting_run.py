"""Forms for running the meeting: attendance, observers, the case record, actions, review, minutes."""
from datetime import UTC, datetime

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from marac import meeting_run, meetings, schedule
from marac.forms import choices
from marac.models import Agency, User


class GovDateField(DateField):
    """A GOV.UK date input (day, month, year under one name). A post without exactly three parts (a
    missing or tampered field) is a blank date, not a crash in the widget."""

    def process_formdata(self, valuelist):
        if len(valuelist) != 3:
            self.raw_data = valuelist = (list(valuelist) + ["", "", ""])[:3]
        if not any(v.strip() for v in valuelist):
            self.data = None
            return
        super().process_formdata(valuelist)


def _agency_choices(first: str, agencies=None):
    agencies = list(Agency.ordered()) if agencies is None else agencies
    return choices([(0, first)] + [(a.id, a.name) for a in agencies])


def _time_of_day(field):
    value = (field.data or "").strip()
    if not value:
        return
    try:
        schedule.parse_time(value)
    except ValueError:
        raise ValidationError("Enter a time like 09:45") from None


def local_time_on(meeting, value: str) -> datetime | None:
    """'09:45' on the meeting's day (UK local) as naive UTC; None for a blank value."""
    value = (value or "").strip()
    if not value:
        return None
    local = datetime.combine(meeting.starts_at.date(), schedule.parse_time(value)).replace(tzinfo=schedule.LONDON)
    return local.astimezone(UTC).replace(tzinfo=None)


class AttendeeForm(FlaskForm):
    person = SelectField("Who is attending", widget=GovSelect(), coerce=int,
                         description="A named representative, deputy, the chair or the coordinator; or choose "
                                     "'Someone else' for a person without an account")
    agency = SelectField("Agency (someone else only)", widget=GovSelect(), coerce=int, validators=[Optional()])
    name = StringField("Their name (someone else only)", widget=GovTextInput(), validators=[Length(max=200)])
    time_in = StringField("Time in", widget=GovTextInput(), description="24-hour clock, for example 09:35. Leave "
                          "blank for now.", validators=[Length(max=5)])
    submit = SubmitField("Sign in", widget=GovSubmitInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = (User.select(User, Agency).join(Agency)
                  .where(User.active & User.role.in_(("coordinator", "chair", "representative"))
                         & meetings.panel_user_where())
                  .order_by(Agency.name, User.name))
        self.person.choices = choices(
            [(0, "Someone else (type their name)")]
            + [(u.id, f"{u.agency.name}: {u.name}{' (deputy)' if u.is_deputy else ''}"
                      f"{' (chair)' if u.role == 'chair' else ''}{' (coordinator)' if u.role == 'coordinator' else ''}")
               for u in people])
        self.agency.choices = _agency_choices("Select the agency")

    def validate_person(self, field):
        if field.data and User.get_or_none((User.id == field.data) & meetings.panel_user_where()) is None:
            raise ValidationError("Select who is attending")

    def validate_agency(self, field):
        if not self.person.data and not field.data:
            raise ValidationError("Select the agency they attend for")

    def validate_name(self, field):
        if not self.person.data and not (field.data or "").strip():
            raise ValidationError("Enter the name of the person attending")

    def validate_time_in(self, field):
        _time_of_day(field)


class ApologiesForm(FlaskForm):
    apologies_agency = SelectField("Agency sending apologies", widget=GovSelect(), coerce=int)
    apologies_name = StringField("Name (optional)", widget=GovTextInput(), validators=[Length(max=200)])
    written_info = BooleanField("Written information sent instead", widget=GovCheckboxInput())
    apologies_submit = SubmitField("Record apologies", widget=GovSubmitInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.apologies_agency.choices = _agency_choices("Select the agency")

    def validate_apologies_agency(self, field):
        if not field.data or Agency.get_or_none(Agency.id == field.data) is None:
            raise ValidationError("Select the agency sending apologies")


class SignOutForm(FlaskForm):
    time_out = StringField("Time out", widget=GovTextInput(), description="24-hour clock, for example 11:20. "
                           "Leave blank for now.", validators=[Length(max=5)])
    last_listing = SelectField("Last case heard before leaving", widget=GovSelect(), coerce=int,
                               description="Only when leaving before the end of the meeting")
    submit = SubmitField("Sign out", widget=GovSubmitInput())

    def __init__(self, *args, listings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.last_listing.choices = choices([(0, "Stayed to the end")]
                                            + [(li.id, f"{n}. {li.case.number}") for n, li in enumerate(listings, 1)])

    def validate_time_out(self, field):
        _time_of_day(field)


class ObserverForm(FlaskForm):
    name = StringField("Observer's name", widget=GovTextInput(),
                       validators=[InputRequired(message="Enter the observer's name"), Length(max=200)])
    organisation = StringField("Organisation", widget=GovTextInput(), validators=[Length(max=200)])
    account = SelectField("Their observer account (optional)", widget=GovSelect(), coerce=int,
                          description="An observer with an account sees this meeting's screen, and nothing else, "
                                      "once approved and after agreeing to the confidentiality statement")
    submit = SubmitField("Add observer", widget=GovSubmitInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        observers = (User.select().where(User.active & (User.role == "observer") & meetings.panel_user_where())
                     .order_by(User.name))
        self.account.choices = choices([(0, "No account")] + [(u.id, u.name) for u in observers])


class RefuseObserverForm(FlaskForm):
    reason = StringField("Reason (optional)", widget=GovTextInput(), validators=[Length(max=500)])
    submit = SubmitField("Refuse", widget=GovSubmitInput())


class DiscussionForm(FlaskForm):
    """The case record typed during the discussion; what each agency shared is added per agency
    (fields named shared-<agency id>) by the template."""

    risk_victim = TextAreaField("Risks to the victim", widget=GovTextArea(), validators=[Length(max=10000)])
    risk_children = TextAreaField("Risks to children", widget=GovTextArea(), validators=[Length(max=10000)])
    risk_others = TextAreaField("Risks to others", widget=GovTextArea(), validators=[Length(max=10000)])
    risk_staff = TextAreaField("Risks to staff", widget=GovTextArea(), validators=[Length(max=10000)])
    victim_views = TextAreaField("The victim's views", widget=GovTextArea(), validators=[Length(max=10000)],
                                 description="As given by the IDVA or the referrer")
    children = BooleanField("There are children in the household", widget=GovCheckboxInput())
    care_needs = BooleanField("An adult has care and support needs (Care Act 2014)", widget=GovCheckboxInput())
    hate_crime = BooleanField("The victim perceives hate crime as the motive", widget=GovCheckboxInput())
    summary = TextAreaField("Summary of the discussion", widget=GovTextArea(), validators=[Length(max=10000)])
    decision = RadioField("Decision", widget=GovRadioInput(), validators=[Optional()],
                          choices=choices(meeting_run.DECISIONS))
    decision_note = TextAreaField("Decision note", widget=GovTextArea(), validators=[Length(max=10000)],
                                  description="For example which panel the case goes to, or why it is adjourned")
    returns_for_review = RadioField("Does the case return for review?", widget=GovRadioInput(),
                                    validators=[Optional()], choices=choices({"yes": "Yes", "no": "No"}))
    lead_agency = SelectField("Lead agency", widget=GovSelect(), coerce=int, validators=[Optional()])
    save = SubmitField("Save", widget=GovSubmitInput())

    def __init__(self, *args, words=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_agency.choices = _agency_choices("No lead agency")
        for key, label in (words or {}).items():
            if key in self._fields:
                self[key].label.text = label

    def validate_lead_agency(self, field):
        if field.data and Agency.get_or_none(Agency.id == field.data) is None:
            raise ValidationError("Select an agency")


class ActionForm(FlaskForm):
    owner_agency = SelectField("Owner agency", widget=GovSelect(), coerce=int)
    description = TextAreaField("What the agency will do", widget=GovCharacterCount(),
                                validators=[InputRequired(message="Enter what the agency is to do"),
                                            Length(max=2000, message="The action must be 2000 characters or fewer")])
    due_date = GovDateField("Due date", widget=GovDateInput(), format="%d %m %Y",
                         validators=[InputRequired(message="Enter the due date as a real date")],
                         description="For example, 27 11 2026")
    priority = RadioField("Priority", widget=GovRadioInput(), default="normal",
                          choices=choices(meeting_run.PRIORITIES),
                          validators=[InputRequired(message="Select a priority")])
    add = SubmitField("Add action", widget=GovSubmitInput())

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_agency.choices = _agency_choices("Select the agency", agencies)

    def validate_owner_agency(self, field):
        if not field.data or Agency.get_or_none(Agency.id == field.data) is None:
            raise ValidationError("Select the agency that owns the action")


class ReviewForm(FlaskForm):
    outcome = RadioField("Outcome", widget=GovRadioInput(), choices=choices(meeting_run.REVIEW_OUTCOMES),
                         validators=[InputRequired(message="Select what happens to the action")])
    new_due_date = GovDateField("New due date (carried forward only)", widget=GovDateInput(), format="%d %m %Y",
                             validators=[Optional()])
    reason = StringField("Reason", widget=GovTextInput(),
                         validators=[InputRequired(message="Give the reason"), Length(max=2000)])
    submit = SubmitField("Record", widget=GovSubmitInput())

    def validate_new_due_date(self, field):
        if self.outcome.data == "carried" and not field.data:
            raise ValidationError("Enter the new due date")


class NotesForm(FlaskForm):
    notes = TextAreaField("Notes for the minutes", widget=GovTextArea(), validators=[Length(max=20000)],
                          description="For example introductions, apologies received late, any other business")
    submit = SubmitField("Save notes", widget=GovSubmitInput())


class AmendmentForm(FlaskForm):
    listing = SelectField("Which case", widget=GovSelect(), coerce=int)
    text = TextAreaField("Correction", widget=GovTextArea(),
                         validators=[InputRequired(message="Enter the correction"), Length(max=5000)])
    submit = SubmitField("Add amendment", widget=GovSubmitInput())

    def __init__(self, *args, listings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.listing.choices = choices([(0, "The minutes as a whole")]
                                       + [(li.id, f"{n}. {li.case.number}") for n, li in enumerate(listings, 1)])
