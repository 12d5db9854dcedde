"""Fast Vietnamese word segmentation that reproduces pyvi's ``ViTokenizer.tokenize``.

pyvi 0.1.1 splits text into syllable tokens with a regular expression, builds a feature
dict per token and asks a CRF (sklearn-crfsuite wrapping python-crfsuite) for ``B_W``/``I_W``
labels. :class:`Segmenter` reads the weights of the *same* CRF model (``analyzers._crf``
parses the crfsuite model file inside pyvi's pickle), computes crfsuite's scores and
Viterbi path itself, a whole text at a time in numpy plus a small Python loop, and returns
character spans instead of a ``_``-joined string, so that callers can keep offsets for
highlighting.

Equivalence with pyvi rests on these facts, pinned by ``tests/test_segment.py`` (pyvi's
output on every real line we have) and ``tests/test_crf.py`` (crfsuite's labels):

* the tokenizing regular expression is pyvi's, character for character. Faster routes to
  the same tokens and spans (whitespace-separated chunks of letters are single tokens;
  spans follow from token lengths, tokens covering every non-whitespace character) are
  argued where they are used and checked against the pattern;
* python-crfsuite turns ``{"k": "v"}`` into the attribute ``"k:v"`` with value 1.0 and
  ``{"k": True/False}`` into ``"k"`` with value 1.0/0.0, drops attributes the model does
  not know, and crfsuite's ``crf1dt_state_score`` then does ``state[y] += w(a, y) * value``
  for each remaining attribute, in the item's order, starting from 0.0. pyvi's attribute
  order is fixed (own bias, lower, isupper, istitle, isdigit; the previous token's lower,
  istitle, isupper; the -1 bigram and -2 trigram; the next token's lower, istitle,
  isupper; the +1 bigram and +2 trigram), so the state score is the same chain of IEEE
  double additions in that order, with ``w * 1.0 == w``. We add 0.0 for every absent,
  false or unknown attribute instead of skipping it: ``x + 0.0`` equals ``x`` except that
  ``-0.0`` becomes ``+0.0``, and since every later addition and comparison treats the two
  zeros alike, every score equals crfsuite's (``==``) and every comparison has the same
  outcome. The token's own five attributes start the chain, so their sum is computed
  once per distinct token; all later terms are added one at a time (numpy's float64
  ``+`` is the same correctly rounded operation as C's);
* ``crf1dc_viterbi`` is reproduced operation for operation: ``prev[i] + trans[i][j]``
  compared with a strict ``<`` in label order (so the lower label wins ties), then
  ``+ state[t][j]``; the last label is the first maximum; transitions are the model's
  label-to-label weights, 0.0 where absent. No exponentials or scaling are involved in
  crfsuite's Viterbi;
* pyvi's joining rule is applied to the labels verbatim.
"""

from __future__ import annotations

import bisect
import io
import functools
import itertools
import pickle
import re
import string
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from ._errors import ModelError
from ._model import read_model_files

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
# The same pattern without capturing groups, so that findall returns the tokens themselves.
_TOKEN_FLAT_RE = re.compile(
    "|".join(
        [*_ABBREVIATIONS, *_SPECIALS, _WEB, _EMAIL.replace("(", "(?:"), _DIGIT.replace("(", "(?:"),
         _NON_WORD, _WORD]
    )
)
assert _TOKEN_FLAT_RE.groups == 0

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
        raise ModelError("pyvi's model file has an unexpected format")


@functools.lru_cache(maxsize=1)
def _load_model() -> tuple[bytes, frozenset[str], frozenset[str]]:
    """Read pyvi's CRF model bytes and its bigram/trigram lists, once per process.

    The result is immutable and shared by all segmenters (through :func:`_model`, which
    parses the bytes once; crfsuite itself is never called).
    """
    data = read_model_files()

    # pyvi3.pkl is a pickled sklearn_crfsuite.CRF whose crfsuite model file travels inside
    # the pickle. Unpickling it for real imports scikit-learn and SciPy (about 2 s, paid by
    # every `vnsearch search`) and makes sklearn-crfsuite write the model to a temporary file,
    # so stand-ins take the place of its classes and we keep only the model bytes from the
    # FileResource's state.
    model_bytes = _ModelBytesUnpickler(io.BytesIO(data["pyvi3.pkl"])).model_bytes()

    # Same parsing as pyvi (split on "\n" then on " "), so the sets are identical.
    bi_grams: set[str] = set()
    tri_grams: set[str] = set()
    for entry in data["words.txt"].decode("utf-8").split("\n"):
        n = len(entry.split(" "))
        if n == 2:
            bi_grams.add(entry)
        elif n == 3:
            tri_grams.add(entry)
    return model_bytes, frozenset(bi_grams), frozenset(tri_grams)


