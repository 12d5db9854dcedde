"""Word-segmentation quality and speed of analyzers.Segmenter against gold data and pyvi.

Usage (from the repository root):

    python bench/eval_segmentation.py
    python bench/eval_segmentation.py --data ../shared/data/segmentation/ud_vtb/train.seg.txt

The gold file has one sentence a line, words separated by spaces and the syllables of a word
joined by ``_``. The raw sentence is the line with ``_`` replaced by a space. A word is
scored as its character span in the raw sentence, so sentences where pyvi's tokenizer splits
differently from the gold syllables (``TP.HCM``, ``1.000``) are still comparable; the F1 is
also reported on the subset where the tokens equal the gold syllables, the figure quoted in
``../shared/data/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzers._segment import _TOKEN_RE, Segmenter  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "segmentation" / "ud_vtb" / "dev.seg.txt"

Spans = set[tuple[int, int]]


def gold_spans(line: str) -> tuple[str, list[str], Spans]:
    """Return the raw sentence, its gold syllables and the character spans of its gold words."""
    spans: Spans = set()
    syllables: list[str] = []
    pos = 0
    for word in line.split():
        parts = word.split("_")
        start = pos
        for part in parts:
            syllables.append(part)
            pos += len(part) + 1
        spans.add((start, pos - 1))
    return " ".join(syllables), syllables, spans


def pyvi_spans(raw: str, tokenized: str) -> Spans:
    """Character spans of the words of ``ViTokenizer.tokenize(raw)``, found via its tokens."""
    token_spans = [m.span() for m in _TOKEN_RE.finditer(raw)]
    spans: Spans = set()
    i = 0
    for word in tokenized.split(" "):
        # pyvi joins tokens with "_", but a \w+ token may itself contain "_": count tokens
        # by consuming characters instead of splitting the word.
        start = token_spans[i][0]
        length = 0
        while length < len(word):
            s, e = token_spans[i]
            length += e - s + (1 if length else 0)
            i += 1
        spans.add((start, token_spans[i - 1][1]))
    return spans


def prf(pairs: Sequence[tuple[Spans, Spans]]) -> tuple[float, float, float]:
    """Micro-averaged precision, recall and F1 over (predicted, gold) span sets."""
    tp = sum(len(p & g) for p, g in pairs)
    n_pred = sum(len(p) for p, _ in pairs)
    n_gold = sum(len(g) for _, g in pairs)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="gold *.seg.txt file")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the best is kept")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"{args.data} not found; pass --data")

    lines = [line for line in args.data.read_text(encoding="utf-8").split("\n") if line.strip()]
    gold = [gold_spans(line) for line in lines]
    raws = [raw for raw, _, _ in gold]

    seg = Segmenter(cache_size=0)  # every sentence is new: measure the segmenter, not the cache
    ours = [seg.segment(raw) for raw in raws]  # also loads the model before timing
    ours_spans = [{(w[0][0], w[-1][1]) for w in words} for words in ours]
    same_syllables = [
        i
        for i, (raw, syllables, _) in enumerate(gold)
        if [m.group() for m in _TOKEN_RE.finditer(raw)] == syllables
    ]

    from pyvi import ViTokenizer  # imported late: it loads its model at import time

    theirs = [ViTokenizer.tokenize(raw) for raw in raws]
    theirs_spans = [pyvi_spans(raw, out) for raw, out in zip(raws, theirs)]
    identical = sum(
        " ".join("_".join(raw[s:e] for s, e in w) for w in words) == out
        for raw, words, out in zip(raws, ours, theirs)
    )

    print(f"data: {args.data} ({len(lines)} sentences)")
    print(f"output identical to pyvi: {identical}/{len(lines)}")
    for name, predicted in (("Segmenter", ours_spans), ("pyvi", theirs_spans)):
        all_p, all_r, all_f = prf([(p, g) for p, (_, _, g) in zip(predicted, gold)])
        sub = [(predicted[i], gold[i][2]) for i in same_syllables]
        sub_p, sub_r, sub_f = prf(sub)
        print(
            f"{name:9}  all {len(lines)}: P {all_p:.4f} R {all_r:.4f} F1 {all_f:.4f}   "
            f"same syllables {len(sub)}: P {sub_p:.4f} R {sub_r:.4f} F1 {sub_f:.4f}"
        )

    megabytes = sum(len(raw.encode("utf-8")) for raw in raws) / 1e6
    t_ours = best_time(lambda: [seg.segment(raw) for raw in raws], args.repeat)
    t_pyvi = best_time(lambda: [ViTokenizer.tokenize(raw) for raw in raws], args.repeat)
    for name, seconds in (("Segmenter", t_ours), ("pyvi", t_pyvi)):
        print(
            f"{name:9}  {seconds:.3f} s  {megabytes / seconds:.3f} MB/s  "
            f"{len(raws) / seconds:,.0f} sentences/s"
        )
    print(f"speed-up: {t_pyvi / t_ours:.2f}x (best of {args.repeat}, {megabytes:.2f} MB UTF-8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
