"""Fast Vietnamese word segmentation that reproduces pyvi's ``ViTokenizer.tokenize``.

pyvi 0.1.1 splits text into syllable tokens with a regular expression, builds a feature
dict per token and asks a CRF (sklearn-crfsuite wrapping python-crfsuite) for ``B_W``/``I_W``
labels. :class:`Segmenter` runs the *same* CRF model through ``pycrfsuite.Tagger``
directly, with an equivalent but leaner feature extractor, and returns character spans
instead of a ``_``-joined string, so that callers can keep offsets for highlighting.

Equivalence with pyvi rests on three facts, each pinned by ``tests/test_segment.py``:

* the tokenizing regular expression is pyvi's, character for character;
* python-crfsuite turns ``{"k": "v"}`` into the attribute ``"k:v"`` with value 1.0 and
  ``{"k": True/False}`` into ``"k"`` with value 1.0/0.0. An attribute with value 0.0 adds
  ``w * 0.0 == ±0.0`` to a state score, which leaves every float sum bit-for-bit unchanged,
  so false booleans are simply left out;
* the remaining attributes are emitted in pyvi's dict insertion order, so crfsuite adds
  the same floats in the same order and the Viterbi path (including ties) is identical.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import os
import pickle
import re
import string
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Segmenter", "Span", "Word"]

Span = tuple[int, int]
"""``(start, end)`` character offsets of one syllable token in the input text."""

Word = tuple[Span, ...]
"""One word: the spans of the syllable tokens it is made of, in order."""

# pyvi.ViTokenizer.sylabelize, verbatim (as raw strings). The order of the alternatives
# matters: abbreviations such as "TP." must win over "TP" + ".".
_ABBREVIATIONS = [r"[A-ZĐ]+\.", r"Tp\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"ThS\."]
_SPECIALS = [r"==>", r"->", r"\.\.\.", r">>", "\n"]
_WEB = r"\w+://[^\s]+"
_EMAIL = r"([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)"
_DIGIT = r"\d+([\.,_]\d+)+"
_NON_WORD = r"[^\w\s]"
_WORD = r"\w+"
_TOKEN_RE = re.compile(
    "(" + "|".join([*_ABBREVIATIONS, *_SPECIALS, _WEB, _EMAIL, _DIGIT, _NON_WORD, _WORD]) + ")"
)

# pyvi tests `tok in string.punctuation`, a *substring* test; keeping the same expression
# keeps the same (odd) behaviour for multi-character tokens.
_PUNCTUATION = string.punctuation

# Longest line kept in the cache: 20,000 lines of this size stay under ~100 MB.
_CACHE_LINE_CHARS = 300

# Tokens after which a very long line may be cut; "..." is pyvi's own ellipsis token.
_SENTENCE_END = frozenset({".", "!", "?", ";", "…", "..."})


class _Stub:
    """Stands in for any class in pyvi's pickle; remembers the state pickle gives it."""

    _registry: list["_Stub"] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state
        self._registry.append(self)


class _ModelBytesUnpickler(pickle.Unpickler):
    def __init__(self, fh: Any) -> None:
        super().__init__(fh)
        self.stubs: list[_Stub] = []

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "copyreg", "_codecs"):
            return super().find_class(module, name)
        return type(name, (_Stub,), {"_registry": self.stubs})

    def model_bytes(self) -> bytes:
        self.load()
        for stub in self.stubs:
            if isinstance(stub.state, dict) and "__FILE_RESOURCE_DATA__" in stub.state:
                return bytes(stub.state["__FILE_RESOURCE_DATA__"])
        raise ImportError("pyvi's model file has an unexpected format")


