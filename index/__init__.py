"""The Whoosh index: schema, incremental writing, metadata and versions.

>>> from index import Index
"""

from __future__ import annotations

import logging

from ._analysis import syllable_pairs
from ._errors import IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError
from ._index import ConfirmCallback, DeleteReport, Index, IndexReport, MatchFinder, ProgressCallback
from ._lock import WaitCallback
from ._merge import MergePolicy, MergeProgress
from ._meta import FORMAT_VERSION, IndexMeta
from ._ops import OptimizeReport, StageCallback, export, import_sources, optimize, reindex, stats
from ._schema import SCHEMA_VERSION, STORED_FIELDS

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfirmCallback",
    "DeleteReport",
    "FORMAT_VERSION",
    "Index",
    "IndexLockedError",
    "IndexMeta",
    "IndexNotFoundError",
    "IndexReport",
    "IndexVersionError",
    "IndexWriteError",
    "MatchFinder",
    "MergePolicy",
    "MergeProgress",
    "OptimizeReport",
    "ProgressCallback",
    "SCHEMA_VERSION",
    "STORED_FIELDS",
    "StageCallback",
    "WaitCallback",
    "export",
    "import_sources",
    "optimize",
    "reindex",
    "stats",
    "syllable_pairs",
]
