"""Segmentation throughput on Wikipedia text: analyzers.Segmenter against pyvi.

Usage (from the repository root):

    python bench/bench_segment.py                 # first 2 MB of ../shared/data/corpus/viwiki.jsonl.gz
    python bench/bench_segment.py --megabytes 5 --long-line

Both segment the same articles line by line (pyvi's ``tokenize`` on each line, the
Segmenter on each article, which it cuts at newlines itself). The Segmenter runs twice:
with its line cache off, then with the default cache, which only helps with repeated lines
such as Wikipedia's "== Tham khảo ==" headings. ``--long-line`` also times the Segmenter on
all the text joined into one line, which pyvi cannot do in reasonable time or memory.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzers._segment import Segmenter  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "corpus" / "viwiki.jsonl.gz"


def load_articles(path: Path, megabytes: float) -> list[str]:
    """Article texts, NFC as stored, until ``megabytes`` of UTF-8 have been read."""
    texts: list[str] = []
    size = 0
    with gzip.open(path, "rt", encoding="utf-8") as fin:
        for row in fin:
            text = json.loads(row)["text"].replace("\r\n", "\n")
            texts.append(text)
            size += len(text.encode("utf-8"))
            if size >= megabytes * 1e6:
                break
    return texts


def timed(label: str, seconds: float, megabytes: float, lines: int) -> None:
    print(f"{label:28} {seconds:7.2f} s  {megabytes / seconds:6.3f} MB/s  {lines / seconds:8,.0f} lines/s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="viwiki.jsonl.gz")
    parser.add_argument("--megabytes", type=float, default=2.0, help="how much text to segment")
    parser.add_argument("--long-line", action="store_true", help="also time one huge line")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"{args.data} not found; pass --data")

    texts = load_articles(args.data, args.megabytes)
    lines = [line for text in texts for line in text.split("\n") if line.strip()]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts)} articles, {len(lines)} non-blank lines, {megabytes:.2f} MB UTF-8")

    Segmenter().segment("khởi động")  # load the model outside the timings
    from pyvi import ViTokenizer  # loads its model at import

    start = time.perf_counter()
    for line in lines:
        ViTokenizer.tokenize(line)
    t_pyvi = time.perf_counter() - start

    seg = Segmenter(cache_size=0)
    start = time.perf_counter()
    for text in texts:
        seg.segment(text)
    t_ours = time.perf_counter() - start

    seg = Segmenter()
    start = time.perf_counter()
    for text in texts:
        seg.segment(text)
    t_cached = time.perf_counter() - start

    timed("pyvi ViTokenizer.tokenize", t_pyvi, megabytes, len(lines))
    timed("Segmenter, no cache", t_ours, megabytes, len(lines))
    timed("Segmenter, line cache", t_cached, megabytes, len(lines))
    print(f"speed-up: {t_pyvi / t_ours:.2f}x without cache, {t_pyvi / t_cached:.2f}x with cache")

    if args.long_line:
        one_line = " ".join(lines)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        words = Segmenter(cache_size=0).segment(one_line)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        timed(f"Segmenter, one {len(one_line) / 1e6:.1f} M-char line", seconds, megabytes, 1)
        print(f"  {len(words):,} words; peak RSS grew by {(peak - before) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
