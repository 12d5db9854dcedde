"""vnsearch against SQLite FTS5 at archive scale: ~77,000 Wikipedia paragraphs imported with the CLI.

Usage (from the repository root, with the project's virtualenv):

    python bench/scale.py                           # ~76,900 paragraphs + 1,000 added (long: see bench/README.md)
    python bench/scale.py --limit-docs 10000        # a quicker look
    python bench/scale.py --skip-optimize           # every phase but `vnsearch optimize`
    python bench/scale.py --make-queries            # redraw bench/queries_scale.jsonl (seeded)

It splits ``../shared/data/corpus/viwiki.jsonl.gz`` into paragraphs of at least 500 characters
(or takes ``--corpus`` JSONL of ``{"id", "title", "text", ...}`` documents as they are), imports
them with ``vnsearch index`` run as a subprocess with its default options, builds SQLite FTS5 on
the same documents, and prints one table side by side: import time and MB/s, segments, size on
disk, query latency per class, adding 1,000 more documents, and ``optimize`` (with the queries
and the size again after it). See ``bench/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import itertools
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _load_benchmark() -> Any:
    """bench/benchmark.py, for the helpers both benchmarks share (FTS5 schema and query
    translation, percentiles, machine description): one copy of each."""
    name = "vnsearch_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "benchmark.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


bench = _load_benchmark()

DEFAULT_WIKI = REPO.parent / "shared" / "data" / "corpus" / "viwiki.jsonl.gz"
DEFAULT_QUERIES = REPO / "bench" / "queries_scale.jsonl"
DEFAULT_OUT = REPO / "bench" / "out"
CLASSES = bench.CLASSES            # one word, two words, phrase, question
MB = bench.MB
MIN_PARAGRAPH = 500
SKIPPED_SECTIONS = frozenset({"Tham khảo", "Liên kết ngoài", "Xem thêm", "Chú thích", "Đọc thêm", "Ghi chú",
                              "Nguồn", "Thư mục"})
"""Wikipedia sections that are lists of references and links, not prose: left out of the paragraphs."""
_HEADING = re.compile(r"=+\s*(.*?)\s*=+")
FTS5_BATCH = 500


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the corpus ------------------------------------------------------------------------------

def _open_text(path: Path) -> Any:
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def paragraphs(article: dict[str, Any], min_chars: int = MIN_PARAGRAPH) -> Iterator[dict[str, Any]]:
    """One Wikipedia article as paragraph documents of at least ``min_chars`` characters.

    Consecutive non-empty lines (headings dropped, and the reference and link sections left out)
    are joined with newlines until the paragraph reaches ``min_chars``; a shorter rest at the end of
    the article is dropped. Ids are ``<article id>-p<N>`` (N from 1), stable across runs.

    >>> text = "Mở đầu " * 80 + "\\n== Tham khảo ==\\n" + "x " * 400
    >>> [(p["id"], len(p["text"])) for p in paragraphs({"id": "a1", "title": "T", "text": text})]
    [('a1-p1', 559)]
    """
    lines: list[str] = []
    size = 0
    number = 0
    skipping = False
    for raw in str(article.get("text") or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING.fullmatch(line)
        if heading:
            skipping = heading.group(1) in SKIPPED_SECTIONS
            continue
        if skipping:
            continue
        lines.append(line)
        size += len(line) + 1
        if size >= min_chars:
            number += 1
            yield {"id": f"{article['id']}-p{number}", "title": article.get("title") or "",
                   "text": "\n".join(lines), "source": "vi.wikipedia.org"}
            lines, size = [], 0


def iter_corpus(path: Path, split: bool) -> Iterator[dict[str, Any]]:
    """The documents of ``path``: Wikipedia articles split into paragraphs, or JSONL taken as it is."""
    with _open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise RuntimeError(f"{path}, line {number}: not a JSON object ({exc})") from None
            if not isinstance(record, dict) or not str(record.get("id") or "").strip():
                raise RuntimeError(f"{path}, line {number}: a document needs an \"id\"")
            if split:
                yield from paragraphs(record)
            else:
                yield record


def doc_bytes(doc: dict[str, Any]) -> int:
    """UTF-8 bytes of title and text (MB/s and "x text" count these, as benchmark.py does)."""
    return len(str(doc.get("title") or "").encode("utf-8")) + len(str(doc.get("text") or "").encode("utf-8"))


def prepare_corpus(source: Path, split: bool, work: Path, limit: int | None,
                   add_docs: int) -> dict[str, Any]:
    """Write the documents to ``work/main.jsonl`` and ``work/add.jsonl`` (the held-out ones).

    The first ``limit + add_docs`` documents (all, without a limit) are numbered from 0; with
    ``step = total // add_docs``, every document whose number is ``step - 1`` modulo ``step`` is held
    out until ``add_docs`` are, so the added documents are spread over the corpus, not its tail."""
    wanted = None if limit is None else limit + add_docs
    total = 0
    for _ in iter_corpus(source, split):
        total += 1
        if wanted is not None and total >= wanted:
            break
    if total <= add_docs:
        raise RuntimeError(f"{source} has {total} documents: not enough to hold {add_docs} out "
                           "and import the rest (lower --add-docs)")
    step = total // add_docs if add_docs else 0
    work.mkdir(parents=True, exist_ok=True)
    counts = {"main": {"docs": 0, "bytes": 0}, "add": {"docs": 0, "bytes": 0}}
    with (work / "main.jsonl").open("w", encoding="utf-8") as main, \
            (work / "add.jsonl").open("w", encoding="utf-8") as add:
        for n, doc in enumerate(iter_corpus(source, split)):
            if n >= total:
                break
            held = step and n % step == step - 1 and counts["add"]["docs"] < add_docs
            part = "add" if held else "main"
            (add if held else main).write(json.dumps(doc, ensure_ascii=False) + "\n")
            counts[part]["docs"] += 1
            counts[part]["bytes"] += doc_bytes(doc)
    return counts


def read_docs(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


# -- the fixed query set ---------------------------------------------------------------------

_VIETNAMESE = re.compile(r"[0-9A-Za-z\u00C0-\u024F\u1E00-\u1EFF_]+")
"""A word of Latin letters (Vietnamese ones included) and digits: no other script, no punctuation."""
_FUNCTION_WORDS = frozenset({"và", "với", "mà", "thì", "nhưng", "the", "of", "and", "in", "a", "an", "to", "de"})
"""Words the analyzer keeps (phrases need them) that nobody searches for alone or ends a query with."""
QUESTION_FORMS = ("{} là gì", "vì sao {}", "{} khi nào", "{} ở đâu", "{} như thế nào", "tại sao {}")
"""Question words wrapped around a run of a real sentence to make a natural question."""


def make_queries(docs: Sequence[dict[str, Any]], per_class: int = 50,
                 seed: int = 20261201) -> list[dict[str, str]]:
    """A fixed query set drawn from the paragraphs with a seeded random generator.

    Every draw picks a paragraph with probability proportional to its length, then a sentence of it,
    so words come at the rate they occur in the text:

    * ``one word``: one word of the sentence as the analyzer segments it (1-3 syllables, Latin
      letters only, not a stop word);
    * ``two words``: two adjacent such words;
    * ``phrase``: adjacent whole words making 3 syllables, the first and last not stop words, quoted;
    * ``question``: adjacent whole words of the sentence (letters and digits) wrapped in a question
      form (``... là gì``, ``vì sao ...``), 10-12 syllables in all, in lower case as the analyzer
      gives them, the way a reader types a question.
    """
    from analyzers import VietnameseAnalyzer

    analyzer = VietnameseAnalyzer()
    rng = random.Random(seed)
    cum_weights = list(itertools.accumulate(len(d["text"]) for d in docs))
    out: dict[str, list[str]] = {c: [] for c in CLASSES}
    seen: set[tuple[str, str]] = set()

    def add(cls: str, text: str) -> None:
        if len(out[cls]) < per_class and (cls, text.lower()) not in seen:
            seen.add((cls, text.lower()))
            out[cls].append(text)

    def good_word(word: str) -> bool:
        parts = word.split("_")
        return (1 <= len(parts) <= 3 and all(p.isalpha() for p in parts) and len(word) > 1
                and bool(_VIETNAMESE.fullmatch(word)) and not analyzer.is_stopword(word)
                and word.lower() not in _FUNCTION_WORDS)

    def syllables(words: Sequence[str]) -> int:
        return sum(w.count("_") + 1 for w in words)

    for _ in range(200_000):
        if all(len(v) >= per_class for v in out.values()):
            break
        doc = rng.choices(docs, cum_weights=cum_weights)[0]
        sentences = bench._sentences(doc["text"])
        if not sentences:
            continue
        cls = CLASSES[rng.randrange(len(CLASSES))]
        if len(out[cls]) >= per_class:
            continue
        words = [t.text for t in analyzer.analyze(rng.choice(sentences)).words]
        if cls == "one word":
            cands = [w for w in words if good_word(w)]
            if cands:
                add(cls, rng.choice(cands).replace("_", " "))
        elif cls == "two words":
            pairs = [(a, b) for a, b in zip(words, words[1:]) if good_word(a) and good_word(b)]
            if pairs:
                a, b = rng.choice(pairs)
                add(cls, f"{a} {b}".replace("_", " "))
        elif cls == "phrase":
            # Whole words that make 3 syllables, the first and last not stop words.
            runs = [words[i:j] for i in range(len(words)) for j in range(i + 1, min(i + 4, len(words) + 1))
                    if syllables(words[i:j]) == 3 and all(_VIETNAMESE.fullmatch(w) for w in words[i:j])
                    and good_word(words[i]) and good_word(words[j - 1])]
            if runs:
                add(cls, '"' + " ".join(rng.choice(runs)).replace("_", " ") + '"')
        else:
            form = rng.choice(QUESTION_FORMS)
            want = rng.randint(10, 12) - (len(form.split()) - 1)
            # Whole words from a word boundary, letters and digits only, until ``want`` syllables.
            i = rng.randrange(len(words)) if words else 0
            run: list[str] = []
            while i < len(words) and _VIETNAMESE.fullmatch(words[i]) and syllables(run) < want:
                run.append(words[i])
                i += 1
            if syllables(run) == want and good_word(run[0]) and good_word(run[-1]):
                add(cls, form.format(" ".join(run).replace("_", " ")))
    missing = {c: per_class - len(v) for c, v in out.items() if len(v) < per_class}
    if missing:
        raise RuntimeError(f"could not draw enough queries from the corpus: {missing}")
    return [{"class": c, "text": t} for c in CLASSES for t in out[c]]


# -- the two engines -------------------------------------------------------------------------

def vnsearch_command() -> list[str]:
    """``vnsearch`` of the interpreter running this script (same virtualenv), or its module."""
    script = Path(sys.executable).with_name("vnsearch")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from searcher.cli import main; sys.exit(main())"]


def run_cli(args: Sequence[str], log: Path) -> dict[str, float]:
    """Run ``vnsearch ARGS`` with its defaults; returns its wall time and CPU time (``seconds``,
    ``cpu_seconds``: the command and its worker processes, less sensitive than wall time to other
    load on a shared machine). Output goes to ``log``; a failure stops the benchmark with the
    command's last lines."""
    cmd = [*vnsearch_command(), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"`vnsearch {' '.join(args)}` failed with exit {proc.returncode}:\n{tail}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"seconds": seconds, "cpu_seconds": cpu}


def segment_count(path: Path) -> int:
    """Segments of the index at ``path``, through the public ``Index`` API."""
    from index import Index

    ix = Index.open(path)
    return ix.segment_count()


def vn_doc_count(path: Path) -> int:
    from index import Index

    return Index.open(path).doc_count()


def fts5_insert(db: Path, docs: Iterator[dict[str, Any]], create: bool) -> float:
    """Insert ``docs`` into the FTS5 table at ``db`` in transactions of 500; returns the seconds."""
    start = time.perf_counter()
    con = sqlite3.connect(db)
    try:
        if create:
            con.execute(bench.FTS5_DDL)
        batch: list[tuple[str, str, str]] = []
        for doc in docs:
            batch.append((str(doc["id"]), str(doc.get("title") or ""), str(doc.get("text") or "")))
            if len(batch) == FTS5_BATCH:
                with con:
                    con.executemany("INSERT INTO t(doc_id, title, text) VALUES (?, ?, ?)", batch)
                batch = []
        with con:
            con.executemany("INSERT INTO t(doc_id, title, text) VALUES (?, ?, ?)", batch)
    finally:
        con.close()
    return time.perf_counter() - start


def fts5_optimize(db: Path) -> float:
    """FTS5's own merge of its b-trees into one (``INSERT INTO t(t) VALUES('optimize')``), then VACUUM."""
    start = time.perf_counter()
    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("INSERT INTO t(t) VALUES('optimize')")
        con.execute("VACUUM")
    finally:
        con.close()
    return time.perf_counter() - start


def fts5_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        con.close()


def _timed(run: Callable[[str], Any], items: Sequence[str]) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        run(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: Sequence[float]) -> dict[str, float]:
    return {"p50": bench.percentile(ms, 50), "p95": bench.percentile(ms, 95), "mean": statistics.fmean(ms),
            "max": max(ms), "n": len(ms)}


def measure_queries(vn_index: Path, fts_db: Path, queries: Sequence[dict[str, str]],
                    repeats: int = 1) -> dict[str, Any]:
    """Per-class latency in ms over ``repeats`` timed passes: ``Searcher.search(q, limit=10)``
    (snippets included), each pass on a fresh searcher, after a warm-up pass on another one (so only
    the OS file cache is warm, no per-query memo); FTS5 ``MATCH ... ORDER BY bm25 LIMIT 10`` after a
    warm-up pass. The engines take turns, pass by pass. Also the mean hits per query."""
    from searcher import Searcher

    texts = {c: [q["text"] for q in queries if q["class"] == c] for c in CLASSES}
    matches = {c: [bench.fts5_query(c, q) for q in texts[c]] for c in CLASSES}
    out: dict[str, Any] = {"hits": {"vnsearch": {}, "fts5": {}}}
    ms: dict[str, dict[str, list[float]]] = {e: {c: [] for c in CLASSES} for e in ("vnsearch", "fts5")}
    con = sqlite3.connect(fts_db)
    try:
        def fts5(match: str) -> list[Any]:
            return con.execute(bench.FTS5_QUERY, (match,)).fetchall()

        with Searcher.open(vn_index) as warm:
            for cls in CLASSES:
                out["hits"]["vnsearch"][cls] = statistics.fmean(len(warm.search(q, limit=10).hits)
                                                                for q in texts[cls])
                out["hits"]["fts5"][cls] = statistics.fmean(len(fts5(m)) for m in matches[cls])
        for _ in range(repeats):
            with Searcher.open(vn_index) as s:
                for cls in CLASSES:
                    ms["vnsearch"][cls] += _timed(lambda q: s.search(q, limit=10), texts[cls])
            for cls in CLASSES:
                ms["fts5"][cls] += _timed(fts5, matches[cls])
    finally:
        con.close()
    for engine, per_class in ms.items():
        out[engine] = {cls: _summary(values) for cls, values in per_class.items()}
    return out


# -- the run ---------------------------------------------------------------------------------

PHASES = ("import", "queries", "add", "optimize")


def run_scale(corpus: Path, out: Path, queries_path: Path, *, split: bool | None = None,
              limit_docs: int | None = None, add_docs: int = 1000, queries_per_class: int | None = None,
              skip: Sequence[str] = (), keep: bool = False, repeats: int = 1) -> dict[str, Any]:
    """Every phase not in ``skip``; returns the raw results (render them with :func:`render_table`).

    The work folder ``out/scale-work`` holds the split corpus, both indexes and the CLI's logs; it is
    emptied at the start and, unless ``keep``, removed at the end. After each phase the results so
    far are written to ``out/scale-partial.json``."""
    if split is None:
        split = corpus.name.startswith("viwiki")
    unknown = set(skip) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases to skip: {sorted(unknown)}")
    if "import" in skip:
        raise ValueError("the import cannot be skipped: every other phase needs its index")
    tree = bench.machine()
    work = out / "scale-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    vn, fts = work / "vn", work / "fts5.db"
    queries = bench.load_queries(queries_path)
    if queries_per_class is not None:
        queries = [q for c in CLASSES for q in [x for x in queries if x["class"] == c][:queries_per_class]]
    res: dict[str, Any] = {
        "machine": tree,
        "config": {"corpus": str(corpus), "corpus_name": corpus.name, "split_paragraphs": split,
                   "min_paragraph_chars": MIN_PARAGRAPH if split else None, "limit_docs": limit_docs,
                   "add_docs": add_docs, "queries": queries_path.name,
                   "queries_per_class": min(sum(q["class"] == c for q in queries) for c in CLASSES),
                   "repeats": repeats, "skip": sorted(skip), "cli": vnsearch_command()[0],
                   "loadavg_start": list(os.getloadavg()),
                   "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
    }

    def checkpoint() -> None:
        (out / "scale-partial.json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")

    try:
        _log(f"splitting {corpus.name} into {work}")
        res["corpus"] = prepare_corpus(corpus, split, work, limit_docs, add_docs)
        text = res["corpus"]["main"]
        _log(f"  {text['docs']} documents to import ({text['bytes'] / MB:.1f} MB), "
             f"{res['corpus']['add']['docs']} held out to add")

        _log("vnsearch index (CLI defaults)")
        timing = run_cli(["index", str(work / "main.jsonl"), "--index", str(vn)], work / "index.log")
        count = vn_doc_count(vn)
        if count != text["docs"]:
            raise RuntimeError(f"vnsearch holds {count} documents after the import, not {text['docs']}")
        res["import"] = {"vnsearch": {**timing, "segments": segment_count(vn),
                                      "size": bench.dir_size(vn), "docs": count}}
        _log(f"  {timing['seconds']:.1f} s, {res['import']['vnsearch']['segments']} segments; FTS5")
        seconds = fts5_insert(fts, read_docs(work / "main.jsonl"), create=True)
        res["import"]["fts5"] = {"seconds": seconds, "size": bench.dir_size(fts), "docs": fts5_count(fts)}
        _log(f"  FTS5 {seconds:.1f} s")
        checkpoint()

        if "queries" not in skip:
            _log(f"{len(queries)} queries")
            res["queries"] = measure_queries(vn, fts, queries, repeats)
            checkpoint()

        if "add" not in skip and res["corpus"]["add"]["docs"]:
            n = res["corpus"]["add"]["docs"]
            _log(f"adding {n} documents")
            timing = run_cli(["index", str(work / "add.jsonl"), "--index", str(vn)], work / "add.log")
            count = vn_doc_count(vn)
            if count != text["docs"] + n:
                raise RuntimeError(f"vnsearch holds {count} documents after adding {n}, not {text['docs'] + n}")
            res["add"] = {"docs": n, "vnsearch": {**timing, "segments": segment_count(vn)}}
            res["add"]["fts5"] = {"seconds": fts5_insert(fts, read_docs(work / "add.jsonl"), create=False)}
            _log(f"  {timing['seconds']:.1f} s")
            checkpoint()

        if "optimize" not in skip:
            _log("vnsearch optimize")
            timing = run_cli(["optimize", "--index", str(vn)], work / "optimize.log")
            res["optimize"] = {"vnsearch": {**timing, "segments": segment_count(vn),
                                            "size": bench.dir_size(vn), "docs": vn_doc_count(vn)},
                               "fts5": {"seconds": fts5_optimize(fts), "size": bench.dir_size(fts)}}
            _log(f"  {timing['seconds']:.1f} s")
            checkpoint()
            if "queries" not in skip:
                _log("queries after optimize")
                res["queries_optimized"] = measure_queries(vn, fts, queries, repeats)
                checkpoint()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    res["config"]["loadavg_end"] = list(os.getloadavg())
    return res


# -- the table -------------------------------------------------------------------------------

NOT_APPLICABLE = "n/a"
SKIPPED = "skipped"


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    """Rows of [measure, vnsearch, FTS5, vnsearch/FTS5, goal, met]. A skipped phase gives its rows
    "skipped". The goals are issue 12's (set for 100,000 documents)."""
    f, ratio = bench._f, bench._ratio
    rows: list[list[str]] = []
    main = r["corpus"]["main"]
    text_mb = main["bytes"] / MB

    def pair(measure: str, a: float | None, b: float | None, fmt: str, goal: str = "",
             met: bool | None = None) -> None:
        rows.append([measure, f(a, fmt), f(b, fmt) if b is not None else NOT_APPLICABLE,
                     ratio(a, b) if b is not None else "", goal, bench._met(met)])

    def skipped(*measures: str) -> None:
        rows.extend([m, SKIPPED, SKIPPED, "", "", ""] for m in measures)

    vn, fts = r["import"]["vnsearch"], r["import"]["fts5"]
    rows.append([f"documents imported ({text_mb:.1f} MB of title+text)", str(vn["docs"]), str(fts["docs"]),
                 "", "", ""])
    pair("import time (s)", vn["seconds"], fts["seconds"], "{:.1f}")
    pair("import MB/s", text_mb / vn["seconds"], text_mb / fts["seconds"], "{:.3f}")
    pair("segments after the import", vn["segments"], None, "{:d}", "≤ 20", vn["segments"] <= 20)
    pair("size on disk (MB)", vn["size"] / MB, fts["size"] / MB, "{:.1f}", "≤ 2× FTS5",
         vn["size"] <= 2 * fts["size"])
    pair("size on disk / text size (x)", vn["size"] / main["bytes"], fts["size"] / main["bytes"], "{:.2f}")

    def query_rows(key: str, suffix: str) -> None:
        names = [f"{cls} p{p} (ms){suffix}" for cls in CLASSES for p in (50, 95)]
        if key not in r:
            skipped(*names)
            return
        q = r[key]
        for cls in CLASSES:
            for p in ("p50", "p95"):
                a, b = q["vnsearch"][cls][p], q["fts5"][cls][p]
                times = 2 if cls == "phrase" else 1
                goal = (f"≤ {times}× FTS5" if times > 1 else "≤ FTS5") if p == "p95" and not suffix else ""
                pair(f"{cls} {p} (ms){suffix}", a, b, "{:.2f}", goal, a <= times * b if goal else None)

    query_rows("queries", "")
    add_name = f"add {r['config']['add_docs']:,} documents (s)"
    if "add" in r:
        seconds = r["add"]["vnsearch"]["seconds"]
        pair(add_name, seconds, r["add"]["fts5"]["seconds"], "{:.1f}", "≤ 15 s", seconds <= 15)
        pair("segments after adding", r["add"]["vnsearch"]["segments"], None, "{:d}")
    else:
        skipped(add_name, "segments after adding")
    if "optimize" in r:
        o = r["optimize"]
        pair("optimize (s)", o["vnsearch"]["seconds"], o["fts5"]["seconds"], "{:.1f}")
        share = o["vnsearch"]["seconds"] / vn["seconds"]
        pair("optimize / import time (x)", share, o["fts5"]["seconds"] / fts["seconds"], "{:.2f}", "≤ 0.25",
             share <= 0.25)
        pair("segments after optimize", o["vnsearch"]["segments"], None, "{:d}")
        pair("size on disk after optimize (MB)", o["vnsearch"]["size"] / MB, o["fts5"]["size"] / MB, "{:.1f}")
    else:
        skipped("optimize (s)", "optimize / import time (x)", "segments after optimize",
                "size on disk after optimize (MB)")
    if "optimize" in r or "queries_optimized" in r:
        query_rows("queries_optimized", " after optimize")
    else:
        skipped(*[f"{cls} p{p} (ms) after optimize" for cls in CLASSES for p in (50, 95)])
    return rows


def render_table(r: dict[str, Any]) -> str:
    m, c = r["machine"], r["config"]
    lines = ["| measure | vnsearch | FTS5 | vnsearch/FTS5 | goal | met |", "|---|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(r)]
    corpus = (f"{c['corpus_name']} split into paragraphs of at least {c['min_paragraph_chars']} characters"
              if c["split_paragraphs"] else c["corpus_name"])
    hits = r.get("queries", {}).get("hits")
    hit_note = ""
    if hits:
        hit_note = " Mean hits per query (of 10): " + ", ".join(
            f"{cls} {hits['vnsearch'][cls]:.1f} / {hits['fts5'][cls]:.1f}" for cls in CLASSES) + "."
    cpu = [f"{name} {r[key]['vnsearch']['cpu_seconds']:.0f} s for {r[key]['vnsearch']['seconds']:.0f} s"
           for name, key in (("import", "import"), ("adding", "add"), ("optimize", "optimize"))
           if "cpu_seconds" in r.get(key, {}).get("vnsearch", {})]
    cpu_note = (" CPU time of the vnsearch commands (with their workers) for their wall time: "
                + ", ".join(cpu) + "." if cpu else "")
    lines += ["", f"{c['date']}, commit {m['git']}. Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
              f"SQLite {m['sqlite']}, whoosh-reloaded {m['whoosh']}. Corpus: {corpus}. vnsearch through "
              f"`vnsearch index` / `optimize` with their defaults; FTS5 `unicode61 remove_diacritics 2`, "
              f"transactions of {FTS5_BATCH}, one thread. Queries: {c['queries_per_class']} per class from "
              f"{c['queries']}, {c.get('repeats', 1)} timed pass(es).{hit_note}{cpu_note} "
              f"Load average {c['loadavg_start'][0]:.1f} at the start, "
              f"{c.get('loadavg_end', [float('nan')])[0]:.1f} at the end. MB = 10^6 bytes."]
    return "\n".join(lines)


def write_outputs(results: dict[str, Any], table: str, out: Path, json_path: Path | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = json.dumps({**results, "table": table}, ensure_ascii=False, indent=2)
    path.write_text(payload, encoding="utf-8")
    (out / "scale-latest.json").write_text(payload, encoding="utf-8")
    (out / "scale-latest.md").write_text(table + "\n", encoding="utf-8")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(payload, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_WIKI,
                        help="JSONL(.gz) of documents; viwiki* is split into paragraphs, anything else "
                             "is taken as it is")
    parser.add_argument("--split", action=argparse.BooleanOptionalAction, default=None,
                        help="split articles into paragraphs (default: only for viwiki*)")
    parser.add_argument("--limit-docs", type=int, default=None, help="import only N documents (plus the added ones)")
    parser.add_argument("--add-docs", type=int, default=1000, help="documents held out and added to the big index")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="the fixed query set (JSONL)")
    parser.add_argument("--queries-per-class", type=int, default=None, help="only the first N queries of each class")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed passes over the queries (each on a fresh searcher), default 1")
    parser.add_argument("--make-queries", action="store_true",
                        help="redraw the query set from the (split) corpus into --queries, then stop")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="work folder and results (git-ignored)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the split corpus and both indexes in OUT/scale-work")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="print the table of an earlier run's results (scale-*.json), then stop")
    for phase in PHASES[1:]:
        parser.add_argument(f"--skip-{phase}", action="store_true", help=f"leave out the {phase} phase")
    args = parser.parse_args(argv)
    if args.render is not None:
        print(render_table(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    if not args.corpus.is_file():
        parser.error(f"{args.corpus} not found; pass --corpus")
    split = args.split if args.split is not None else args.corpus.name.startswith("viwiki")
    if args.make_queries:
        docs = list(itertools.islice(iter_corpus(args.corpus, split), args.limit_docs))
        bench.save_queries(args.queries, make_queries(docs))
        _log(f"wrote {args.queries}")
        return 0
    if not args.queries.is_file():
        parser.error(f"{args.queries} not found; make it with --make-queries")
    skip = [p for p in PHASES[1:] if getattr(args, f"skip_{p}")]
    try:
        results = run_scale(args.corpus, args.out, args.queries, split=split, limit_docs=args.limit_docs,
                            add_docs=args.add_docs, queries_per_class=args.queries_per_class, skip=skip,
                            keep=args.keep, repeats=args.repeats)
    except RuntimeError as exc:
        print(f"scale benchmark failed: {exc}", file=sys.stderr)
        return 1
    table = render_table(results)
    print(table)
    path = write_outputs(results, table, args.out, args.json)
    _log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
