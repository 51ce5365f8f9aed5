"""The coordinator's forms for agencies and users."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from marac import accounts, passwords
from marac.forms import EMAIL_PATTERN, choices
from marac.models import AGENCY_KINDS, ROLES, Agency, User


class GovDateField(DateField):
    """A DateField for GovDateInput, whose three inputs (day, month, year) share one name.

    The widget unpacks exactly three raw values, so a request without the field (the audit
    filter on first visit, a partial post) or with a crafted number of values would crash the
    page with a 500. Those re-render as blank or as typed (a wrong count fails to parse anyway)."""

    def process(self, formdata, *args, **kwargs):
        super().process(formdata, *args, **kwargs)
        if self.raw_data is not None and len(self.raw_data) != 3:
            self.raw_data = (list(self.raw_data) + ["", ""])[:3] if self.raw_data else None


class AgencyForm(FlaskForm):
    name = StringField("Agency name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter the agency name"), Length(max=200)])
    kind = RadioField("Membership", choices=choices(AGENCY_KINDS), widget=GovRadioInput(),
                      validators=[InputRequired(message="Select the kind of membership")])
    is_police = BooleanField("This agency is the police (its professional-judgement referrals go to the chair)",
                             widget=GovCheckboxInput())
    isa_signed_on = GovDateField("Information sharing agreement signed on", widget=GovDateInput(),
                                 description="For example, 27 3 2025. Leave blank if not signed.",
                                 validators=[Optional()],
                                 format="%d %m %Y")
    isa_signatory = StringField("Signatory", widget=GovTextInput(), validators=[Length(max=200)])
    dpo_contact = StringField("Data Protection Officer contact", widget=GovTextInput(),
                              description="Name, e-mail or phone", validators=[Length(max=300)])
    withdrawn_on = GovDateField("Withdrew from the agreement on", widget=GovDateInput(), validators=[Optional()],
                                format="%d %m %Y")
    submit = SubmitField("Save agency", widget=GovSubmitInput())

    def __init__(self, *args, agency=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._agency = agency

    def validate_name(self, field):
        other = Agency.get_or_none(Agency.name == field.data.strip())
        if other is not None and (self._agency is None or other.id != self._agency.id):
            raise ValidationError("An agency with this name already exists")

    def validate_isa_signatory(self, field):
        # A field missing from the post is None in WTForms 3, not "".
        if self.isa_signed_on.data and not (field.data or "").strip():
            raise ValidationError("Enter who signed the agreement")

    def validate_withdrawn_on(self, field):
        if field.data and self.isa_signed_on.data and field.data < self.isa_signed_on.data:
            raise ValidationError("The withdrawal date must be on or after the signing date")

    def data_for_save(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "kind": self.kind.data,
            "is_police": bool(self.is_police.data),
            "isa_signed_on": self.isa_signed_on.data,
            "isa_signatory": (self.isa_signatory.data or "").strip(),
            "dpo_contact": (self.dpo_contact.data or "").strip(),
            "withdrawn_on": self.withdrawn_on.data,
        }


class UserForm(FlaskForm):
    name = StringField("Full name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter the person's full name"), Length(max=200)])
    email = EmailField("Work e-mail address", widget=GovTextInput(),
                       validators=[InputRequired(message="Enter a work e-mail address"),
                                   Regexp(EMAIL_PATTERN, message="Enter an e-mail address like name@agency.gov.uk"),
                                   Length(max=254)])
    # validate_agency checks the agency exists, with a GOV.UK message instead of "Not a valid choice".
    agency = SelectField("Agency", widget=GovSelect(), coerce=int, validate_choice=False,
                         validators=[InputRequired(message="Select the agency")])
    role = RadioField("Role", choices=choices(ROLES), widget=GovRadioInput(),
                      validators=[InputRequired(message="Select a role")])
    is_deputy = BooleanField("Deputy for their agency's lead representative", widget=GovCheckboxInput())
    active = BooleanField("Account is active", widget=GovCheckboxInput(), default=True)
    password = PasswordField("Temporary password", widget=GovPasswordInput(),
                             description=f"At least {passwords.MIN_LENGTH} characters. Give it to the person "
                                         "securely; they can change it under Your account.")
    submit = SubmitField("Save user", widget=GovSubmitInput())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user
        self.agency.choices = choices([(0, "Select an agency")] + [(a.id, a.name) for a in Agency.ordered()])
        if user is not None:
            self.password.label.text = "New password (leave blank to keep the current one)"

    def validate_agency(self, field):
        if not field.data or Agency.get_or_none(Agency.id == field.data) is None:
            raise ValidationError("Select the agency")

    def validate_email(self, field):
        other = User.by_email(field.data or "")
        if other is not None and (self._user is None or other.id != self._user.id):
            raise ValidationError("A user with this e-mail address already exists")

    def validate_is_deputy(self, field):
        if field.data and self.role.data != "representative":
            raise ValidationError("Only a representative can be a deputy")

    def validate_password(self, field):
        if not field.data:
            if self._user is None:
                raise ValidationError("Enter a temporary password")
            return
        agency = Agency.get_or_none(Agency.id == self.agency.data) if self.agency.data else None
        problems = passwords.password_problems(
            field.data, accounts.context_words(self.name.data, self.email.data, agency.name if agency else ""))
        if problems:
            raise ValidationError(problems[0])

    def data_for_save(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "email": self.email.data,
            "agency": Agency.get_by_id(self.agency.data),
            "role": self.role.data,
            "is_deputy": bool(self.is_deputy.data),
            "active": bool(self.active.data),
        }


class PanelGrantForm(FlaskForm):
    """Give an existing user (of any panel, found by their e-mail address) access to the panel in view."""

    email = EmailField("Work e-mail address of the user", widget=GovTextInput(),
                       description="Someone who already has an account in another panel: a county police officer, "
                                   "a coordinator covering two boroughs.",
                       validators=[InputRequired(message="Enter the user's work e-mail address"),
                                   Regexp(EMAIL_PATTERN, message="Enter an e-mail address like name@agency.gov.uk"),
                                   Length(max=254)],
                       filters=[lambda value: value.strip() if isinstance(value, str) else value])
    submit = SubmitField("Give access to this panel", widget=GovSubmitInput())


class AuditFilterForm(FlaskForm):
    """GET filter form: no CSRF (it changes nothing). Its values travel in the URL, so it has no free
    text (SECURITY.md check 29): the object type is picked from those in the log, and the object
    number is digits only."""

    class Meta:
        csrf = False

    user = SelectField("User", widget=GovSelect(), coerce=int, validators=[Optional()])
    object_type = SelectField("Object type", widget=GovSelect(), validators=[Optional()])
    object_id = StringField("Object number", widget=GovTextInput(),
                            validators=[Optional(), Length(max=20),
                                        Regexp(r"^\s*\d+\s*$", message="Enter the object's number, digits only")])
    date_from = GovDateField("From", widget=GovDateInput(), validators=[Optional()], format="%d %m %Y")
    date_to = GovDateField("To", widget=GovDateInput(), validators=[Optional()], format="%d %m %Y")
    submit = SubmitField("Filter", widget=GovSubmitInput())

    def __init__(self, *args, object_types=(), users=None, **kwargs):
        """users: whom the filter offers (the panel's users, issue 12: not another panel's names); all by default."""
        super().__init__(*args, **kwargs)
        users = User.ordered() if users is None else users
        self.user.choices = choices([(0, "Anyone")] + [(u.id, f"{u.name} ({u.agency.name})") for u in users])
        self.object_type.choices = choices([("", "Any")] + [(t, t) for t in object_types])
