"""Our reading of pyvi's crfsuite model and our Viterbi against crfsuite itself (pycrfsuite).

The segmenter never calls crfsuite; these tests keep it honest: the parsed weights are the
model's, and the labels equal ``pycrfsuite.Tagger.tag`` on pyvi's own features, item for
item, on the real lines shipped in ``tests/data`` (thousands more with ``../shared``) and on
long sequences. The reference side uses nothing of ours: pyvi's model is unpickled by pickle
and sklearn-crfsuite (which hands the model file to pycrfsuite), and the tokens come from
pyvi's own regular expression (``ViTokenizer.sylabelize``).
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import pytest

import pycrfsuite
from pyvi import ViTokenizer as pyvi_tokenizer

from analyzers._crf import parse_model
from analyzers._segment import Segmenter, _is_space, _load_model, _spans, _tokens
from real_text import DATA, needs_data, real_lines, shipped_lines

PYVI_CRF = pyvi_tokenizer.ViTokenizer.model  # pyvi's pickle, unpickled by pickle and sklearn-crfsuite


@pytest.fixture(scope="module")
def tagger() -> pycrfsuite.Tagger:
    return PYVI_CRF.tagger_


def pyvi_tokens(text: str) -> list[str]:
    """pyvi's syllable tokens, by pyvi's own regular expression (``text`` is NFC)."""
    return pyvi_tokenizer.ViTokenizer.sylabelize(text)[1]


def test_model_bytes_are_the_ones_sklearn_crfsuite_unpickles() -> None:
    # Our stand-in unpickler takes the same crfsuite model file out of pyvi's pickle as the
    # real classes do (sklearn-crfsuite writes it to a file for pycrfsuite).
    assert _load_model()[0] == Path(PYVI_CRF.modelfile.name).read_bytes()


def _dump(tagger: pycrfsuite.Tagger) -> str:
    # Tagger.info() cannot parse this model's dump (an attribute trips its regex), so read
    # crfsuite's text dump ourselves.
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        tagger.dump(path)
        return Path(path).read_bytes().decode("utf-8", "replace")
    finally:
        os.unlink(path)


def test_parsed_weights_match_crfsuite_dump(tagger: pycrfsuite.Tagger) -> None:
    model = parse_model(Path(PYVI_CRF.modelfile.name).read_bytes())
    assert sorted(model.labels) == ["B_W", "I_W"]
    assert model.labels == tuple(tagger.labels())
    dump = _dump(tagger)
    line = re.compile(r"^  \((\d)\) (.+) --> (\S+): (-?\d+\.\d{6})$")
    transitions = states = 0
    for text in dump.split("\n"):
        m = line.match(text)
        if not m:
            continue
        ftype, src, dst, weight = int(m[1]), m[2], m[3], float(m[4])
        j = model.labels.index(dst)
        if ftype == 1:
            ours = model.trans[model.labels.index(src)][j]
            transitions += 1
        else:
            ours = model.state[src][j]
            states += 1
        # The dump prints "%f": six decimals.
        assert abs(ours - weight) <= 5e-7 + 1e-12, text
    assert transitions == 4
    features = sum(1 for w in model.state.values() for x in w if x != 0.0)
    assert states >= 0.99 * features > 10_000
    assert len(model.state) == 6335


def _pyvi_labels(tagger: pycrfsuite.Tagger, tokens: list[str]) -> list[str]:
    return tagger.tag(pyvi_tokenizer.ViTokenizer.sent2features(tokens, False))


def _assert_labels_equal(tagger: pycrfsuite.Tagger, lines: list[str]) -> None:
    seg = Segmenter(cache_size=0)
    mismatches = []
    for line in lines:
        tokens = pyvi_tokens(line)
        if tokens and seg._labels(tokens) != _pyvi_labels(tagger, tokens):
            mismatches.append(line)
    assert not mismatches, f"{len(mismatches)} of {len(lines)} differ, first: {mismatches[0]!r}"


def test_viterbi_labels_equal_crfsuite_on_shipped_lines(tagger: pycrfsuite.Tagger) -> None:
    lines = [unicodedata.normalize("NFC", line) for line in shipped_lines()]
    assert len(lines) > 700
    _assert_labels_equal(tagger, lines)


@needs_data
def test_viterbi_labels_equal_crfsuite_on_real_lines(tagger: pycrfsuite.Tagger) -> None:
    sample = real_lines()[::2]
    assert len(sample) > 6000
    _assert_labels_equal(tagger, sample)


@needs_data
def test_viterbi_labels_equal_crfsuite_on_long_sequences(tagger: pycrfsuite.Tagger) -> None:
    # Many lines run together: sequences of 500 to 3,000 tokens, where scores grow large and
    # rounding has the most room to differ.
    seg = Segmenter(cache_size=0)
    tokens = [token for line in real_lines()[:4000] for token in pyvi_tokens(line)]
    checked = 0
    for size in (500, 1200, 3000):
        for lo in range(0, min(len(tokens), 40 * size), 7 * size):
            piece = tokens[lo : lo + size]
            assert seg._labels(piece) == _pyvi_labels(tagger, piece), (size, lo)
            checked += 1
    assert checked >= 15


@needs_data
def test_batch_scoring_equals_one_sequence_at_a_time() -> None:
    # Sequences scored together (separators between them) label as when scored alone.
    seg = Segmenter(cache_size=0)
    seqs = [pyvi_tokens(line) for line in real_lines()[:300]]
    seqs = [s for s in seqs if s]
    labels, _starts, firsts, _low = seg._tag(seqs)
    for seq, q in zip(seqs, firsts):
        names = [("B_W", "I_W")[y] for y in labels[q : q + len(seq)]]
        assert names == seg._labels(seq)


def test_labels_of_awkward_tokens(tagger: pycrfsuite.Tagger) -> None:
    seg = Segmenter()
    for line in [
        "TP. HCM, Tp. Hà Nội và ThS. Nguyễn Văn A gửi thư tới a.b@gmail.com ==> xem https://x.vn/a",
        "GIÁ VÀNG HÔM NAY TĂNG MẠNH... 1.234.567,89 đồng ² ½ ٣",
        "x",
        "Học_sinh : : ; ; ...",
        "nul \x00 byte \x00",
    ]:
        tokens = pyvi_tokens(line)
        assert seg._labels(tokens) == _pyvi_labels(tagger, tokens), line


def _pyvi_spans(line: str, offset: int) -> list[tuple[int, int]]:
    """Where pyvi's tokens lie in ``line``: in order, only whitespace between them."""
    spans = []
    pos = 0
    for token in pyvi_tokens(line):
        start = line.index(token, pos)
        assert line[pos:start].strip() == "", (line, token)
        spans.append((offset + start, offset + start + len(token)))
        pos = start + len(token)
    assert line[pos:].strip() == ""
    return spans


