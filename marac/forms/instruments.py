"""The coordinator's forms for risk instruments: the checklist editor and the JSON import."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marac import instrument_store
from marac.forms import choices
from marac.risk import Instrument, validate_instrument


def _field_for(problem: str) -> str:
    """The editor field a problem from the instrument checks belongs to."""
    lower = problem.lower()
    if "secondary" in lower:
        return "secondary_threshold"
    if lower.startswith(("band", "no band", "the band")) or "band" in lower.split(":")[0]:
        return "bands"
    if "threshold" in lower:
        return "threshold"
    if "method" in lower:
        return "method"
    if "name" in lower and "instrument" in lower:
        return "name"
    return "items"


def _whole_number(text: str | None, label: str, errors: list, required: bool) -> int | None:
    text = (text or "").strip()
    if not text:
        if required:
            errors.append(f"Enter the {label}")
        return None
    try:
        return int(text)
    except ValueError:
        errors.append(f"The {label} must be a whole number, like 9")
        return None


class InstrumentForm(FlaskForm):
    """Create or edit a checklist; both buttons post the whole definition."""

    name = StringField("Name", widget=GovTextInput(),
                       validators=[InputRequired(message="Enter the checklist's name"), Length(max=120)])
    description = TextAreaField("What it is for (optional)", widget=GovTextArea(), validators=[Length(max=2000)],
                                description="Shown above the questions on the referral form.")
    method = RadioField("How it scores", choices=choices(instrument_store.METHOD_LABELS), widget=GovRadioInput(),
                        validators=[InputRequired(message="Select how the checklist scores")])
    items = TextAreaField(
        "Questions", widget=GovTextArea(), validators=[Length(max=100_000)],
        description="One question a line: section | question | points | help. Points count only when "
                    "the checklist adds up points (leave them out otherwise); help is optional. For "
                    "example: Vulnerability | Does the person live alone? | 3")
    threshold = StringField("High-risk threshold", widget=GovTextInput(),
                            description="A score at or over this meets the panel's visible high-risk criterion.")
    secondary_threshold = StringField("Second threshold (optional)", widget=GovTextInput(),
                                      description="For example 10, for a referral to the IDSVA service.")
    secondary_label = StringField("What the second threshold leads to", widget=GovTextInput(),
                                  validators=[Length(max=200)])
    bands = TextAreaField(
        "Bands", widget=GovTextArea(), validators=[Length(max=5000)],
        description="One band a line: name | scores | high. Scores like 0-5, or 9+ for the top band; "
                    "write high for a high-risk band. For example: High | 9+ | high")
    preview = SubmitField("Preview and score", widget=GovSubmitInput())
    save = SubmitField("Save as a new version", widget=GovSubmitInput())

    def fill_from(self, instrument: Instrument) -> None:
        """Put an instrument's definition into the fields."""
        self.name.data = instrument.name
        self.description.data = instrument.description
        self.method.data = instrument.method
        self.items.data = instrument_store.items_to_text(instrument)
        self.threshold.data = str(instrument.threshold)
        self.secondary_threshold.data = ("" if instrument.secondary_threshold is None
                                         else str(instrument.secondary_threshold))
        self.secondary_label.data = instrument.secondary_label
        self.bands.data = instrument_store.bands_to_text(instrument)

    def definition(self, instrument_id: str | None, previous: Instrument | None) -> dict:
        """The instrument the fields describe, as data (not yet checked)."""
        self._number_errors = {"threshold": [], "secondary_threshold": []}
        items, sections, self._item_errors = instrument_store.items_from_text(self.items.data, previous)
        bands, self._band_errors = instrument_store.bands_from_text(self.bands.data)
        threshold = _whole_number(self.threshold.data, "threshold", self._number_errors["threshold"], True)
        secondary = _whole_number(self.secondary_threshold.data, "second threshold",
                                  self._number_errors["secondary_threshold"], False)
        data = {
            "id": instrument_id or instrument_store.new_id(self.name.data or ""),
            "name": (self.name.data or "").strip(),
            "version": 1,
            "method": self.method.data,
            "description": (self.description.data or "").strip(),
            "example": False,  # an edited copy is the borough's own form
            "threshold": threshold,
            "secondary_threshold": secondary,
            "secondary_label": (self.secondary_label.data or "").strip() if secondary is not None else "",
            "sections": sections,
            "items": items,
            "bands": bands,
        }
        return data

    def problems_for(self, data: dict) -> dict[str, list[str]]:
        """Every problem with the definition, by field; empty when it can be saved."""
        found: dict[str, list[str]] = {}
        for field, messages in (("items", self._item_errors), ("bands", self._band_errors),
                                *self._number_errors.items()):
            if messages:
                found.setdefault(field, []).extend(messages)
        if any(found.values()):
            return {k: v for k, v in found.items() if v}
        for problem in instrument_store.problems(data):
            found.setdefault(_field_for(problem), []).append(problem)
        return found

    def instrument_or_none(self, data: dict) -> Instrument | None:
        """The instrument to preview, or None while the definition has problems."""
        if self._item_errors or self._band_errors or any(self._number_errors.values()):
            return None
        if validate_instrument(data):
            return None
        return Instrument.from_dict(data)


class ImportForm(FlaskForm):
    file = FileField("Instrument file (.json)", widget=GovFileInput(),
                     description="A checklist exported from this app, or shared by another borough.")
    submit = SubmitField("Import", widget=GovSubmitInput())
