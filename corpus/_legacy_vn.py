"""Legacy Vietnamese font encodings (TCVN3/ABC and VNI) and a Vietnamese-syllable score.

Before Unicode, Vietnamese documents were typed in 8-bit "font encodings": the bytes are
plain Windows-1252 as far as any decoder knows, and only the font (.VnTime for TCVN3,
VNI-Times for VNI) drew them as Vietnamese letters. Decoding such bytes never fails; it
yields mojibake such as ``B¶o Th¾ng`` (TCVN3 for "Bảo Thắng") or ``chaøo`` (VNI for "chào").
The converters here map that mojibake to Unicode NFC; :func:`syllable_score` tells which
reading of the bytes is real Vietnamese.

:func:`vietnamese_share` and :func:`looks_vietnamese` are the one "is this text Vietnamese?"
check, used by the cleaner (a page's language when it declares none) and by the crawler and
WARC reader (which pages become documents).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# TCVN 5712:1993 "VN3", the ABC/.VnTime layout: byte -> character. Checked against glibc's
# TCVN5712-1 table, of which VN3 is the upper-half subset. VN3 has no capitals with tone
# marks (those were drawn with the capital-only .VnTimeH font from the lowercase codes), so
# such capitals come out lowercase: nothing in the bytes says otherwise.
_TCVN3 = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
# Keyed by the Latin-1 character a byte decodes to, so the table works on text too.
_TCVN3_DECODE = {chr(b): u for b, u in _TCVN3.items()}
_TCVN3_ENCODE = {u: b for b, u in _TCVN3.items()}

# VNI Windows: a base letter followed by a modifier byte for the tone (and for the hat of
# â/ê/ă), as in the VNI keyboard tables (e.g. xvnkb's vni.h). The tone order below is
# sắc, huyền, hỏi, ngã, nặng. Lowercase and capital letters use different modifier bytes.
_TONES = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_VNI_LOWER = {
    # base letter: (VNI spelling of the bare letter, its five toned spellings)
    "a": ("a", ("aù", "aø", "aû", "aõ", "aï")),
    "â": ("aâ", ("aá", "aà", "aå", "aã", "aä")),
    "ă": ("aê", ("aé", "aè", "aú", "aü", "aë")),
    "e": ("e", ("eù", "eø", "eû", "eõ", "eï")),
    "ê": ("eâ", ("eá", "eà", "eå", "eã", "eä")),
    "o": ("o", ("où", "oø", "oû", "oõ", "oï")),
    "ô": ("oâ", ("oá", "oà", "oå", "oã", "oä")),
    "ơ": ("ô", ("ôù", "ôø", "ôû", "ôõ", "ôï")),
    "u": ("u", ("uù", "uø", "uû", "uõ", "uï")),
    "ư": ("ö", ("öù", "öø", "öû", "öõ", "öï")),
    "i": ("i", ("í", "ì", "æ", "ó", "ò")),
    "y": ("y", ("yù", "yø", "yû", "yõ", "î")),
}
_VNI_UPPER = {
    "A": ("A", ("AÙ", "AØ", "AÛ", "AÕ", "AÏ")),
    "Â": ("AÂ", ("AÁ", "AÀ", "AÅ", "AÃ", "AÄ")),
    "Ă": ("AÊ", ("AÉ", "AÈ", "AÚ", "AÜ", "AË")),
    "E": ("E", ("EÙ", "EØ", "EÛ", "EÕ", "EÏ")),
    "Ê": ("EÂ", ("EÁ", "EÀ", "EÅ", "EÃ", "EÄ")),
    "O": ("O", ("OÙ", "OØ", "OÛ", "OÕ", "OÏ")),
    "Ô": ("OÂ", ("OÁ", "OÀ", "OÅ", "OÃ", "OÄ")),
    "Ơ": ("Ô", ("ÔÙ", "ÔØ", "ÔÛ", "ÔÕ", "ÔÏ")),
    "U": ("U", ("UÙ", "UØ", "UÛ", "UÕ", "UÏ")),
    "Ư": ("Ö", ("ÖÙ", "ÖØ", "ÖÛ", "ÖÕ", "ÖÏ")),
    "I": ("I", ("Í", "Ì", "Æ", "Ó", "Ò")),
    "Y": ("Y", ("YÙ", "YØ", "YÛ", "YÕ", "Î")),
}


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {"ñ": "đ", "Ñ": "Đ"}
    for spellings in (_VNI_LOWER, _VNI_UPPER):
        for letter, (bare, toned) in spellings.items():
            table[bare] = letter
            for tone, spelling in zip(_TONES, toned):
                table[spelling] = unicodedata.normalize("NFC", letter + tone)
    # Plain ASCII letters map to themselves and need no entry.
    return {k: v for k, v in table.items() if k != v}


_VNI_ENCODE = {u: v for v, u in _build_vni().items()}
_VNI_DECODE = _build_vni()
# Longest spelling first, so "aø" wins over the single "a" and "ôù" over "ô".
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))


def tcvn3_to_unicode(text: str) -> str:
    """Convert TCVN3 (ABC) mojibake, read as Latin-1/Windows-1252, to Unicode NFC.

    >>> tcvn3_to_unicode("B¶o Th¾ng")
    'Bảo Thắng'
    """
    return unicodedata.normalize("NFC", "".join(_TCVN3_DECODE.get(c, c) for c in text))


def vni_to_unicode(text: str) -> str:
    """Convert VNI Windows mojibake, read as Windows-1252, to Unicode NFC.

    >>> vni_to_unicode("Xin chaøo caùc baïn")
    'Xin chào các bạn'
    """
    return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: _VNI_DECODE[m.group()], text))


def unicode_to_tcvn3(text: str) -> bytes:
    """Encode Vietnamese text as TCVN3 bytes (capitals with tone marks are lowered, as in VN3).

    Characters TCVN3 cannot hold raise :class:`UnicodeEncodeError`, like a codec would.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80 or ch == "\xa0":  # VN3 keeps the no-break space at 0xA0
            out.append(ord(ch))
        elif ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ch.lower() in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch.lower()])
        else:
            raise UnicodeEncodeError("tcvn3", ch, 0, 1, "not in TCVN3")
    return bytes(out)


