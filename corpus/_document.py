"""The one value type that leaves the corpus stage: a cleaned document."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import IO, Any

# Characters that are invisible or layout-only and break word matching when left inside text.
# (Regexes, not str.translate tables: translate looks up every character in a dict, several
# times slower on long texts that rarely hold any of these.)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile("[\u00a0\u2007\u202f\u3000]")
# Most texts hold none of them: ten substring tests (fast searches) are cheaper than two scans.
_SUSPECTS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u00a0\u2007\u202f\u3000"
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def clean_text(text: str) -> str:
    """Unicode clean-up every document gets: NFC, no invisible characters, plain spaces and newlines.

    >>> clean_text("Ba\\u0306\\u0301c So\\u031bn\\u200b") == "Bắc Sơn"
    True
    """
    text = unicodedata.normalize("NFC", text)
    if any(c in text for c in _SUSPECTS):
        text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# Bytes json.dumps escapes as \\uXXXX (every control character but the four handled below).
_RARE_CONTROLS = bytes(c for c in range(32) if chr(c) not in "\n\t")


def _json_utf8(value: str | None) -> bytes:
    """``json.dumps(value, ensure_ascii=False).encode("utf-8")``, faster: in UTF-8, bytes below
    0x20 are those characters themselves, so byte replacements escape them."""
    if value is None:
        return b"null"
    data = value.encode("utf-8")
    if len(data.translate(None, _RARE_CONTROLS)) != len(data):
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n").replace(b"\t", b"\\t")
    return b'"' + data + b'"'


def normalize_date(value: Any) -> str | None:
    """Return an ISO date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) or None.

    Accepts ``datetime``/``date`` values, ISO strings (a time part is dropped) and
    Vietnamese day-first dates such as ``12/6/2020``.

    >>> normalize_date("12/6/2020")
    '2020-06-12'
    >>> normalize_date("2020-06-12T08:00:00+07:00")
    '2020-06-12'
    """
    if value is None or value == "":
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    m = re.match(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if m:
        d, mo, y = (int(g) for g in m.groups())
        try:
            return _dt.date(y, mo, d).isoformat()
        except ValueError:
            return None
    m = _DATE_RE.match(text)
    if not m:
        return None
    parts = m.groups()
    try:
        _dt.date(int(parts[0]), int(parts[1] or 1), int(parts[2] or 1))
    except ValueError:
        return None
    return "-".join(p for p in parts if p)


@dataclass(frozen=True)
class Document:
    """A document ready for indexing. Text is NFC with invisible characters removed.

    ``content_hash`` is derived from everything that is indexed, so two imports of the
    same page give the same hash and an unchanged document can be skipped.

    >>> d = Document(id="bacson-1", title="Hội nghị", text="Ban Chấp hành Đảng bộ huyện Bắc Sơn")
    >>> d.as_dict()["title"]
    'Hội nghị'
    >>> len(d.content_hash)
    40
    """

    id: str
    title: str = ""
    text: str = ""
    url: str | None = None
    source: str | None = None
    date: str | None = None
    author: str | None = None
    content_hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError("a document needs a non-empty string id")
        set_ = object.__setattr__
        set_(self, "id", self.id.strip())
        set_(self, "title", clean_text(self.title or "").strip())
        set_(self, "text", clean_text(self.text or "").strip())
        for name in ("url", "source", "author"):
            value = getattr(self, name)
            set_(self, name, clean_text(str(value)).strip() or None if value else None)
        set_(self, "date", normalize_date(self.date))
        set_(self, "content_hash", self._hash())

    def _hash(self) -> str:
        """SHA-1 of ``json.dumps([id, title, text, url, source, date, author], ensure_ascii=False)``
        in UTF-8 (indexes store it: the definition must not change), the long text escaped by
        :func:`_json_utf8` instead of ``json.dumps``, which is several times slower on it."""
        fields = (self.id, self.title, self.text, self.url, self.source, self.date, self.author)
        payload = b"[" + b", ".join(_json_utf8(v) for v in fields) + b"]"
        return hashlib.sha1(payload).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict (the JSONL import format, plus ``content_hash``)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The document as one JSONL line (no newline) in the import format: ``content_hash``
        (recomputed on import) and fields without a value are left out.

        >>> Document(id="1", title="Bắc Sơn", text="Nông thôn").to_json()
        '{"id": "1", "title": "Bắc Sơn", "text": "Nông thôn"}'
        """
        return json.dumps({k: v for k, v in self.as_dict().items() if v is not None and k != "content_hash"},
                          ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Document":
        """Build a document from a JSONL record; unknown keys are ignored.

        Raises ``ValueError`` naming the field for a value of the wrong type: ``id`` must be a
        string or an integer, the other fields strings (or null, or absent).

        >>> Document.from_dict({"id": 7, "text": "Bắc Sơn"}).id
        '7'
        >>> Document.from_dict({"id": "a", "source": ["x", "y"]})
        Traceback (most recent call last):
        ValueError: field "source" must be a string, not a list
        """
        known = {f.name for f in dataclasses.fields(cls)} - {"content_hash"}
        values = {k: data[k] for k in known if k in data and data[k] is not None}
        doc_id = values.get("id")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            values["id"] = str(doc_id)
        elif doc_id is None or doc_id == "":
            raise ValueError('no "id"')
        for name, value in values.items():
            if not isinstance(value, str):
                raise ValueError(f'field "{name}" must be a string{" or an integer" if name == "id" else ""}, '
                                 f"not {_JSON_TYPES.get(type(value), type(value).__name__)}")
        return cls(**values)


_JSON_TYPES = {list: "a list", dict: "an object", bool: "true/false", int: "a number", float: "a number"}

TITLE_MAX_CHARS = 200
"""The longest title :func:`title_from_text` gives."""
_SENTENCE_END = re.compile(r"[.!?…:;](?=\s)")


def title_from_text(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The title of a plain text: its first non-empty line, if it is at most ``limit``
    characters; else its first two sentences (or its first, or a cut at a word boundary with
    "…", whichever fits ``limit``).
    One rule for local text files and crawled text pages.

    >>> title_from_text("\\n  Hội nghị sơ kết  \\nNgày 12/6/2020, huyện Bắc Sơn tổ chức hội nghị.")
    'Hội nghị sơ kết'
    >>> title_from_text("Câu một. " * 40)
    'Câu một. Câu một.'
    """
    line = next((" ".join(row.split()) for row in text.splitlines() if row.strip()), "")
    line = clean_text(line)
    if len(line) <= limit:
        return line
    ends = [m.end() for m in _SENTENCE_END.finditer(line, 0, limit)]
    if ends:
        return line[:ends[min(1, len(ends) - 1)]].strip()
    cut = line.rfind(" ", 0, limit)
    return line[:cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def write_jsonl(documents: Iterable[Document], out: IO[str]) -> int:
    """Write ``documents`` to ``out`` one :meth:`Document.to_json` line each (the format that
    ``read_jsonl`` and ``vnsearch index`` read back); returns how many were written."""
    count = 0
    for doc in documents:
        out.write(doc.to_json() + "\n")
        count += 1
    return count
