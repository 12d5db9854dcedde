"""The Whoosh index: schema, incremental writing, metadata and versions.

>>> from index import Index
"""

from __future__ import annotations

import logging

from ._analysis import syllable_pairs
from ._errors import IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError
from ._index import ConfirmCallback, DeleteReport, Index, IndexReport, MatchFinder, ProgressCallback
from ._lock import WaitCallback
from ._meta import IndexMeta
from ._ops import export, import_sources, optimize, reindex, stats
from ._schema import SCHEMA_VERSION, STORED_FIELDS

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfirmCallback",
    "DeleteReport",
    "Index",
    "IndexLockedError",
    "IndexMeta",
    "IndexNotFoundError",
    "IndexReport",
    "IndexVersionError",
    "IndexWriteError",
    "MatchFinder",
    "ProgressCallback",
    "SCHEMA_VERSION",
    "STORED_FIELDS",
    "WaitCallback",
    "export",
    "import_sources",
    "optimize",
    "reindex",
    "stats",
    "syllable_pairs",
]
