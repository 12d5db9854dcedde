"""vnsearch against SQLite FTS5 on Vietnamese Wikipedia: indexing, memory, reindex, queries, start-up.

Usage (from the repository root):

    python bench/benchmark.py                      # the whole of ../shared/data/corpus/viwiki.jsonl.gz
    python bench/benchmark.py --limit-docs 1000    # a quicker look
    python bench/benchmark.py --regenerate-queries # rebuild bench/queries_viwiki.jsonl (seeded)

One run does everything and prints one markdown table (also written, with every raw figure, as
JSON and markdown to ``--out``, default ``bench/out/``). See ``bench/README.md`` for what each
row means. Every indexing pass runs in a fresh subprocess (``--child``) whose whole process tree
(the writer and its analysis workers) is sampled from /proc, so peak memory includes the workers.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import itertools
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "corpus" / "viwiki.jsonl.gz"
DEFAULT_QUERIES = REPO / "bench" / "queries_viwiki.jsonl"
DEFAULT_OUT = REPO / "bench" / "out"
PACKAGES = ("corpus", "analyzers", "index", "searcher")
SRC = REPO
"""Where the library is imported from: a snapshot copy during a run (see :func:`snapshot_source`)."""

CLASSES = ("one word", "two words", "phrase", "question")
FRACTIONS = (0.25, 0.5, 1.0)
MB = 1e6
MIB = 1024 * 1024
FTS5_DDL = ('CREATE VIRTUAL TABLE t USING fts5(doc_id UNINDEXED, title, text, '
            'tokenize="unicode61 remove_diacritics 2")')
FTS5_QUERY = "SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10"
STARTUP_QUERY = "nông thôn mới"


# -- corpus and queries ----------------------------------------------------------------------

def iter_docs(corpus: Path, limit: int | None = None, workers: int = 1) -> Iterator[Any]:
    """The corpus as vnsearch Documents, streamed (the first ``limit`` only, if given), parsed by
    ``workers`` processes as ``vnsearch index --workers`` parses JSONL."""
    from corpus import read_jsonl
    docs = read_jsonl(corpus, workers=workers)
    return itertools.islice(docs, limit) if limit is not None else docs


def doc_bytes(doc: Any) -> int:
    return len(doc.title.encode("utf-8")) + len(doc.text.encode("utf-8"))


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("=="):
            continue
        out.extend(s.strip() for s in re.split(r"(?<=[.!?;])\s+", line) if s.strip())
    return out


_WORD = re.compile(r"[^\W_]+")
_OPERATORS = {"AND", "OR", "NOT"}


def _plain_words(text: str) -> list[str]:
    """Letters-and-digits runs, without the query language's operator words."""
    return [w for w in _WORD.findall(text) if w not in _OPERATORS]


def make_queries(docs: Sequence[Any], per_class: int = 50, seed: int = 20240607) -> list[dict[str, str]]:
    """A fixed query set drawn from the documents with a seeded random generator.

    * ``one word``: one segmented word (1-3 syllables, letters only, not a stop word);
    * ``two words``: two adjacent such words;
    * ``phrase``: 2-4 adjacent syllables of one sentence, with nothing but a space between them, quoted;
    * ``question``: a whole real sentence of 8-20 words, punctuation removed, as a natural query.
    """
    from analyzers import VietnameseAnalyzer

    analyzer = VietnameseAnalyzer()
    rng = random.Random(seed)
    pool = [d for d in docs if len(d.text) > 200]
    seen: set[tuple[str, str]] = set()
    out: dict[str, list[str]] = {c: [] for c in CLASSES}

    def add(cls: str, text: str) -> None:
        if len(out[cls]) < per_class and (cls, text.lower()) not in seen:
            seen.add((cls, text.lower()))
            out[cls].append(text)

    def good_word(word: str) -> bool:
        parts = word.split("_")
        return (1 <= len(parts) <= 3 and all(p.isalpha() for p in parts) and len(word) > 1
                and not analyzer.is_stopword(word))

    for _ in range(200_000):
        if all(len(v) >= per_class for v in out.values()):
            break
        sentences = _sentences(rng.choice(pool).text)
        if not sentences:
            continue
        sentence = rng.choice(sentences)
        plain = _plain_words(sentence)
        cls = CLASSES[rng.randrange(len(CLASSES))]
        if cls == "question":
            if 8 <= len(plain) <= 20:
                add(cls, " ".join(plain))
        elif cls == "phrase":
            runs = [m.group().split(" ") for m in re.finditer(r"[^\W\d_]+(?: [^\W\d_]+)+", sentence)]
            runs = [r for r in runs if len(r) >= 2]
            if runs:
                run = rng.choice(runs)
                n = rng.randint(2, min(4, len(run)))
                i = rng.randrange(len(run) - n + 1)
                add(cls, '"' + " ".join(run[i:i + n]) + '"')
        else:
            words = [t.text for t in analyzer.analyze(sentence).words]
            if cls == "one word":
                cands = [w for w in words if good_word(w)]
                if cands:
                    add(cls, rng.choice(cands).replace("_", " "))
            else:
                pairs = [(a, b) for a, b in zip(words, words[1:]) if good_word(a) and good_word(b)]
                if pairs:
                    a, b = rng.choice(pairs)
                    add(cls, f"{a} {b}".replace("_", " "))
    missing = {c: per_class - len(v) for c, v in out.items() if len(v) < per_class}
    if missing:
        raise RuntimeError(f"could not draw enough queries from the corpus: {missing}")
    return [{"class": c, "text": t} for c in CLASSES for t in out[c]]


