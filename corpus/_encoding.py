"""Bytes to Unicode text, for Vietnamese pages old and new.

Order of trust: a byte-order mark; then valid UTF-8; then the charset the page or server
declares, if it decodes cleanly and reads no worse than the alternatives; then the best
scoring of the single-byte readings Vietnamese text has used (Windows-1258, and the TCVN3
and VNI font encodings, which look like Windows-1252 to any decoder); last, for bytes that none
of these reads plausibly (an undeclared GBK, Shift-JIS, KOI8... page), charset_normalizer's
detection. Every result is NFC: Windows-1258 and some UTF-8 producers write tone marks as
combining characters.

This is the one place that finds a charset: the cleaner, the WARC reader and the fetcher all
use :func:`charset_from_content_type`, :func:`sniff_declared_charset` and :func:`decode_bytes`.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from collections.abc import Callable

from ._errors import InputError
from ._legacy_vn import SyllableScore, syllable_score, tcvn3_to_unicode, vni_to_unicode

log = logging.getLogger(__name__)

_HINT = "Convert the file to UTF-8 (for example with iconv) and try again."
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_CONTENT_TYPE_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# Control characters that never occur in text; many of them mean binary data or a wrong codec.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")

_LEGACY_NAMES = {"tcvn3": "tcvn3", "tcvn": "tcvn3", "abc": "tcvn3", "vn3": "tcvn3", "tcvn-5712": "tcvn3",
                 "tcvn5712-1": "tcvn3", "vni": "vni", "vni-windows": "vni"}


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of an HTTP ``Content-Type`` header, if any.

    >>> charset_from_content_type('text/html; charset="windows-1258"')
    'windows-1258'
    """
    if not content_type:
        return None
    m = _CONTENT_TYPE_CHARSET_RE.search(content_type)
    return m.group(1).lower() if m else None


