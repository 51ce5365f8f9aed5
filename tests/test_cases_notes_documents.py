"""Case notes (restricted, corrections) and documents (type by content, size, download, access)."""
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document as WordDocument
from marac_testing import make_action, make_agency, make_case, make_note, make_user
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from marac import settings
from marac.models import AuditEvent, Document, Note

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def docx_bytes() -> bytes:
    out = io.BytesIO()
    doc = WordDocument()
    doc.add_paragraph("A fictional statement")
    doc.save(out)
    return out.getvalue()


def audit_rows(action):
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


@pytest.fixture
def w(app, fake_clock):
    housing = make_agency("Test Housing", isa_signed_on=date(2025, 1, 1))
    police = make_agency("Test Police", isa_signed_on=date(2025, 1, 1))
    other = make_agency("Other Agency")
    case = make_case(number="TC-N-1", lead_agency=police)
    make_action(case, housing)  # housing is involved
    return type("W", (), dict(
        case=case, housing=housing, police=police, other=other,
        coord=make_user("coordinator", name="Casey Coordinator"),
        chair=make_user("chair", agency=police, name="Charlie Chair"),
        housing_rep=make_user("representative", agency=housing, name="Harper Housing"),
        police_rep=make_user("representative", agency=police, name="Parker Police"),
        outsider=make_user("representative", agency=other, name="Olive Outsider")))


def case_page(client, case_id):
    """The case page; when the panel asks for a reason first (restricted records, closed sessions:
    the governance area), give one and open it."""
    r = client.get(f"/cases/{case_id}")
    if r.status_code == 302 and "/reason" in r.headers["Location"]:
        client.post(r.headers["Location"], data={"reason": "Preparing the fictional case for the panel"})
        r = client.get(f"/cases/{case_id}")
    return r


def switch(client, sign_in, user):
    client.post("/logout")
    sign_in(user)


# --- notes --------------------------------------------------------------------------------------


def test_add_a_note_and_see_it_on_the_timeline(client, sign_in, w):
    sign_in(w.housing_rep)
    assert client.get(f"/cases/{w.case.id}/notes/new").status_code == 200
    r = client.post(f"/cases/{w.case.id}/notes/new", data={"category": "incident", "text": "Door kicked in"})
    assert r.status_code == 302
    note = Note.get()
    assert (note.author_id, note.agency_id, note.category, note.restricted) == (w.housing_rep.id, w.housing.id,
                                                                                 "incident", False)
    body = case_page(client, w.case.id).get_data(as_text=True)
    assert "Incident note by Harper Housing, Test Housing" in body and "Door kicked in" in body
    row = audit_rows("note.create")[0]
    assert row.object_id == str(note.id) and "Door" not in row.detail


def test_note_form_errors_are_shown_beside_the_fields(client, sign_in, w):
    sign_in(w.housing_rep)
    r = client.post(f"/cases/{w.case.id}/notes/new", data={"category": "", "text": "  "})
    assert r.status_code == 200 and b"govuk-error-summary" in r.data
    assert b"Select a category" in r.data and b"Enter the note" in r.data
    assert Note.select().count() == 0


def test_restricted_note_hidden_from_other_agencies_but_not_the_coordinator(client, sign_in, w):
    secret = make_note(w.case, w.housing_rep, "Restricted fictional detail", restricted=True)
    make_note(w.case, w.housing_rep, "Open fictional detail")
    sign_in(w.police_rep)  # sees the case (lead agency), not the restricted note
    body = case_page(client, w.case.id).get_data(as_text=True)
    assert "Open fictional detail" in body and "Restricted fictional detail" not in body
    assert client.get(f"/cases/{w.case.id}/notes/{secret.id}/correct").status_code == 404
    for user in (w.chair,):  # the chair is not the coordinator: restricted notes stay hidden
        switch(client, sign_in, user)
        assert b"Restricted fictional detail" not in case_page(client, w.case.id).data
    for user in (w.coord, w.housing_rep):
        switch(client, sign_in, user)
        body = case_page(client, w.case.id).get_data(as_text=True)
        assert "Restricted fictional detail" in body and "Restricted" in body


