"""Getting documents: read files and folders, clean HTML pages, one :class:`Document` type.

>>> from corpus import Document
>>> Document(id="1", title="Bắc Sơn", text="Nông thôn mới").title
'Bắc Sơn'
"""

from __future__ import annotations

import logging

from ._clean import CleanedPage, clean_html, clean_plain_text
from ._crawl import CrawlCounts, CrawlError, CrawlEvent, Crawler, CrawlOptions, CrawlReport, crawl
from ._document import Document, clean_text, normalize_date
from ._encoding import decode_bytes
from ._errors import InputError, VnSearchError
from ._readers import SkipCallback, fetch_url, read_documents, read_file, read_jsonl
from ._warc import WarcWriter, read_warc

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CleanedPage",
    "CrawlCounts",
    "CrawlError",
    "CrawlEvent",
    "CrawlOptions",
    "CrawlReport",
    "Crawler",
    "Document",
    "InputError",
    "SkipCallback",
    "VnSearchError",
    "WarcWriter",
    "clean_html",
    "clean_plain_text",
    "clean_text",
    "crawl",
    "decode_bytes",
    "fetch_url",
    "normalize_date",
    "read_documents",
    "read_file",
    "read_jsonl",
    "read_warc",
]