def unicode_to_vni(text: str) -> bytes:
    """Encode Vietnamese text as VNI Windows bytes."""
    spelled = "".join(_VNI_ENCODE.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    return spelled.encode("cp1252")


# --- Is this Vietnamese? -------------------------------------------------------------

_TONE_MARKS = set(_TONES)
_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"
_SYLLABLE_RE = re.compile(rf"^(?:{_ONSET})?[aăâeêioôơuưy]{{1,3}}(?:ch|ng|nh|c|m|n|p|t)?$")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>«»,.;:!?…–—-/\\|*#%&+=_"


def is_vietnamese_syllable(token: str) -> bool:
    """True if ``token`` is spelled like one Vietnamese syllable (at most one tone mark).

    >>> is_vietnamese_syllable("Thắng"), is_vietnamese_syllable("Th¾ng")
    (True, False)
    """
    decomposed = unicodedata.normalize("NFD", token.lower())
    tones = sum(1 for c in decomposed if c in _TONE_MARKS)
    if tones > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return bool(_SYLLABLE_RE.match(bare))


@dataclass(frozen=True)
class SyllableScore:
    """How a text reads as Vietnamese: counts over its whitespace-separated tokens that hold a
    non-ASCII character (plain ASCII words say nothing about the encoding)."""

    valid: int
    """Tokens with a non-ASCII letter that are well-formed Vietnamese syllables."""
    invalid: int
    """Tokens with a non-ASCII character that are not."""
    garbled: int
    """Of ``invalid``, those mixing letters with non-letter symbols (``B¶o``): typical mojibake."""
    garbled_chars: int = 0
    """Characters in garbled tokens: one long garbled token (CJK bytes read as Windows-1252
    have no spaces) weighs as much as many short ones."""
    non_ascii_chars: int = 0
    """Characters in all tokens that hold a non-ASCII character."""

    @property
    def value(self) -> int:
        """Higher is more Vietnamese; used to rank the readings of the same bytes."""
        return self.valid - self.invalid

    @property
    def non_ascii(self) -> int:
        return self.valid + self.invalid


_VI_MARKS = frozenset("\u0309\u0323\u031b\u0306")
_WORD = re.compile(r"[^\W\d_]+")


def vietnamese_share(text: str) -> float:
    """Share of words carrying a Vietnamese-only letter (ả ạ ơ ư ă đ ...). Vietnamese prose scores 0.2-0.6.

    >>> vietnamese_share("Ban Chấp hành Đảng bộ huyện Bắc Sơn") > 0.3
    True
    >>> vietnamese_share("The quick brown fox jumps over the lazy dog")
    0.0
    """
    words = _WORD.findall(text[:20_000])
    if not words:
        return 0.0
    marked = sum(1 for w in words if "đ" in w or "Đ" in w or _VI_MARKS & set(unicodedata.normalize("NFD", w)))
    return marked / len(words)


MIN_VIETNAMESE_SHARE = 0.08
"""Below this share of words with a Vietnamese-only letter, a text is not taken for Vietnamese."""


def looks_vietnamese(text: str, min_share: float = MIN_VIETNAMESE_SHARE) -> bool:
    """True if at least ``min_share`` of the words of ``text`` carry a Vietnamese-only letter.

    >>> looks_vietnamese("Ban Chấp hành Đảng bộ huyện Bắc Sơn"), looks_vietnamese("Élève à Paris")
    (True, False)
    """
    return vietnamese_share(text) >= min_share


def syllable_score(text: str, limit: int = 20000) -> SyllableScore:
    """Score the first ``limit`` tokens of ``text``."""
    valid = invalid = garbled = garbled_chars = non_ascii_chars = 0
    for n, raw in enumerate(text.split()):
        if n >= limit:
            break
        token = raw.strip(_EDGE_PUNCT)
        if not token or token.isascii():
            continue
        non_ascii_chars += len(token)
        if is_vietnamese_syllable(token):
            valid += 1
            continue
        invalid += 1
        if any(c.isalpha() for c in token) and any(
            not c.isascii() and not unicodedata.category(c).startswith(("L", "M")) for c in token
        ):
            garbled += 1
            garbled_chars += len(token)
    return SyllableScore(valid, invalid, garbled, garbled_chars, non_ascii_chars)