def test_a_correction_is_a_new_note_linked_to_the_old_one(client, sign_in, w):
    original = make_note(w.case, w.housing_rep, "Visit on Monday")
    sign_in(w.housing_rep)
    form = client.get(f"/cases/{w.case.id}/notes/{original.id}/correct")
    assert b"Visit on Monday" in form.data  # pre-filled
    r = client.post(f"/cases/{w.case.id}/notes/{original.id}/correct",
                    data={"category": "contact", "text": "Visit on Tuesday"})
    assert r.status_code == 302
    assert Note.get_by_id(original.id).text == "Visit on Monday"  # never edited in place
    correction = Note.get(Note.corrects == original.id)
    assert correction.text == "Visit on Tuesday"
    body = case_page(client, w.case.id).get_data(as_text=True)
    assert "Visit on Monday" in body and "Visit on Tuesday" in body
    assert "Corrected" in body and "This corrects an earlier note." in body


def test_only_the_authors_agency_corrects_and_a_restricted_correction_stays_restricted(client, sign_in, w):
    original = make_note(w.case, w.housing_rep, "Original", restricted=True)
    open_note = make_note(w.case, w.housing_rep, "Open one")
    sign_in(w.police_rep)
    assert client.post(f"/cases/{w.case.id}/notes/{open_note.id}/correct",
                       data={"category": "contact", "text": "Meddling"}).status_code == 403
    switch(client, sign_in, w.housing_rep)
    client.post(f"/cases/{w.case.id}/notes/{original.id}/correct", data={"category": "contact", "text": "Fixed"})
    assert Note.get(Note.corrects == original.id).restricted is True


def test_extra_fields_cannot_change_author_agency_or_case(client, sign_in, w):
    other_case = make_case(number="TC-N-2", lead_agency=w.other)
    sign_in(w.housing_rep)
    client.post(f"/cases/{w.case.id}/notes/new", data={"category": "other", "text": "x", "agency": w.police.id,
                                                         "author": w.coord.id, "case_id": other_case.id})
    note = Note.get()
    assert (note.case_id, note.agency_id, note.author_id) == (w.case.id, w.housing.id, w.housing_rep.id)


# --- documents ----------------------------------------------------------------------------------


