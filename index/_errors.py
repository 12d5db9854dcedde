"""Typed errors of the index stage."""

from __future__ import annotations

from corpus import VnSearchError


class IndexNotFoundError(VnSearchError):
    """There is no vnsearch index at the given path."""


class IndexVersionError(VnSearchError):
    """The index was built by another analyzer or schema version."""


class IndexLockedError(VnSearchError):
    """Another import holds the index's write lock for longer than we were willing to wait."""


class IndexWriteError(VnSearchError):
    """The index could not be written (disk full, read-only folder ...); the last commit is intact."""
