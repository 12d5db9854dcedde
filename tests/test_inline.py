"""Inlined postings (short lists kept in the term table): the segment builder writes them as
pickles in pickle's narrowest exact opcodes; ``pickle`` and the merge's array parser read them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from index._merge import _parse_inlined
from index._segments import _inline_pickles, _joined, _Postings

Term = tuple[list[int], list[float], list[bytes]]

CASES: list[Term] = [
    ([3], [1.0], [b"\x00\x00\x00\x01"]),  # a frequency: M id, K weight, C value
    ([0, 70_000], [2.0, 1.0], [b"\x00\x00\x00\x02", b"\x00\x00\x00\x01"]),  # J ids
    ([5, 6, 7], [1.5, 300.0, 2.0], [b"x" * 300, b"p", b"abc"]),  # G weights, a B value
    ([10, 65_535], [255.0, 0.0], [b"y" * 255, b"z" * 256]),
    ([1, 2], [256.0, 1.0], [b"", b"q"]),  # an empty value: all values empty, as Whoosh has them
    ([9], [1.0], [b""]),
]


def _random_terms(n: int) -> list[Term]:
    rng = np.random.default_rng(7)
    terms: list[Term] = []
    for k in range(n):
        df = int(rng.integers(1, 9))
        ids = sorted(rng.choice(200_000 if k % 3 else 60_000, df, replace=False).tolist())
        weights = [float(w) for w in rng.integers(0, 300, df)]
        values = [rng.integers(0, 256, int(rng.integers(1, 400))).astype(np.uint8).tobytes() for _ in range(df)]
        terms.append((ids, weights, values))
    return terms


def _pickles(terms: list[Term]) -> list[bytes]:
    counts = np.array([len(t[0]) for t in terms], dtype=np.int64)
    starts = np.cumsum(counts) - counts
    weights = np.array([w for t in terms for w in t[1]], dtype=np.float64)
    valuebytes, valueoffsets = _joined([v for t in terms for v in t[2]])
    postings = _Postings([b"t%d" % i for i in range(len(terms))], np.append(starts, counts.sum()),
                         np.array([d for t in terms for d in t[0]], dtype=np.int64), weights,
                         valuebytes, valueoffsets)
    return _inline_pickles(postings, weights, starts, counts)


def _expected_values(values: list[bytes]) -> tuple[bytes, ...]:
    return tuple(values) if all(values) else (b"",) * len(values)


@pytest.fixture(scope="module")
def terms() -> list[Term]:
    return CASES + _random_terms(300)


def test_inlined_postings_unpickle_to_what_was_written(terms: list[Term]) -> None:
    pickles = _pickles(terms)
    for (ids, weights, values), data in zip(terms, pickles, strict=True):
        got_ids, got_weights, got_values = pickle.loads(data)
        assert list(got_ids) == ids and [float(w) for w in got_weights] == weights
        assert got_values == _expected_values(values)
    # The narrow opcodes: one posting of a frequency field in 21 bytes (format 1's layout: 33).
    assert len(pickles[0]) == 21


def test_the_merge_parses_every_inlined_list_the_builder_writes(terms: list[Term]) -> None:
    pickles = _pickles(terms)
    data = b"".join(pickles)
    buf = np.frombuffer(data, dtype=np.uint8)
    lengths = np.array([len(p) for p in pickles], dtype=np.int64)
    entry = np.cumsum(lengths) - lengths
    df = np.array([len(t[0]) for t in terms], dtype=np.int64)
    ok, ids, weights, vbytes, vsize = _parse_inlined(buf, entry, lengths, df, np.ones(len(terms), dtype=bool), True)
    assert ok.all()  # none left to pickle
    assert ids.tolist() == [d for t in terms for d in t[0]]
    assert weights.tolist() == [w for t in terms for w in t[1]]
    values = [v for t in terms for v in _expected_values(t[2])]
    assert vbytes == b"".join(values) and vsize.tolist() == [len(v) for v in values]


def test_the_merge_parses_whoosh_s_protocol_4_layout_of_format_1_too() -> None:
    # Format 1's builder wrote J ids, G weights and B values in every list.
    data = (b"\x80\x04(J\x05\x00\x00\x00J\x07\x00\x00\x00t(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00"
            b"\x00\x00t(B\x04\x00\x00\x00\x00\x00\x00\x01B\x04\x00\x00\x00\x00\x00\x00\x02t\x87.")
    assert pickle.loads(data) == ((5, 7), (1.0, 2.0), (b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"))
    buf = np.frombuffer(data, dtype=np.uint8)
    one = np.ones(1, dtype=bool)
    ok, ids, weights, vbytes, vsize = _parse_inlined(buf, np.zeros(1, dtype=np.int64), np.array([len(data)]),
                                                     np.array([2]), one, True)
    assert ok.all() and ids.tolist() == [5, 7] and weights.tolist() == [1.0, 2.0]
    assert vbytes == b"\x00\x00\x00\x01\x00\x00\x00\x02" and vsize.tolist() == [4, 4]
