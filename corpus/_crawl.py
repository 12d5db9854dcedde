"""A small, polite, resumable crawler for Vietnamese news and government sites.

    crawler = crawl(["https://example.vn/"], Path("state/"), CrawlOptions(max_pages=200))
    for doc in crawler:          # articles only; list pages are followed, not yielded
        ...
    crawler.report               # counts and every skipped URL with its reason

Everything the crawl learns is kept in its state folder, so it can be stopped at any moment
(Ctrl-C, kill -9) and run again with the same folder to continue:

- ``crawl.warc.gz``: every page fetched (HTML/text, HTTP 200), one flushed gzip member per record;
- ``journal.jsonl``: an append-only log of URLs queued (with depth) and finished (with outcome).

On restart the journal rebuilds the frontier and the archive is re-read: its pages are cleaned
again (not fetched) and their documents yielded again, so a caller that lost them when it was
killed gets them back. Document ids are canonical URLs, so re-indexing them is idempotent.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from ._document import Document
from ._errors import InputError, VnSearchError
from ._fetch import FetchError, FetchLimits, Response, canonicalize_url, fetch, url_host
from ._lock import FileLock
from ._robots import RobotsRules, parse_sitemap
from ._warc import DocumentFilter, WarcWriter, analyze_page, iter_responses

log = logging.getLogger(__name__)

WARC_NAME = "crawl.warc.gz"
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "lock"


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("vnsearch")
    except (ImportError, PackageNotFoundError):
        return "0.1.0"


# No contact URL is invented here: archivists should pass --user-agent with their own contact.
DEFAULT_USER_AGENT = f"vnsearch/{_version()} (Vietnamese archive crawler; python)"


class CrawlError(VnSearchError):
    """The crawl cannot run: its state folder is in use or unreadable."""


@dataclass(frozen=True)
class CrawlOptions:
    """Every knob of a crawl. Defaults are polite for a real site; tests shrink the delays.

    >>> CrawlOptions(max_pages=50, delay=0).max_pages
    50
    """

    scope: Literal["host", "prefix"] = "host"
    """``host``: stay on the seeds' hosts (``www.`` ignored); ``prefix``: stay under each seed's folder."""
    max_depth: int = 5
    """Link hops from a seed; sitemap URLs count as one hop."""
    max_pages: int | None = 1000
    """Stop after this many page fetches in total, earlier runs of the same crawl included."""
    use_sitemaps: bool = True
    """Queue the URLs of the seeds' sitemaps (robots.txt ``Sitemap:`` lines and ``/sitemap.xml``)."""
    obey_robots: bool = True
    delay: float = 1.0
    """Seconds between two requests to one host (robots.txt ``Crawl-delay`` wins when longer)."""
    concurrency: int = 2
    """Fetch threads in total."""
    per_host_concurrency: int = 1
    """Requests in flight to one host at a time."""
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    """Longest time one download may take, so a server trickling bytes cannot hold a thread."""
    retries: int = 2
    """Extra attempts after a 5xx, 429 or network failure, waiting ``backoff * 2**n`` seconds."""
    backoff: float = 1.0
    max_redirects: int = 5
    max_bytes: int = 5 * 1024 * 1024
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")
    require_vietnamese: bool = True
    """Skip pages whose text does not look Vietnamese (see :func:`vietnamese_share`)."""
    min_vietnamese_share: float = 0.08
    replay_archive: bool = True
    """On resume, yield again the documents of pages fetched by earlier runs (read from the archive)."""
    max_sitemap_urls: int = 50_000
    max_crawl_delay: float = 30.0
    """Cap on a robots.txt ``Crawl-delay``, so one odd file cannot stall the crawl for hours."""

    def __post_init__(self) -> None:
        checks = [
            (self.scope in ("host", "prefix"), "scope must be 'host' or 'prefix'"),
            (self.max_depth >= 0, "max_depth must be 0 or more"),
            (self.max_pages is None or self.max_pages > 0, "max_pages must be positive"),
            (self.delay >= 0, "delay must be 0 or more"),
            (1 <= self.concurrency <= 16, "concurrency must be between 1 and 16"),
            (1 <= self.per_host_concurrency <= self.concurrency,
             "per_host_concurrency must be between 1 and concurrency"),
            (min(self.connect_timeout, self.read_timeout, self.total_timeout) > 0, "timeouts must be positive"),
            (self.retries >= 0 and self.backoff >= 0, "retries and backoff must be 0 or more"),
            (self.max_redirects >= 0, "max_redirects must be 0 or more"),
            (self.max_bytes > 0, "max_bytes must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"invalid crawl option: {message}")

    def fetch_limits(self) -> FetchLimits:
        return FetchLimits(user_agent=self.user_agent, connect_timeout=self.connect_timeout,
                           read_timeout=self.read_timeout, total_timeout=self.total_timeout,
                           max_bytes=self.max_bytes, accept_types=tuple(self.content_types))


EventKind = Literal["queued", "fetched", "document", "skipped", "error", "redirect", "resumed", "finished"]


@dataclass(frozen=True)
class CrawlCounts:
    """Running totals of a crawl (earlier runs of a resumed crawl included)."""

    queued: int = 0
    """URLs ever put on the frontier."""
    fetched: int = 0
    """Page requests answered (any status)."""
    documents: int = 0
    """Articles yielded in this run."""
    skipped: int = 0
    """URLs given up with a reason (404, robots.txt, not Vietnamese, duplicate ...)."""
    errors: int = 0
    """URLs given up after network failures or server errors, retries included."""
    pending: int = 0
    """URLs waiting on the frontier or in flight."""

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("queued", "fetched", "documents", "skipped", "errors", "pending")}


@dataclass(frozen=True)
class CrawlEvent:
    """One step of a crawl, for progress displays. ``reason`` is set for skipped/error/redirect."""

    kind: EventKind
    url: str
    counts: CrawlCounts
    reason: str | None = None


EventCallback = Callable[[CrawlEvent], None]


@dataclass
class CrawlReport:
    """How a crawl went: totals and every URL given up, with why."""

    state_dir: Path
    warc_path: Path
    counts: CrawlCounts = field(default_factory=CrawlCounts)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(url, reason)`` for every skipped or failed URL, earlier runs included."""
    resumed: bool = False
    finished: bool = False
    """True when the frontier was exhausted; False when stopped by max_pages, Ctrl-C or the caller."""
    stop_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "warc_path": str(self.warc_path),
                "counts": self.counts.as_dict(), "skipped": [list(s) for s in self.skipped],
                "resumed": self.resumed, "finished": self.finished, "stop_reason": self.stop_reason}


# Letters that (almost) only Vietnamese uses: hook above, dot below, horn, breve, and đ.
@dataclass(frozen=True)
class _Item:
    url: str
    depth: int
    chain: tuple[str, ...] = ()
    """URLs that redirected here, for loop detection."""


class _Journal:
    """Append-only JSON lines; a torn last line (killed mid-write) is dropped on load."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        if path.exists():
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1
            if cut < len(data):
                log.warning("%s: dropping a torn last line", path)
                with open(path, "r+b") as fh:
                    fh.truncate(cut)
            for line in data[:cut].splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    log.warning("%s: skipping an unreadable line", path)
                    continue
                if isinstance(entry, dict):
                    self.entries.append(entry)
        self._fh = open(path, "a", encoding="utf-8")

    def append(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def crawl(seeds: list[str], state_dir: str | os.PathLike[str], options: CrawlOptions | None = None,
          on_event: EventCallback | None = None) -> "Crawler":
    """Start (or resume) a crawl. Iterate the result for documents; read ``.report`` afterwards.

    Raises :class:`InputError` for a seed that is not an http(s) URL.
    """
    return Crawler(seeds, state_dir, options, on_event)


class Crawler:
    """A crawl bound to its state folder. Iterate it once for the articles found."""

    def __init__(self, seeds: list[str], state_dir: str | os.PathLike[str],
                 options: CrawlOptions | None = None, on_event: EventCallback | None = None) -> None:
        self.options = options or CrawlOptions()
        self.state_dir = Path(state_dir)
        self.on_event = on_event
        self.seeds: list[str] = []
        for seed in seeds:
            canon = canonicalize_url(seed)
            if canon is None:
                raise InputError(f"not an http(s) URL: {seed!r}", hint="Seeds look like https://example.vn/")
            self.seeds.append(canon)
        self.report = CrawlReport(state_dir=self.state_dir, warc_path=self.state_dir / WARC_NAME)
        self._started = False
        self._gen: Generator[Document, None, None] | None = None
        self._limits = self.options.fetch_limits()
        self._hosts = {_bare_host(url_host(s)) for s in self.seeds}
        self._prefixes = tuple(_folder(s) for s in self.seeds)
        # Crawl state, rebuilt from the journal on resume.
        self._seen: dict[str, int] = {}
        self._done: dict[str, str] = {}
        self._frontier: OrderedDict[str, deque[_Item]] = OrderedDict()
        self._filter = DocumentFilter(self.options.require_vietnamese, self.options.min_vietnamese_share)
        self._robots: dict[str, RobotsRules] = {}
        self._sitemaps_done: set[str] = set()
        self._host_next: dict[str, float] = {}
        self._host_busy: dict[str, int] = {}
        self._counts: dict[str, int] = dict.fromkeys(CrawlCounts().as_dict(), 0)
        self._in_flight = 0

    # -- public -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Document]:
        if self._started:
            raise CrawlError("a Crawler can be iterated only once; create a new one to resume")
        self._started = True
        self._gen = self._run()
        return self._gen

    def close(self) -> None:
        """Stop the crawl now (if running) and release the state folder. Safe to call twice."""
        if self._gen is not None:
            self._gen.close()

    def __enter__(self) -> "Crawler":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the crawl loop ---------------------------------------------------------------------

    def _run(self) -> Generator[Document, None, None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = _lock(self.state_dir / LOCK_NAME)
        journal = _Journal(self.state_dir / JOURNAL_NAME)
        self._journal = journal
        warc: WarcWriter | None = None
        executor = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="vnsearch-fetch")
        futures: dict[Future[Response | FetchError], _Item] = {}
        self.report.stop_reason = "stopped by the caller"
        try:
            resumed = self._load(journal.entries)
            self.report.resumed = resumed
            if resumed:
                self._emit("resumed", str(self.state_dir))
            # Re-read what earlier runs fetched before appending: the writer cuts a torn tail first.
            replayed = set()
            for doc, url in self._replay():
                replayed.add(url)
                if doc is not None:
                    yield doc
            warc = WarcWriter(self.report.warc_path, software=self.options.user_agent)
            self._warc = warc
            for seed in self.seeds:
                self._queue(_Item(seed, 0))
            if self.options.use_sitemaps:
                for seed in self.seeds:
                    self._queue_sitemaps(seed)
            while True:
                self._dispatch(executor, futures)
                if not futures:
                    wait_for = self._next_ready_in()
                    if wait_for is None:
                        break
                    time.sleep(min(wait_for, 0.5))
                    continue
                finished, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in finished:
                    item = futures.pop(fut)
                    self._in_flight -= 1
                    host = url_host(item.url)
                    self._host_busy[host] -= 1
                    doc = self._handle(item, fut.result())
                    if doc is not None:
                        yield doc
            if self._limit_reached():
                self.report.stop_reason = f"max_pages ({self.options.max_pages}) reached"
            else:
                self.report.finished = True
                self.report.stop_reason = None
            self._emit("finished", "")
        except KeyboardInterrupt:
            self.report.stop_reason = "interrupted"
            raise
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            if warc is not None:
                warc.close()
            journal.close()
            self._sync_report()
            _unlock(lock)

    def _load(self, entries: list[dict[str, Any]]) -> bool:
        for e in entries:
            kind, url = e.get("e"), e.get("url", "")
            if kind == "queue" and url not in self._seen:
                self._seen[url] = int(e.get("depth", 0))
                self._counts["queued"] += 1
                self._push(_Item(url, int(e.get("depth", 0)), tuple(e.get("chain", ()))))
            elif kind == "done":
                self._done[url] = e.get("outcome", "")
                if e.get("fetched"):
                    self._counts["fetched"] += 1
                if e.get("outcome") in ("skipped", "error"):
                    self._counts["skipped" if e["outcome"] == "skipped" else "errors"] += 1
                    self.report.skipped.append((url, e.get("reason", "")))
            elif kind == "sitemaps":
                self._sitemaps_done.add(e.get("host", ""))
        # Finished URLs stay out of the rebuilt frontier.
        for host, items in self._frontier.items():
            self._frontier[host] = deque(i for i in items if i.url not in self._done)
        return bool(entries)

    def _replay(self) -> Iterator[tuple[Document | None, str]]:
        """Re-clean the pages earlier runs archived; finish those a kill left unjournaled."""
        path = self.report.warc_path
        if not path.exists():
            return
        for resp in iter_responses(path, on_skip=lambda where, why: log.info("%s: %s", where, why)):
            url = canonicalize_url(resp.url) or resp.url
            new = url not in self._done
            item = _Item(url, self._seen.get(url, 0))
            if new:
                # The page was archived but the kill came before its journal line: finish it now.
                self._remove_from_frontier(item)
                self._counts["fetched"] += 1
            doc = self._process_page(item, resp.headers, resp.body, resp.date, journal=new)
            if doc is not None and (new or self.options.replay_archive):
                self._counts["documents"] += 1
                self._emit("document", url)
                yield doc, url
            else:
                yield None, url

    def _dispatch(self, executor: ThreadPoolExecutor, futures: dict) -> None:
        now = time.monotonic()
        while len(futures) < self.options.concurrency and not self._limit_reached():
            item = self._pop_ready(now)
            if item is None:
                return
            host = url_host(item.url)
            if self.options.obey_robots:
                rules = self._rules_for(item.url)
                if not rules.allowed(item.url, self.options.user_agent):
                    self._finish(item, "skipped", "forbidden by robots.txt", fetched=False)
                    continue
            self._host_busy[host] = self._host_busy.get(host, 0) + 1
            self._host_next[host] = time.monotonic() + self._delay(host)
            self._in_flight += 1
            futures[executor.submit(self._fetch_with_retries, item.url)] = item

    def _pop_ready(self, now: float) -> _Item | None:
        for host, items in self._frontier.items():
            if not items:
                continue
            if self._host_busy.get(host, 0) >= self.options.per_host_concurrency:
                continue
            if self._host_next.get(host, 0.0) > now:
                continue
            item = items.popleft()
            # Round-robin: a host just served goes to the back.
            self._frontier.move_to_end(host)
            return item
        return None

    def _next_ready_in(self) -> float | None:
        """Seconds until some queued URL may be fetched; None when nothing is left to do."""
        if self._limit_reached():
            return None
        waits = [max(0.0, self._host_next.get(h, 0.0) - time.monotonic())
                 for h, items in self._frontier.items() if items]
        return min(waits) if waits else None

    def _limit_reached(self) -> bool:
        limit = self.options.max_pages
        return limit is not None and self._counts["fetched"] + self._in_flight >= limit

    def _delay(self, host: str) -> float:
        rules = self._robots.get(host)
        robots_delay = rules.crawl_delay if rules and rules.crawl_delay else 0.0
        return max(self.options.delay, min(robots_delay, self.options.max_crawl_delay))

    def _fetch_with_retries(self, url: str) -> Response | FetchError:
        """Runs in a worker thread: fetch, retrying transient failures with exponential backoff."""
        attempt = 0
        while True:
            try:
                resp = fetch(url, self._limits)
            except FetchError as exc:
                if not exc.retryable or attempt >= self.options.retries:
                    return exc
                log.info("retrying %s after %s", url, exc)
            else:
                if not (resp.status >= 500 or resp.status == 429) or attempt >= self.options.retries:
                    return resp
                log.info("retrying %s after HTTP %d", url, resp.status)
            time.sleep(self.options.backoff * (2 ** attempt))
            attempt += 1

    # -- outcomes ---------------------------------------------------------------------------

    def _handle(self, item: _Item, result: Response | FetchError) -> Document | None:
        if isinstance(result, FetchError):
            kind = "error" if result.retryable else "skipped"
            self._finish(item, kind, str(result), fetched=True)
            return None
        resp = result
        self._counts["fetched"] += 1
        if resp.status in (301, 302, 303, 307, 308):
            self._redirect(item, resp)
            return None
        if resp.status != 200:
            kind = "error" if resp.status >= 500 or resp.status == 429 else "skipped"
            self._finish(item, kind, f"HTTP {resp.status} {resp.reason}".strip(), fetched=True, counted=True)
            return None
        if resp.body_skipped:
            self._finish(item, "skipped", resp.body_skipped, fetched=True, counted=True)
            return None
        if b"\x00" in resp.body[:2048]:
            self._finish(item, "skipped", "binary content (NUL bytes)", fetched=True, counted=True)
            return None
        # Archive first: once the record is on disk the page is never fetched again.
        self._warc.write_response(item.url, resp.status, resp.reason, resp.headers, resp.body,
                                  protocol=resp.protocol, request_headers=resp.request_headers)
        self._emit("fetched", item.url)
        # The same fallback date read_warc() takes from WARC-Date, so a re-read gives the same document.
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        doc = self._process_page(item, resp.headers, resp.body, today, journal=True)
        if doc is not None:
            self._counts["documents"] += 1
            self._emit("document", item.url)
        return doc

    def _process_page(self, item: _Item, headers: list[tuple[str, str]], body: bytes,
                      capture_date: str | None, *, journal: bool) -> Document | None:
        """Clean an archived page, queue its links, decide whether it is a new article."""
        result = analyze_page(item.url, headers, body, capture_date=capture_date)
        if item.depth < self.options.max_depth:
            for link in result.links:
                if self._in_scope(link):
                    self._queue(_Item(link, item.depth + 1))
        doc = result.document
        reason = result.reason
        if doc is not None:
            reason = self._filter.reject(doc, result, item.url)
            if reason is not None:
                doc = None
        if doc is not None:
            outcome = "document"
        elif result.is_list:
            outcome = "page"
        else:
            outcome = "skipped"
        if journal or item.url not in self._done:
            self._finish(item, outcome, reason if outcome == "skipped" else None, fetched=True,
                         counted=True, journal=journal)
        return doc

    def _redirect(self, item: _Item, resp: Response) -> None:
        location = resp.header("Location")
        target = canonicalize_url(location, item.url) if location else None
        if target is None:
            self._finish(item, "skipped", f"HTTP {resp.status} without a usable Location", fetched=True,
                         counted=True)
            return
        chain = item.chain + (item.url,)
        if target in chain:
            self._finish(item, "skipped", f"redirect loop ({' -> '.join(chain + (target,))})", fetched=True,
                         counted=True)
        elif len(chain) > self.options.max_redirects:
            self._finish(item, "skipped", f"more than {self.options.max_redirects} redirects", fetched=True,
                         counted=True)
        elif not self._in_scope(target):
            self._finish(item, "skipped", f"redirects out of scope to {target}", fetched=True, counted=True)
        else:
            self._emit("redirect", item.url, target)
            if target not in self._seen:
                self._queue(_Item(target, item.depth, chain), front=True)
            self._finish(item, "redirect", None, fetched=True, counted=True)

    def _finish(self, item: _Item, outcome: str, reason: str | None, *, fetched: bool,
                counted: bool = False, journal: bool = True) -> None:
        """Record a URL as done. ``counted``: the fetch was already added to the totals."""
        if fetched and not counted:
            self._counts["fetched"] += 1
        self._done[item.url] = outcome
        if journal:
            entry: dict[str, Any] = {"e": "done", "url": item.url, "outcome": outcome, "fetched": fetched}
            if reason:
                entry["reason"] = reason
            self._journal.append(entry)
        if outcome in ("skipped", "error"):
            self._counts["skipped" if outcome == "skipped" else "errors"] += 1
            self.report.skipped.append((item.url, reason or outcome))
            log.info("%s %s: %s", outcome, item.url, reason)
            self._emit("skipped" if outcome == "skipped" else "error", item.url, reason)

    # -- frontier ---------------------------------------------------------------------------

    def _queue(self, item: _Item, *, front: bool = False, journal: bool = True) -> None:
        if item.url in self._seen:
            return
        self._seen[item.url] = item.depth
        self._counts["queued"] += 1
        if journal:
            entry: dict[str, Any] = {"e": "queue", "url": item.url, "depth": item.depth}
            if item.chain:
                entry["chain"] = list(item.chain)
            self._journal.append(entry)
        self._push(item, front=front)
        self._emit("queued", item.url)

    def _push(self, item: _Item, *, front: bool = False) -> None:
        items = self._frontier.setdefault(url_host(item.url), deque())
        if front:
            items.appendleft(item)
        else:
            items.append(item)

    def _remove_from_frontier(self, item: _Item) -> None:
        items = self._frontier.get(url_host(item.url))
        if items:
            self._frontier[url_host(item.url)] = deque(i for i in items if i.url != item.url)

    def _in_scope(self, url: str) -> bool:
        if self.options.scope == "prefix":
            return url.startswith(self._prefixes)
        return _bare_host(url_host(url)) in self._hosts

    # -- robots.txt and sitemaps ------------------------------------------------------------

    def _rules_for(self, url: str) -> RobotsRules:
        host = url_host(url)
        rules = self._robots.get(host)
        if rules is None:
            parts = urlsplit(url)
            robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
            resp = self._fetch_aux(robots_url)
            if resp is None:
                rules = RobotsRules.from_response(None, b"", self.options.user_agent)
            else:
                rules = RobotsRules.from_response(resp.status, resp.body, self.options.user_agent)
            self._robots[host] = rules
        return rules

    def _fetch_aux(self, url: str) -> Response | None:
        """robots.txt or a sitemap: follow redirects, accept any type, no archive. None on failure."""
        limits = replace(self._limits, max_bytes=min(self._limits.max_bytes, 50 * 1024 * 1024))
        for _ in range(self.options.max_redirects + 1):
            try:
                resp = fetch(url, limits, accept_any_type=True)
            except FetchError as exc:
                log.info("could not fetch %s: %s", url, exc)
                return None
            location = resp.header("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return resp
        return None

    def _queue_sitemaps(self, seed: str) -> None:
        host = url_host(seed)
        if host in self._sitemaps_done:
            return
        parts = urlsplit(seed)
        root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        rules = self._rules_for(seed) if self.options.obey_robots else None
        todo = list(rules.sitemaps if rules else [])
        default = urljoin(root, "/sitemap.xml")
        if default not in todo:
            todo.append(default)
        fetched: set[str] = set()
        found = 0
        while todo and len(fetched) < 50 and found < self.options.max_sitemap_urls:
            sitemap_url = todo.pop(0)
            if sitemap_url in fetched:
                continue
            fetched.add(sitemap_url)
            resp = self._fetch_aux(sitemap_url)
            if resp is None or resp.status != 200:
                continue
            pages, children = parse_sitemap(resp.body)
            todo.extend(children)
            for page in pages:
                if found >= self.options.max_sitemap_urls:
                    break
                if self._in_scope(page) and self.options.max_depth >= 1:
                    found += 1
                    self._queue(_Item(page, 1))
        self._sitemaps_done.add(host)
        self._journal.append({"e": "sitemaps", "host": host, "urls": found})

    # -- reporting --------------------------------------------------------------------------

    def _snapshot(self) -> CrawlCounts:
        pending = sum(len(items) for items in self._frontier.values()) + self._in_flight
        return CrawlCounts(**{**self._counts, "pending": pending})

    def _emit(self, kind: EventKind, url: str, reason: str | None = None) -> None:
        if self.on_event is not None:
            self.on_event(CrawlEvent(kind=kind, url=url, counts=self._snapshot(), reason=reason))

    def _sync_report(self) -> None:
        self.report.counts = self._snapshot()


def _bare_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _folder(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _lock(path: Path) -> FileLock:
    """Hold an exclusive lock on the state folder, so two crawls never write one archive."""
    lock = FileLock(path)
    if not lock.try_acquire():
        raise CrawlError(f"{path.parent}: another crawl is using this state folder",
                         hint="Wait for it to finish or stop it, then run again.")
    return lock


def _unlock(lock: FileLock) -> None:
    lock.release()
