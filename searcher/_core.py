"""Orchestrators that chain stages (as trafilatura's ``core.py``): crawl a site into an index or a
JSONL file. The CLI calls these and only renders what they return."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus import CrawlOptions, CrawlReport
    from corpus._crawl import EventCallback
    from index import IndexReport


@dataclass
class CrawlRun:
    """What :func:`crawl_into` did: the crawl's report, and the index's (None when writing JSONL)."""

    crawl: CrawlReport
    index: IndexReport | None = None
    index_path: Path | None = None
    jsonl_path: Path | None = None
    written: int = 0
    """Documents written to the JSONL file."""


def crawl_into(seeds: list[str], state_dir: str | os.PathLike[str], options: CrawlOptions, *,
               index_path: str | os.PathLike[str] | None = None, jsonl_path: str | os.PathLike[str] | None = None,
               on_event: EventCallback | None = None,
               on_wait: Callable[[float], None] | None = None, lock_timeout: float = 300.0) -> CrawlRun:
    """Crawl ``seeds`` (resuming the crawl in ``state_dir``) and add its articles to the index at
    ``index_path`` (created if needed) as they come, or write them to ``jsonl_path`` instead.

    The crawl is closed (its state folder released) whatever happens; documents already handed
    to the index are committed in its batches, so an interrupted run loses nothing it archived.
    """
    from corpus import crawl, write_jsonl

    if (index_path is None) == (jsonl_path is None):
        raise ValueError("give exactly one of index_path and jsonl_path")
    with crawl(seeds, state_dir, options, on_event=on_event) as crawler:
        if jsonl_path is not None:
            with open(jsonl_path, "w", encoding="utf-8") as out:
                written = write_jsonl(crawler, out)
            return CrawlRun(crawler.report, jsonl_path=Path(jsonl_path), written=written)
        from index import Index

        assert index_path is not None
        ix = Index.open_or_create(Path(index_path))
        report = ix.add_documents(crawler, on_wait=on_wait, lock_timeout=lock_timeout)
    return CrawlRun(crawler.report, index=report, index_path=Path(index_path))
