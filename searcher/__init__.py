"""vnsearch's public face: search Vietnamese archives from Python.

>>> from searcher import Searcher
"""

from __future__ import annotations

import logging

from corpus import Document, InputError, VnSearchError
from index import (DeleteReport, Index, IndexLockedError, IndexNotFoundError, IndexReport, IndexVersionError,
                   IndexWriteError)

from ._batch import read_queries, write_run
from ._errors import QuerySyntaxError
from ._results import Hit, KwicLine, Results, Trend, TrendPoint, TrendSeries
from ._searcher import Searcher, delete_documents, matching_ids

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DeleteReport",
    "Document",
    "Hit",
    "Index",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexVersionError",
    "IndexWriteError",
    "InputError",
    "KwicLine",
    "QuerySyntaxError",
    "Results",
    "Searcher",
    "Trend",
    "TrendPoint",
    "TrendSeries",
    "VnSearchError",
    "delete_documents",
    "matching_ids",
    "read_queries",
    "write_run",
]