@functools.lru_cache(maxsize=1)
def _load_model() -> tuple[bytes, frozenset[str], frozenset[str]]:
    """Read pyvi's CRF model bytes and its bigram/trigram lists, once per process.

    The result is immutable and shared by all segmenters; each segmenter opens its own
    ``Tagger`` on the bytes because a crfsuite tagger keeps per-call state.
    """
    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyvi is required for Vietnamese word segmentation")
    models = os.path.join(next(iter(spec.submodule_search_locations)), "models")

    # pyvi3.pkl is a pickled sklearn_crfsuite.CRF whose crfsuite model file travels inside
    # the pickle. Unpickling it for real imports scikit-learn and SciPy (about 2 s, paid by
    # every `vnsearch search`), so stand-ins take the place of its classes and we keep only
    # the model bytes from the FileResource's state.
    with open(os.path.join(models, "pyvi3.pkl"), "rb") as fin:
        model_bytes = _ModelBytesUnpickler(fin).model_bytes()

    # Same parsing as pyvi (split on "\n" then on " "), so the sets are identical.
    bi_grams: set[str] = set()
    tri_grams: set[str] = set()
    with open(os.path.join(models, "words.txt"), encoding="utf-8") as fin:
        for entry in fin.read().split("\n"):
            n = len(entry.split(" "))
            if n == 2:
                bi_grams.add(entry)
            elif n == 3:
                tri_grams.add(entry)
    return model_bytes, frozenset(bi_grams), frozenset(tri_grams)


# Attributes that depend on the neighbourhood rather than on one token.
_BI_PREV, _TRI_PREV = "-1:word.bi_gram()", "-2:word.tri_gram()"
_BI_NEXT, _TRI_NEXT = "+1:word.bi_gram()", "+2:word.tri_gram()"

# A token's contribution to its own item, to the item after it ("-1:" attributes) and to
# the item before it ("+1:" attributes), plus its lower-cased form.
_Parts = tuple[str, list[str], list[str], list[str]]
# About 0.85 kB an entry (tracemalloc). 500,000 let each indexing worker grow by up to 400 MB
# over a long import before the first reset; with 100,000 it resets more often, and stays small.
_PARTS_LIMIT = 100_000


def _token_parts(token: str) -> _Parts:
    """Precompute one token's attributes; booleans that are false are left out."""
    low = token.lower()
    title, upper = token.istitle(), token.isupper()
    cur = ["bias", "word.lower():" + low]
    if upper:
        cur.append("word.isupper()")
    if title:
        cur.append("word.istitle()")
    if token.isdigit():
        cur.append("word.isdigit()")
    prev = ["-1:word.lower():" + low]
    nxt = ["+1:word.lower():" + low]
    # pyvi lists istitle before isupper for neighbours, unlike for the token itself.
    if title:
        prev.append("-1:word.istitle()")
        nxt.append("+1:word.istitle()")
    if upper:
        prev.append("-1:word.isupper()")
        nxt.append("+1:word.isupper()")
    return low, cur, prev, nxt


