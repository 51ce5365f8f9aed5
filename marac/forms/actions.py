"""Forms for actions: add (coordinator), complete, cannot complete, escalate."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
)
from wtforms import DateField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marac.actions import CANNOT_REASONS, MAX_DESCRIPTION, PRIORITIES, today
from marac.forms import choices
from marac.forms.cases import SafeDateInput  # a post without the date's three parts must not 500
from marac.models import Agency


class ActionForm(FlaskForm):
    owner_agency = SelectField("Agency responsible", widget=GovSelect(), coerce=int,
                               validators=[InputRequired(message="Select the agency responsible")])
    description = TextAreaField("What is to be done", widget=GovTextArea(),
                                validators=[DataRequired(message="Enter what the agency is to do"),
                                            Length(max=MAX_DESCRIPTION)])
    due_date = DateField("Due date", widget=SafeDateInput(), format="%d %m %Y",
                         validators=[InputRequired(message="Enter the due date")],
                         description="For example, 27 3 2026")
    priority = RadioField("Priority", choices=choices(PRIORITIES), widget=GovRadioInput(), default="normal",
                          validators=[InputRequired(message="Select a priority")])
    submit = SubmitField("Add action", widget=GovSubmitInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_agency.choices = choices([(0, "Select an agency")] + [
            (a.id, a.name) for a in Agency.ordered().where(Agency.withdrawn_on.is_null())])

    def validate_owner_agency(self, field):
        if not field.data or Agency.get_or_none(Agency.id == field.data) is None:
            raise ValidationError("Select the agency responsible")

    def validate_due_date(self, field):
        if field.data and field.data < today():
            raise ValidationError("The due date must be today or in the future")


class CompleteForm(FlaskForm):
    completed_on = DateField("Date completed", widget=SafeDateInput(), format="%d %m %Y",
                             validators=[Optional()], description="Leave blank for today")
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Length(max=2000)])
    submit = SubmitField("Mark as done", widget=GovSubmitInput())

    def validate_completed_on(self, field):
        if field.data and field.data > today():
            raise ValidationError("The date completed must be today or in the past")


class CannotForm(FlaskForm):
    reason = RadioField("Why can the action not be completed?", choices=choices(CANNOT_REASONS),
                        widget=GovRadioInput(),
                        validators=[InputRequired(message="Select why the action cannot be completed")])
    text = TextAreaField("More detail", widget=GovTextArea(), validators=[Length(max=2000)],
                         description="Needed when the reason is 'Other'")
    submit = SubmitField("Record that it cannot be completed", widget=GovSubmitInput())

    def validate_text(self, field):
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError("Say why the action cannot be completed")


class EscalateForm(FlaskForm):
    text = TextAreaField("Note for the chair (optional)", widget=GovTextArea(), validators=[Length(max=2000)])
    submit = SubmitField("Escalate to the chair", widget=GovSubmitInput())
