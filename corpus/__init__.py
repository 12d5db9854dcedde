"""Getting documents: read files and folders, clean HTML pages, one :class:`Document` type.

>>> from corpus import Document
>>> Document(id="1", title="Bắc Sơn", text="Nông thôn mới").title
'Bắc Sơn'
"""

from __future__ import annotations

import logging

from ._clean import CleanedPage, clean_html
from ._document import Document, clean_text, normalize_date
from ._encoding import decode_bytes
from ._errors import InputError, VnSearchError
from ._readers import SkipCallback, read_documents, read_file, read_jsonl

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CleanedPage",
    "Document",
    "InputError",
    "SkipCallback",
    "VnSearchError",
    "clean_html",
    "clean_text",
    "decode_bytes",
    "normalize_date",
    "read_documents",
    "read_file",
    "read_jsonl",
]
