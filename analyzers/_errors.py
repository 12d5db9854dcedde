"""The analyzers' one error type (this package imports nothing else of ours, so it is not a
``VnSearchError``; the CLI translates it like one)."""

from __future__ import annotations


class ModelError(ImportError):
    """pyvi's segmentation model is missing or is not the one this vnsearch was built and
    tested with (its files' sha256 differs)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
