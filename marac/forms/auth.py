"""Sign-in, first-run setup and password forms."""
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Regexp, ValidationError

from marac import accounts, passwords
from marac.forms import EMAIL_PATTERN


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", widget=GovTextInput(),
                       validators=[InputRequired(message="Enter your e-mail address")])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             validators=[InputRequired(message="Enter your password")])
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class NewPasswordMixin:
    def check_new_password(self, field, name="", email="", agency_name=""):
        problems = passwords.password_problems(field.data or "", accounts.context_words(name, email, agency_name))
        if problems:
            raise ValidationError(problems[0])


class SetupForm(NewPasswordMixin, FlaskForm):
    name = StringField("Your full name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter your full name"), Length(max=200)])
    email = EmailField("Work e-mail address", widget=GovTextInput(),
                       validators=[InputRequired(message="Enter your work e-mail address"),
                                   Regexp(EMAIL_PATTERN, message="Enter an e-mail address like name@council.gov.uk"),
                                   Length(max=254)])
    agency_name = StringField("Your team or agency", widget=GovTextInput(),
                              description="For example, the council's community safety team",
                              validators=[DataRequired(message="Enter your team or agency"), Length(max=200)])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             description=f"At least {passwords.MIN_LENGTH} characters. "
                                         "A few unrelated words work well.",
                             validators=[InputRequired(message="Enter a password")])
    confirm = PasswordField("Confirm password", widget=GovPasswordInput(),
                            validators=[InputRequired(message="Confirm your password"),
                                        EqualTo("password", message="Passwords must match")])
    submit = SubmitField("Create coordinator account", widget=GovSubmitInput())

    def validate_password(self, field):
        self.check_new_password(field, self.name.data, self.email.data, self.agency_name.data)


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("Current password", widget=GovPasswordInput(),
                                     validators=[InputRequired(message="Enter your current password")])
    password = PasswordField("New password", widget=GovPasswordInput(),
                             description=f"At least {passwords.MIN_LENGTH} characters.",
                             validators=[InputRequired(message="Enter a new password")])
    confirm = PasswordField("Confirm new password", widget=GovPasswordInput(),
                            validators=[InputRequired(message="Confirm your new password"),
                                        EqualTo("password", message="Passwords must match")])
    submit = SubmitField("Change password", widget=GovSubmitInput())

    def validate_current_password(self, field):
        if not passwords.verify_password(current_user.password_hash, field.data or ""):
            raise ValidationError("Your current password is not right")

    def validate_password(self, field):
        self.check_new_password(field, current_user.name, current_user.email, current_user.agency.name)
