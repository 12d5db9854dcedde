"""Getting documents: read files and folders, clean HTML pages, one :class:`Document` type.

>>> from corpus import Document
>>> Document(id="1", title="Bắc Sơn", text="Nông thôn mới").title
'Bắc Sơn'
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._document import TITLE_MAX_CHARS, Document, clean_text, normalize_date, title_from_text, write_jsonl
from ._errors import InputError, VnSearchError
from ._readers import (MAX_DOC_BYTES, SkipCallback, fetch_url, file_id, is_problem, read_documents, read_file,
                       read_jsonl)

if TYPE_CHECKING:
    from ._clean import CleanedPage, clean_html, clean_plain_text
    from ._crawl import CrawlCounts, CrawlError, CrawlEvent, Crawler, CrawlOptions, CrawlReport, crawl
    from ._encoding import decode_bytes
    from ._pages import clean_source, fetch_page
    from ._warc import WarcWriter, read_warc
    from ._workers import BackgroundJob, WorkerDiedError, ordered_map, start_method

logging.getLogger(__name__).addHandler(logging.NullHandler())

# The cleaner, the crawler and the WARC reader pull in lxml, urllib3 and friends; a search
# needs none of them, so they load on first use (PEP 562) to keep `vnsearch search` start-up short.
_LAZY = {
    "CleanedPage": "_clean", "clean_html": "_clean", "clean_plain_text": "_clean",
    "CrawlCounts": "_crawl", "CrawlError": "_crawl", "CrawlEvent": "_crawl", "Crawler": "_crawl",
    "CrawlOptions": "_crawl", "CrawlReport": "_crawl", "crawl": "_crawl",
    "decode_bytes": "_encoding", "WarcWriter": "_warc", "read_warc": "_warc",
    "WorkerDiedError": "_workers", "BackgroundJob": "_workers", "ordered_map": "_workers", "start_method": "_workers",
    "clean_source": "_pages", "fetch_page": "_pages",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corpus' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "BackgroundJob",
    "CleanedPage",
    "CrawlCounts",
    "CrawlError",
    "CrawlEvent",
    "CrawlOptions",
    "CrawlReport",
    "Crawler",
    "Document",
    "InputError",
    "MAX_DOC_BYTES",
    "SkipCallback",
    "TITLE_MAX_CHARS",
    "VnSearchError",
    "WarcWriter",
    "WorkerDiedError",
    "clean_html",
    "clean_plain_text",
    "clean_source",
    "clean_text",
    "crawl",
    "decode_bytes",
    "fetch_page",
    "fetch_url",
    "file_id",
    "is_problem",
    "normalize_date",
    "ordered_map",
    "read_documents",
    "read_file",
    "read_jsonl",
    "read_warc",
    "start_method",
    "title_from_text",
    "write_jsonl",
]
