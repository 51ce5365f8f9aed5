"""Forms for meetings, listing, the agenda board and research."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from marac import schedule
from marac.forms import choices
from marac.forms.cases import SafeDateInput  # a post without the date's three parts must not 500
from marac.meetings import LISTING_KINDS, MEETING_KINDS, ORDER_RULES

TIME_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d$"
TIME_HINT = "24-hour clock, for example 09:30 or 17:00"
YES_NO = {"yes": "Yes", "no": "No"}


def _time_field(label, hint=TIME_HINT):
    return StringField(label, widget=GovTextInput(), description=hint, validators=[
        InputRequired(message=f"Enter the {label.lower()}"),
        Regexp(TIME_PATTERN, message=f"Enter the {label.lower()} as hours and minutes, like 17:00")])


def _days_field(label, hint, low=0, high=30):
    return IntegerField(label, widget=GovTextInput(), description=hint, validators=[
        InputRequired(message=f"Enter the {label.lower()}"),
        NumberRange(min=low, max=high, message=f"Enter a whole number from {low} to {high}")])


class PatternForm(FlaskForm):
    """The panel's meeting pattern and deadline settings."""

    meeting_frequency = RadioField("How often does the panel meet?", choices=choices(schedule.FREQUENCIES),
                                   widget=GovRadioInput(), validators=[InputRequired(message="Choose how often")])
    meeting_weekday = SelectField("Day of the week", widget=GovSelect(), coerce=int,
                                  choices=choices([(i, d) for i, d in enumerate(schedule.WEEKDAYS[:5])]))
    meeting_week_of_month = SelectField(
        "Which week of the month", widget=GovSelect(), coerce=int,
        description="Monthly meetings only: for example the second Wednesday",
        choices=choices([(k, v.capitalize()) for k, v in schedule.WEEKS_OF_MONTH.items()]))
    meeting_start_time = _time_field("Start time")
    meeting_venue = StringField("Usual venue", widget=GovTextInput(), validators=[Length(max=200)])
    referral_deadline_working_days = _days_field("Referral deadline: working days before the meeting",
                                                 "B&D and Redbridge: 8")
    referral_deadline_time = _time_field("Referral deadline time")
    circulation_working_days = _days_field("Agenda circulation: working days before the meeting", "Usually 5")
    circulation_time = _time_field("Agenda circulation time")
    minutes_due_working_days = _days_field("Minutes due: working days after the meeting", "Redbridge 6, B&D 5")
    minutes_per_case = _days_field("Minutes for each case", "B&D 15, Liverpool 10", 1, 60)
    minutes_per_information_case = _days_field("Minutes for an information-only case", "", 1, 60)
    agenda_order = RadioField("Order of cases on the agenda", choices=choices(ORDER_RULES), widget=GovRadioInput(),
                              validators=[InputRequired(message="Choose the order of cases")])
    move_request_limit = _days_field("Requests to move cases, per agency per meeting, before the board warns",
                                     "Liverpool: 2. 0 means no limit", 0, 50)
    written_info_days_before = _days_field("Written information from an absent agency: days before the meeting",
                                           "Liverpool: 2", 0, 30)
    submit = SubmitField("Save and see the proposed meetings", widget=GovSubmitInput())

    KEYS = ("meeting_frequency", "meeting_weekday", "meeting_week_of_month", "meeting_start_time", "meeting_venue",
            "referral_deadline_working_days", "referral_deadline_time", "circulation_working_days",
            "circulation_time", "minutes_due_working_days", "minutes_per_case", "minutes_per_information_case",
            "agenda_order", "move_request_limit", "written_info_days_before")

    def values(self) -> dict:
        """The settings to store; times as zero-padded HH:MM."""
        out = {key: getattr(self, key).data for key in self.KEYS}
        for key in ("meeting_start_time", "referral_deadline_time", "circulation_time"):
            out[key] = schedule.parse_time(out[key]).strftime("%H:%M")
        out["meeting_venue"] = (out["meeting_venue"] or "").strip()
        return out