class Segmenter:
    """Vietnamese word segmenter giving pyvi's words as character spans.

    For a single line of NFC text (and no user words),
    ``" ".join("_".join(text[s:e] for s, e in w) for w in seg.segment(text))`` equals
    ``pyvi.ViTokenizer.tokenize(text)``, while running several times faster.

    Differences from pyvi, all deliberate:

    * text is cut at ``"\\n"`` and each line segmented on its own (pyvi tags the newline as
      a token, which can change labels on either side of it); newlines belong to no word;
    * a line of more than ``max_syllables`` tokens is cut after sentence punctuation
      (``. ! ? ; …``) near the limit, or at the limit if there is none, because pyvi's CRF
      needs time and memory that grow badly with sequence length (a 2 MB line takes
      pyvi 30 s and 1 GiB);
    * ``user_words`` override the CRF (see :meth:`segment`).

    Results for short lines (up to 300 characters) are kept in an LRU cache of ``cache_size``
    lines, since archives repeat bylines, headings and boilerplate. A segmenter serialises its own tagger calls
    with a lock, so it may be shared between threads; it pickles without its model or cache.

    >>> seg = Segmenter(user_words=["Đảng bộ huyện"])
    >>> text = "Đại hội Đảng bộ huyện Bắc Sơn"
    >>> ["_".join(text[s:e] for s, e in w) for w in seg.segment(text)]
    ['Đại_hội', 'Đảng_bộ_huyện', 'Bắc_Sơn']
    """

    def __init__(
        self,
        user_words: Iterable[str] = (),
        cache_size: int = 20_000,
        max_syllables: int = 2_000,
    ) -> None:
        """Build a segmenter; the pyvi model is loaded on first use, not here.

        ``user_words`` are words whose syllables are separated by spaces, such as
        ``"Ban Chấp hành"``; they are matched case-insensitively. ``cache_size=0``
        disables the line cache. ``max_syllables`` bounds the length of one CRF call.
        """
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        if max_syllables < 2:
            raise ValueError("max_syllables must be >= 2")
        self.cache_size = cache_size
        self.max_syllables = max_syllables
        words: set[tuple[str, ...]] = set()
        for raw in user_words:
            syllables = tuple(
                m.group(0).lower() for m in _TOKEN_RE.finditer(unicodedata.normalize("NFC", raw))
            )
            if syllables:
                words.add(syllables)
        self._user_words = frozenset(words)
        # First syllable -> candidate lengths, longest first, so most positions cost one lookup.
        lengths: dict[str, set[int]] = {}
        for w in words:
            lengths.setdefault(w[0], set()).add(len(w))
        self._user_lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._tagger: Any = None
        self._bi_grams: frozenset[str] = frozenset()
        self._tri_grams: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Word, ...]] = OrderedDict()
        self._parts: dict[str, _Parts] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_tagger", "_bi_grams", "_tri_grams", "_lock", "_cache", "_parts"):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        return (
            f"Segmenter(user_words=<{len(self._user_words)} words>, "
            f"cache_size={self.cache_size}, max_syllables={self.max_syllables})"
        )

    @property
    def user_words(self) -> frozenset[tuple[str, ...]]:
        """The user words as tuples of lower-cased syllable tokens."""
        return self._user_words

    def segment(self, text: str) -> list[Word]:
        """Split ``text`` (assumed NFC) into words, each a tuple of syllable-token spans.

        Tokens are pyvi's: syllables, numbers such as ``1.000``, e-mail addresses, URLs,
        abbreviations such as ``TP.``, and each punctuation mark, which always forms a word
        of its own. Offsets index ``text`` itself.

        User words are applied after the CRF, scanning left to right: at each token the
        longest user word starting there (compared lower-cased, token by token) becomes one
        word, and scanning resumes after it. The match wins over pyvi's boundaries on both
        sides: it may join several pyvi words, and a pyvi word that sticks out of it is cut
        at the match's edge, the remainder staying a word of its own
        (``Ban_Chấp_hành_Đảng_bộ`` with user word ``Đảng bộ`` gives ``Ban_Chấp_hành``,
        ``Đảng_bộ``). A user word never spans a newline.

        >>> Segmenter().segment("Hà Nội, mùa thu")
        [((0, 2), (3, 6)), ((6, 7),), ((8, 11),), ((12, 15),)]
        """
        out: list[Word] = []
        start = 0
        for line in text.split("\n"):
            if line.strip():
                words = self._segment_line(line)
                if start:
                    out.extend(tuple((s + start, e + start) for s, e in w) for w in words)
                else:
                    out.extend(words)
            start += len(line) + 1
        return out

    def word_texts(self, text: str) -> list[list[str]]:
        """The words of :meth:`segment` as lists of their token texts (no offsets).

        >>> Segmenter().word_texts("Hà Nội, mùa thu")
        [['Hà', 'Nội'], [','], ['mùa'], ['thu']]
        """
        out: list[list[str]] = []
        for line in text.split("\n"):
            if line.strip():
                out.extend([line[s:e] for s, e in w] for w in self._segment_line(line))
        return out

    def _segment_line(self, line: str) -> tuple[Word, ...]:
        if not self.cache_size:
            return tuple(self._segment_uncached(line))
        cache = self._cache
        # The lock makes lookup-and-reorder and insert-and-evict atomic between threads.
        with self._lock:
            hit = cache.get(line)
            if hit is not None:
                cache.move_to_end(line)
                return hit
        words = tuple(self._segment_uncached(line))
        if len(line) <= _CACHE_LINE_CHARS:
            # Only short lines repeat (bylines, headings, boilerplate); caching paragraphs made
            # each indexing worker grow by a gigabyte on Wikipedia without saving any work.
            with self._lock:
                cache[line] = words
                if len(cache) > self.cache_size:
                    cache.popitem(last=False)
        return words

    def _segment_uncached(self, line: str) -> list[Word]:
        spans: list[Span] = []
        tokens: list[str] = []
        for m in _TOKEN_RE.finditer(line):
            spans.append(m.span())
            tokens.append(m.group())
        words: list[Word] = []
        for lo, hi in self._chunks(tokens):
            words.extend(self._segment_tokens(tokens[lo:hi], spans[lo:hi]))
        return words

    def _chunks(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        """Cut a long token sequence into CRF-sized pieces, preferring sentence ends."""
        n, limit = len(tokens), self.max_syllables
        if n <= limit:
            return [(0, n)]
        ends = [i + 1 for i, t in enumerate(tokens) if t in _SENTENCE_END]
        chunks: list[tuple[int, int]] = []
        lo = 0
        while n - lo > limit:
            # Last sentence end within the limit, if it leaves a chunk at least half full;
            # otherwise a hard cut, which can only happen in text without punctuation.
            k = bisect.bisect_right(ends, lo + limit) - 1
            hi = ends[k] if k >= 0 and ends[k] > lo + limit // 2 else lo + limit
            chunks.append((lo, hi))
            lo = hi
        chunks.append((lo, n))
        return chunks

    def _segment_tokens(self, tokens: list[str], spans: list[Span]) -> list[Word]:
        if self._tagger is None:
            self._open_tagger()
        xseq, low = self._features(tokens)
        with self._lock:
            labels = self._tagger.tag(xseq)

        # pyvi's joining rule, verbatim: the CRF's I_W is vetoed next to punctuation,
        # digits, and where a lower-case syllable is followed by a capitalised one.
        n = len(tokens)
        starts = [True] * n
        for i in [i for i in range(1, n) if labels[i] == "I_W"]:
            cur, prev = tokens[i], tokens[i - 1]
            if (
                cur not in _PUNCTUATION
                and prev not in _PUNCTUATION
                and not cur[0].isdigit()
                and not prev[0].isdigit()
                and not (cur[0].istitle() and not prev[0].istitle())
            ):
                starts[i] = False

        if self._user_lengths:
            self._apply_user_words(low, starts)

        bounds = [i for i in range(n) if starts[i]]
        bounds.append(n)
        return [tuple(spans[a:b]) for a, b in zip(bounds, bounds[1:])]

    def _features(self, tokens: Sequence[str]) -> tuple[list[list[str]], list[str]]:
        """Return crfsuite attribute lists equal to pyvi's ``sent2features``, and the lowered tokens.

        Per-token work is memoised by token, so a feature item is a few list joins plus
        the n-gram lookups, where pyvi lowers each token up to five times.
        """
        cache = self._parts
        if len(cache) > _PARTS_LIMIT:
            # Numbers, URLs and typos keep the vocabulary growing; start over, not evict.
            cache.clear()
        parts = []
        for t in tokens:
            p = cache.get(t)
            if p is None:
                p = cache[t] = _token_parts(t)
            parts.append(p)
        low = [p[0] for p in parts]
        n = len(tokens)
        bi_grams, tri_grams = self._bi_grams, self._tri_grams
        # pyvi lowers the space-joined n-gram; lowering works per character except for
        # Greek final sigma, whose context never crosses a space, so this is the same key.
        bi = [False] + [f"{low[i - 1]} {low[i]}" in bi_grams for i in range(1, n)]
        tri = [False, False] + [
            f"{low[i - 2]} {low[i - 1]} {low[i]}" in tri_grams for i in range(2, n)
        ]

        # Attribute order follows pyvi's dict insertion order; see the module docstring.
        xseq: list[list[str]] = []
        for i in range(n):
            item = parts[i][1].copy()
            if i > 0:
                item += parts[i - 1][2]
                if bi[i]:
                    item.append(_BI_PREV)
                if tri[i]:
                    item.append(_TRI_PREV)
            if i < n - 1:
                item += parts[i + 1][3]
                if bi[i + 1]:
                    item.append(_BI_NEXT)
                if i < n - 2 and tri[i + 2]:
                    item.append(_TRI_NEXT)
            xseq.append(item)
        return xseq, low

    def _apply_user_words(self, low: list[str], starts: list[bool]) -> None:
        """Rewrite word starts in place so each leftmost-longest user word is one word."""
        n, i = len(low), 0
        lengths, words = self._user_lengths, self._user_words
        while i < n:
            for length in lengths.get(low[i], ()):
                if i + length <= n and tuple(low[i : i + length]) in words:
                    starts[i] = True
                    for j in range(i + 1, i + length):
                        starts[j] = False
                    if i + length < n:
                        starts[i + length] = True
                    i += length
                    break
            else:
                i += 1

    def _open_tagger(self) -> None:
        import pycrfsuite  # a pyvi dependency; imported late so importing us stays cheap

        model_bytes, self._bi_grams, self._tri_grams = _load_model()
        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(model_bytes)
        self._tagger = tagger
