"""Flask-WTF forms, one module per area."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice

# Plain shape check: intranet addresses (.local, .gov.uk, .nhs.net) must all pass; no DNS look-up.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class EmptyForm(FlaskForm):
    """Carries the CSRF token for a bare button (sign out, confirmations)."""


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects, not (value, label) tuples."""
    if isinstance(pairs, dict):
        pairs = pairs.items()
    return [SelectChoice(value, label) for value, label in pairs]