def load_queries(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def save_queries(path: Path, queries: Iterable[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps({"class": q["class"], "text": q["text"]}, ensure_ascii=False) + "\n")


def fts5_query(cls: str, text: str) -> str:
    """The FTS5 equivalent: quoted tokens joined by OR for bags of words, one quoted string for a phrase."""
    if cls == "phrase":
        return '"' + " ".join(_WORD.findall(text)) + '"'
    return " OR ".join(f'"{w}"' for w in _WORD.findall(text))


# -- memory of a process tree ----------------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return kids


def _status_kib(pid: int, key: str, filename: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{filename}") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over ``root`` and all its descendants. PSS shares pages fairly."""
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        rss += _status_kib(pid, "VmRSS:")
        pss += _status_kib(pid, "Pss:", "smaps_rollup")
        stack.extend(_children(pid))
    return rss * 1024, pss * 1024


class TreeSampler(threading.Thread):
    """Samples the memory of this process and its children until stopped; keeps the peaks."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        rss, pss = tree_memory(os.getpid())
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


# -- indexing passes (each in a child process) -----------------------------------------------

def _pct(frac: float) -> str:
    return f"{frac * 100:g}%"


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _Marks:
    """Records time, documents, bytes and peak memory when progress passes 25, 50 and 100 %."""

    def __init__(self, total_docs: int, sampler: TreeSampler, start: float,
                 fractions: Iterable[float] = FRACTIONS) -> None:
        self.targets = [(f, max(1, math.ceil(total_docs * f))) for f in sorted(set(fractions))]
        self.sampler = sampler
        self.start = start
        self.marks: dict[str, dict[str, float]] = {}

    def __call__(self, seen: int, seen_bytes: int) -> None:
        for frac, target in self.targets:
            key = _pct(frac)
            if seen >= target and key not in self.marks:
                self.sampler.sample()
                self.marks[key] = {"seconds": time.perf_counter() - self.start, "docs": seen,
                                   "bytes": seen_bytes, "peak_rss": self.sampler.peak_rss,
                                   "peak_pss": self.sampler.peak_pss}


def snapshot_source(dest: Path) -> Path:
    """Copy the library's packages to ``dest``, so edits made to the tree while a long run is going
    (schema bumps, half-written modules) cannot change the code under test half-way through.
    The copy is byte-compiled, as ``pip install`` does, so that start-up is not timed compiling
    sources where ``PYTHONDONTWRITEBYTECODE`` is set (it stops Python writing .pyc files, not
    reading them)."""
    global SRC
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        compileall.compile_dir(str(dest / pkg), quiet=1)
    SRC = dest
    sys.path.insert(0, str(dest))
    return dest


def child_main(spec: dict[str, Any]) -> dict[str, Any]:
    """One indexing pass, run in its own process; returns its measurements."""
    sys.path.insert(0, spec.get("src", str(REPO)))
    kind, corpus, target, n = spec["kind"], Path(spec["corpus"]), Path(spec["target"]), spec["docs"]
    sampler = TreeSampler()
    sampler.start()
    start = time.perf_counter()
    marks = _Marks(n, sampler, start, [*FRACTIONS, *spec.get("fractions", ())])
    result: dict[str, Any] = {"kind": kind, "workers": spec.get("workers")}
    if kind in ("vnsearch", "vnsearch-reindex"):
        from index import Index
        ix = Index.create(target) if kind == "vnsearch" else Index.open(target)
        report = ix.add_documents(iter_docs(corpus, n, spec["workers"]), workers=spec["workers"], batch_size=500,
                                  on_progress=marks)
        result["report"] = report.as_dict()
        result["docs"] = report.added + report.replaced + report.unchanged
        result["bytes"] = report.bytes
    elif kind == "fts5":
        docs = nbytes = 0
        con = sqlite3.connect(target)
        con.execute(FTS5_DDL)
        batch: list[tuple[str, str, str]] = []
        for doc in iter_docs(corpus, n):
            batch.append((doc.id, doc.title, doc.text))
            docs += 1
            nbytes += doc_bytes(doc)
            if len(batch) == 500:
                with con:
                    con.executemany("INSERT INTO t(doc_id, title, text) VALUES (?, ?, ?)", batch)
                batch = []
                marks(docs, nbytes)
        with con:
            con.executemany("INSERT INTO t(doc_id, title, text) VALUES (?, ?, ?)", batch)
        marks(docs, nbytes)
        con.close()
        result["docs"], result["bytes"] = docs, nbytes
    else:
        raise ValueError(f"unknown child kind {kind!r}")
    result["seconds"] = time.perf_counter() - start
    sampler.stop()
    # CPU seconds are less sensitive than wall time to other load on a shared machine. The
    # workers count once they have been joined (RUSAGE_CHILDREN).
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_main_s"] = me.ru_utime + me.ru_stime
    result["cpu_workers_s"] = kids.ru_utime + kids.ru_stime
    result["loadavg_end"] = os.getloadavg()
    result["marks"] = marks.marks
    result["peak_rss"] = sampler.peak_rss
    result["peak_pss"] = sampler.peak_pss
    result["size"] = dir_size(target)
    return result


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`child_main` in a fresh interpreter; adds the largest single process's ru_maxrss."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    spec = {**spec, "src": str(SRC)}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"indexing child {spec['kind']} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest single descendant (KiB on Linux), not a sum; only
    # meaningful if it grew during this child.
    result["largest_process_maxrss"] = after * 1024 if after > before else None
    return result


# -- queries ---------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _latencies(run: Any, items: Sequence[Any], repeats: int, warm_up: bool = True) -> list[float]:
    if warm_up:
        for item in items:
            run(item)
    out = []
    for _ in range(repeats):
        for item in items:
            t = time.perf_counter()
            run(item)
            out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "mean": statistics.fmean(ms), "max": max(ms), "n": len(ms)}


def measure_queries(vn_index: Path, fts_db: Path, queries: Sequence[dict[str, str]],
                    repeats: int = 1) -> dict[str, Any]:
    """Per-class latency in ms of ``Searcher.search`` (with snippets), ``search_ids`` and FTS5."""
    from searcher import Searcher

    out: dict[str, Any] = {"vnsearch": {}, "vnsearch_ids": {}, "fts5": {}, "hits": {}}
    texts = {cls: [q["text"] for q in queries if q["class"] == cls] for cls in CLASSES}
    # The warm-up runs every query on a searcher of its own (the OS file cache, lazy imports);
    # the timed passes use fresh searchers, so no per-query memo (accent restoration,
    # suggestions) carries a query's work over from its warm-up. Per-searcher data that every
    # query shares (field lengths) is loaded by each searcher's first query, inside the timing.
    with Searcher.open(vn_index) as warm:
        t = time.perf_counter()
        warm.search(queries[0]["text"], limit=10)
        out["first_query_ms"] = (time.perf_counter() - t) * 1000
        for cls in CLASSES:
            for q in texts[cls]:
                warm.search(q, limit=10)
                warm.search_ids(q, limit=10, syntax=True)
            out["hits"].setdefault("vnsearch", {})[cls] = statistics.fmean(
                min(warm.search(q, limit=10, snippets=False, suggest=False).total, 10) for q in texts[cls])
    with Searcher.open(vn_index) as s:
        for cls in CLASSES:
            out["vnsearch"][cls] = _summary(_latencies(lambda q: s.search(q, limit=10), texts[cls], repeats,
                                                       warm_up=False))
    with Searcher.open(vn_index) as s:
        for cls in CLASSES:
            out["vnsearch_ids"][cls] = _summary(_latencies(lambda q: s.search_ids(q, limit=10, syntax=True),
                                                           texts[cls], repeats, warm_up=False))
    con = sqlite3.connect(fts_db)
    try:
        for cls in CLASSES:
            matches = [fts5_query(cls, q["text"]) for q in queries if q["class"] == cls]
            out["fts5"][cls] = _summary(_latencies(lambda m: con.execute(FTS5_QUERY, (m,)).fetchall(),
                                                   matches, repeats))
            out["hits"].setdefault("fts5", {})[cls] = statistics.fmean(
                len(con.execute(FTS5_QUERY, (m,)).fetchall()) for m in matches)
    finally:
        con.close()
    return out


# -- start-up --------------------------------------------------------------------------------

def startup_commands(vn_index: Path, fts_db: Path, query: str = STARTUP_QUERY) -> dict[str, list[str]]:
    """The process that a user starts for one search, for each engine."""
    if (SRC / "searcher" / "cli.py").exists():
        vn = (f"import sys; sys.path.insert(0, {str(SRC)!r}); "
              f"sys.argv=['vnsearch','search',{query!r},'--index',{str(vn_index)!r}]; "
              "from searcher.cli import main; main()")
        how = "searcher.cli main(): vnsearch search"
    else:
        vn = (f"import sys; sys.path.insert(0, {str(SRC)!r}); from searcher import Searcher; "
              f"s = Searcher.open({str(vn_index)!r}); print([h.title for h in s.search({query!r}, limit=10)])")
        how = "searcher.Searcher (searcher/cli.py not present)"
    fts = (f"import sqlite3; con = sqlite3.connect({str(fts_db)!r}); "
           f"print(con.execute({FTS5_QUERY!r}, ({fts5_query('two words', query)!r},)).fetchall())")
    return {"vnsearch": [sys.executable, "-c", vn], "fts5": [sys.executable, "-c", fts], "how": [how]}


def measure_startup(vn_index: Path, fts_db: Path, runs: int = 7) -> dict[str, Any]:
    cmds = startup_commands(vn_index, fts_db)
    out: dict[str, Any] = {"how": cmds["how"][0], "runs": runs}
    for engine in ("vnsearch", "fts5"):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            proc = subprocess.run(cmds[engine], capture_output=True, text=True, cwd=REPO,
                                  env={**os.environ, "COLUMNS": "120"})
            times.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise RuntimeError(f"start-up command for {engine} failed:\n{proc.stderr[-2000:]}")
        out[engine] = {"median_s": statistics.median(times), "min_s": min(times), "all_s": times}
    return out


def build_small(corpus: Path, workdir: Path, docs: int) -> tuple[Path, Path]:
    """A small vnsearch index and FTS5 database of the first ``docs`` documents, for start-up."""
    from index import Index
    vn, fts = workdir / "small_vn", workdir / "small_fts5.db"
    Index.create(vn).add_documents(iter_docs(corpus, docs), workers=1)
    con = sqlite3.connect(fts)
    con.execute(FTS5_DDL)
    with con:
        con.executemany("INSERT INTO t(doc_id, title, text) VALUES (?, ?, ?)",
                        ((d.id, d.title, d.text) for d in iter_docs(corpus, docs)))
    con.close()
    return vn, fts


# -- machine and table -----------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        from importlib.metadata import version
        whoosh = version("whoosh-reloaded")
    except Exception:  # noqa: BLE001 - informative only
        whoosh = "?"
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                             cwd=REPO, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "git": rev,
            "sqlite": sqlite3.sqlite_version, "whoosh": whoosh, "platform": platform.platform()}


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.2f}×"


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "**no**")


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    """Rows of [measure, vnsearch, FTS5, ratio, goal, met]."""
    vn, fts, re_ = r["index"]["vnsearch"], r["index"]["fts5"], r["index"]["reindex"]
    q, st = r["queries"], r["startup"]
    frac1 = r["config"]["one_worker_fraction"]
    rows: list[list[str]] = []

    def mbs(res: dict[str, Any]) -> float:
        return res["bytes"] / MB / res["seconds"]

    key = _pct(frac1)
    vn_mbs, fts_mbs = mbs(vn), mbs(fts)
    w = r["config"]["workers"]
    rows.append([f"indexing MB/s, {w} workers, whole corpus ({vn['docs']} docs)", _f(vn_mbs, "{:.3f}"),
                 _f(fts_mbs, "{:.3f}") + " (1 thread)", _ratio(vn_mbs, fts_mbs), "≥ 1.0 MB/s", _met(vn_mbs >= 1.0)])
    # Best of the alternated rounds on the same prefix, each pass from an empty index.
    passes = r["index"]["prefix_passes"]
    best = {n: max((mbs(p) for p in passes if p["workers"] == n), default=None) for n in (1, w)}
    docs1 = passes[0]["docs"] if passes else 0
    for n in (1, w):
        rows.append([f"indexing MB/s, {n} worker{'s' if n > 1 else ''}, first {key} ({docs1} docs), "
                     f"best of {sum(p['workers'] == n for p in passes)}", _f(best[n], "{:.3f}"), "", "", "", ""])
    speedup = best[w] / best[1] if best[w] and best[1] else None
    rows.append([f"{w}-worker / 1-worker speed-up (first {key}, same docs)", _f(speedup, "{:.2f}×"), "", "",
                 "≥ 1.7×", _met(speedup >= 1.7 if speedup else None)])
    rows.append(["indexing docs/s, whole corpus", _f(vn["docs"] / vn["seconds"], "{:.1f}"),
                 _f(fts["docs"] / fts["seconds"], "{:.1f}"),
                 _ratio(vn["docs"] / vn["seconds"], fts["docs"] / fts["seconds"]), "", ""])
    rows.append(["indexing wall time, whole corpus (s)", _f(vn["seconds"], "{:.1f}"), _f(fts["seconds"], "{:.1f}"),
                 _ratio(vn["seconds"], fts["seconds"]), "", ""])
    for frac in FRACTIONS:
        k = _pct(frac)
        a, b = vn["marks"].get(k, {}).get("peak_rss"), fts["marks"].get(k, {}).get("peak_rss")
        rows.append([f"peak RSS incl. workers at {k} of corpus (MiB)", _f(a and a / MIB, "{:.0f}"),
                     _f(b and b / MIB, "{:.0f}"), _ratio(a, b), "< 1024 MiB", _met(a < 1024 * MIB if a else None)])
    rows.append(["index size on disk (MB)", _f(vn["size"] / MB, "{:.1f}"), _f(fts["size"] / MB, "{:.1f}"),
                 _ratio(vn["size"], fts["size"]), "", ""])
    re_speed = vn["seconds"] / re_["seconds"]
    rows.append(["reindex unchanged corpus (s)", _f(re_["seconds"], "{:.2f}"), "n/a", "", "", ""])
    rows.append(["reindex speed-up vs first index", _f(re_speed, "{:.0f}×"), "n/a", "", "≥ 20×", _met(re_speed >= 20)])
    for cls in CLASSES:
        for p in ("p50", "p95", "p99"):
            a, b = q["vnsearch"][cls][p], q["fts5"][cls][p]
            goal = "≤ 100 ms" if p == "p95" else ""
            rows.append([f"{cls} query {p} (ms)", _f(a, "{:.1f}"), _f(b, "{:.2f}"), _ratio(a, b), goal,
                         _met(a <= 100) if p == "p95" else ""])
    for cls in CLASSES:
        a, b = q["vnsearch_ids"][cls]["p95"], q["fts5"][cls]["p95"]
        rows.append([f"{cls} query p95, search_ids (no snippets) (ms)", _f(a, "{:.1f}"), _f(b, "{:.2f}"),
                     _ratio(a, b), "", ""])
    a, b = st["vnsearch"]["median_s"], st["fts5"]["median_s"]
    rows.append([f"start-up to printed results, median of {st['runs']} (s)", _f(a), _f(b), _ratio(a, b),
                 "≤ 1.0 s", _met(a <= 1.0)])
    return rows


ROW_COUNT = 12 + 12 + 4 + 1
"""How many rows :func:`table_rows` gives (for the smoke test)."""


def render_table(r: dict[str, Any]) -> str:
    m = r["machine"]
    head = ["measure", "vnsearch", "FTS5", "vnsearch/FTS5", "goal", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 3 + ["---"] * 2) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(r)]
    c = r["config"]
    lines.append("")
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}, "
                 f"whoosh-reloaded {m['whoosh']}. Corpus: {c['corpus_name']} ({r['index']['vnsearch']['docs']} docs, "
                 f"{r['index']['vnsearch']['bytes'] / MB:.1f} MB of title+text UTF-8). "
                 f"Queries: {c['queries_per_class']} per class from {c['queries_name']}. "
                 f"Start-up measured via {r['startup']['how']} on the first {c['small_docs']} docs. "
                 f"MB = 10^6 bytes; RSS summed over the process tree (forked workers share pages, "
                 f"so it overstates; PSS at 100 %: vnsearch {r['index']['vnsearch']['peak_pss'] / MIB:.0f} MiB, "
                 f"FTS5 {r['index']['fts5']['peak_pss'] / MIB:.0f} MiB).")
    vn = r["index"]["vnsearch"]
    if "cpu_main_s" in vn:
        mb = vn["bytes"] / MB
        lines.append(f"CPU of the whole-corpus pass: main process {vn['cpu_main_s'] / mb:.2f} s/MB, workers "
                     f"{vn['cpu_workers_s'] / mb:.2f} s/MB (together). Load average at start "
                     f"{c.get('loadavg_start', ['?'])[0]}, after indexing {vn['loadavg_end'][0]:.1f}.")
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Config:
    corpus: Path = DEFAULT_CORPUS
    workers: int = 2
    limit_docs: int | None = None
    out: Path = DEFAULT_OUT
    queries: Path = DEFAULT_QUERIES
    regenerate_queries: bool = False
    queries_per_class: int = 50
    one_worker_fraction: float = 0.25
    speedup_rounds: int = 3
    small_docs: int = 300
    startup_runs: int = 7
    repeats: int = 1
    keep: Path | None = None
    snapshot: bool = True


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_benchmark(cfg: Config) -> dict[str, Any]:
    """Run every measurement; returns the raw results (render them with :func:`render_table`)."""
    load_start = os.getloadavg()
    tree = machine()        # before the run: the git state of the tree the snapshot is taken from
    if cfg.keep is not None:
        cfg.keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vnsearch-bench-", dir=cfg.keep))
    if cfg.snapshot:
        snapshot_source(work / "src")
    total_docs = sum(1 for _ in iter_docs(cfg.corpus, cfg.limit_docs))
    t = time.perf_counter()
    read_bytes = sum(doc_bytes(d) for d in iter_docs(cfg.corpus, cfg.limit_docs))
    read_seconds = time.perf_counter() - t
    _log(f"corpus: {total_docs} docs, {read_bytes / MB:.1f} MB; reading alone takes {read_seconds:.1f} s")

    if cfg.regenerate_queries or not cfg.queries.exists():
        _log(f"drawing {cfg.queries_per_class} queries per class into {cfg.queries}")
        save_queries(cfg.queries, make_queries(list(iter_docs(cfg.corpus, cfg.limit_docs)), cfg.queries_per_class))
    queries = load_queries(cfg.queries)

    def checkpoint(**parts: Any) -> None:
        cfg.out.mkdir(parents=True, exist_ok=True)
        (cfg.out / "benchmark-partial.json").write_text(json.dumps(parts, indent=2, default=str), encoding="utf-8")

    try:
        base = {"corpus": str(cfg.corpus)}
        res: dict[str, Any] = {}
        _log(f"indexing {total_docs} docs with vnsearch, {cfg.workers} workers")
        res["vnsearch"] = run_child({**base, "kind": "vnsearch", "target": str(work / "vn"),
                                     "workers": cfg.workers, "docs": total_docs,
                                     "fractions": [cfg.one_worker_fraction]})
        checkpoint(index=res)
        _log(f"  {res['vnsearch']['seconds']:.1f} s; reindexing unchanged")
        res["reindex"] = run_child({**base, "kind": "vnsearch-reindex", "target": str(work / "vn"),
                                    "workers": cfg.workers, "docs": total_docs})
        one_docs = max(1, math.ceil(total_docs * cfg.one_worker_fraction))
        checkpoint(index=res)
        _log(f"  {res['reindex']['seconds']:.2f} s")
        # The speed-up: 1 worker and N workers on the same prefix, each from an empty index,
        # alternated over a few rounds so that a noisy neighbour hits both alike.
        res["prefix_passes"] = []
        for round_ in range(cfg.speedup_rounds):
            for workers in (1, cfg.workers):
                _log(f"indexing the first {one_docs} docs with {workers} worker(s), round {round_ + 1}")
                run = run_child({**base, "kind": "vnsearch", "target": str(work / "prefix"),
                                 "workers": workers, "docs": one_docs})
                shutil.rmtree(work / "prefix", ignore_errors=True)
                res["prefix_passes"].append(run)
                _log(f"  {run['seconds']:.1f} s")
                checkpoint(index=res)
        _log("building FTS5")
        res["fts5"] = run_child({**base, "kind": "fts5", "target": str(work / "fts5.db"), "docs": total_docs,
                                 "fractions": [cfg.one_worker_fraction]})
        _log(f"  {res['fts5']['seconds']:.1f} s; running {len(queries)} queries")
        checkpoint(index=res)
        q = measure_queries(work / "vn", work / "fts5.db", queries, cfg.repeats)
        checkpoint(index=res, queries=q)
        _log("measuring start-up")
        small_vn, small_fts = build_small(cfg.corpus, work, min(cfg.small_docs, total_docs))
        st = measure_startup(small_vn, small_fts, cfg.startup_runs)
    finally:
        if cfg.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            _log(f"kept the indexes in {work}")
    per_class = {c: sum(1 for x in queries if x["class"] == c) for c in CLASSES}
    return {
        "machine": tree,
        "config": {"corpus": str(cfg.corpus), "corpus_name": cfg.corpus.name, "workers": cfg.workers,
                   "limit_docs": cfg.limit_docs, "one_worker_fraction": cfg.one_worker_fraction,
                   "speedup_rounds": cfg.speedup_rounds,
                   "queries_name": cfg.queries.name, "queries_per_class": min(per_class.values()),
                   "small_docs": cfg.small_docs, "library": str(SRC), "repeats": cfg.repeats,
                   "corpus_read_seconds": read_seconds, "loadavg_start": load_start, "date": time.strftime("%Y-%m-%d %H:%M:%S")},
        "index": res, "queries": q, "startup": st,
    }


def write_outputs(results: dict[str, Any], table: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out / f"benchmark-{stamp}.json"
    path.write_text(json.dumps({**results, "table": table}, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "benchmark-latest.json").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (out / "benchmark-latest.md").write_text(table + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSONL(.gz) of documents")
    parser.add_argument("--workers", type=int, default=2, help="analysis workers of the main pass")
    parser.add_argument("--limit-docs", type=int, default=None, help="only the first N documents")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON and markdown results")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="the fixed query set (JSONL)")
    parser.add_argument("--regenerate-queries", action="store_true", help="redraw the query set from the corpus")
    parser.add_argument("--queries-per-class", type=int, default=50)
    parser.add_argument("--one-worker-fraction", type=float, default=0.25,
                        help="share of the corpus indexed by the 1-worker and N-worker speed-up passes")
    parser.add_argument("--speedup-rounds", type=int, default=3,
                        help="alternated 1-worker and N-worker passes on that share (best of each counts)")
    parser.add_argument("--small-docs", type=int, default=300, help="documents in the start-up index")
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1, help="timed passes over the queries after the warm-up")
    parser.add_argument("--keep", type=Path, default=None, help="build the indexes under this folder and keep them")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="import the library from the tree itself, not from a copy taken at the start")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_main(json.loads(args.child))))
        return 0
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found; pass --corpus")
    cfg = Config(corpus=args.corpus, workers=args.workers, limit_docs=args.limit_docs, out=args.out,
                 queries=args.queries, regenerate_queries=args.regenerate_queries,
                 queries_per_class=args.queries_per_class, one_worker_fraction=args.one_worker_fraction,
                 speedup_rounds=args.speedup_rounds, small_docs=args.small_docs, startup_runs=args.startup_runs, repeats=args.repeats,
                 keep=args.keep, snapshot=not args.no_snapshot)
    results = run_benchmark(cfg)
    table = render_table(results)
    print(table)
    path = write_outputs(results, table, cfg.out)
    _log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
