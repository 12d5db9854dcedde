"""Batch mode for evaluation: a file of queries in, a TREC run file out (as IR toolkits do)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from corpus import InputError

if TYPE_CHECKING:
    from ._searcher import Searcher


def read_queries(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(id, text)`` pairs from a JSONL file of ``{"id", "text"}`` objects (blank lines skipped);
    raises ``InputError`` naming the line of a malformed one."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {os.fspath(path)}: {getattr(exc, 'strerror', None) or exc}") from exc
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            out.append((str(rec["id"]), str(rec["text"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{os.fspath(path)}:{lineno}: not a {{\"id\", \"text\"}} JSON object",
                             hint="Each line must look like {\"id\": \"q1\", \"text\": \"...\"}.") from exc
    return out


def write_run(searcher: "Searcher", queries: Sequence[tuple[str, str]], out: TextIO, *, limit: int = 100,
              tag: str = "vnsearch", on_query: Callable[[int], None] | None = None) -> int:
    """Write each query's ranked results as TREC run lines (``qid Q0 docid rank score tag``);
    returns the number of lines. The query texts are plain text, not query syntax."""
    written = 0
    for n, (qid, text) in enumerate(queries, 1):
        for rank, (doc_id, score) in enumerate(searcher.search_ids(text, limit=limit), 1):
            out.write(f"{qid} Q0 {doc_id} {rank} {score:.4f} {tag}\n")
            written += 1
        if on_query is not None:
            on_query(n)
    return written
