"""Abbreviations and synonyms applied to queries: ``UBND`` finds ``Ủy ban nhân dân`` and back.

The shipped list is package data (``searcher/data/abbreviations.txt``); a user file in the same
format adds groups. Forms are compared as analysed syllables, so ``TP.HCM``, ``TP. Hồ Chí Minh``
and ``Thành phố Hồ Chí Minh`` are found however the query spells case, accents or tone placement.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from analyzers import VietnameseAnalyzer, fold
from corpus import InputError

SynonymSource = str | os.PathLike[str] | Iterable[Sequence[str]]
"""A synonym file's path, or the groups themselves (each a sequence of equivalent forms)."""


def parse_synonyms(lines: Iterable[str]) -> list[tuple[str, ...]]:
    """Groups of equivalent forms: one group a line, forms separated by commas, ``#`` comments.

    >>> parse_synonyms(["# abbreviations", "UBND, Ủy ban nhân dân", ""])
    [('UBND', 'Ủy ban nhân dân')]
    """
    groups = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        forms = tuple(f.strip() for f in line.split(",") if f.strip())
        if len(forms) > 1:
            groups.append(forms)
    return groups


def default_synonyms() -> list[tuple[str, ...]]:
    """The shipped abbreviations (``searcher/data/abbreviations.txt``)."""
    text = resources.files("searcher").joinpath("data/abbreviations.txt").read_text(encoding="utf-8")
    return parse_synonyms(text.splitlines())


def load_synonyms(source: SynonymSource) -> list[tuple[str, ...]]:
    """Groups from a file path, or the given groups as tuples; raises ``InputError`` for an
    unreadable file."""
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, encoding="utf-8") as fh:
                return parse_synonyms(fh)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the synonym file {os.fspath(source)}: {exc}",
                             hint="Give a UTF-8 text file with one group of forms a line, separated by commas.") from exc
    return [tuple(g) for g in source if len(tuple(g)) > 1]


@dataclass(frozen=True)
class Occurrence:
    """Syllables ``start:end`` of a query are one form of a group; ``variants`` are the group's
    other forms as analysed syllables (lower case, accented as written in the group)."""

    start: int
    end: int
    variants: tuple[tuple[str, ...], ...]


class Synonyms:
    """Groups of equivalent forms, looked up in a query's syllables.

    >>> syn = Synonyms([("UBND", "Ủy ban nhân dân")], VietnameseAnalyzer())
    >>> syn.find(["họp", "ubnd", "tỉnh"])
    [Occurrence(start=1, end=2, variants=(('ủy', 'ban', 'nhân', 'dân'),))]
    >>> syn.find(["uy", "ban", "nhan", "dan"], folded=True)[0].variants
    (('ubnd',),)
    """

    def __init__(self, groups: Iterable[Sequence[str]], analyzer: VietnameseAnalyzer) -> None:
        self.groups: list[tuple[tuple[str, ...], ...]] = []
        self._first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        self._first_folded: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for group in groups:
            forms = tuple(dict.fromkeys(t for t in (tuple(analyzer.analyze(f).terms("syllables")) for f in group) if t))
            if len(forms) < 2:
                continue
            gi = len(self.groups)
            self.groups.append(forms)
            for form in forms:
                self._first.setdefault(form[0], []).append((form, gi))
                folded = tuple(fold(s) for s in form)
                self._first_folded.setdefault(folded[0], []).append((folded, gi))
        for table in (self._first, self._first_folded):
            for entries in table.values():
                entries.sort(key=lambda e: -len(e[0]))  # longest form first

    def __len__(self) -> int:
        return len(self.groups)

    def find(self, syllables: Sequence[str], folded: bool = False) -> list[Occurrence]:
        """Non-overlapping forms in ``syllables`` (analysed, lower case), longest first from the
        left. ``folded``: compare without accents (a query typed without them)."""
        table = self._first_folded if folded else self._first
        syllables = [fold(s) for s in syllables] if folded else list(syllables)
        out: list[Occurrence] = []
        i = 0
        while i < len(syllables):
            for form, gi in table.get(syllables[i], ()):
                if tuple(syllables[i:i + len(form)]) == form:
                    own = form
                    variants = tuple(f for f in self.groups[gi]
                                     if (tuple(fold(s) for s in f) if folded else f) != own)
                    out.append(Occurrence(i, i + len(form), variants))
                    i += len(form)
                    break
            else:
                i += 1
        return out
