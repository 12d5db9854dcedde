"""Tests for analyzers._segment.Segmenter: pyvi identity, spans, user words, pickling, long lines."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from pyvi import ViTokenizer as pyvi_tokenizer

from analyzers import ANALYZER_VERSION
from analyzers._model import MODEL_ID
from analyzers._segment import Segmenter
from corpus import Document
from index import Index, IndexVersionError
from index._meta import read_meta, write_meta
from real_text import needs_data, real_lines, shipped_lines


# The opening of the seed article (../shared/data/seed/bacson_2020-06-12.txt, public news text).
BAC_SON = (
    "Ngày 12/6/2020, Ban Chấp hành Đảng bộ huyện Bắc Sơn tổ chức hội nghị sơ kết công tác "
    "lãnh đạo, chỉ đạo 6 tháng đầu năm và triển khai nhiệm vụ công tác trọng tâm 6 tháng "
    "cuối năm 2020. Theo đó, tổng diện tích gieo trồng vụ Đông - Xuân đạt trên 6.067ha, "
    "đạt 98,15% kế hoạch; trồng rừng mới được hơn 641ha, đạt 120% kế hoạch…"
)


def pyvi_style(text: str, words: list[tuple[tuple[int, int], ...]]) -> str:
    return " ".join("_".join(text[s:e] for s, e in w) for w in words)


def surface(text: str, words: list[tuple[tuple[int, int], ...]]) -> list[str]:
    return ["_".join(text[s:e] for s, e in w) for w in words]


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def _assert_identical(seg: Segmenter, lines: list[str]) -> None:
    mismatches = [
        (line, ours, theirs)
        for line in lines
        if (ours := pyvi_style(line, seg.segment(line)))
        != (theirs := pyvi_tokenizer.tokenize(line))
    ]
    assert not mismatches, f"{len(mismatches)} of {len(lines)} differ, first: {mismatches[0]}"


def pyvi_tokens(text: str) -> list[str]:
    """pyvi's own syllable tokens (its regular expression, not ours)."""
    return pyvi_tokenizer.ViTokenizer.sylabelize(text)[1]


def test_identical_to_pyvi_on_shipped_real_lines(seg: Segmenter) -> None:
    # The analyzer hands the segmenter NFC text; the fixture documents include one stored in NFD.
    lines = [unicodedata.normalize("NFC", line) for line in shipped_lines()]
    assert len(lines) > 700
    _assert_identical(seg, lines)


@needs_data
def test_identical_to_pyvi_on_5000_real_sentences(seg: Segmenter) -> None:
    lines = real_lines()
    # All 2,523 UD-VTB sentences plus every third law or Wikipedia line: 5,743 in all.
    sample = lines[:2523] + lines[2523::3]
    assert len(sample) >= 5000
    _assert_identical(seg, sample)


@pytest.mark.slow
@needs_data
def test_identical_to_pyvi_on_all_real_lines() -> None:
    lines = real_lines()
    assert len(lines) > 12000
    _assert_identical(Segmenter(cache_size=0), lines)


def test_identical_to_pyvi_on_awkward_tokens(seg: Segmenter) -> None:
    # Abbreviations, numbers, e-mail, URL, arrows, ellipses, all-caps and mixed scripts.
    for line in [
        BAC_SON,
        "TP. HCM, Tp. Hà Nội và ThS. Nguyễn Văn A gửi thư tới a.b@gmail.com ==> xem https://vnexpress.net/a-b.html",
        "GIÁ VÀNG HÔM NAY TĂNG MẠNH... Ông Mr. Smith -> Hà Nội >> 1.234.567,89 đồng",
        "CHƯƠNG I NHỮNG QUY ĐỊNH CHUNG",
        "  khoảng trắng   ở đầu và cuối  ",
        "Học_sinh dùng dấu gạch dưới",
        "x",
    ]:
        assert pyvi_style(line, seg.segment(line)) == pyvi_tokenizer.tokenize(line), line


def test_spans_are_pyvi_tokens_in_order(seg: Segmenter) -> None:
    words = seg.segment(BAC_SON)
    spans = [span for word in words for span in word]
    assert [BAC_SON[s:e] for s, e in spans] == pyvi_tokens(BAC_SON)
    # Strictly increasing, and nothing but whitespace is left between tokens.
    ends = [0] + [e for _, e in spans]
    for (s, e), previous_end in zip(spans, ends):
        assert previous_end <= s < e
        assert BAC_SON[previous_end:s].strip() == ""
    assert ["Ban_Chấp_hành", "Đảng_bộ", "huyện", "Bắc_Sơn"] == surface(BAC_SON, words)[7:11]
    # Punctuation is always a one-span word.
    assert all(len(w) == 1 for w in words if BAC_SON[w[0][0] : w[0][1]] in {",", ".", ";", "…"})