# The attributes pyvi gives an item, named as python-crfsuite names them ("k:v" for a string
# value, "k" for True; see the module docstring). In pyvi's order: the token's own attributes,
# the previous token's, the n-grams ending here, the next token's, the n-grams starting here.
_BIAS = "bias"
_LOWER, _UPPER, _TITLE, _DIGIT = "word.lower():", "word.isupper()", "word.istitle()", "word.isdigit()"
_PREV_LOWER, _PREV_TITLE, _PREV_UPPER = "-1:word.lower():", "-1:word.istitle()", "-1:word.isupper()"
_BI_PREV, _TRI_PREV = "-1:word.bi_gram()", "-2:word.tri_gram()"
_NEXT_LOWER, _NEXT_TITLE, _NEXT_UPPER = "+1:word.lower():", "+1:word.istitle()", "+1:word.isupper()"
_BI_NEXT, _TRI_NEXT = "+1:word.bi_gram()", "+2:word.tri_gram()"

# Columns of a token's row: its own attributes' sum per label (from 0.0, in order), then
# the weights it lends the next item (-1: lower, istitle, isupper) and the previous item
# (+1: lower, istitle, isupper), two labels each. Absent attributes weigh 0.0.
_OWN, _PREV, _NEXT = 0, 2, 8
_ROW = 14

# Token flags for pyvi's joining rule.
_F_PUNCT, _F_DIGIT, _F_TITLE = 1, 2, 4

# About 0.3 kB an entry (token string, dict slot, its row). 100,000 keeps each indexing
# worker small; the table starts over rather than evicting.
_PARTS_LIMIT = 100_000

# Most tokens scored in one numpy pass: bounds the temporary arrays (~0.5 kB a token) when
# one huge text or line is segmented.
_BATCH_TOKENS = 32_768