def test_fast_tokens_and_spans_equal_pyvi() -> None:
    lines = [
        "TP. HCM, Tp. Hà Nội và ThS. Nguyễn Văn A gửi thư tới a.b@gmail.com ==> xem https://x.vn/a-b",
        "  khoảng\u00a0trắng\u3000và\ttab  \u2028 ở đầu và cuối  ",
        "GIÁ VÀNG... 1.234.567,89 đồng -> >> Mr.Smith ²³ ½ ٣٤ x_y __ 𝔘𝔫𝔦",
        "nul\x00byte và \ud800 lone surrogate",
        "a",
    ]
    lines += [unicodedata.normalize("NFC", line) for line in shipped_lines()]
    if DATA.is_dir():
        lines += real_lines()[::5]
    text = "\n".join(lines)
    starts = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    token_lists = [_tokens(line) for line in lines]
    for line, tokens in zip(lines, token_lists):
        assert tokens == pyvi_tokens(line), line
    expected = [_pyvi_spans(line, s) for s, line in zip(starts, lines)]
    assert _spans(text, starts, token_lists, 0) == expected
    # The first lines' spans relative to their line.
    relative = _spans(text, starts, token_lists, 3)
    assert relative[:3] == [_pyvi_spans(line, 0) for line in lines[:3]]
    assert relative[3:] == expected[3:]


def test_is_space_is_str_isspace_everywhere() -> None:
    import numpy as np

    chars = np.arange(0x110000, dtype=np.uint32)
    ours = _is_space(chars)
    assert np.flatnonzero(ours).tolist() == [c for c in range(0x110000) if chr(c).isspace()]
