"""The panel switch in the page header (issue 12)."""
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired

from marac.forms import EmptyForm, choices


class PanelSwitchForm(EmptyForm):
    panel = SelectField("Panel", coerce=int, validators=[InputRequired(message="Choose a panel")])
    submit = SubmitField("Switch panel")

    def fill(self, panels) -> "PanelSwitchForm":
        self.panel.choices = choices([(p.id, p.name) for p in panels])
        return self
