"""Forms of the case record: timeline filters, search, notes, documents, closure, transfer."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marac.cases import CLOSE_REASONS, TIMELINE_FILTERS
from marac.forms import choices
from marac.notes import CATEGORIES, MAX_LENGTH


class SafeDateInput(GovDateInput):
    """GovDateInput expects three values; a GET form without the field sends none."""

    def map_gov_params(self, field, **kwargs):
        if field.raw_data is not None and len(field.raw_data) != 3:
            field.raw_data = None
        return super().map_gov_params(field, **kwargs)


class TimelineFilterForm(FlaskForm):
    """GET filter form: no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    kind = SelectField("Show", widget=GovSelect(), validators=[Optional()])
    agency = SelectField("Agency", widget=GovSelect(), coerce=int, validators=[Optional()])
    submit = SubmitField("Filter", widget=GovSubmitInput())

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices([("", "Everything")] + [(k, v[0]) for k, v in TIMELINE_FILTERS.items()])
        self.agency.choices = choices([(0, "All agencies")] + [(a.id, a.name) for a in agencies])

    def values(self) -> dict:
        """The valid filters as keyword arguments for cases.timeline()."""
        kind = self.kind.data if self.kind.data in TIMELINE_FILTERS else ""
        agency = self.agency.data if self.agency.data and any(c.value == self.agency.data
                                                               for c in self.agency.choices) else None
        return {"kind": kind, "agency_id": agency}


class SearchForm(FlaskForm):
    """The case search, posted with the CSRF token: its terms (names, dates of birth, postcodes) are
    personal data and must never travel in a URL (SECURITY.md check 29)."""

    number = StringField("Case number", widget=GovTextInput(), validators=[Optional(), Length(max=20)])
    name = StringField("Name", widget=GovTextInput(), validators=[Optional(), Length(max=120)],
                       description="Any spelling of accents, hyphens and spaces; given name first or family name "
                                   "alone")
    date_of_birth = DateField("Date of birth", widget=SafeDateInput(), validators=[Optional()], format="%d %m %Y",
                              description="For example, 27 3 1990")
    postcode = StringField("Postcode", widget=GovTextInput(), validators=[Optional(), Length(max=12)],
                           description="A full postcode, or its first part (for example IG11)")
    submit = SubmitField("Search", widget=GovSubmitInput())


class NoteForm(FlaskForm):
    category = RadioField("Category", choices=choices(CATEGORIES), widget=GovRadioInput(),
                          validators=[InputRequired(message="Select a category")])
    text = TextAreaField("Note", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter the note"),
                                     Length(max=MAX_LENGTH, message=f"The note must be {MAX_LENGTH} characters "
                                                                    "or fewer")])
    restricted = BooleanField("Restricted: only my agency and the MARAC coordinator can see this note",
                              widget=GovCheckboxInput())
    submit = SubmitField("Add note", widget=GovSubmitInput())


class DocumentForm(FlaskForm):
    file = FileField("Document", widget=GovFileInput(),
                     description="A PDF, a Word document (.docx), or a PNG or JPEG image")
    title = StringField("Title (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    restricted = BooleanField("Restricted: only my agency and the MARAC coordinator can see this document",
                              widget=GovCheckboxInput())
    submit = SubmitField("Upload document", widget=GovSubmitInput())

    def validate_file(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError("Select a file to upload")


class CloseForm(FlaskForm):
    reason = RadioField("Why is the case being closed?", choices=choices(CLOSE_REASONS), widget=GovRadioInput(),
                        validators=[InputRequired(message="Select why the case is being closed")])
    text = TextAreaField("More detail", widget=GovTextArea(), validators=[Length(max=2000)],
                         description="Needed when the reason is 'Other'")
    submit = SubmitField("Close the case", widget=GovSubmitInput())

    def validate_text(self, field):
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError("Say why the case is being closed")


class ReopenForm(FlaskForm):
    text = TextAreaField("Why is the case being reopened?", widget=GovTextArea(),
                         validators=[DataRequired(message="Say why the case is being reopened"), Length(max=2000)])
    submit = SubmitField("Reopen the case", widget=GovSubmitInput())


class TransferForm(FlaskForm):
    area = StringField("Receiving MARAC", widget=GovTextInput(),
                       description="The area whose MARAC takes the case, for example 'Othertown MARAC'",
                       validators=[DataRequired(message="Enter the receiving MARAC"), Length(max=200)])
    submit = SubmitField("Download the transfer pack", widget=GovSubmitInput())


class LeadAgencyForm(FlaskForm):
    # Named apart from the timeline filter's agency/submit on the same page (ids must be unique there).
    lead_agency = SelectField("Lead agency", widget=GovSelect(), coerce=int, validators=[Optional()])
    set_lead = SubmitField("Set lead agency", widget=GovSubmitInput())

    def __init__(self, *args, **kwargs):
        from marac.models import Agency

        super().__init__(*args, **kwargs)
        self.lead_agency.choices = choices([(0, "No lead agency")] + [
            (a.id, a.name) for a in Agency.ordered().where(Agency.withdrawn_on.is_null())])

    def validate_lead_agency(self, field):
        if field.data and all(c.value != field.data for c in field.choices):
            raise ValidationError("Select an agency from the list")
