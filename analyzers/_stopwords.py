"""The shipped Vietnamese stop-word list (package data) and loading of user lists."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources


def _parse(lines: Iterable[str]) -> frozenset[str]:
    words = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            words.add("_".join(line.lower().split()))
    return frozenset(words)


def default_stopwords() -> frozenset[str]:
    """The shipped list, as index terms (syllables joined by ``_``, lower case)."""
    text = resources.files("analyzers").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return _parse(text.splitlines())


def load_stopwords(path: str | os.PathLike[str]) -> frozenset[str]:
    """A user's stop-word file: one word a line, ``#`` comments."""
    with open(path, encoding="utf-8") as fh:
        return _parse(fh)
