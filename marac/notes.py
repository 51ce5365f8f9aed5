"""Case notes by any involved agency. A note is never edited: a correction is a new note linked to it."""
from marac import audit, clock
from marac.access import COORDINATOR
from marac.db import db
from marac.models import Note

CATEGORIES = {
    "contact": "Contact",
    "incident": "Incident",
    "risk_change": "Change in risk",
    "safeguarding": "Safeguarding",
    "other": "Other",
}
MAX_LENGTH = 10000


class NoteError(ValueError):
    """A note that cannot be saved (the message is shown to the user)."""


def may_correct(user, note: Note) -> bool:
    """The author's agency (or the coordinator) corrects its own notes."""
    return user.role == COORDINATOR or user.agency_id == note.agency_id


def add(case, user, *, category: str, text: str, restricted: bool = False, corrects: Note | None = None) -> Note:
    """Add a note to the case (a correction when `corrects` is given), audited."""
    text = (text or "").strip()
    if category not in CATEGORIES:
        raise NoteError("Select a category")
    if not text:
        raise NoteError("Enter the note")
    if len(text) > MAX_LENGTH:
        raise NoteError(f"The note must be {MAX_LENGTH} characters or fewer")
    if corrects is not None:
        if corrects.case_id != case.id or not may_correct(user, corrects):
            raise NoteError("Only the agency that wrote a note can correct it")
        # A correction of a restricted note stays restricted: it must not reveal what was hidden.
        restricted = restricted or corrects.restricted
    with db.atomic():
        note = Note.create(case=case, author=user, agency=user.agency_id, category=category, text=text,
                           restricted=bool(restricted), corrects=corrects, created_at=clock.now())
        audit.record("note.create", note, user=user,
                     detail={"case_id": case.id, "restricted": bool(restricted),
                             **({"corrects": corrects.id} if corrects is not None else {})})
    return note


def record_view(note: Note, user) -> None:
    """Audit an opening of one note on its own page (the correction form shows its text)."""
    with db.atomic():
        audit.record("note.view", note, user=user, detail={"case_id": note.case_id})
