"""Measure main-text extraction on the shared Vietnamese pages.

For each ``html/*_article.html`` with a ``reference/*.txt``, both texts are split into
lower-cased words and compared as bags of words (multiset overlap), the usual measure of
article-extraction benchmarks: precision, recall and F1. The cleaner's text is its title plus
its paragraphs, as the reference is. Each ``*_list.html`` should be reported as not an article.
The BeautifulSoup ``get_text()`` baseline is scored in the same run.

    python bench/eval_clean.py [--pages DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corpus._clean import clean_html  # noqa: E402
from corpus._encoding import decode_bytes  # noqa: E402

DEFAULT_PAGES = REPO.parent / "shared" / "data" / "pages"


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), NFC so accents compare equal."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


def bag_f1(predicted: str, reference: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall and F1 of ``predicted`` against ``reference``."""
    pred, ref = Counter(words(predicted)), Counter(words(reference))
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(ref.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def cleaner_text(data: bytes) -> str:
    page = clean_html(data)
    return "\n".join([page.title, *page.paragraphs])


def soup_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(decode_bytes(data), "html.parser").get_text(" ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES,
                        help=f"folder with html/ and reference/ (default: {DEFAULT_PAGES})")
    args = parser.parse_args(argv)
    html_dir, ref_dir = args.pages / "html", args.pages / "reference"
    if not html_dir.is_dir():
        parser.error(f"{html_dir} is not a folder")

    systems: dict[str, Callable[[bytes], str]] = {"cleaner": cleaner_text, "bs4 get_text": soup_text}
    scores: dict[str, list[float]] = {name: [] for name in systems}
    print(f"{'page':<28} {'system':<13} {'P':>6} {'R':>6} {'F1':>6} {'secs':>6}")
    for html_path in sorted(html_dir.glob("*_article.html")):
        ref_path = ref_dir / (html_path.stem + ".txt")
        if not ref_path.exists():
            continue
        data, reference = html_path.read_bytes(), ref_path.read_text(encoding="utf-8")
        for name, extract in systems.items():
            start = time.perf_counter()
            p, r, f = bag_f1(extract(data), reference)
            scores[name].append(f)
            print(f"{html_path.name:<28} {name:<13} {p:6.3f} {r:6.3f} {f:6.3f} {time.perf_counter() - start:6.2f}")
    for name, values in scores.items():
        if values:
            print(f"mean F1 {name:<13} {sum(values) / len(values):.3f} over {len(values)} articles")

    lists = sorted(html_dir.glob("*_list.html"))
    correct = 0
    for html_path in lists:
        page = clean_html(html_path.read_bytes())
        ok = not page.is_article
        correct += ok
        verdict = "not an article (correct)" if ok else "INDEXED AS ARTICLE (wrong)"
        print(f"{html_path.name:<28} {verdict}  {page.reason or ''}")
    if lists:
        print(f"list pages rejected: {correct}/{len(lists)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
