"""The inbox's forms: decisions on a referral, quality assurance, a transfer received from another MARAC."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, DateField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from marac import clock
from marac.forms import choices
from marac.inbox import DECLINE_REASONS

REASON_MAX = 2000


class GovDateField(DateField):
    """A GOV.UK date input (day, month, year posted under one name). A POST without the three
    parts (not sent by our page) counts as blank rather than breaking the widget with a 500."""

    def process(self, formdata, *args, **kwargs):
        super().process(formdata, *args, **kwargs)
        if self.raw_data is not None and len(self.raw_data) != 3:
            self.raw_data = (list(self.raw_data) + ["", "", ""])[:3]


class InboxFilterForm(FlaskForm):
    """GET filter: changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    show = RadioField("Show", default="all", widget=GovRadioInput(), validators=[Optional()],
                      choices=choices({"all": "All new referrals",
                                       "qa": "Awaiting quality assurance",
                                       "linked": "Repeats, cross-links and possible duplicates"}))
    submit = SubmitField("Show referrals", widget=GovSubmitInput())


class AcceptForm(FlaskForm):
    reason = TextAreaField("Reason for accepting (optional)", widget=GovTextArea(),
                           description="Needed only when the referral meets no referral criterion.",
                           validators=[Length(max=REASON_MAX)])
    submit = SubmitField("Accept referral", widget=GovSubmitInput())


class DeclineForm(FlaskForm):
    code = RadioField("Why is the referral declined?", choices=choices(DECLINE_REASONS), widget=GovRadioInput(),
                      validators=[InputRequired(message="Select why the referral is declined")])
    reason = TextAreaField("Explanation for the referrer", widget=GovTextArea(),
                           description="The referrer sees this on their referral.",
                           validators=[InputRequired(message="Explain the decision for the referrer"),
                                       Length(max=REASON_MAX)])
    submit = SubmitField("Decline referral", widget=GovSubmitInput())


class ReturnForm(FlaskForm):
    comment = TextAreaField("What does the referrer need to add or correct?", widget=GovTextArea(),
                            description="The referral reopens for its author with this comment.",
                            validators=[InputRequired(message="Say what the referrer needs to add"),
                                        Length(max=REASON_MAX)])
    submit = SubmitField("Return to referrer", widget=GovSubmitInput())


class TransferOutForm(FlaskForm):
    area = StringField("MARAC it is transferred to", widget=GovTextInput(),
                       description="For example, Riverside MARAC", validators=[
                           InputRequired(message="Enter the MARAC the referral is transferred to"), Length(max=200)])
    reason = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Length(max=REASON_MAX)])
    submit = SubmitField("Mark as transferred", widget=GovSubmitInput())


class QualityAssuranceForm(FlaskForm):
    outcome = RadioField("Is the professional judgement supported?", widget=GovRadioInput(),
                         choices=choices({"accept": "Yes: the referral can go to the panel",
                                          "decline": "No: decline the referral"}),
                         validators=[InputRequired(message="Select whether the professional judgement is supported")])
    code = RadioField("Why is it declined?", choices=choices(DECLINE_REASONS), default="pj_not_supported",
                      widget=GovRadioInput(), validators=[Optional()])
    reason = TextAreaField("Comment (required when declining: the referrer sees it)", widget=GovTextArea(),
                           validators=[Length(max=REASON_MAX)])
    submit = SubmitField("Save quality assurance", widget=GovSubmitInput())

    def validate_reason(self, field):
        if self.outcome.data == "decline" and not (field.data or "").strip():
            raise ValidationError("Explain the decision for the referrer")


class TransferInForm(FlaskForm):
    area = StringField("MARAC it came from", widget=GovTextInput(), description="For example, Riverside MARAC",
                       validators=[InputRequired(message="Enter the MARAC the case came from"), Length(max=200)])
    received_on = GovDateField("Received on", widget=GovDateInput(), format="%d %m %Y",
                            description="For example, 27 3 2026",
                            validators=[InputRequired(message="Enter the date the case was received")])
    summary = TextAreaField("Summary of the case and why it is transferred", widget=GovTextArea(),
                            validators=[InputRequired(message="Enter a summary of the case"), Length(max=5000)])
    victim_given_name = StringField("Given name", widget=GovTextInput(),
                                    validators=[InputRequired(message="Enter the victim's given name"),
                                                Length(max=120)])
    victim_family_name = StringField("Family name", widget=GovTextInput(),
                                     validators=[InputRequired(message="Enter the victim's family name"),
                                                 Length(max=120)])
    victim_date_of_birth = GovDateField("Date of birth", widget=GovDateInput(), format="%d %m %Y",
                                     validators=[Optional()])
    victim_address = TextAreaField("Address in this area", widget=GovTextArea(), validators=[Length(max=500)])
    victim_postcode = StringField("Postcode", widget=GovTextInput(), validators=[Length(max=12)])
    perpetrator_given_name = StringField("Given name", widget=GovTextInput(), validators=[Length(max=120)])
    perpetrator_family_name = StringField("Family name", widget=GovTextInput(), validators=[Length(max=120)])
    perpetrator_date_of_birth = GovDateField("Date of birth", widget=GovDateInput(), format="%d %m %Y",
                                          validators=[Optional()])
    closed_session = BooleanField("Honour-based violence: hear in a closed session", widget=GovCheckboxInput())
    submit = SubmitField("Add to the inbox", widget=GovSubmitInput())

    def validate_received_on(self, field):
        if field.data and field.data > clock.now().date():
            raise ValidationError("The date received must be today or in the past")

    def validate_victim_date_of_birth(self, field):
        if field.data and field.data > clock.now().date():
            raise ValidationError("The date of birth must be in the past")

    validate_perpetrator_date_of_birth = validate_victim_date_of_birth

    def people(self) -> list[dict]:
        """The people as Referral.data["people"] entries (the referral form's shape)."""
        def iso(d):
            return d.isoformat() if d else ""

        result = [{"role": "victim", "given_name": self.victim_given_name.data.strip(),
                   "family_name": self.victim_family_name.data.strip(),
                   "date_of_birth": iso(self.victim_date_of_birth.data),
                   "address": (self.victim_address.data or "").strip(),
                   "postcode": (self.victim_postcode.data or "").strip().upper()}]
        if (self.perpetrator_given_name.data or "").strip() or (self.perpetrator_family_name.data or "").strip():
            result.append({"role": "perpetrator", "given_name": self.perpetrator_given_name.data.strip(),
                           "family_name": self.perpetrator_family_name.data.strip(),
                           "date_of_birth": iso(self.perpetrator_date_of_birth.data)})
        return result