class _Model:
    """pyvi's CRF weights and n-gram lists as the scorer uses them; one per process, read-only."""

    def __init__(self) -> None:
        import numpy as np

        from ._crf import parse_model

        model_bytes, bi_grams, tri_grams = _load_model()
        crf = parse_model(model_bytes)
        if sorted(crf.labels) != ["B_W", "I_W"]:
            raise ModelError(f"pyvi's CRF has unexpected labels {crf.labels}")
        self.labels = crf.labels
        self.inside = crf.labels.index("I_W")
        self.weights = crf.state
        (self.t00, self.t01), (self.t10, self.t11) = crf.trans

        zero = (0.0, 0.0)
        w = lambda name: crf.state.get(name, zero)  # noqa: E731
        self.bias, self.upper, self.title, self.digit = w(_BIAS), w(_UPPER), w(_TITLE), w(_DIGIT)
        self.prev_title, self.prev_upper = w(_PREV_TITLE), w(_PREV_UPPER)
        self.next_title, self.next_upper = w(_NEXT_TITLE), w(_NEXT_UPPER)
        # Row 0 adds nothing, row 1 the attribute's weights: indexed by a boolean mask.
        self.bi_prev = np.array([zero, w(_BI_PREV)])
        self.tri_prev = np.array([zero, w(_TRI_PREV)])
        self.bi_next = np.array([zero, w(_BI_NEXT)])
        self.tri_next = np.array([zero, w(_TRI_NEXT)])

        # An n-gram "a b" is in pyvi's set exactly when the syllable pair (a, b) is (tokens
        # hold no spaces), so n-grams become integers over a syllable numbering.
        bi_parts = [entry.split(" ") for entry in bi_grams]
        tri_parts = [entry.split(" ") for entry in tri_grams]
        syllables: dict[str, int] = {}
        for parts in (bi_parts, tri_parts):
            for part in itertools.chain.from_iterable(parts):
                syllables.setdefault(part, len(syllables))
        k = max(len(syllables), 1)
        if k**3 >= 2**62:
            raise ModelError("too many n-gram syllables in pyvi's word list")
        self.syllables = syllables
        self.k = k

        def codes(parts: list[list[str]], n: int) -> Any:
            ids = np.fromiter(map(syllables.__getitem__, itertools.chain.from_iterable(parts)),
                              dtype=np.int64, count=n * len(parts)).reshape(-1, n)
            code = np.zeros(len(parts), dtype=np.int64)
            for column in range(n):
                code = code * k + ids[:, column]
            return np.sort(code)

        self.bi_codes = codes(bi_parts, 2)
        self.tri_codes = codes(tri_parts, 3)

    def row(self, token: str) -> tuple[str, list[float], int, int]:
        """Lower-cased token, its row, n-gram syllable number (-1: none) and joining flags."""
        low = token.lower()
        # python-crfsuite hands attribute names to crfsuite as C strings, cut at a NUL.
        key = low.partition("\0")[0]
        title, upper = token.istitle(), token.isupper()
        zero = (0.0, 0.0)
        get = self.weights.get
        own = [self.bias, get(_LOWER + key, zero)]
        if upper:
            own.append(self.upper)
        if title:
            own.append(self.title)
        if token.isdigit():
            own.append(self.digit)
        s0 = s1 = 0.0
        for w0, w1 in own:  # crfsuite's order of additions, from 0.0
            s0 += w0
            s1 += w1
        row = [
            s0, s1,
            *get(_PREV_LOWER + key, zero),
            *(self.prev_title if title else zero),
            *(self.prev_upper if upper else zero),
            *get(_NEXT_LOWER + key, zero),
            *(self.next_title if title else zero),
            *(self.next_upper if upper else zero),
        ]
        flags = (
            (_F_PUNCT if token in _PUNCTUATION else 0)
            | (_F_DIGIT if token[0].isdigit() else 0)
            | (_F_TITLE if token[0].istitle() else 0)
        )
        return low, row, self.syllables.get(low, -1), flags


@functools.lru_cache(maxsize=1)
def _model() -> _Model:
    return _Model()


class _TokenTable:
    """Rows of the tokens seen so far, numbered; row 0 is the all-zero sentinel between sequences."""

    def __init__(self, model: _Model) -> None:
        self.model = model
        self.clear()

    def clear(self) -> None:
        import numpy as np

        self.index: dict[str, int] = {}
        self.low: list[str] = [""]
        self.rows = np.zeros((1024, _ROW))
        self.syllable = np.full(1024, -1, dtype=np.int64)
        self.flags = np.zeros(1024, dtype=np.uint8)

    def ids(self, seqs: Sequence[Sequence[str]]) -> list[int]:
        """Row numbers of the tokens laid out as ``0, seq, 0, seq, ..., 0``; adds new tokens."""
        import numpy as np

        if len(self.index) > _PARTS_LIMIT:
            # Numbers, URLs and typos keep the vocabulary growing; start over, not evict.
            self.clear()
        index, low = self.index, self.low
        get = index.get
        ids = [0]
        new: list[tuple[str, list[float], int, int]] = []
        lookup = index.__getitem__
        minus = itertools.repeat(-1)
        for seq in seqs:
            try:
                found = list(map(lookup, seq))
            except KeyError:
                found = list(map(get, seq, minus))
                i = found.index(-1)
                while True:
                    token = seq[i]
                    r = get(token)  # may have been added earlier in this sequence
                    if r is None:
                        r = index[token] = len(low)
                        entry = self.model.row(token)
                        low.append(entry[0])
                        new.append(entry)
                    found[i] = r
                    try:
                        i = found.index(-1, i + 1)
                    except ValueError:
                        break
            ids.extend(found)
            ids.append(0)
        if new:
            size = len(low)
            if size > len(self.rows):
                capacity = max(size, 2 * len(self.rows))
                self.rows = np.concatenate([self.rows, np.zeros((capacity - len(self.rows), _ROW))])
                grow = capacity - len(self.syllable)
                self.syllable = np.concatenate([self.syllable, np.full(grow, -1, dtype=np.int64)])
                self.flags = np.concatenate([self.flags, np.zeros(grow, dtype=np.uint8)])
            first = size - len(new)
            self.rows[first:size] = [e[1] for e in new]
            self.syllable[first:size] = [e[2] for e in new]
            self.flags[first:size] = [e[3] for e in new]
        return ids


