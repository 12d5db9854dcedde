"""vnsearch's public face: search Vietnamese archives from Python.

>>> from searcher import Searcher
"""

from __future__ import annotations

import logging

from corpus import Document, InputError, VnSearchError
from index import Index, IndexLockedError, IndexNotFoundError, IndexReport, IndexVersionError, IndexWriteError

from ._batch import read_queries, write_run
from ._errors import QuerySyntaxError
from ._results import Hit, KwicLine, Results, Trend, TrendPoint, TrendSeries
from ._searcher import Searcher

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
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
    "read_queries",
    "write_run",
]
