"""Snippets: the best fragments of a document around the matched words, with highlight offsets.

Matching is done on an accent-folded copy of the text that has exactly the same length, so
no second segmentation pass is needed and an unaccented query highlights accented words.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import numpy as np

from analyzers import fold, normalize_tone_placement



def _fold_char(ch: str) -> str:
    out = fold(ch.lower())
    return out if len(out) == 1 else ch


# One character for one character, so offsets in the folded copy are offsets in the text:
# ASCII capitals and every Latin letter with diacritics (Vietnamese lives in U+00C0-U+024F and
# U+1E00-U+1EFF). str.translate does it in C; a per-character loop was a third of a search.
_FOLD_TABLE = {cp: _fold_char(chr(cp)) for cp in (*range(0x41, 0x5B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00))
               if _fold_char(chr(cp)) != chr(cp)}


_HEAD = 6_000
_MAX_WINDOWS = 200  # windows tried, one per match from the start: enough to find the best


_FOLD_ARRAY = np.arange(0x1F00, dtype="<u4")  # code point -> its fold, below U+1F00
for _cp, _ch in _FOLD_TABLE.items():
    _FOLD_ARRAY[_cp] = ord(_ch)


def fold_same_length(text: str) -> str:
    """Lower-case and fold ``text`` one character for one character.

    >>> fold_same_length("Đảng bộ HUYỆN Bắc Sơn")
    'dang bo huyen bac son'
    """
    if text.isascii():
        return text.lower()
    if len(text) < 256:  # (numpy's set-up costs more than translate on a word or a title)
        return text.translate(_FOLD_TABLE)
    # A table lookup over the code points with numpy (str.translate calls a dict per character).
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    folded = np.where(points < 0x1F00, _FOLD_ARRAY[np.minimum(points, 0x1EFF)], points)
    return folded.astype("<u4").tobytes().decode("utf-32-le")


@functools.lru_cache(maxsize=64)
def _pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    """One regex for whole words among ``terms`` (``prefix*``: words starting with it)."""
    exact = sorted((t for t in terms if t and not t.endswith("*")), key=len, reverse=True)
    prefixes = sorted((t[:-1] for t in terms if t.endswith("*") and len(t) > 1), key=len, reverse=True)
    alts = [re.escape(t) + r"(?!\w)" for t in exact] + [re.escape(p) + r"\w*" for p in prefixes]
    if not alts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + ")")


@functools.lru_cache(maxsize=64)
def _folded_pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    """:func:`_pattern` of the folded ``terms``."""
    return _pattern(frozenset(fold_same_length(t) for t in terms))


def _matches(text: str, folded: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` among ``terms``: folded terms are looked up in the folded
    copy, ``=syllable`` terms (accents that must match) in a lower-cased normalised copy."""
    accented = frozenset(t[1:] for t in terms if t.startswith("="))
    pattern = _pattern(frozenset(t for t in terms if not t.startswith("=")))
    spans = [m.span() for m in pattern.finditer(folded)] if pattern is not None else []
    if accented:
        # The words whose folded form is a term's, then each checked with its accents (tone
        # placement and case normalised on the word alone: the whole text is not normalised).
        candidates = _folded_pattern(accented)
        if candidates is not None:
            exact = {m.span() for m in candidates.finditer(folded)
                     if normalize_tone_placement(text[m.start():m.end()]).lower() in accented}
            spans = sorted(set(spans) | exact)
    return spans


def highlight_spans(text: str, terms: Iterable[str]) -> tuple[tuple[int, int], ...]:
    """(start, end) offsets of the words of ``text`` among ``terms`` (as for :func:`make_snippet`).

    >>> highlight_spans("UBND huyện Bắc Sơn", {"bac", "son"})
    ((11, 14), (15, 18))
    >>> highlight_spans("hình phạt, hình Phật", {"=hình", "=phạt"})
    ((0, 4), (5, 9), (11, 15))
    """
    return tuple(_matches(text, fold_same_length(text), frozenset(terms)))


def make_snippet(text: str, terms: Iterable[str], *, width: int = 220, fragments: int = 2,
                 separator: str = " … ") -> tuple[str, tuple[tuple[int, int], ...]]:
    """The best ``fragments`` windows of about ``width`` characters around matched terms.

    ``terms`` are folded lower-case syllables (``prefix*`` for wildcards). Returns the snippet
    and the (start, end) offsets of the highlighted words inside it. Fragments are cut at word
    boundaries. Without a match the snippet is the start of the text.

    >>> s, marks = make_snippet("Xây dựng nông thôn mới ở Bắc Sơn.", {"bac", "son"})
    >>> [s[a:b] for a, b in marks]
    ['Bắc', 'Sơn']
    """
    text = unicodedata.normalize("NFC", text)
    pattern_terms = frozenset(terms)
    # Long documents: look in the opening first, and through the whole text only if the
    # opening has no match (folding a 100 kB article for every hit was most of a search).
    head = _word_bounds(text, 0, _HEAD)[1]
    folded = fold_same_length(text[:head])
    spans = _matches(text[:head], folded, pattern_terms)
    if not spans and head < len(text):
        folded = fold_same_length(text)
        spans = _matches(text, folded, pattern_terms)
    if not spans:
        return _cut(text, 0, width), ()
    # Score each candidate window by the number of distinct terms and matches it holds.
    windows = []
    j = 0
    for i, (start, _end) in enumerate(spans[:_MAX_WINDOWS]):
        lo = max(0, start - width // 4)
        hi = lo + width
        j = max(j, i)
        while j < len(spans) and spans[j][1] <= hi:
            j += 1
        inside = spans[i:j]
        distinct = len({folded[a:b] for a, b in inside})
        windows.append((distinct * 10 + len(inside), -lo, lo, hi))
    windows.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    for _score, _neg, lo, hi in windows:
        if all(hi <= a or lo >= b for a, b in chosen):
            chosen.append((lo, hi))
        if len(chosen) == fragments:
            break
    chosen.sort()
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    offset = 0
    for lo, hi in chosen:
        lo, hi = _word_bounds(text, lo, hi)
        if parts:
            offset += len(separator)
        elif lo > 0:
            parts.append("…")
            offset += 1
        frag = text[lo:hi].replace("\n", " ")
        for a, b in spans:
            if a >= lo and b <= hi:
                marks.append((offset + a - lo, offset + b - lo))
        parts.append(frag)
        offset += len(frag)
    snippet = separator.join([parts[0] + parts[1]] + parts[2:]) if parts and parts[0] == "…" else separator.join(parts)
    if chosen and _word_bounds(text, *chosen[-1])[1] < len(text):
        snippet += "…"
    return snippet, tuple(marks)


def _word_bounds(text: str, lo: int, hi: int) -> tuple[int, int]:
    hi = min(hi, len(text))
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return lo, hi


def _cut(text: str, lo: int, width: int) -> str:
    lo, hi = _word_bounds(text, lo, lo + width)
    frag = text[lo:hi].replace("\n", " ")
    return frag + ("…" if hi < len(text) else "")