def _viterbi(
    s0: list[float], s1: list[float], lo: int, hi: int, model: _Model, out: list[int]
) -> None:
    """crfsuite's ``crf1dc_viterbi`` for two labels on items ``lo .. hi-1``; labels into ``out``.

    The same additions and strict ``<`` comparisons as crfsuite, so the lower label wins
    ties, at each step and at the end.
    """
    t00, t01, t10, t11 = model.t00, model.t01, model.t10, model.t11
    p0 = s0[lo]
    p1 = s1[lo]
    back0: list[bool] = []
    back1: list[bool] = []
    add0, add1 = back0.append, back1.append
    for x0, x1 in zip(s0[lo + 1 : hi], s1[lo + 1 : hi]):
        a = p0 + t00
        b = p1 + t10
        if a < b:
            a = b
            add0(True)
        else:
            add0(False)
        c = p0 + t01
        d = p1 + t11
        if c < d:
            c = d
            add1(True)
        else:
            add1(False)
        p0 = a + x0
        p1 = c + x1
    y = 1 if p0 < p1 else 0
    out[hi - 1] = y
    for t in range(hi - lo - 2, -1, -1):
        y = 1 if (back1[t] if y else back0[t]) else 0
        out[lo + t] = y


def _spans(text: str, starts: list[int], token_lists: list[list[str]], relative: int) -> list[list[Span]]:
    """The spans of the tokens of lines of ``text`` starting at ``starts``, found in numpy.

    Tokens hold no whitespace and cover every other character of their line, in order, so
    the ``i``-th character of the line's tokens joined is the line's ``i``-th character
    that is not whitespace. Spans are offsets into ``text``, or into the line itself for
    the first ``relative`` lines.
    """
    import numpy as np

    chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    solid = np.flatnonzero(~_is_space(chars))  # positions of non-whitespace characters
    counts = np.fromiter(map(len, token_lists), dtype=np.intp, count=len(token_lists))
    lengths = np.fromiter(
        map(len, itertools.chain.from_iterable(token_lists)), dtype=np.intp, count=int(counts.sum())
    )
    before = np.cumsum(lengths) - lengths  # characters in earlier tokens, over all lines
    first_token = np.cumsum(counts) - counts
    line_starts = np.array(starts, dtype=np.intp)
    line_base = np.searchsorted(solid, line_starts) - before[np.minimum(first_token, len(before) - 1)]
    at = before + np.repeat(line_base, counts)  # index of each token's first character in solid
    begin = solid[at]
    end = solid[at + lengths - 1] + 1
    if relative:
        shift = np.repeat(np.where(np.arange(len(starts)) < relative, line_starts, 0), counts)
        begin -= shift
        end -= shift
    pairs = list(zip(begin.tolist(), end.tolist()))
    out: list[list[Span]] = []
    lo = 0
    for n in counts.tolist():
        out.append(pairs[lo : lo + n])
        lo += n
    return out


_SPACE_BLOCKS: Any = None
_SPACE_TABLE: Any = None


def _is_space(chars: Any) -> Any:
    """``str.isspace`` (which is what the pattern's ``\\s`` and ``str.split`` use) for code points.

    The lookup table is filled 256 code points at a time, for the blocks seen so far.
    """
    import numpy as np

    global _SPACE_BLOCKS, _SPACE_TABLE
    if _SPACE_TABLE is None:
        _SPACE_BLOCKS = np.zeros(0x1100, dtype=bool)
        _SPACE_TABLE = np.zeros(0x110000, dtype=bool)
    seen = np.bincount(chars >> 8, minlength=0x1100) > 0
    for block in np.flatnonzero(seen & ~_SPACE_BLOCKS).tolist():
        base = block << 8
        _SPACE_TABLE[base : base + 256] = [chr(c).isspace() for c in range(base, base + 256)]
        _SPACE_BLOCKS[block] = True
    return _SPACE_TABLE[chars]


