"""The report period picker and the SafeLives return's quarter (GET forms: no CSRF, nothing changes)."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovRadioInput, GovSelect, GovSubmitInput, GovTextInput
from wtforms import IntegerField, RadioField, SelectField, SubmitField
from wtforms.validators import NumberRange, Optional

from marac import reports
from marac.forms import choices
from marac.forms.admin import GovDateField

MONTH_CHOICES = {str(i): name for i, name in enumerate(reports.MONTH_NAMES, start=1)}
QUARTER_CHOICES = {str(q): f"Quarter {q}: {months}" for q, months in reports.QUARTERS.items()}
YEARS = NumberRange(min=1990, max=2100, message="Enter a year from 1990 to 2100, for example 2026")


class PeriodForm(FlaskForm):
    """Which period a report covers: a month, a quarter, a year, or dates of your choice."""

    class Meta:
        csrf = False

    period = RadioField("Period", choices=choices(reports.PERIOD_KINDS), default="quarter",
                        widget=GovRadioInput(), validators=[Optional()])
    year = IntegerField("Year", widget=GovTextInput(), validators=[Optional(), YEARS],
                        description="For a month, a quarter or a year")
    month = SelectField("Month", choices=choices(MONTH_CHOICES), widget=GovSelect(), validators=[Optional()])
    quarter = SelectField("Quarter", choices=choices(QUARTER_CHOICES), widget=GovSelect(), validators=[Optional()])
    start = GovDateField("From", widget=GovDateInput(), validators=[Optional()], format="%d %m %Y",
                         description="For dates of your choice. For example, 1 4 2026")
    end = GovDateField("To", widget=GovDateInput(), validators=[Optional()], format="%d %m %Y",
                       description="For example, 30 6 2026")
    submit = SubmitField("Show the report", widget=GovSubmitInput())

    period_value: reports.Period | None = None

    def fill(self, period: reports.Period) -> None:
        """Show this period in the fields (the first visit, with no choice made yet)."""
        self.period.data = period.kind
        self.year.data = period.start.year
        self.month.data = str(period.start.month)
        self.quarter.data = str((period.start.month - 1) // 3 + 1)
        self.start.data, self.end.data = period.start, period.end
        self.period_value = period

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        kind = self.period.data or "quarter"
        try:
            if kind == "custom":
                if self.start.data is None:
                    self.start.errors.append("Enter the first date of the report")
                if self.end.data is None:
                    self.end.errors.append("Enter the last date of the report")
                if self.start.data is None or self.end.data is None:
                    return False
                self.period_value = reports.custom_period(self.start.data, self.end.data)
                return True
            if self.year.data is None:
                self.year.errors.append("Enter the year, for example 2026")
                return False
            if kind == "month":
                self.period_value = reports.month_period(self.year.data, int(self.month.data or 1))
            elif kind == "quarter":
                self.period_value = reports.quarter_period(self.year.data, int(self.quarter.data or 1))
            else:
                self.period_value = reports.year_period(self.year.data)
        except reports.ReportError as exc:
            self.end.errors.append(str(exc))
            return False
        return True


class QuarterForm(FlaskForm):
    """The quarter of a SafeLives return."""

    class Meta:
        csrf = False

    year = IntegerField("Year", widget=GovTextInput(), validators=[Optional(), YEARS])
    quarter = SelectField("Quarter", choices=choices(QUARTER_CHOICES), widget=GovSelect(), validators=[Optional()])
    submit = SubmitField("Show the return", widget=GovSubmitInput())

    period_value: reports.Period | None = None

    def fill(self, period: reports.Period) -> None:
        self.year.data = period.start.year
        self.quarter.data = str((period.start.month - 1) // 3 + 1)
        self.period_value = period

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.year.data is None:
            self.year.errors.append("Enter the year, for example 2026")
            return False
        self.period_value = reports.quarter_period(self.year.data, int(self.quarter.data or 1))
        return True