def test_nfd_source_text_normalised_to_nfc(seg: Segmenter) -> None:
    nfd = unicodedata.normalize("NFD", BAC_SON)
    assert nfd != BAC_SON and len(nfd) > len(BAC_SON)
    text = unicodedata.normalize("NFC", nfd)
    words = seg.segment(text)
    assert words == seg.segment(BAC_SON)
    assert surface(text, words)[7] == "Ban_Chấp_hành"
    first = words[7]
    assert text[first[0][0] : first[-1][1]] == "Ban Chấp hành"


def test_offsets_across_lines_index_the_whole_text(seg: Segmenter) -> None:
    lines = ["Skip to main content", "", "Hà Nội mùa thu\r", "   Đảng bộ huyện Bắc Sơn."]
    text = "\n".join(lines)
    words = seg.segment(text)
    expected = []
    start = 0
    for line in lines:
        expected += [tuple((s + start, e + start) for s, e in w) for w in seg.segment(line)]
        start += len(line) + 1
    assert words == expected
    assert surface(text, words)[-4:] == ["Đảng_bộ", "huyện", "Bắc_Sơn", "."]
    assert "Hà_Nội" in surface(text, words)
    # No word contains a newline.
    assert all("\n" not in text[w[0][0] : w[-1][1]] for w in words)


def test_empty_and_blank_input(seg: Segmenter) -> None:
    assert seg.segment("") == []
    assert seg.segment(" \n\t \n") == []


def test_user_word_joins_pyvi_words() -> None:
    text = "Ban Chấp hành Đảng bộ huyện Bắc Sơn khóa XXII"
    assert surface(text, Segmenter().segment(text)) == [
        "Ban_Chấp_hành", "Đảng_bộ", "huyện", "Bắc_Sơn", "khóa", "XXII"
    ]
    seg = Segmenter(user_words=["Đảng bộ huyện", "Bắc Sơn"])
    assert surface(text, seg.segment(text)) == [
        "Ban_Chấp_hành", "Đảng_bộ_huyện", "Bắc_Sơn", "khóa", "XXII"
    ]


def test_user_word_inside_pyvi_word_splits_it() -> None:
    text = "Ban Chấp hành Trung ương Đảng"
    seg = Segmenter(user_words=["chấp hành"])
    assert surface(text, seg.segment(text)) == ["Ban", "Chấp_hành", "Trung_ương", "Đảng"]
    # A match straddling two pyvi words cuts both; the remainders stay words.
    seg = Segmenter(user_words=["hành Trung"])
    assert surface(text, seg.segment(text)) == ["Ban_Chấp", "hành_Trung", "ương", "Đảng"]


def test_user_words_case_insensitive_longest_first() -> None:
    seg = Segmenter(user_words=["ĐẢNG BỘ", "đảng bộ huyện bắc sơn", "  "])
    assert len(seg.user_words) == 2
    text = "đảng bộ HUYỆN Bắc Sơn và Đảng bộ tỉnh"
    assert surface(text, seg.segment(text)) == [
        "đảng_bộ_HUYỆN_Bắc_Sơn", "và", "Đảng_bộ", "tỉnh"
    ]


def test_user_words_with_punctuation_tokens() -> None:
    # User words are cut into tokens by pyvi's rules, so "TP. Hồ Chí Minh" is 4 tokens.
    seg = Segmenter(user_words=["TP. Hồ Chí Minh"])
    text = "Ông về TP. Hồ Chí Minh hôm qua"
    assert "TP._Hồ_Chí_Minh" in surface(text, seg.segment(text))


def test_pickle_round_trip() -> None:
    seg = Segmenter(user_words=["Đảng bộ huyện"], cache_size=7)
    before = seg.segment(BAC_SON)  # loads the model and fills the cache
    data = pickle.dumps(seg)
    assert len(data) < 2_000, "model, tagger or cache leaked into the pickle"
    copy = pickle.loads(data)
    assert copy.cache_size == 7 and copy.user_words == seg.user_words
    assert copy.segment(BAC_SON) == before
    assert "Đảng_bộ_huyện" in surface(BAC_SON, before)


def test_cache_is_lru_and_does_not_change_results() -> None:
    seg = Segmenter(cache_size=2)
    uncached = Segmenter(cache_size=0)
    lines = ["Hà Nội mùa thu", "Đảng bộ huyện Bắc Sơn", "Hà Nội mùa thu", "tổ chức hội nghị"]
    for line in lines * 2:
        assert seg.segment(line) == uncached.segment(line)
    assert list(seg._cache) == ["Hà Nội mùa thu", "tổ chức hội nghị"]
    assert not uncached._cache


def test_long_line_cut_at_sentence_ends_keeps_offsets() -> None:
    sentences = [
        "Ban Chấp hành Đảng bộ huyện Bắc Sơn tổ chức hội nghị sơ kết công tác lãnh đạo.",
        "Trồng rừng mới được hơn 641ha, đạt 120% kế hoạch!",
        "Tổng thu ngân sách trên địa bàn đã được 23,8 tỷ đồng, đạt gần 72%;",
    ]
    text = "  " + " ".join(sentences * 40)
    limit = 60
    seg = Segmenter(max_syllables=limit)
    words = seg.segment(text)
    tokens = pyvi_tokens(text)
    assert len(tokens) > 20 * limit
    assert [text[s:e] for w in words for s, e in w] == tokens

    # Every cut falls after sentence punctuation, so each sentence is segmented exactly
    # as it is on its own, at its own offset.
    expected = []
    start = 2
    for sentence in sentences * 40:
        expected += [tuple((s + start, e + start) for s, e in w) for w in seg.segment(sentence)]
        start += len(sentence) + 1
    assert words == expected