def _tokens(line: str) -> list[str]:
    """pyvi's tokens of ``line`` (the matches of ``_TOKEN_RE``), found faster.

    No token holds whitespace and the pattern has no anchors or lookarounds, so each
    whitespace-separated chunk can be tokenised on its own (``str.split`` and the pattern's
    ``\\s`` agree on every code point). A chunk of letters only is one token: every
    alternative before ``\\w+`` needs a digit, ``.``, ``:``, ``@`` or a symbol, and letters
    are word characters.
    """
    tokens: list[str] = []
    findall = _TOKEN_FLAT_RE.findall
    for chunk in line.split():
        if chunk.isalpha():
            tokens.append(chunk)
        else:
            tokens.extend(findall(chunk))
    return tokens


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
    lines, since archives repeat bylines, headings and boilerplate. A segmenter guards its
    cache and its table of per-token weights with a lock, so it may be shared between
    threads; it pickles without its model, table or cache.

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
        self._table: _TokenTable | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[Word, ...]] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_table", "_lock", "_cache"):
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
        for start, _line, cached, _tokens, spans, bounds in self._lines(text, True):
            if cached is None:
                out.extend(map(tuple, map(spans.__getitem__, map(slice, bounds, bounds[1:]))))
            elif start:
                out.extend([tuple([(s + start, e + start) for s, e in w]) for w in cached])
            else:
                out.extend(cached)
        return out

    def word_texts(self, text: str) -> list[list[str]]:
        """The words of :meth:`segment` as lists of their token texts (no offsets).

        >>> Segmenter().word_texts("Hà Nội, mùa thu")
        [['Hà', 'Nội'], [','], ['mùa'], ['thu']]
        """
        out: list[list[str]] = []
        for _start, line, cached, tokens, _spans, bounds in self._lines(text, False):
            if cached is None:
                out.extend(map(tokens.__getitem__, map(slice, bounds, bounds[1:])))
            else:
                out.extend([line[s:e] for s, e in w] for w in cached)
        return out

    def token_words(self, text: str) -> tuple[list[str], list[int]]:
        """The tokens of :meth:`segment` in order, and the index of each word's first token
        followed by the number of tokens: the cheapest form, for indexing (no offsets, and
        no line cache, whose bookkeeping costs more than the fast tagger saves).

        >>> Segmenter().token_words("Hà Nội, mùa thu")
        (['Hà', 'Nội', ',', 'mùa', 'thu'], [0, 2, 3, 4, 5])
        """
        token_lists = [_tokens(line) for line in text.split("\n") if line.strip()]
        tokens: list[str] = []
        bounds: list[int] = []
        for line_tokens, line_bounds in zip(token_lists, self._line_bounds(token_lists)):
            base = len(tokens)
            bounds.extend([base + b for b in line_bounds[:-1]] if base else line_bounds[:-1])
            tokens.extend(line_tokens)
        bounds.append(len(tokens))
        return tokens, bounds

    def _lines(self, text: str, spans_wanted: bool) -> list[list[Any]]:
        """Segment each non-blank line of ``text``, all of them scored together.

        One entry per line: ``[start, line, cached, tokens, spans, bounds]``. A line short
        enough for the line cache comes back as ``cached``, its words with offsets into the
        line, whether from the cache or new. Any other line comes back as its tokens, their
        spans in ``text`` (None unless ``spans_wanted``) and ``bounds``, the token indexes
        where words start followed by the number of tokens; ``cached`` is then None.
        """
        entries: list[list[Any]] = []
        start = 0
        for line in text.split("\n"):
            if line.strip():
                entries.append([start, line, None, None, None, None])
            start += len(line) + 1
        if not entries:
            return entries

        cache = self._cache
        cacheable = [e for e in entries if len(e[1]) <= _CACHE_LINE_CHARS] if self.cache_size else []
        missing: dict[str, list[list[Any]]] = {}
        if cacheable:
            # The lock makes lookups, and inserts with evictions, atomic between threads.
            with self._lock:
                for e in cacheable:
                    hit = cache.get(e[1])
                    if hit is None:
                        missing.setdefault(e[1], []).append(e)
                    else:
                        e[2] = hit

        # Tokenise what is left: a missing cacheable line once, with offsets into itself;
        # any other line in place, with offsets into the text.
        direct = [e for e in entries if e[2] is None and e[1] not in missing]
        token_lists = [_tokens(line) for line in missing]
        token_lists += [_tokens(e[1]) for e in direct]
        k = len(missing)
        span_lists: list[list[Span]] = []
        if k or spans_wanted:
            firsts = [waiting[0] for waiting in missing.values()]
            if spans_wanted:
                span_lists = _spans(text, [e[0] for e in firsts + direct], token_lists, k)
            else:
                span_lists = _spans(text, [e[0] for e in firsts], token_lists[:k], k)

        all_bounds = self._line_bounds(token_lists)
        for (line, waiting), spans, bounds in zip(missing.items(), span_lists, all_bounds):
            words = tuple(map(tuple, map(spans.__getitem__, map(slice, bounds, bounds[1:]))))
            for e in waiting:
                e[2] = words
        k = len(missing)
        for e, tokens, bounds in zip(direct, token_lists[k:], all_bounds[k:]):
            e[3], e[5] = tokens, bounds
        if spans_wanted:
            for e, spans in zip(direct, span_lists[k:]):
                e[4] = spans

        if cacheable:
            # Replay the lines in order, as if each had been looked up and, if missing,
            # inserted in turn: a hit moves to the end, a miss is added at the end.
            with self._lock:
                for e in cacheable:
                    line = e[1]
                    if line in cache:
                        cache.move_to_end(line)
                    else:
                        # Only short lines repeat (bylines, headings, boilerplate); caching
                        # paragraphs made each indexing worker grow by a gigabyte on
                        # Wikipedia without saving any work.
                        cache[line] = e[2]
                        if len(cache) > self.cache_size:
                            cache.popitem(last=False)
        return entries

    def _line_bounds(self, token_lists: list[list[str]]) -> list[list[int]]:
        """For each line's tokens, the indexes where words start, then the number of tokens."""
        seqs: list[list[str]] = []
        plans: list[list[tuple[int, int]]] = []
        for tokens in token_lists:
            chunks = self._chunks(tokens) if tokens else []
            plans.append(chunks)
            for lo, hi in chunks:
                seqs.append(tokens if hi - lo == len(tokens) else tokens[lo:hi])
        seq_bounds = iter(self._word_bounds(seqs))
        out: list[list[int]] = []
        for tokens, chunks in zip(token_lists, plans):
            if len(chunks) == 1:
                out.append(next(seq_bounds))
                continue
            bounds: list[int] = []
            for lo, _hi in chunks:
                bounds.extend([lo + b for b in next(seq_bounds)[:-1]])
            bounds.append(len(tokens))
            out.append(bounds)
        return out

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

    def _word_bounds(self, seqs: list[list[str]]) -> list[list[int]]:
        """For each token sequence, the indexes where its words start, then its length."""
        out: list[list[int]] = []
        batch: list[list[str]] = []
        size = 0
        for seq in seqs:
            batch.append(seq)
            size += len(seq) + 1
            if size >= _BATCH_TOKENS:
                out.extend(self._word_bounds_batch(batch))
                batch, size = [], 0
        if batch:
            out.extend(self._word_bounds_batch(batch))
        return out

    def _word_bounds_batch(self, seqs: list[list[str]]) -> list[list[int]]:
        labels, starts, firsts, low = self._tag(seqs)
        out: list[list[int]] = []
        if self._user_lengths:
            flags = starts.tolist()
            for q, seq in zip(firsts, seqs):
                n = len(seq)
                s = flags[q : q + n]
                self._apply_user_words(low[q : q + n], s)
                out.append([i for i in range(n) if s[i]] + [n])
            return out
        # Items between sequences count as word starts, so each sequence's starts run from
        # its first item up to the separator after it; offsets are made relative in numpy.
        import numpy as np

        at = starts.nonzero()[0]
        first = np.array(firsts)
        relative = (at - first[np.searchsorted(first, at, side="right") - 1]).tolist()
        relative.append(len(seqs[-1]))
        j = 0
        for n in map(len, seqs):
            # relative[j] is the sequence's first item (0); its separator shows as n.
            k = relative.index(n, j + 1) if n else j
            out.append(relative[j : k + 1])
            j = k + 1
        return out

    def _tag(self, seqs: Sequence[Sequence[str]]) -> tuple[list[int], Any, list[int], list[str]]:
        """Score and decode token sequences as crfsuite would, all in one numpy pass.

        Items are laid out as in :meth:`_TokenTable.ids` without the leading separator:
        sequence ``i`` starts at ``firsts[i]`` and is followed by one separator item.
        Returns the label index of each item (-1 for separators), whether pyvi starts a word
        there (before user words), the first item of each sequence and the lowered tokens.
        """
        import numpy as np

        with self._lock:
            table = self._table
            if table is None:
                table = self._table = _TokenTable(_model())
            ids = table.ids(seqs)
            index = np.array(ids, dtype=np.intp)
            rows = table.rows[index]
            syllable = table.syllable[index]
            flags = table.flags[index]
            low = [table.low[i] for i in ids[1:-1]] if self._user_lengths else []
        model = table.model
        n = len(ids)

        # Which n-grams are in pyvi's lists: bi[p] for items p-1, p; tri[p] for p-2 .. p.
        # Separators have no syllable number, so no n-gram crosses a sequence boundary.
        k = model.k
        known = syllable >= 0
        pair = known[:-1] & known[1:]
        code = syllable[:-1] * k + syllable[1:]
        bi = np.zeros(n + 1, dtype=np.intp)
        bi[1:n] = pair & _member(code, model.bi_codes)
        code = code[:-1] * k + syllable[2:]
        tri = np.zeros(n + 2, dtype=np.intp)
        tri[2:n] = pair[:-1] & known[2:] & _member(code, model.tri_codes)

        # State scores of items 1 .. n-2 (the first and last items are separators): the
        # attributes' weights added one at a time in pyvi's order, as crf1dt_state_score
        # does; numpy's float64 additions are the same IEEE operations as crfsuite's.
        prev, nxt = rows[:-2], rows[2:]
        state = rows[1:-1, _OWN : _OWN + 2] + prev[:, _PREV : _PREV + 2]
        state += prev[:, _PREV + 2 : _PREV + 4]
        state += prev[:, _PREV + 4 : _PREV + 6]
        state += model.bi_prev[bi[1 : n - 1]]
        state += model.tri_prev[tri[1 : n - 1]]
        state += nxt[:, _NEXT : _NEXT + 2]
        state += nxt[:, _NEXT + 2 : _NEXT + 4]
        state += nxt[:, _NEXT + 4 : _NEXT + 6]
        state += model.bi_next[bi[2:n]]
        state += model.tri_next[tri[3 : n + 1]]

        s0 = state[:, 0].tolist()
        s1 = state[:, 1].tolist()
        labels = [-1] * (n - 2)
        firsts: list[int] = []
        q = 0
        for seq in seqs:
            firsts.append(q)
            _viterbi(s0, s1, q, q + len(seq), model, labels)
            q += len(seq) + 1

        # pyvi's joining rule, verbatim: the CRF's I_W is vetoed next to punctuation,
        # digits, and where a lower-case syllable is followed by a capitalised one.
        cur, before = flags[1:-1], flags[:-2]
        joinable = (((cur | before) & (_F_PUNCT | _F_DIGIT)) == 0) & ~(
            ((cur & _F_TITLE) != 0) & ((before & _F_TITLE) == 0)
        )
        starts = ~((np.array(labels) == model.inside) & joinable)
        starts[firsts] = True
        return labels, starts, firsts, low

    def _labels(self, tokens: Sequence[str]) -> list[str]:
        """The CRF's label for each token: what ``pycrfsuite.Tagger.tag`` gives on pyvi's features."""
        if not tokens:
            return []
        labels, _starts, _firsts, _low = self._tag([tokens])
        names = _model().labels
        return [names[y] for y in labels]

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


def _member(codes: Any, table: Any) -> Any:
    """Elementwise ``code in table`` for a sorted int64 ``table``."""
    import numpy as np

    if not len(table):
        return np.zeros(len(codes), dtype=bool)
    pos = np.searchsorted(table, codes)
    pos[pos == len(table)] = 0
    return table[pos] == codes
