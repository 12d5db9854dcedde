"""Text normalisation shared by documents and queries, and accent folding.

Two layers, because character offsets matter for highlighting:

* :func:`normalize`: NFC, then :func:`normalize_same_length`;
* :func:`normalize_same_length` only swaps characters one for one (tone placement, ``Ð``,
  quotes, tabs, full-width digits), so offsets into the stored text stay valid.

Text reaches the analyzers already cleaned by ``corpus.clean_text``, the one text clean-up of
vnsearch (invisible characters removed, odd spaces made plain, newlines unified): documents
when they are created, queries when the searcher parses them. It lives in ``corpus``, the
lowest package, because documents are cleaned where they are made and ``corpus`` may import
nothing of ours; the analyzers, which may not import ``corpus`` either, keep only the
one-for-one spelling rules that matching needs, so offsets into the stored text stay valid.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# One-for-one character replacements. U+00D0 (Icelandic eth) is routinely typed for Đ.
_CHAR_MAP = {
    "\u00d0": "Đ", "\u0110": "Đ", "\u00f0": "đ", "\u0189": "Đ",
    "\t": " ",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
}
_CHAR_MAP.update({chr(0xFF10 + i): str(i) for i in range(10)})  # full-width digits
_CHAR_MAP.update({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})  # full-width A-Z
_CHAR_MAP.update({chr(0xFF41 + i): chr(0x61 + i) for i in range(26)})  # full-width a-z
# str.translate looks every character up in a dict; finding the rare ones with a regex (in C)
# and replacing only those is several times faster on real text.
_MAPPED = re.compile("[" + re.escape("".join(_CHAR_MAP)) + "]")


def _map_chars(text: str) -> str:
    return _MAPPED.sub(lambda m: _CHAR_MAP[m.group()], text) if _MAPPED.search(text) else text

# Tone marks as combining characters, in the order Vietnamese uses them.
_TONES = "\u0300\u0301\u0309\u0303\u0323"  # huyền, sắc, hỏi, ngã, nặng


def _split_tone(ch: str) -> tuple[str, str]:
    """'à' -> ('a', '\\u0300'); 'ấ' -> ('â', '\\u0301'); letters without a tone -> (ch, '')."""
    parts = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in parts if c in _TONES)
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
    return base, tone


def _with_tone(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


# The only syllables whose tone placement varies between the "old" (hòa, khỏe, thúy) and the
# "new" (hoà, khoẻ, thuý) style are open syllables ending in oa, oe or uy (not after q, where u
# belongs to the onset). We normalise to the old style, which pyvi's training text mostly uses.
_VOWELS_A = "aàáảãạ"
_VOWELS_E = "eèéẻẽẹ"
_VOWELS_Y = "yỳýỷỹỵ"
# Matched at the vowel pair only, the vowel first: the engine then scans for o/u and tries the
# rest only there (a leading look-behind was tried at every position: 1.7x slower, same matches).
_NEW_STYLE = re.compile(
    r"([oO])(?<![qQ][oO])([" + _VOWELS_A[1:] + _VOWELS_A[1:].upper() + _VOWELS_E[1:] + _VOWELS_E[1:].upper() + r"])"
    r"(?![^\W\d_])"             # open syllable: nothing follows
    r"|([uU])(?<![qQ][uU])([" + _VOWELS_Y[1:] + _VOWELS_Y[1:].upper() + r"])(?![^\W\d_])"
)


def _old_style(match: re.Match[str]) -> str:
    first = match.group(1) or match.group(3)
    second = match.group(2) or match.group(4)
    base, tone = _split_tone(second)
    return _with_tone(first, tone) + base


def normalize_tone_placement(text: str) -> str:
    """Put tone marks where the old style does: ``hoà`` -> ``hòa``, ``thuý`` -> ``thúy``.

    Words whose placement does not vary (``hoàn``, ``quý``, ``huỳnh``, ``khuỷu``) are left alone.

    >>> normalize_tone_placement("Hoà Bình, khoẻ, thuý, hoàn, quý, huỳnh, khuỷu")
    'Hòa Bình, khỏe, thúy, hoàn, quý, huỳnh, khuỷu'
    """
    return _NEW_STYLE.sub(_old_style, text)


def normalize_same_length(text: str) -> str:
    """Normalise without changing the length of ``text`` (offsets stay valid). Input must be NFC."""
    return normalize_tone_placement(_map_chars(text))


def normalize(text: str) -> str:
    """Full normalisation of cleaned text (``corpus.clean_text``): NFC, one spelling.

    >>> normalize("Ba\\u0306\\u0301c So\\u031bn") == "Bắc Sơn"
    True
    >>> normalize("\\u00d0ảng bộ") == "Đảng bộ"
    True
    """
    return normalize_same_length(unicodedata.normalize("NFC", text))


def _fold_uncached(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", out.replace("đ", "d").replace("Đ", "D"))


# Syllables repeat a lot (a few thousand cover most text): memoise the per-syllable call.
_fold_syllable = lru_cache(maxsize=65536)(_fold_uncached)


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: ``Bắc Sơn`` -> ``Bac Son``, ``đ`` -> ``d``.

    >>> fold("Nông thôn mới, Đảng bộ")
    'Nong thon moi, Dang bo'
    """
    if text.isascii():
        return text
    return _fold_syllable(text) if len(text) < 24 else _fold_uncached(text)


def has_accents(text: str) -> bool:
    """True if ``text`` carries any Vietnamese diacritic (or đ)."""
    return fold(text) != text


# The letters a folded (unaccented) Vietnamese letter may stand for, before the tone mark.
_SHAPES = {"a": "aăâ", "e": "eê", "o": "oôơ", "u": "uư", "d": "dđ"}
_VOWEL_LETTERS = set("aăâeêioôơuưy")
_SYLLABLE_MAX_VARIANTS = 512
# An unaccented Vietnamese syllable: initial consonants, up to three vowel letters, a final
# consonant. Words of other shapes ("west", "league") have no Vietnamese spelling to restore,
# and generating theirs (hundreds for "league") costs lookups for nothing. Loanwords written
# solid ("ôtô") are the rare casualty.
_SYLLABLE_SHAPE = re.compile(r"(?:ngh|ng|nh|ch|gh|kh|ph|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")


def accented_variants(folded: str) -> list[str]:
    """Every spelling with Vietnamese diacritics that folds to ``folded`` (one tone mark at most).

    Used to restore accents from what the index holds without scanning its vocabulary.

    >>> "bắc" in accented_variants("bac") and "bạc" in accented_variants("bac")
    True
    >>> "nguyễn" in accented_variants("nguyen")
    True
    >>> accented_variants("sussex")  # not shaped like a Vietnamese syllable
    ['sussex']
    """
    from itertools import product

    folded = folded.lower()
    if not folded.isascii() or not folded.isalpha() or len(folded) > 7 or not _SYLLABLE_SHAPE.fullmatch(folded):
        return [folded]
    shapes = [_SHAPES.get(c, c) for c in folded]
    out: list[str] = []
    for letters in product(*shapes):
        base = "".join(letters)
        out.append(base)
        vowels = [i for i, c in enumerate(base) if c in _VOWEL_LETTERS]
        for i in vowels:
            for tone in _TONES:
                out.append(base[:i] + unicodedata.normalize("NFC", base[i] + tone) + base[i + 1:])
        if len(out) > _SYLLABLE_MAX_VARIANTS:
            break
    return out