def test_long_line_without_punctuation_is_hard_cut() -> None:
    text = " ".join(["hội nghị sơ kết công tác lãnh đạo"] * 50)  # 400 syllables, no stops
    limit = 99
    words = Segmenter(max_syllables=limit).segment(text)
    spans = [span for w in Segmenter(max_syllables=1000).segment(text) for span in w]
    assert [text[s:e] for s, e in spans] == text.split() == pyvi_tokens(text)
    assert [text[s:e] for w in words for s, e in w] == text.split()

    # Cuts every 99 syllables; each piece is segmented as if it stood alone.
    whole = Segmenter()
    expected = []
    for lo in range(0, len(spans), limit):
        piece = spans[lo : lo + limit]
        start = piece[0][0]
        sub = text[start : piece[-1][1]]
        expected += [tuple((s + start, e + start) for s, e in w) for w in whole.segment(sub)]
    assert words == expected
    # Syllables 98 and 99 are "sơ kết": pyvi joins them, the hard cut cannot.
    assert (spans[98], spans[99]) in whole.segment(text)
    assert (spans[98],) in words and (spans[99],) in words


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Segmenter(cache_size=-1)
    with pytest.raises(ValueError):
        Segmenter(max_syllables=1)


def test_shared_between_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    lines = [s.strip() + "." for s in BAC_SON.split(".") if s.strip()] * 30
    expected = [Segmenter(cache_size=0).segment(line) for line in lines]
    seg = Segmenter(cache_size=3)  # tiny cache: constant eviction while threads race
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(seg.segment, lines)) == expected


def test_indexing_and_searching_leave_nothing_in_the_temp_folder(tmp_path: Path) -> None:
    # sklearn-crfsuite unpickles pyvi's model into a model*.crfsuite temp file, left behind by
    # any process that does not exit cleanly; the segmenter reads the model bytes without it.
    temp = tmp_path / "temp"
    temp.mkdir()
    code = (
        "import os, sys, tempfile\n"
        "from corpus import Document\n"
        "from index import Index\n"
        "from searcher import Searcher\n"
        "Index.create(sys.argv[1]).add_documents([Document(id='1', title='Bắc Sơn', text='Tài liệu lưu trữ')], workers=1)\n"
        "with Searcher.open(sys.argv[1]) as s:\n"
        "    assert s.search_ids('tài liệu', limit=1)\n"
        "print(sorted(os.listdir(tempfile.gettempdir())))\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ix")], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "TMPDIR": str(temp)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"  # nothing while the process runs
    assert os.listdir(temp) == []  # nor after it


def test_a_changed_model_file_is_refused_with_one_line(tmp_path: Path) -> None:
    # A copy of pyvi whose word list differs by one line, first on the path: loading the
    # segmenter (here through `vnsearch search`) must stop with one clear line, not segment
    # differently against an index built with the real model.
    import pyvi

    fake = tmp_path / "site" / "pyvi"
    shutil.copytree(Path(pyvi.__file__).parent, fake)
    words = fake / "models" / "words.txt"
    words.write_bytes(words.read_bytes() + "nông thôn mới\n".encode())
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), str(root)]),
           "VNSEARCH_INDEX": str(tmp_path / "ix")}
    Index.create(tmp_path / "ix")
    proc = subprocess.run([sys.executable, "-c", "from searcher.cli import main; main()", "search", "nông thôn"], cwd=root, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    first, *rest = proc.stderr.strip().split("\n")
    assert first.startswith("Error: pyvi's model file") and "words.txt" in first and "sha256 differs" in first
    assert rest == ["Install the pyvi version vnsearch pins: pip install --force-reinstall vnsearch"]


def test_the_model_hash_is_recorded_in_the_index_and_checked(tmp_path: Path) -> None:
    assert MODEL_ID in ANALYZER_VERSION
    path = tmp_path / "ix"
    Index.create(path).add_documents([Document(id="1", title="Bắc Sơn", text="tài liệu")], workers=1)
    assert read_meta(path).analyzer_version == ANALYZER_VERSION
    other_model = ANALYZER_VERSION.replace(MODEL_ID, "pyvi-0.1.1-000000000000")
    write_meta(path, dataclasses.replace(read_meta(path), analyzer_version=other_model))
    with pytest.raises(IndexVersionError) as err:
        Index.open(path)
    assert "reindex" in (err.value.hint or "")
    # Indexes from before the hash was recorded ("vi-1") were built with this same model.
    write_meta(path, dataclasses.replace(read_meta(path), analyzer_version="vi-1"))
    assert Index.open(path).doc_count() == 1
