"""bench/scale.py runs end to end on 200 real Wikipedia paragraphs and every row of its table has numbers.

This checks only that the code runs and that every phase reports: no timing is asserted (the
figures live in bench/README.md). A phase that fails, or that stops reporting, fails the test.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from real_text import DATA, needs_data

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "scale.py"
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)?×?$")


def _load_scale():
    spec = importlib.util.spec_from_file_location("vnsearch_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@needs_data
def test_scale_runs_every_phase_on_200_paragraphs(tmp_path: Path) -> None:
    out, result = tmp_path / "out", tmp_path / "scale.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--limit-docs", "200", "--add-docs", "20",
                           "--queries-per-class", "3", "--repeats", "2", "--out", str(out), "--json", str(result)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(result.read_text(encoding="utf-8"))

    assert r["corpus"]["main"]["docs"] == 200 and r["corpus"]["add"]["docs"] == 20
    assert r["import"]["vnsearch"]["docs"] == r["import"]["fts5"]["docs"] == 200
    assert r["import"]["vnsearch"]["segments"] >= 1
    assert r["add"]["vnsearch"]["segments"] >= 1
    assert r["optimize"]["vnsearch"]["segments"] == 1
    assert r["optimize"]["vnsearch"]["docs"] == 220
    for key in ("queries", "queries_optimized"):
        for engine in ("vnsearch", "fts5"):
            assert all(r[key][engine][c]["n"] == 3 * 2 for c in ("one word", "two words", "phrase", "question"))
    # Real paragraphs, real queries: both engines find something for the bag-of-words classes.
    for engine in ("vnsearch", "fts5"):
        assert r["queries"]["hits"][engine]["question"] > 0

    rows = [line.split("|")[1:-1] for line in r["table"].splitlines()[2:] if line.startswith("|")]
    assert len(rows) == 6 + 8 + 2 + 4 + 8     # import, queries, add, optimize, queries after optimize
    for measure, vn, fts, _, _, _ in rows:
        assert NUMBER.match(vn.strip()), (measure, vn)
        assert NUMBER.match(fts.strip()) or (fts.strip() == "n/a" and "segments" in measure), (measure, fts)
    assert proc.stdout.strip().startswith("| measure | vnsearch | FTS5 | vnsearch/FTS5 | goal | met |")
    assert not (out / "scale-work").exists(), "the work folder is removed without --keep"


def test_a_skipped_phase_says_so_and_bad_input_gets_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "docs.jsonl"
    text = "Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam. " * 10
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "title": f"Bài {i}", "text": text}, ensure_ascii=False)
                              + "\n" for i in range(12)), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--corpus", str(corpus), "--add-docs", "2",
                           "--queries-per-class", "1", "--skip-optimize", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in proc.stdout.splitlines()
            if line.startswith("| ")}
    assert rows["segments after the import"] == "1"
    assert rows["optimize (s)"] == rows["question p95 (ms) after optimize"] == "skipped"
    assert NUMBER.match(rows["add 2 documents (s)"])
    assert not (out / "scale-work").exists()

    bad = tmp_path / "bad.jsonl"
    bad.write_text(corpus.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--corpus", str(bad), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith("line 13: not a JSON object "
                                                         "(Expecting property name enclosed in double quotes: "
                                                         "line 1 column 2 (char 1))")
    assert "Traceback" not in proc.stderr


def test_a_failing_cli_command_stops_the_run(tmp_path: Path) -> None:
    scale = _load_scale()
    log = tmp_path / "index.log"
    try:
        scale.run_cli(["index", str(tmp_path / "missing.jsonl"), "--index", str(tmp_path / "ix")], log)
    except RuntimeError as exc:
        assert "failed with exit 1" in str(exc) and "missing.jsonl: no such file" in str(exc)
    else:
        raise AssertionError("run_cli returned for a failing command")


def test_paragraphs_join_lines_to_500_characters_and_leave_out_references() -> None:
    scale = _load_scale()
    line = "Sông Hồng chảy qua nhiều tỉnh miền Bắc trước khi đổ ra vịnh Bắc Bộ ở tỉnh Thái Bình."
    text = "\n".join([line] * 7 + ["== Lịch sử =="] + [line] * 7 + ["== Tham khảo =="] + ["Sách " * 200]
                     + ["== Địa lý =="] + [line] * 3)
    paras = list(scale.paragraphs({"id": "vi-1", "title": "Sông Hồng", "text": text}))
    assert [p["id"] for p in paras] == ["vi-1-p1", "vi-1-p2"]
    assert all(len(p["text"]) >= 500 and p["title"] == "Sông Hồng" for p in paras)
    assert not any("Sách" in p["text"] or "==" in p["text"] for p in paras)
    # Lines of 84 characters (and a newline) reach 500 after 6: the 7th starts the next paragraph.
    assert paras[0]["text"].count("\n") == 5
    assert doctest.testmod(scale).failed == 0


def test_held_out_documents_are_spread_over_the_corpus(tmp_path: Path) -> None:
    scale = _load_scale()
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "title": "t", "text": "x"}) + "\n" for i in range(100)),
                      encoding="utf-8")
    counts = scale.prepare_corpus(corpus, False, tmp_path / "w", 40, 10)
    assert counts["main"]["docs"] == 40 and counts["add"]["docs"] == 10
    held = [json.loads(line)["id"] for line in (tmp_path / "w" / "add.jsonl").read_text().splitlines()]
    assert held == [f"d{i}" for i in range(4, 50, 5)]


def test_committed_queries_are_valid_fts5_and_fifty_per_class() -> None:
    scale = _load_scale()
    queries = scale.bench.load_queries(REPO / "bench" / "queries_scale.jsonl")
    assert {c: sum(q["class"] == c for q in queries) for c in scale.CLASSES} == dict.fromkeys(scale.CLASSES, 50)
    con = sqlite3.connect(":memory:")
    con.execute(scale.bench.FTS5_DDL)
    for q in queries:
        con.execute(scale.bench.FTS5_QUERY, (scale.bench.fts5_query(q["class"], q["text"]),)).fetchall()
    syllables = [len(q["text"].split()) for q in queries if q["class"] == "question"]
    assert min(syllables) >= 10 and max(syllables) <= 12
    assert all(len(q["text"].strip('"').split()) == 3 for q in queries if q["class"] == "phrase")


@needs_data
def test_queries_are_redrawn_identically(tmp_path: Path) -> None:
    """The committed query file is what --make-queries draws from the corpus (seeded)."""
    target = tmp_path / "q.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--make-queries", "--queries", str(target)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert target.read_text(encoding="utf-8") == (REPO / "bench" / "queries_scale.jsonl").read_text(encoding="utf-8")
    assert DATA.is_dir()
