#!/usr/bin/env python3
"""Retrieval quality on a retrieval set: nDCG@10, MRR@10 and Recall@100, accented and unaccented.

    python bench/eval_retrieval.py xquad_vi alqac2022
    python bench/eval_retrieval.py --data ../shared/data/retrieval/xquad_vi --keep-index /tmp/xq

A set is a folder with corpus.jsonl, queries.jsonl, queries_noaccent.jsonl and qrels.tsv
(as in ../shared/data/retrieval). The corpus is indexed with vnsearch into a temporary index,
every query is run through the same code as ``vnsearch search --queries``, and the scores
are printed as a table (and as JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import read_jsonl  # noqa: E402
from index import Index  # noqa: E402
from searcher import Searcher  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "retrieval"


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def score_run(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    ndcg = mrr = recall = 0.0
    n = 0
    for qid, rels in qrels.items():
        n += 1
        ranked = run.get(qid, [])
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(rels.values(), reverse=True)[:10]))
        ndcg += dcg / ideal if ideal else 0.0
        mrr += next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if rels.get(d, 0) > 0), 0.0)
        relevant = {d for d, r in rels.items() if r > 0}
        recall += len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0
    return {"ndcg@10": ndcg / n, "mrr@10": mrr / n, "recall@100": recall / n, "queries": n}


def run_queries(searcher: Searcher, path: Path, limit: int = 100) -> tuple[dict[str, list[str]], float]:
    run: dict[str, list[str]] = {}
    times = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        t = time.perf_counter()
        res = [doc_id for doc_id, _ in searcher.search_ids(q["text"], limit=limit)]
        times.append(time.perf_counter() - t)
        run[q["id"]] = res
    times.sort()
    return run, times[len(times) // 2] * 1000 if times else 0.0


def evaluate(folder: Path, keep_index: Path | None, workers: int | None) -> dict[str, dict[str, float]]:
    qrels = load_qrels(folder / "qrels.tsv")
    tmp = None
    if keep_index is not None and Index.exists(keep_index):
        ix_path = keep_index
    else:
        if keep_index is None:
            tmp = tempfile.TemporaryDirectory()
            ix_path = Path(tmp.name)
        else:
            ix_path = keep_index
        t = time.perf_counter()
        Index.create(ix_path).add_documents(read_jsonl(folder / "corpus.jsonl"), workers=workers)
        print(f"  indexed {folder.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    out = {}
    with Searcher.open(ix_path) as s:
        for name in ("queries", "queries_noaccent"):
            qfile = folder / f"{name}.jsonl"
            if qfile.exists():
                run, p50 = run_queries(s, qfile)
                out[name] = score_run(run, qrels) | {"p50_ms": p50}
    if tmp is not None:
        tmp.cleanup()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=["xquad_vi", "alqac2022"],
                    help="names of sets under --root (default: xquad_vi alqac2022)")
    ap.add_argument("--root", type=Path, default=DEFAULT_DATA, help="folder holding the sets")
    ap.add_argument("--data", type=Path, action="append", help="a set folder given directly (repeatable)")
    ap.add_argument("--keep-index", type=Path, help="build the index here (reused if it exists); one set only")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    folders = args.data or [args.root / s for s in args.sets]
    results = {}
    for folder in folders:
        if not (folder / "corpus.jsonl").exists():
            print(f"error: {folder} has no corpus.jsonl", file=sys.stderr)
            return 2
        results[folder.name] = evaluate(folder, args.keep_index, args.workers)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'set':<14}{'queries':<18}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}{'p50 ms':>9}")
    for name, by_q in results.items():
        acc = by_q.get("queries", {}).get("ndcg@10")
        for qname, m in by_q.items():
            print(f"{name:<14}{qname:<18}{m['ndcg@10']:>9.3f}{m['mrr@10']:>9.3f}{m['recall@100']:>9.3f}{m['p50_ms']:>9.1f}")
        un = by_q.get("queries_noaccent", {}).get("ndcg@10")
        if acc and un:
            print(f"{name:<14}{'unaccented/acc.':<18}{un / acc:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
