"""The benchmark script runs end to end on a tiny corpus and its table has every row.

This checks only that the code runs: no timing is asserted (speed claims live in bench/README.md).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SENTENCES = [
    "Ban Chấp hành Đảng bộ huyện Bắc Sơn họp bàn về chương trình xây dựng nông thôn mới trong năm nay.",
    "Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam và là thành phố lớn thứ hai.",
    "Sông Hồng chảy qua nhiều tỉnh miền Bắc trước khi đổ ra vịnh Bắc Bộ ở tỉnh Thái Bình.",
    "Tiểu hành tinh này được phát hiện tại Đài thiên văn Siding Spring vào tháng mười năm đó.",
    "Người nông dân trồng lúa nước trên những cánh đồng rộng lớn của đồng bằng sông Cửu Long.",
    "Nhà văn đã viết nhiều tác phẩm nổi tiếng về cuộc sống của người dân vùng cao phía Bắc.",
]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("vnsearch_benchmark", REPO / "bench" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(30):
            # Rotate the sentences so the documents differ but share vocabulary.
            text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4))
            fh.write(json.dumps({"id": f"doc-{i:02d}", "title": f"Bài số {i}", "text": text},
                                ensure_ascii=False) + "\n")
    return path


def test_benchmark_runs_and_table_has_every_row(tiny_corpus: Path, tmp_path: Path) -> None:
    bench = _load_benchmark()
    cfg = bench.Config(corpus=tiny_corpus, workers=2, out=tmp_path / "out", queries=tmp_path / "queries.jsonl",
                       queries_per_class=3, small_docs=10, startup_runs=1, speedup_rounds=1)
    results = bench.run_benchmark(cfg)

    queries = bench.load_queries(cfg.queries)
    assert sorted({q["class"] for q in queries}) == sorted(bench.CLASSES)
    assert all(sum(q["class"] == c for q in queries) == 3 for c in bench.CLASSES)

    assert results["index"]["vnsearch"]["docs"] == 30
    assert results["index"]["reindex"]["report"]["unchanged"] == 30
    assert results["index"]["fts5"]["docs"] == 30
    passes = results["index"]["prefix_passes"]
    assert [(p["workers"], p["docs"]) for p in passes] == [(1, 8), (2, 8)]     # ceil(30 * 0.25)
    for key in ("25%", "50%", "100%"):
        assert results["index"]["vnsearch"]["marks"][key]["peak_rss"] > 0

    table = bench.render_table(results)
    measures = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(measures) == bench.ROW_COUNT
    expected = ["indexing MB/s", "indexing docs/s", "peak RSS incl. workers at 25%", "at 50%", "at 100%",
                "index size on disk", "reindex unchanged", "reindex speed-up", "start-up"]
    expected += [f"{c} query {p}" for c in bench.CLASSES for p in ("p50", "p95", "p99")]
    for name in expected:
        assert any(name in m for m in measures), name
    assert "Machine:" in table

    written = bench.write_outputs(results, table, cfg.out)
    assert json.loads(written.read_text(encoding="utf-8"))["table"] == table


def test_fts5_query_quotes_every_token() -> None:
    bench = _load_benchmark()
    assert bench.fts5_query("two words", 'nông thôn "mới" OR') == '"nông" OR "thôn" OR "mới" OR "OR"'
    assert bench.fts5_query("phrase", '"vành đai chính"') == '"vành đai chính"'