def sniff_declared_charset(data: bytes) -> str | None:
    """The charset an HTML or XML document declares in its first 4 KB (``<meta charset>``,
    ``http-equiv`` Content-Type, or the XML declaration), lower-cased, or None."""
    head = data[:4096]
    m = _XML_ENCODING_RE.match(head) or _META_CHARSET_RE.search(head)
    return m.group(1).decode("ascii").lower() if m else None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` to NFC text, detecting Vietnamese legacy encodings.

    ``declared`` is the charset the server or the page names; it is used when it decodes
    without error and the text reads as well as any other candidate (pages often declare
    ``iso-8859-1`` while holding TCVN3 or Windows-1258 bytes).

    Raises :class:`InputError` when no reading is plausible (binary data, or bytes of an
    unknown multi-byte encoding), rather than returning mojibake.

    >>> decode_bytes("Bắc Sơn".encode("utf-16"))
    'Bắc Sơn'
    >>> decode_bytes(b"B\\xb6o Th\\xbeng")  # TCVN3
    'Bảo Thắng'
    """
    text = _decode_by_bom(data)
    if text is None:
        text = _decode_utf16_without_bom(data)
    if text is not None:
        return _finish(text)
    if b"\x00" in data:
        raise InputError("cannot determine the text encoding (the data looks binary)", hint=_HINT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid UTF-8 can still carry legacy mojibake, converted byte for byte from Latin-1.
        return _finish(_repair_legacy(text))
    return _finish(_decode_single_byte(data, _normalise_name(declared)))


def _finish(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _decode_by_bom(data: bytes) -> str | None:
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                       (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(f"the data starts with a {codec} byte-order mark but is not {codec}",
                                 hint=_HINT) from exc
    return None


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text mostly in ASCII/Vietnamese has a zero in every other byte (Latin letters)
    or a small, steady high byte (U+1Exx for toned vowels); a NUL-free side tells the order."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    even_zero = sample[0::2].count(0) / (len(sample) / 2)
    odd_zero = sample[1::2].count(0) / (len(sample) / 2)
    if odd_zero > 0.3 and even_zero < 0.05:
        codec = "utf-16-le"
    elif even_zero > 0.3 and odd_zero < 0.05:
        codec = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    return None if _CONTROL_RE.search(text[:2000]) else text


def _normalise_name(declared: str | None) -> str | None:
    if not declared:
        return None
    name = declared.strip().strip("\"'").lower()
    if name in _LEGACY_NAMES:
        return _LEGACY_NAMES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        log.info("unknown declared charset %r ignored", declared)
        return None


def _cp1252(data: bytes) -> str:
    # Windows-1252 leaves five bytes undefined; font-encoded text may still hold them, and
    # Latin-1 is the byte-for-byte reading that keeps them.
    return data.decode("cp1252", errors="strict") if _cp1252_ok(data) else data.decode("latin-1")


def _cp1252_ok(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


_CANDIDATES: dict[str, Callable[[bytes], str]] = {
    "cp1252": _cp1252,
    "cp1258": lambda data: unicodedata.normalize("NFC", data.decode("cp1258")),
    "tcvn3": lambda data: tcvn3_to_unicode(_cp1252(data)),
    "vni": lambda data: vni_to_unicode(_cp1252(data)),
}


def _decode_single_byte(data: bytes, declared: str | None) -> str:
    readings: dict[str, str] = {}
    if declared and declared not in _CANDIDATES and declared not in ("utf-8", "latin-1"):
        try:
            readings[declared] = data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            log.info("declared charset %s does not decode the data; detecting", declared)
    for name, decode in _CANDIDATES.items():
        try:
            readings[name] = decode(data)
        except UnicodeDecodeError:
            continue
    scores = {name: syllable_score(text) for name, text in readings.items()}
    # A Vietnamese reading must read clearly as Vietnamese to win; otherwise the bytes are more
    # likely Western text (a short French text reads as a few odd "syllables" in TCVN3).
    for name in ("cp1258", "tcvn3", "vni"):
        if name in scores and name != declared and "cp1252" in scores and not _clearly_vietnamese(scores[name]):
            del readings[name], scores[name]
    best = max(scores, key=lambda name: (scores[name].value, name == declared))
    if declared in readings and declared != best and scores[declared].value >= scores[best].value:
        best = declared
    if declared and declared in readings and best != declared:
        log.info("declared charset %s reads worse than %s; using %s", declared, best, best)
    if not _plausible(readings[best], scores[best], trusted=best == declared):
        other = _detect_other(data)
        if other is None:
            raise InputError("cannot determine the text encoding", hint=_HINT)
        return other
    return readings[best]


def _clearly_vietnamese(score: SyllableScore) -> bool:
    return score.valid >= 2 * max(1, score.invalid)


def _detect_other(data: bytes) -> str | None:
    """charset_normalizer's reading of bytes in an encoding the Vietnamese readings do not
    cover, or None when it finds none (binary data) or its reading is still implausible."""
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None:
        return None
    try:
        text = data.decode(match.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    log.info("charset detected by charset_normalizer: %s", match.encoding)
    return text if _plausible(text, syllable_score(text), trusted=True) else None


def _plausible(text: str, score: SyllableScore, trusted: bool) -> bool:
    """Reject readings that are still mojibake: many control characters, or words that mix
    letters with symbols. A declared, non-Vietnamese charset that decoded cleanly is trusted."""
    if len(_CONTROL_RE.findall(text[:20000])) > 0.01 * min(len(text), 20000):
        return False
    if trusted:
        return True
    return score.garbled_chars <= max(12, 0.1 * score.non_ascii_chars)


def _repair_legacy(text: str) -> str:
    """Convert text that is TCVN3 or VNI mojibake (all characters below U+0100) if the
    conversion reads clearly better as Vietnamese; otherwise return it unchanged."""
    if all(ord(c) < 0x80 for c in text[:20000]) or any(ord(c) > 0xFF for c in text[:20000]):
        return text
    base = syllable_score(text)
    best, best_score = text, base
    for convert in (tcvn3_to_unicode, vni_to_unicode):
        candidate = convert(text)
        score = syllable_score(candidate)
        if score.value > best_score.value and score.valid >= 2 * max(1, score.invalid):
            best, best_score = candidate, score
    return best
