"""Training mode's forms."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length


class WhoLookedForm(FlaskForm):
    name = StringField("Who looked at the case?", widget=GovTextInput(),
                       description="Their full name, or their e-mail address.",
                       validators=[InputRequired(message="Enter the name of the person who looked at the case"),
                                   Length(max=254)])
    submit = SubmitField("Check my answer", widget=GovSubmitInput())
