"""Case documents: PDF, Word (.docx), PNG and JPEG, checked by their content (never by their name),
stored under instance/documents/ with random names, served only as downloads."""
import hashlib
import io
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from marac import audit, clock, settings
from marac.db import db
from marac.models import Document

DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


@dataclass(frozen=True)
class FileType:
    key: str
    content_type: str
    extension: str
    label: str


TYPES = {
    "pdf": FileType("pdf", "application/pdf", ".pdf", "PDF"),
    "docx": FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx",
                     "Word document"),
    "png": FileType("png", "image/png", ".png", "PNG image"),
    "jpeg": FileType("jpeg", "image/jpeg", ".jpg", "JPEG image"),
}
ALLOWED_TEXT = "a PDF, a Word document (.docx), or a PNG or JPEG image"
# The request body limit (MAX_CONTENT_LENGTH, 16 MB) caps any setting.
HARD_LIMIT_MB = 15


class DocumentError(ValueError):
    """An upload that is refused (the message is shown beside the file field)."""


def max_bytes() -> int:
    mb = min(int(settings.get("document_max_mb")), HARD_LIMIT_MB)
    return mb * 1024 * 1024


def _is_docx(data: bytes) -> bool:
    """A Word document is a zip holding [Content_Types].xml that declares a (macro-free) main document."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return False
            return DOCX_MAIN in archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return False


def sniff(data: bytes) -> FileType | None:
    """The file's type from its content (magic bytes, zip structure), or None when not allowed."""
    if data.startswith(b"%PDF-"):
        return TYPES["pdf"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if data.startswith(b"PK\x03\x04") and _is_docx(data):
        return TYPES["docx"]
    return None


def storage_dir() -> Path:
    path = Path(current_app.instance_path) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download_name(filename: str, file_type: FileType) -> str:
    """The name offered on download: the uploaded name without any path, with the detected extension."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>:|?*]", "", base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:150] or "document") + file_type.extension


def read_upload(stream) -> bytes:
    """Read at most the size limit (plus one byte, to tell that it is over)."""
    limit = max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentError(f"The selected file must be smaller than {limit // (1024 * 1024)} MB")
    if not data:
        raise DocumentError("The selected file is empty")
    return data


def save(case, user, *, filename: str, data: bytes, title: str = "", restricted: bool = False) -> Document:
    """Check and store an upload, then record it (the file is removed again if the record fails)."""
    if len(data) > max_bytes():
        raise DocumentError(f"The selected file must be smaller than {max_bytes() // (1024 * 1024)} MB")
    if not data:
        raise DocumentError("The selected file is empty")
    file_type = sniff(data)
    if file_type is None:
        raise DocumentError(f"The selected file must be {ALLOWED_TEXT}. Its content is not one of these, "
                            "whatever its name says")
    stored_name = secrets.token_hex(20)
    path = storage_dir() / stored_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    try:
        with db.atomic():
            doc = Document.create(case=case, uploaded_by=user, agency=user.agency_id,
                                  title=(title or "").strip()[:200], filename=_download_name(filename, file_type),
                                  content_type=file_type.content_type, size=len(data), stored_name=stored_name,
                                  sha256=hashlib.sha256(data).hexdigest(), restricted=bool(restricted),
                                  created_at=clock.now())
            audit.record("document.upload", doc, user=user,
                         detail={"case_id": case.id, "type": file_type.key, "size": len(data),
                                 "restricted": bool(restricted)})
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return doc


def path_for_download(doc: Document, user) -> Path:
    """The stored file, after auditing the download."""
    with db.atomic():
        audit.record("document.download", doc, user=user, detail={"case_id": doc.case_id})
    return storage_dir() / doc.stored_name


def label(content_type: str) -> str:
    return next((t.label for t in TYPES.values() if t.content_type == content_type), content_type)


def file_size(size: int) -> str:
    """A size as people read it: '840 KB', '2.4 MB'."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"
