"""The root of vnsearch's typed errors. It lives in the lowest stage so every stage can raise it."""

from __future__ import annotations


class VnSearchError(Exception):
    """Base class of every error vnsearch raises on purpose.

    ``hint`` says what the user can do about it; the CLI prints it after the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(VnSearchError):
    """A source (file, folder, page) cannot be read as documents."""