class ProposalStartForm(FlaskForm):
    """GET form: propose a year of meetings from this date (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    start = DateField("Propose meetings from", widget=SafeDateInput(), format="%d %m %Y",
                      description="For example, 1 1 2027", validators=[Optional()])
    submit = SubmitField("Show the proposal", widget=GovSubmitInput())


class MeetingForm(FlaskForm):
    """Add or move one meeting."""

    kind = RadioField("Kind of meeting", choices=choices(MEETING_KINDS), widget=GovRadioInput(), default="regular",
                      validators=[InputRequired(message="Choose the kind of meeting")])
    day = DateField("Date", widget=SafeDateInput(), format="%d %m %Y", description="For example, 18 11 2026",
                    validators=[InputRequired(message="Enter the date of the meeting")])
    time = _time_field("Start time")
    venue = StringField("Venue", widget=GovTextInput(), validators=[Length(max=200)])
    submit = SubmitField("Save meeting", widget=GovSubmitInput())

    def starts_at(self):
        from datetime import datetime

        return datetime.combine(self.day.data, schedule.parse_time(self.time.data))


class ListingForm(FlaskForm):
    """List a case at a meeting, or change how it is listed."""

    meeting = SelectField("Meeting", widget=GovSelect(), coerce=int)
    kind = RadioField("How is the case listed?", choices=choices(LISTING_KINDS), widget=GovRadioInput(),
                      default="full", validators=[InputRequired(message="Choose how the case is listed")])
    referrer_agrees = RadioField("Does the referrer agree to an information-only listing?", choices=choices(YES_NO),
                                 widget=GovRadioInput(), default="yes",
                                 description="Only asked for information-only listings")
    actions_requested = RadioField("Has the referrer asked for specific actions?", choices=choices(YES_NO),
                                   widget=GovRadioInput(), default="no")
    emergency_reason = TextAreaField("Reason for listing as an emergency item", widget=GovTextArea(),
                                     description="Only for a referral that missed the meeting's deadline and "
                                                 "cannot wait. Do not write names here.",
                                     validators=[Length(max=1000)])
    invites = SelectMultipleField("Agencies invited to the closed session", widget=GovCheckboxesInput(), coerce=int,
                                  description="Closed-session cases only. The referring agency is always invited.")
    submit = SubmitField("List the case", widget=GovSubmitInput())

    def __init__(self, *args, meetings=(), agencies=(), with_meeting=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting.choices = choices([(0, "The next meeting whose referral deadline it meets")] + [
            (m.id, f"{schedule.format_datetime(m.starts_at)} ({MEETING_KINDS[m.kind].lower()})") for m in meetings])
        self.invites.choices = choices([(a.id, a.name) for a in agencies])
        if not with_meeting:
            del self.meeting

    def validate_invites(self, field):
        known = {c.value for c in field.choices}
        if any(v not in known for v in field.data or []):
            raise ValidationError("Choose agencies from the list")


class ResearchForm(FlaskForm):
    """What the representative's agency holds on a listed case."""

    victim_info = TextAreaField("What your agency holds on the victim", widget=GovTextArea(),
                                validators=[Length(max=5000)])
    perpetrator_info = TextAreaField("What your agency holds on the perpetrator", widget=GovTextArea(),
                                     validators=[Length(max=5000)])
    children_info = TextAreaField("What your agency holds on the children", widget=GovTextArea(),
                                  validators=[Length(max=5000)])
    nothing_known = BooleanField("Nothing known: my agency holds no information on this case",
                                 widget=GovCheckboxInput())
    written_submission = BooleanField("My agency cannot attend: share this as our written information",
                                      widget=GovCheckboxInput())
    submit = SubmitField("Save research", widget=GovSubmitInput())


class MoveRequestForm(FlaskForm):
    """An agency asks for a case to be heard at another point of the meeting."""

    agency = SelectField("Agency asking", widget=GovSelect(), coerce=int)
    note = StringField("When should it be heard, and why?", widget=GovTextInput(),
                       description="For example: early, our representative leaves at 11. Do not write names.",
                       validators=[InputRequired(message="Say when the case should be heard"), Length(max=300)])
    # Not "submit": the listing page also holds the listing form, and ids must be unique on a page.
    ask_move = SubmitField("Ask to move this case", widget=GovSubmitInput())

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agencies is None:
            del self.agency
        else:
            self.agency.choices = choices([(a.id, a.name) for a in agencies])
