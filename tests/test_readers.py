"""Reading JSONL: the parallel parser gives what the single-process one gives, in order."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpus import _readers, read_jsonl

SAMPLE = Path(__file__).parents[1] / "corpus" / "data" / "sample" / "sample.jsonl.gz"


@pytest.fixture(autouse=True)
def parallel_even_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_readers, "_PARALLEL_MIN_BYTES", 0)


def _awkward_lines() -> list[bytes]:
    good = [json.dumps({"id": f"d{i}", "title": f"Bài {i}", "text": f"Nông thôn mới ở Bắc Sơn, số {i}.\nDòng hai."},
                       ensure_ascii=False).encode() for i in range(250)]
    lines = good[:100] + [
        b"",                                    # blank
        b"   ",                                 # blank
        b'{"id": "broken", "text": ',           # not JSON
        b'["a", "list"]',                       # not an object
        b'{"title": "no id", "text": "x"}',     # no id
        b'{"id": "empty"}',                     # no title or text
        b'{"id": "bad-date", "text": "ng\xe0y", "date": "2020-02-30"}',   # invalid UTF-8, bad date
        b'{"id": "crlf", "text": "d\xc3\xb2ng\\r\\nm\xe1\xbb\x9bi"}\r',  # \r\n line ending
    ] + good[100:]
    return lines


@pytest.mark.parametrize("members", [1, 3])  # concatenated gzip members read as one file
def test_parallel_reading_equals_serial_reading(tmp_path: Path, members: int) -> None:
    lines = _awkward_lines()
    path = tmp_path / "docs.jsonl.gz"
    step = -(-len(lines) // members)
    with open(path, "wb") as out:
        for k in range(0, len(lines), step):
            out.write(gzip.compress(b"\n".join(lines[k:k + step]) + b"\n"))
    runs = []
    for workers in (1, 2):
        skipped: list[tuple[str, str]] = []
        docs = list(read_jsonl(path, lambda where, why: skipped.append((where, why)), workers=workers))
        runs.append(([d.as_dict() for d in docs], skipped))
    assert runs[0] == runs[1]
    docs, skipped = runs[0]
    assert len(docs) == 252 and [w.rsplit(":", 1)[1] for w, _ in skipped] == ["103", "104", "105", "106"]
    assert next(d for d in docs if d["id"] == "crlf")["text"] == "dòng\nmới"


def test_parallel_reading_of_the_sample_and_of_plain_jsonl(tmp_path: Path) -> None:
    serial = [d.as_dict() for d in read_jsonl(SAMPLE)]
    assert [d.as_dict() for d in read_jsonl(SAMPLE, workers=2)] == serial
    plain = tmp_path / "sample.jsonl"
    plain.write_bytes(gzip.decompress(SAMPLE.read_bytes()))
    assert [d.as_dict() for d in read_jsonl(plain, workers=3)] == serial


def test_a_cut_gzip_keeps_the_records_before_the_cut_in_both_readers(tmp_path: Path) -> None:
    whole = [d.id for d in read_jsonl(SAMPLE)]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(SAMPLE.read_bytes()[:-50])
    for workers in (1, 2):
        skipped: list[tuple[str, str]] = []
        ids = [d.id for d in read_jsonl(path, lambda where, why: skipped.append((where, why)), workers=workers)]
        assert len(whole) - 3 < len(ids) < len(whole) and ids == whole[:len(ids)]
        [(where, why)] = skipped
        assert where == f"{path}:{len(ids) + 1}" and "damaged compressed data" in why, why
        assert f"the {len(ids)} lines before it were read" in why
