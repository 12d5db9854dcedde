"""The Vietnamese analysis pipeline, engine-agnostic: text in, plain tokens out.

One segmentation pass gives three layers of terms, each with positions and character offsets:

* ``words``: pyvi words, syllables joined by ``_`` (``nông_thôn_mới``), lower case;
* ``syllables``: every syllable on its own (``nông``, ``thôn``, ``mới``), so part of a compound,
  a phrase across word boundaries, or text segmented differently still matches;
* ``folded``: the syllables without diacritics (``nong``, ``thon``, ``moi``), for queries typed
  without accents. Folding happens per syllable, never by re-segmenting unaccented text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress
from typing import Any

from ._model import MODEL_ID
from ._normalize import fold, normalize
from ._stopwords import default_stopwords

ANALYZER_VERSION = f"vi-1+{MODEL_ID}"
"""Changes whenever the analysis changes what terms a text gives, including a change of pyvi's
model (:data:`~analyzers._model.MODEL_ID`, its files' hash); stored in every index."""

READABLE_ANALYZER_VERSIONS = frozenset({ANALYZER_VERSION, "vi-1"})
"""Versions whose indexes this analysis reads as its own: ``vi-1`` indexes predate the model
hash in the version, and were all built with this same model (pyvi 0.1.1, the only release
that vnsearch ever allowed)."""


@dataclass(frozen=True)
class Token:
    """One term with its position (in its layer) and offsets into the normalised text."""

    text: str
    pos: int
    start: int
    end: int


@dataclass(frozen=True)
class Analysis:
    """The three layers of one text. ``folded[i]`` has the position and offsets of ``syllables[i]``."""

    text: str
    words: tuple[Token, ...]
    syllables: tuple[Token, ...]
    folded: tuple[Token, ...]

    def terms(self, layer: str) -> list[str]:
        """The term texts of one layer (``"words"``, ``"syllables"`` or ``"folded"``), in order."""
        return [t.text for t in getattr(self, layer)]


_WORDLIKE = re.compile(r"[^\W_]")


@functools.lru_cache(maxsize=65536)
def _is_wordlike(piece: str) -> bool:
    """Holds a letter or digit (syllables, numbers), unlike punctuation tokens."""
    return piece.isalnum() or _WORDLIKE.search(piece) is not None


Terms = tuple[list[str], list[str], list[str]]

# Distinct tokens kept by an analyzer's per-token caches before they start over.
_CACHE_LIMIT = 200_000


class _Memo(dict):  # type: ignore[type-arg]
    """A dict that computes a missing value with ``function`` (so ``map(memo.__getitem__, ...)``
    runs at C speed for the values already known)."""

    def __init__(self, function: Callable[[str], Any]) -> None:
        super().__init__()
        self.function = function

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.function(key)
        return value


class _TokenCaches:
    """Per-token results of :meth:`VietnameseAnalyzer.terms`: lower case, word-likeness, folding."""

    def __init__(self) -> None:
        self.lower = _Memo(str.lower)
        self.wordlike = _Memo(_is_wordlike)
        self.fold = _Memo(fold)

    def clear(self) -> None:
        self.lower.clear()
        self.wordlike.clear()
        self.fold.clear()


class VietnameseAnalyzer:
    """Normalise, segment and fold Vietnamese text. Picklable; holds no global state.

    >>> a = VietnameseAnalyzer()
    >>> a.analyze("Xây dựng nông thôn mới ở Bắc Sơn").terms("words")
    ['xây_dựng', 'nông_thôn', 'mới', 'ở', 'bắc_sơn']
    >>> a.analyze("Bắc Sơn").terms("folded")
    ['bac', 'son']
    """

    # Pickled into every index's table of contents (the schema): under its public name, so that
    # an index never depends on this module's private path (older indexes name
    # analyzers._pipeline.VietnameseAnalyzer, which stays importable).
    __module__ = "analyzers"

    version = ANALYZER_VERSION

    def __init__(self, *, user_words: Iterable[str] = (), stopwords: Iterable[str] | None = None) -> None:
        from ._segment import Segmenter

        self.user_words = tuple(normalize(w).strip() for w in user_words if w.strip())
        self.stopwords = frozenset(default_stopwords() if stopwords is None else
                                   ("_".join(w.lower().split()) for w in stopwords))
        # Queries typed without accents drop stop words typed without accents ("cua").
        self.folded_stopwords = frozenset(fold(w) for w in self.stopwords)
        self._segmenter = Segmenter(user_words=self.user_words)
        self._caches = _TokenCaches()

    def _words(self, norm: str) -> Iterator[tuple[list[str], list[tuple[int, int]]]]:
        """Each word as (lower-cased pieces, spans); punctuation-only words are dropped."""
        for spans in self._segmenter.segment(norm):
            pieces = [norm[s:e].lower() for s, e in spans]
            if any(_is_wordlike(p) for p in pieces):
                yield pieces, list(spans)

    def analyze(self, text: str) -> Analysis:
        """Analyse ``text``; offsets refer to ``normalize(text)`` (the same string for NFC input)."""
        norm = normalize(text)
        words: list[Token] = []
        syllables: list[Token] = []
        folded: list[Token] = []
        for pieces, spans in self._words(norm):
            words.append(Token("_".join(pieces), len(words), spans[0][0], spans[-1][1]))
            for piece, (s, e) in zip(pieces, spans):
                if _is_wordlike(piece):
                    syllables.append(Token(piece, len(syllables), s, e))
                    folded.append(Token(fold(piece), len(folded), s, e))
        return Analysis(norm, tuple(words), tuple(syllables), tuple(folded))

    def terms(self, text: str) -> Terms:
        """The three layers' term texts only: ``analyze(text)`` without offsets, for indexing.

        >>> VietnameseAnalyzer().terms("Nông thôn mới")
        (['nông_thôn', 'mới'], ['nông', 'thôn', 'mới'], ['nong', 'thon', 'moi'])
        """
        tokens, bounds = self._segmenter.token_words(normalize(text))
        caches = self._caches
        if len(caches.lower) > _CACHE_LIMIT:
            caches.clear()  # numbers, URLs and typos keep the vocabulary growing; start over
        low = list(map(caches.lower.__getitem__, tokens))
        wordlike = list(map(caches.wordlike.__getitem__, low))
        words: list[str] = []
        append = words.append
        for a, b in zip(bounds, bounds[1:]):
            if b - a == 1:
                if wordlike[a]:
                    append(low[a])
            elif any(wordlike[a:b]):  # punctuation-only words are dropped, as in analyze()
                append("_".join(low[a:b]))
        syllables = list(compress(low, wordlike))
        return words, syllables, list(map(caches.fold.__getitem__, syllables))

    def is_stopword(self, term: str) -> bool:
        """True for a stop word given as a term (``bao_nhiêu``) or as plain text."""
        return "_".join(term.lower().split()) in self.stopwords

    def __getstate__(self) -> dict[str, object]:
        return {"user_words": self.user_words, "stopwords": self.stopwords}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(user_words=state["user_words"], stopwords=state["stopwords"])  # type: ignore[misc,arg-type]

    def __repr__(self) -> str:
        return f"VietnameseAnalyzer(user_words={len(self.user_words)}, version={self.version!r})"


# The class's public module is ``analyzers`` (see ``__module__`` above); its doctests run here too.
__test__ = {"VietnameseAnalyzer": VietnameseAnalyzer}