def upload(client, case, data: bytes, filename: str, **extra):
    # Encoded in memory: the test client spools large bodies to a temporary file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename), **extra})
    return client.post(f"/cases/{case.id}/documents/new", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize(("data", "name", "mimetype", "ext"), [
    (PDF, "report.pdf", "application/pdf", ".pdf"),
    (PNG, "photo.png", "image/png", ".png"),
    (JPEG, "photo.jpeg", "image/jpeg", ".jpg"),
    (None, "statement.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
])
def test_allowed_types_are_stored_with_random_names(client, sign_in, w, app, data, name, mimetype, ext):
    data = data or docx_bytes()
    sign_in(w.housing_rep)
    r = upload(client, w.case, data, name, title="Fictional evidence")
    assert r.status_code == 302, r.get_data(as_text=True)
    doc = Document.get()
    assert doc.content_type == mimetype and doc.size == len(data) and doc.filename.endswith(ext)
    stored = Path(app.instance_path) / "documents" / doc.stored_name
    assert stored.read_bytes() == data and name.split(".")[0] not in doc.stored_name
    assert audit_rows("document.upload")[0].object_id == str(doc.id)


@pytest.mark.parametrize(("data", "name"), [
    (b"<html><script>alert(1)</script></html>", "innocent.pdf"),   # the name says PDF, the content does not
    (b"MZ\x90\x00 fictional executable", "report.docx"),
    (b"plain text, not a document", "notes.png"),
    (None, "archive.docx"),                                        # a zip, but not a Word document
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old Word", "old.doc"),      # .doc (OLE) is not accepted
])
def test_types_are_checked_by_content_not_name(client, sign_in, w, data, name):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("hello.txt", "not word")
        data = buffer.getvalue()
    sign_in(w.housing_rep)
    r = upload(client, w.case, data, name)
    assert r.status_code == 200 and b"govuk-error-summary" in r.data
    assert b"The selected file must be a PDF, a Word document (.docx), or a PNG or JPEG image" in r.data
    assert Document.select().count() == 0


def test_size_limit_comes_from_the_setting_with_a_clear_message(client, sign_in, w, app):
    with app.app_context():
        settings.set_many({"document_max_mb": 1})
    sign_in(w.housing_rep)
    r = upload(client, w.case, PDF + b"0" * (1024 * 1024), "big.pdf")
    assert r.status_code == 200 and b"The selected file must be smaller than 1 MB" in r.data
    assert upload(client, w.case, b"", "empty.pdf").status_code == 200
    assert upload(client, w.case, PDF + b"0" * (1000 * 1024), "fits.pdf").status_code == 302
    assert Document.select().count() == 1


def test_no_file_selected(client, sign_in, w):
    sign_in(w.housing_rep)
    r = client.post(f"/cases/{w.case.id}/documents/new", data={"title": "x"}, content_type="multipart/form-data")
    assert r.status_code == 200 and b"Select a file to upload" in r.data


def test_download_is_an_attachment_with_nosniff_for_those_who_may_see_it(client, sign_in, w):
    sign_in(w.housing_rep)
    upload(client, w.case, PDF, "../../etc/Report for panel.pdf")
    doc = Document.get()
    switch(client, sign_in, w.police_rep)
    with client.get(f"/cases/documents/{doc.id}") as r:
        data = r.data
    assert r.status_code == 200 and data == PDF and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "Report for panel.pdf" in r.headers["Content-Disposition"] and ".." not in r.headers["Content-Disposition"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Cache-Control"] == "no-store"
    assert audit_rows("document.download")[0].user_id == w.police_rep.id
    switch(client, sign_in, w.outsider)
    assert client.get(f"/cases/documents/{doc.id}").status_code == 404
    assert AuditEvent.select().where((AuditEvent.action == "access.denied")
                                     & (AuditEvent.object_type == "document")).count() == 1


def test_restricted_document_only_for_its_agency_and_the_coordinator(client, sign_in, w):
    sign_in(w.housing_rep)
    upload(client, w.case, PDF, "private.pdf", restricted="y", title="Private fictional file")
    doc = Document.get()
    assert doc.restricted
    switch(client, sign_in, w.police_rep)
    assert client.get(f"/cases/documents/{doc.id}").status_code == 404
    assert b"Private fictional file" not in case_page(client, w.case.id).data
    switch(client, sign_in, w.coord)
    # The coordinator gives a reason before opening another agency's restricted document (issue 8).
    r = client.get(f"/cases/documents/{doc.id}")
    assert r.headers["Location"].startswith(f"/governance/cases/{w.case.id}/reason")
    client.post(f"/governance/cases/{w.case.id}/reason", data={"reason": "Checking the file"})
    with client.get(f"/cases/documents/{doc.id}") as r:
        assert r.status_code == 200


def test_other_agency_gets_404_on_note_and_document_routes(client, sign_in, w):
    note = make_note(w.case, w.housing_rep, "n")
    sign_in(w.housing_rep)
    upload(client, w.case, PDF, "a.pdf")
    doc = Document.get()
    switch(client, sign_in, w.outsider)
    assert client.get(f"/cases/{w.case.id}/notes/{note.id}/correct").status_code == 404
    assert client.post(f"/cases/{w.case.id}/notes/new", data={"category": "other", "text": "x"}).status_code == 404
    assert upload(client, w.case, PDF, "b.pdf").status_code == 404
    assert client.get(f"/cases/documents/{doc.id}").status_code == 404
    assert Note.select().count() == 1 and Document.select().count() == 1


def test_a_macro_enabled_word_file_is_refused_even_named_docx(client, sign_in, w):
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")
            target.writestr(item, data)
    sign_in(w.housing_rep)
    r = upload(client, w.case, buffer.getvalue(), "statement.docx")
    assert r.status_code == 200 and b"The selected file must be a PDF" in r.data
    assert Document.select().count() == 0
