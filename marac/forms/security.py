"""Forms of information governance: the second-factor code, reasons for opening a record,
retention decisions, subject access, release of minutes."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import DateField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marac.forms import choices
from marac.forms.cases import SafeDateInput
from marac.models import RELEASE_BASES

REASON_MAX = 1000


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", widget=GovTextInput(),
                       description="The 6-digit code the app shows now, for example 123456",
                       validators=[InputRequired(message="Enter the 6-digit code from your authenticator app"),
                                   Length(max=20, message="Enter the 6-digit code from your authenticator app")])
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ReasonForm(FlaskForm):
    """Why a closed-session case or a restricted record is being opened (kept with the view)."""

    reason = TextAreaField("Why do you need to open this record?", widget=GovTextArea(),
                           description="For example, the action you are working on or the meeting you are "
                                       "preparing for. This is recorded with your view.",
                           validators=[DataRequired(message="Enter why you need to open this record"),
                                       Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} "
                                                                      "characters or fewer")])
    submit = SubmitField("Open the record", widget=GovSubmitInput())


class KeepForm(FlaskForm):
    reason = TextAreaField("Why is the case being kept?", widget=GovTextArea(),
                           validators=[DataRequired(message="Enter why the case is being kept"),
                                       Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} "
                                                                      "characters or fewer")])
    review_date = DateField("Next review date", widget=SafeDateInput(), format="%d %m %Y",
                            description="For example, 27 3 2027",
                            validators=[InputRequired(message="Enter the next review date as a real date")])
    submit = SubmitField("Keep the case", widget=GovSubmitInput())

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_review_date(self, field):
        if self.today is not None and field.data is not None and field.data <= self.today:
            raise ValidationError("The next review date must be in the future")


class DeleteForm(FlaskForm):
    reason = TextAreaField("Why is the personal data being deleted?", widget=GovTextArea(),
                           description="For example, the retention period has passed and the case is not needed. "
                                       "Do not name anyone: this reason is kept after the deletion.",
                           validators=[DataRequired(message="Enter why the data is being deleted"),
                                       Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} "
                                                                      "characters or fewer")])
    submit = SubmitField("Delete the personal data", widget=GovSubmitInput())


class ReleaseRequestForm(FlaskForm):
    requester_name = StringField("Who is asking?", widget=GovTextInput(),
                                 description="The name of the person making the request",
                                 validators=[DataRequired(message="Enter who is asking"), Length(max=200)])
    requester_organisation = StringField("Their organisation", widget=GovTextInput(),
                                         description="For example, the DHR panel or the court",
                                         validators=[Optional(), Length(max=200)])
    basis = RadioField("On what basis?", widget=GovRadioInput(), choices=choices(RELEASE_BASES),
                       validators=[InputRequired(message="Select the basis of the request")])
    detail = TextAreaField("Details of the request", widget=GovTextArea(),
                           description="For example, the review's reference or the order's number and date",
                           validators=[Optional(), Length(max=REASON_MAX)])
    received_on = DateField("Date the request was received", widget=SafeDateInput(), format="%d %m %Y",
                            description="For example, 27 3 2027",
                            validators=[InputRequired(message="Enter the date the request was received")])
    submit = SubmitField("Log the request", widget=GovSubmitInput())

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_received_on(self, field):
        if self.today is not None and field.data is not None and field.data > self.today:
            raise ValidationError("The date received must be today or in the past")


class ReleaseDecisionForm(FlaskForm):
    decision = RadioField("Your decision", widget=GovRadioInput(),
                          choices=choices({"approved": "Release the minutes and action plans",
                                           "refused": "Refuse the request"}),
                          validators=[InputRequired(message="Select your decision")])
    reason = TextAreaField("Reason", widget=GovTextArea(),
                           validators=[DataRequired(message="Enter the reason for your decision"),
                                       Length(max=REASON_MAX)])
    submit = SubmitField("Record the decision", widget=GovSubmitInput())
