"""PDF and Word (.docx) files as documents: text, title and date where the file has them.

Text comes out as the file's own Unicode (NFC after :class:`Document`'s clean-up); text written
with the old Vietnamese font encodings (TCVN3/ABC, VNI), which PDF and Word files made before
Unicode often carry, is repaired as for HTML pages. A PDF without a text layer (a scan) is
skipped with that reason: reading it needs OCR.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ._document import Document, normalize_date, title_from_text
from ._errors import InputError

# A Vietnamese administrative document (văn bản) is dated in its opening lines:
# "Hà Nội, ngày 12 tháng 6 năm 2020".
_VN_DATE_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_PDF_DATE_RE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
# Fewer letters than this over a whole PDF: there is no text layer, only images.
_MIN_LETTERS = 20


def read_office(data: bytes, suffix: str, doc_id: str, path: Path, max_bytes: int) -> Document:
    """One ``.pdf`` or ``.docx`` file's document; raises :class:`InputError` with the reason.
    Text longer than ``max_bytes`` (one document's cap) once extracted is refused too."""
    if suffix == ".pdf":
        title, text, date = _pdf(data)
    else:
        title, text, date = _docx(data, max_bytes)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InputError(f"{size / 1e6:.1f} MB of text once extracted, over the {max_bytes / 1e6:.1f} MB cap "
                         "on one document (--max-doc-size)")
    text = _repair(text)
    title = _repair(title or "").strip()
    if not text.strip():
        raise InputError("no text in the file")
    dated = _VN_DATE_RE.search(text[:3000])
    if dated:
        day, month, year = dated.groups()
        date = normalize_date(f"{day}/{month}/{year}") or date
    return Document(id=doc_id, title=title or title_from_text(text) or path.stem, text=text,
                    url=path.resolve().as_uri(), source=path.parent.name or None, date=date)


def _repair(text: str) -> str:
    from ._encoding import _repair_legacy

    return _repair_legacy(text) if text else text


def _pdf(data: bytes) -> tuple[str | None, str, str | None]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on odd files are not ours to show
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise InputError("encrypted PDF (a password is needed to read it)") from exc
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except InputError:
        raise
    except PdfReadError as exc:
        raise InputError(f"not a readable PDF ({exc})") from exc
    except Exception as exc:  # pypdf on a malformed file: one bad file must not stop an import
        raise InputError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if sum(c.isalpha() for c in text) < _MIN_LETTERS:
        raise InputError(f"PDF without a text layer ({len(pages)} page{'s' if len(pages) != 1 else ''} of images, a scan?): it needs OCR")
    title = str(meta.title).strip() if meta is not None and meta.title else None
    date = None
    if meta is not None:
        raw = meta.get("/CreationDate")
        m = _PDF_DATE_RE.match(str(raw)) if raw else None
        if m:
            date = normalize_date("-".join(g for g in m.groups() if g))
    return title, text, date


def _docx(data: bytes, max_bytes: int) -> tuple[str | None, str, str | None]:
    import zipfile

    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a readable Word .docx file ({exc})") from exc
    if inflated > 20 * max_bytes:  # XML is wordy, but not this wordy: a zip bomb or a huge file
        raise InputError(f"a .docx of {inflated / 1e6:.0f} MB once unzipped, over 20 times the "
                         f"{max_bytes / 1e6:.1f} MB cap on one document (--max-doc-size)")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx on a malformed file: one bad file must not stop an import
        raise InputError(f"not a readable Word .docx file ({type(exc).__name__}: {exc})") from exc
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:  # văn bản often put their header (agency, number, date) in a table
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" ".join(dict.fromkeys(cells)))
    props = document.core_properties
    title = props.title.strip() if props.title else None
    when = props.created or props.modified
    return title, "\n\n".join(paragraphs), normalize_date(when) if when else None
