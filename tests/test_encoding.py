"""Decoding Vietnamese bytes: UTF-8/16, Windows-1258, and the TCVN3 and VNI font encodings."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from corpus import InputError, decode_bytes
from corpus._encoding import charset_from_content_type, sniff_declared_charset
from corpus._legacy_vn import (is_vietnamese_syllable, syllable_score, tcvn3_to_unicode, unicode_to_tcvn3,
                               unicode_to_vni, vni_to_unicode)

SEED = Path(__file__).parent / "data" / "pages" / "bacson_2020-06-12.txt"
TONES = "\u0300\u0301\u0303\u0309\u0323"


@pytest.fixture(scope="module")
def seed_text() -> str:
    """The seed article's title and first paragraphs (real Vietnamese, every tone mark)."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return "\n".join(lines[1:4])


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese software wrote it: base letters (â, ơ, đ ...) precomposed,
    tone marks as separate combining bytes. Python's cp1258 codec does the byte mapping."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            ch.encode("cp1258")
            out.append(ch)
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out.append(base + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")


# Hard-coded TCVN3 bytes from outside this code base, so the tests are not circular:
# glibc iconv's TCVN5712-1 encoder (`iconv -t TCVN5712-1`), and the examples of a public
# JavaScript converter (convertTcvn3ToUnicode: "B¶o Th¾ng" -> "Bảo Thắng", "B¸t X¸t" -> "Bát Xát").
TCVN3_SAMPLES = [
    (b"Ban Ch\xcap h\xb5nh \xa7\xb6ng b\xe9 huy\xd6n B\xbec S\xacn s\xac k\xd5t c\xabng t\xb8c l\xb7nh \xae\xb9o",
     "Ban Chấp hành Đảng bộ huyện Bắc Sơn sơ kết công tác lãnh đạo"),
    (b"ng\xad\xeai d\xa9n \xae\xad\xeec h\xad\xebng l\xeei", "người dân được hưởng lợi"),
    ("B¶o Th¾ng".encode("latin-1"), "Bảo Thắng"),
    ("B¸t X¸t".encode("latin-1"), "Bát Xát"),
]
# VNI from the README of duydev/vietnamese-conversion ("Xin chào các bạn" -> "Xin chaøo caùc baïn")
# and the spellings of lamdao/xvnkb vni.h ("aù" á, "oâ" ô, "ö" ư, "ñ" đ).
VNI_SAMPLES = [
    ("Xin chaøo caùc baïn".encode("cp1252"), "Xin chào các bạn"),
    ("Ñaûng boä huyeän Baéc Sôn".encode("cp1252"), "Đảng bộ huyện Bắc Sơn"),
    ("ngöôøi daân ñöôïc höôûng lôïi".encode("cp1252"), "người dân được hưởng lợi"),
]


@pytest.mark.parametrize(("data", "expected"), TCVN3_SAMPLES)
def test_tcvn3_public_samples_convert(data: bytes, expected: str) -> None:
    assert tcvn3_to_unicode(data.decode("latin-1")) == expected


@pytest.mark.parametrize(("data", "expected"), VNI_SAMPLES)
def test_vni_public_samples_convert(data: bytes, expected: str) -> None:
    assert vni_to_unicode(data.decode("cp1252")) == expected


def test_tcvn3_bytes_are_detected_in_a_document() -> None:
    data = b"\n".join(sample for sample, _ in TCVN3_SAMPLES[:2]) * 3
    text = decode_bytes(data)
    assert "Ban Chấp hành Đảng bộ huyện Bắc Sơn" in text
    assert "người dân được hưởng lợi" in text


def test_vni_bytes_are_detected_in_a_document() -> None:
    data = b"\n".join(sample for sample, _ in VNI_SAMPLES) * 3
    assert decode_bytes(data).splitlines()[1] == "Đảng bộ huyện Bắc Sơn"


def test_seed_round_trips_through_tcvn3(seed_text: str) -> None:
    # TCVN3 has no en dash or ellipsis: the original typists used ASCII.
    text = seed_text.replace("–", "-").replace("…", "...")
    encoded = unicode_to_tcvn3(text)
    assert encoded != text.encode("utf-8")
    assert decode_bytes(encoded) == text


def test_seed_round_trips_through_vni(seed_text: str) -> None:
    assert decode_bytes(unicode_to_vni(seed_text)) == seed_text


def test_windows_1258_combining_tones_become_nfc(seed_text: str) -> None:
    data = to_cp1258(seed_text)
    assert b"\xcc" in data or b"\xec" in data  # combining grave/acute bytes: really decomposed
    text = decode_bytes(data)
    assert text == seed_text
    assert unicodedata.is_normalized("NFC", text)


def test_declared_windows_1258_is_honoured(seed_text: str) -> None:
    assert decode_bytes(to_cp1258(seed_text), declared="windows-1258") == seed_text


def test_declared_latin1_is_overruled_by_tcvn3_content() -> None:
    data = TCVN3_SAMPLES[0][0] * 3
    assert decode_bytes(data, declared="iso-8859-1").startswith("Ban Chấp hành Đảng bộ")


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_unicode_forms(codec: str, seed_text: str) -> None:
    assert decode_bytes(seed_text.encode(codec)) == seed_text


def test_nfd_utf8_becomes_nfc(seed_text: str) -> None:
    text = decode_bytes(unicodedata.normalize("NFD", seed_text).encode("utf-8"))
    assert text == seed_text


def test_utf8_holding_tcvn3_mojibake_is_repaired() -> None:
    # A TCVN3 file once opened as Latin-1 and saved as UTF-8.
    mojibake = TCVN3_SAMPLES[0][0].decode("latin-1") * 2
    assert decode_bytes(mojibake.encode("utf-8")).startswith("Ban Chấp hành Đảng bộ huyện Bắc Sơn")


def test_plain_western_text_is_left_alone() -> None:
    assert decode_bytes("Élève à Paris, café crème".encode("cp1252")) == "Élève à Paris, café crème"


def test_declared_non_vietnamese_charset_is_used() -> None:
    data = "中文搜索引擎测试文本".encode("gbk")
    assert decode_bytes(data, declared="gbk") == "中文搜索引擎测试文本"


@pytest.mark.parametrize(("text", "codec"), [
    ("中文搜索引擎测试文本，这是一段中文。" * 5, "gbk"),
    ("日本語のテキストです。検索エンジン" * 5, "shift_jis"),
    ("Привет, как дела? Это проверка поисковой системы." * 3, "koi8-r"),
])
def test_undeclared_non_vietnamese_encodings_fall_back_on_charset_normalizer(text: str, codec: str) -> None:
    assert decode_bytes(text.encode(codec)) == text


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 3,
])
def test_undeterminable_bytes_raise_input_error(data: bytes) -> None:
    with pytest.raises(InputError, match="cannot determine the text encoding") as info:
        decode_bytes(data)
    assert info.value.hint


def test_bad_bom_raises() -> None:
    with pytest.raises(InputError):
        decode_bytes(codecs.BOM_UTF8 + b"\xff\xfe\xfa")


def test_charset_declarations_are_found() -> None:
    assert charset_from_content_type("text/html; charset=TCVN3") == "tcvn3"
    assert sniff_declared_charset(b'<html><head><meta charset="windows-1258">') == "windows-1258"
    assert sniff_declared_charset(
        b'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">') == "utf-8"
    assert sniff_declared_charset(b"<html><body>no declaration") is None


def test_syllable_score_prefers_real_vietnamese() -> None:
    assert is_vietnamese_syllable("nghiêng") and is_vietnamese_syllable("Đảng")
    assert not is_vietnamese_syllable("chaøo") and not is_vietnamese_syllable("tắá")
    real, garbled = syllable_score("Bảo Thắng Bát Xát"), syllable_score("B¶o Th¾ng B¸t X¸t")
    assert real.valid == 4 and real.invalid == 0
    assert garbled.value < real.value and garbled.garbled == 4
