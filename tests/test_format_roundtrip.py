"""Format 3's packed postings and positions read back as written, whatever their sizes: widths of
1, 2 and 4 bytes, frequencies all 1 or not, terms of one posting or of many blocks of positions,
read a term at a time, a few postings' positions at a time, or a range of terms at once."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import fields
from whoosh.filedb.filestore import FileStorage

from index.format import BLOCK, ArrayCodec, ArrayTermsReader


def _random_field(rng: np.random.Generator, nterms: int, ndocs: int, long_docs: bool):
    btexts, starts, docs, freqs, positions = [], [0], [], [], []
    for t in range(nterms):
        df = int(rng.choice([1, 2, 5, BLOCK, 3 * BLOCK + 7, 1000]))
        df = min(df, ndocs)
        ds = np.sort(rng.choice(ndocs, size=df, replace=False))
        fs = np.ones(df, dtype=np.int64) if t % 3 == 0 else rng.integers(1, 300 if t % 5 == 0 else 4, size=df)
        btexts.append(b"t%05d" % t)
        docs.extend(ds.tolist())
        freqs.extend(fs.tolist())
        for f in fs.tolist():
            top = 70_000 if long_docs and t % 2 else 200
            positions.extend(np.sort(rng.choice(top + f, size=f, replace=False)).tolist())
        starts.append(len(docs))
    return btexts, np.array(starts), np.array(docs), np.array(freqs), np.array(positions)


@pytest.mark.parametrize("long_docs", [False, True])
def test_packed_terms_read_back_every_way(tmp_path, long_docs: bool) -> None:
    rng = np.random.default_rng(int(long_docs))
    ndocs = 100_000 if long_docs else 3_000  # deltas of 1, 2 and 4 bytes
    btexts, starts, docs, freqs, positions = _random_field(rng, 40, ndocs, long_docs)
    schema = fields.Schema(body=fields.TEXT(phrase=True), tags=fields.KEYWORD(scorable=True))
    storage = FileStorage(str(tmp_path))
    codec = ArrayCodec()
    segment = codec.new_segment(storage, "MAIN")
    writer = codec.field_writer(storage, segment)
    half = len(btexts) // 2  # two chunks of terms per field
    for name in ("body", "tags"):
        for lo, hi in ((0, half), (half, len(btexts))):
            a, b = starts[lo], starts[hi]
            pa, pb = freqs[:a].sum(), freqs[:b].sum()
            writer.add_terms(name, schema[name], btexts[lo:hi], starts[lo:hi + 1] - a, docs[a:b], freqs[a:b],
                             positions[pa:pb] if name == "body" else None)
    with pytest.raises(ValueError, match="fields must come in order"):
        writer.add_terms("body", schema["body"], [b"zz"], np.array([0, 1]), np.array([0]), np.array([1]),
                         np.array([0]))
    writer.close()
    reader = ArrayTermsReader(storage, segment)
    body, tags = reader.field("body"), reader.field("tags")
    assert body.has_positions and not tags.has_positions
    pstart = np.concatenate([[0], np.cumsum(freqs)])
    for i, btext in enumerate(btexts):
        a, b = starts[i], starts[i + 1]
        assert body.find(btext) == i and body.doc_frequency(i) == b - a
        for field in (body, tags):
            d, f = field.postings(i)
            assert d.tolist() == docs[a:b].tolist() and f.tolist() == freqs[a:b].tolist()
        flat = body.positions(i, freqs[a:b])
        assert flat.tolist() == positions[pstart[a]:pstart[b]].tolist()
        choices = [np.sort(rng.choice(b - a, size=size, replace=False))
                   for size in {min(3, b - a), 1, (b - a) // 3 or 1, b - a}]
        if b - a > 4 * BLOCK:  # more than a few postings, in few of the blocks
            choices.append(np.arange(BLOCK - 6, BLOCK + 6))
        for which in choices:
            counts, got = body.positions_of(i, which)
            assert counts.tolist() == freqs[a:b][which].tolist()
            assert got.tolist() == [p for k in which.tolist()
                                    for p in positions[pstart[a + k]:pstart[a + k + 1]].tolist()]
        # Postings of the blocks that may hold some documents: a superset of those it holds.
        want = np.sort(rng.choice(ndocs, size=5, replace=False))
        if b - a:
            want[0] = docs[a + (b - a) // 2]
        idx, d, f = body.postings_in(i, want)
        assert d.tolist() == docs[a:b][idx].tolist() and f.tolist() == freqs[a:b][idx].tolist()
        assert set(np.intersect1d(docs[a:b], want).tolist()) <= set(d.tolist())
        if b - a > 3 * BLOCK:
            assert len(d) < b - a  # not every block read
    for lo, hi in ((0, len(btexts)), (3, 17), (len(btexts) - 1, len(btexts))):
        dfs, d, f, p = body.range_postings(lo, hi, with_positions=True)
        a, b = starts[lo], starts[hi]
        assert dfs.tolist() == np.diff(starts[lo:hi + 1]).tolist()
        assert d.tolist() == docs[a:b].tolist() and f.tolist() == freqs[a:b].tolist()
        assert p is not None and p.tolist() == positions[pstart[a]:pstart[b]].tolist()
    reader.close()


def test_term_lookups_find_every_term_and_the_place_of_any_other(tmp_path) -> None:
    """Lookups start from the sampled 8-byte prefixes, then search the terms between: terms
    sharing long prefixes, shorter than 8 bytes, holding zero bytes, and absent probes."""
    import bisect
    import random

    rng = random.Random(5)
    pieces = [b"a", b"ab", b"nguyen_v", b"nguyen_van_", b"\x00", b"\xc3\xa1", b"z" * 9, b"0"]
    terms = sorted({b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
    schema = fields.Schema(tags=fields.KEYWORD())
    storage = FileStorage(str(tmp_path))
    codec = ArrayCodec()
    segment = codec.new_segment(storage, "MAIN")
    writer = codec.field_writer(storage, segment)
    n = len(terms)
    writer.add_terms("tags", schema["tags"], terms, np.arange(n + 1), np.zeros(n, dtype=np.int64),
                     np.ones(n, dtype=np.int64))
    writer.close()
    field = ArrayTermsReader(storage, segment).field("tags")
    assert field.terms() == terms
    for i, t in enumerate(terms):
        assert field.find(t) == i
    probes = [b"", b"\xff", b"nguyen", b"nguyen_v\x00", b"nguyen_van_zz"] + [
        b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) + rng.choice([b"", b"\x01", b"~"])
        for _ in range(2000)]
    for probe in probes:
        assert field.lower_bound(probe) == bisect.bisect_left(terms, probe), probe
        if probe not in terms:
            assert field.find(probe) == -1
    lo, hi = field.prefix_range(b"nguyen_van_")
    assert field.terms(lo, hi) == [t for t in terms if t.startswith(b"nguyen_van_")]


def test_numbers_beyond_four_bytes_are_refused_when_written(tmp_path) -> None:
    """Packed groups hold at most 4-byte numbers (a segment's document numbers, frequencies and
    positions all do): a larger one is a clear error, not a wrapped-around value."""
    schema = fields.Schema(tags=fields.KEYWORD(scorable=True))
    codec = ArrayCodec()
    storage = FileStorage(str(tmp_path))
    writer = codec.field_writer(storage, codec.new_segment(storage, "MAIN"))
    with pytest.raises(ValueError, match="does not fit in 4 bytes"):
        writer.add_terms("tags", schema["tags"], [b"a"], np.array([0, 1]), np.array([2 ** 32]), np.array([1]))
