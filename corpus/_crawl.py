"""A small, polite, resumable crawler for Vietnamese news and government sites.

    crawler = crawl(["https://example.vn/"], Path("state/"), CrawlOptions(max_pages=200))
    for doc in crawler:          # articles only; list pages are followed, not yielded
        ...
    crawler.report               # counts, every skipped URL with its reason, the failures

Every request (pages, robots.txt, sitemaps, each redirect hop) is checked against one
:class:`~corpus._scope.Scope` first and made by one :class:`~corpus._http.HttpClient`, one at a
time per host and at least ``delay`` seconds apart (robots.txt ``Crawl-delay`` and
``Retry-After`` make it longer).

Everything the crawl learns is kept in its state folder, so it can be stopped at any moment
(Ctrl-C, kill -9) and run again with the same folder to continue:

- ``crawl.warc.gz``: every page fetched (HTML/text, HTTP 200) as received, with its request,
  one flushed gzip member per record;
- ``journal.jsonl``: an append-only log of URLs queued (with depth), finished (with outcome) and
  failed. A failure (network error, timeout, 5xx after the retries, robots.txt unreachable) is
  temporary: the URL stays pending and the next run of the same crawl fetches it again.

On restart the journal rebuilds the frontier and the archive is re-read: its pages are cleaned
again (not fetched) and their documents yielded again, so a caller that lost them when it was
killed gets them back. Document ids are canonical URLs, so re-indexing them is idempotent.

``refresh=True`` starts a new pass over a crawled site: every page crawled before is asked again
with ``If-None-Match``/``If-Modified-Since`` (or not at all when its sitemap ``lastmod`` is older
than the archived copy), and only new or changed pages are fetched, archived and yielded.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from ._document import Document
from ._errors import InputError, VnSearchError
from ._http import (MAX_PAGE_BYTES, REDIRECT_STATUSES, RETRY_STATUSES, FetchError, HttpClient, HttpLimits,
                    Response, retry_after)
from ._lock import FileLock
from ._robots import SITEMAP_MAX_BYTES, RobotsRules, parse_sitemap
from ._scope import Scope
from ._urls import canonicalize_url, url_host
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
    """``host``: same scheme, host and port as a seed; ``prefix``: and under the seed's folder."""
    allow_hosts: tuple[str, ...] = ()
    """More hosts (``example.vn`` or ``example.vn:8080``) the crawl may request."""
    max_depth: int = 5
    """Link hops from a seed; sitemap URLs count as one hop."""
    max_pages: int | None = 1000
    """Stop after this many page fetches in total, earlier runs of the same crawl included."""
    use_sitemaps: bool = True
    """Queue the URLs of the seeds' sitemaps (robots.txt ``Sitemap:`` lines and ``/sitemap.xml``)."""
    obey_robots: bool = True
    """robots.txt (RFC 9309), ``<meta name="robots">`` and ``X-Robots-Tag``."""
    refresh: bool = False
    """Start a new pass over a crawled site, fetching only new or changed pages."""
    delay: float = 1.0
    """Seconds between two requests to one host (robots.txt ``Crawl-delay`` wins when longer)."""
    concurrency: int = 2
    """Fetch threads in total."""
    per_host_concurrency: int = 1
    """Requests in flight to one host at a time."""
    user_agent: str = DEFAULT_USER_AGENT
    # The HTTP client's own defaults (one place to change them).
    connect_timeout: float = HttpLimits.connect_timeout
    read_timeout: float = HttpLimits.read_timeout
    total_timeout: float = HttpLimits.total_timeout
    """Longest time one download may take, so a server trickling bytes cannot hold a thread."""
    retries: int = HttpLimits.retries
    """Extra attempts after a 5xx, 429 or network failure, waiting ``backoff * 2**n`` seconds."""
    backoff: float = HttpLimits.backoff
    max_retry_after: float = HttpLimits.max_retry_after
    """Longest ``Retry-After`` waited for; a longer one leaves the URL for the next run."""
    max_redirects: int = 5
    max_bytes: int = MAX_PAGE_BYTES
    """Cap on one page, as received and once decompressed."""
    max_sitemap_bytes: int = SITEMAP_MAX_BYTES
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
            (self.max_bytes > 0 and self.max_sitemap_bytes > 0, "size caps must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"invalid crawl option: {message}")

    def http_limits(self) -> HttpLimits:
        return HttpLimits(user_agent=self.user_agent, connect_timeout=self.connect_timeout,
                          read_timeout=self.read_timeout, total_timeout=self.total_timeout,
                          max_bytes=self.max_bytes, retries=self.retries, backoff=self.backoff,
                          min_retry_wait=self.delay, max_retry_after=self.max_retry_after,
                          connections_per_host=self.per_host_concurrency)


EventKind = Literal["queued", "fetched", "document", "skipped", "error", "redirect", "resumed", "finished"]


@dataclass(frozen=True)
class CrawlCounts:
    """Running totals of a crawl (earlier runs of a resumed crawl included, except ``failed``)."""

    queued: int = 0
    """URLs ever put on the frontier."""
    fetched: int = 0
    """Page requests answered (any status)."""
    documents: int = 0
    """Articles yielded in this run."""
    skipped: int = 0
    """URLs given up with a reason (404, robots.txt, list page, not Vietnamese, duplicate ...)."""
    errors: int = 0
    """URLs that failed in this run (network, timeout, 5xx): kept pending for the next run."""
    pending: int = 0
    """URLs waiting on the frontier, in flight, or failed and waiting for the next run."""
    unchanged: int = 0
    """Pages a refresh found unchanged (HTTP 304 or an older sitemap ``lastmod``)."""
    out_of_scope: int = 0
    """Distinct links and sitemap entries not followed because they are out of scope."""

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("queued", "fetched", "documents", "skipped", "errors", "pending",
                                               "unchanged", "out_of_scope")}


@dataclass(frozen=True)
class CrawlEvent:
    """One step of a crawl, for progress displays. ``reason`` is set for skipped/error/redirect
    (for a redirect: its target).

    ``document``, ``skipped``, ``error`` and ``redirect`` each end one URL's turn, and come only
    once its outcome is in the journal: a crawl killed after such an event does not fetch that
    URL again when resumed (an error's URL excepted: it is pending by design).
    """

    kind: EventKind
    url: str
    counts: CrawlCounts
    reason: str | None = None


EventCallback = Callable[[CrawlEvent], None]


@dataclass
class CrawlReport:
    """How a crawl went: totals, every URL given up with why, and this run's failures."""

    state_dir: Path
    warc_path: Path
    counts: CrawlCounts = field(default_factory=CrawlCounts)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(url, reason)`` for every URL given up, earlier runs of this pass included."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(url, reason)`` for URLs that failed in this run; the next run tries them again."""
    answered: int = 0
    """Pages of this run that got a final answer (anything but a network failure, 429 or 5xx)."""
    resumed: bool = False
    finished: bool = False
    """True when the frontier was exhausted; False when stopped by max_pages, Ctrl-C or the caller."""
    stop_reason: str | None = None

    @property
    def nothing_fetched(self) -> bool:
        """True when pages failed in this run and none got a final answer (the site is down)."""
        return bool(self.failed) and self.answered == 0

    def as_dict(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "warc_path": str(self.warc_path),
                "counts": self.counts.as_dict(), "skipped": [list(s) for s in self.skipped],
                "failed": [list(f) for f in self.failed], "answered": self.answered,
                "resumed": self.resumed, "finished": self.finished, "stop_reason": self.stop_reason}


@dataclass(frozen=True)
class _Item:
    url: str
    depth: int
    chain: tuple[str, ...] = ()
    """URLs that redirected here, for loop detection."""


@dataclass(frozen=True)
class _Validators:
    """What a refresh needs to ask whether an archived page changed."""

    etag: str | None
    last_modified: str | None
    captured: str | None

    def headers(self) -> list[tuple[str, str]]:
        out = []
        if self.etag:
            out.append(("If-None-Match", self.etag))
        if self.last_modified:
            out.append(("If-Modified-Since", self.last_modified))
        return out


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
        self.scope = Scope(self.seeds, self.options.scope, self.options.allow_hosts)
        self.report = CrawlReport(state_dir=self.state_dir, warc_path=self.state_dir / WARC_NAME)
        self._started = False
        self._gen: Generator[Document, None, None] | None = None
        self._client = HttpClient(self.options.http_limits())
        # Crawl state of the current pass, rebuilt from the journal on resume.
        self._seen: dict[str, int] = {}
        self._done: dict[str, str] = {}
        self._failed: set[str] = set()
        self._frontier: OrderedDict[str, deque[_Item]] = OrderedDict()
        self._filter = DocumentFilter(self.options.require_vietnamese, self.options.min_vietnamese_share)
        self._robots: dict[str, RobotsRules] = {}
        self._sitemaps_done: set[str] = set()
        self._host_next: dict[str, float] = {}
        self._host_busy: dict[str, int] = {}
        self._counts: dict[str, int] = dict.fromkeys(CrawlCounts().as_dict(), 0)
        self._offsite: set[str] = set()
        self._in_flight = 0
        self._pass_offset = 0
        """Where this pass's records start in the archive (0 until a refresh)."""
        self._previous: dict[str, tuple[str, int]] = {}
        """A refresh: URL -> (last outcome, depth) in earlier passes; "pending" if never finished."""
        self._validators: dict[str, _Validators] = {}
        self._lastmod: dict[str, str] = {}

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
        self._client.close()

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
            entries = journal.entries
            if self.options.refresh and entries:
                offset = self.report.warc_path.stat().st_size if self.report.warc_path.exists() else 0
                entry = {"e": "pass", "warc_offset": offset}
                journal.append(entry)
                entries = [*entries, entry]
            resumed = self._load(entries)
            self.report.resumed = resumed
            if resumed:
                self._emit("resumed", str(self.state_dir))
            # Re-read what earlier runs fetched before appending: the writer cuts a torn tail first.
            for doc in self._replay():
                yield doc
            warc = WarcWriter(self.report.warc_path, software=self.options.user_agent)
            self._warc = warc
            for seed in self.seeds:
                self._queue(_Item(seed, 0))
            if self.options.refresh:
                for url, (outcome, depth) in self._previous.items():
                    # Pages seen before, and those an earlier pass left pending (failed or not reached).
                    if outcome in ("document", "page", "unchanged", "pending", "error"):
                        self._queue(_Item(url, depth))
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
                    # The delay also runs from the end of a download, so slow answers slow the crawl.
                    self._host_next[host] = max(self._host_next.get(host, 0.0), time.monotonic() + self._delay(host))
                    found = self._handle(item, fut.result())
                    if found is not None:
                        yield found
            if self._limit_reached():
                self.report.stop_reason = f"max_pages ({self.options.max_pages}) reached"
            elif self._failed:
                self.report.stop_reason = (f"{len(self._failed)} URL(s) failed and stay pending;"
                                           " run the same command again to retry them")
            else:
                self.report.finished = True
                self.report.stop_reason = None
            self._emit("finished", "")
        except KeyboardInterrupt:
            self.report.stop_reason = "interrupted"
            raise
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            self._client.close()
            if warc is not None:
                warc.close()
            journal.close()
            self._sync_report()
            _unlock(lock)

    def _load(self, entries: list[dict[str, Any]]) -> bool:
        # A refresh pass starts at its last "pass" line; what came before only tells it which
        # pages exist (and, through the archive, their validators).
        start = max((i + 1 for i, e in enumerate(entries) if e.get("e") == "pass"), default=0)
        if start:
            self._pass_offset = int(entries[start - 1].get("warc_offset", 0))
            depths: dict[str, int] = {}
            for e in entries[:start]:
                url = e.get("url", "")
                if e.get("e") == "queue":
                    depths.setdefault(url, int(e.get("depth", 0)))
                    self._previous.setdefault(url, ("pending", depths[url]))
                elif e.get("e") == "done":
                    self._previous[url] = (e.get("outcome", ""), depths.get(url, 0))
        for e in entries[start:]:
            kind, url = e.get("e"), e.get("url", "")
            if kind == "queue" and url not in self._seen:
                self._seen[url] = int(e.get("depth", 0))
                self._counts["queued"] += 1
                self._push(_Item(url, int(e.get("depth", 0)), tuple(e.get("chain", ()))))
            elif kind == "done" and e.get("outcome") == "error":
                continue  # written by earlier versions, which gave failures up: pending again now
            elif kind == "done":
                self._done[url] = e.get("outcome", "")
                if e.get("fetched"):
                    self._counts["fetched"] += 1
                if e.get("outcome") in ("skipped", "page"):
                    self._counts["skipped"] += 1
                    self.report.skipped.append((url, e.get("reason", "")))
                elif e.get("outcome") == "unchanged":
                    self._counts["unchanged"] += 1
            elif kind == "sitemaps":
                self._sitemaps_done.add(e.get("host", ""))
        # Finished URLs stay out of the rebuilt frontier; failed ones are back in it.
        for host, items in self._frontier.items():
            self._frontier[host] = deque(i for i in items if i.url not in self._done)
        return bool(entries)

    def _replay(self) -> Iterator[Document]:
        """Re-clean the pages this pass archived; finish those a kill left unjournaled.

        Records of earlier passes only give the validators a refresh sends."""
        path = self.report.warc_path
        if not path.exists():
            return
        for resp in iter_responses(path, on_skip=lambda where, why: log.info("%s: %s", where, why),
                                   max_bytes=self.options.max_bytes):
            url = canonicalize_url(resp.url) or resp.url
            self._validators[url] = _Validators(resp.header("ETag"), resp.header("Last-Modified"), resp.captured)
            if resp.offset < self._pass_offset:
                continue
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
                yield doc

    def _dispatch(self, executor: ThreadPoolExecutor, futures: dict[Future[Response | FetchError], _Item]) -> None:
        while len(futures) < self.options.concurrency and not self._limit_reached():
            item = self._pop_ready(time.monotonic())
            if item is None:
                return
            host = url_host(item.url)
            if self.options.obey_robots and host not in self._robots:
                # robots.txt first, then this URL waits its turn like any other request to the host.
                self._rules_for(item.url)
                self._frontier[host].appendleft(item)
                continue
            if self.options.obey_robots:
                rules = self._rules_for(item.url)
                if rules.unavailable is not None:
                    self._fail(item, f"{rules.unavailable}; the host is off limits until it answers")
                    continue
                if not rules.allowed(item.url, self.options.user_agent):
                    self._finish(item, "skipped", "forbidden by robots.txt", fetched=False)
                    continue
            if self._unchanged_by_lastmod(item.url):
                self._finish(item, "unchanged", None, fetched=False)
                continue
            self._host_busy[host] = self._host_busy.get(host, 0) + 1
            self._host_next[host] = time.monotonic() + self._delay(host)
            self._in_flight += 1
            futures[executor.submit(self._fetch_page, item.url, self._delay(host))] = item

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

    def _fetch_page(self, url: str, delay: float) -> Response | FetchError:
        """Runs in a worker thread: one page, conditional when a refresh has its validators."""
        validators = self._validators.get(url) if self._pass_offset else None
        try:
            resp = self._client.get(url, accept_types=self.options.content_types,
                                    headers=validators.headers() if validators else (), retry_wait=delay)
        except FetchError as exc:
            return exc
        return resp

    # -- outcomes ---------------------------------------------------------------------------

    def _handle(self, item: _Item, result: Response | FetchError) -> Document | None:
        if isinstance(result, FetchError):
            if result.retryable:
                self._fail(item, str(result))
            else:
                self._finish(item, "skipped", str(result), fetched=True)
            return None
        resp = result
        self._counts["fetched"] += 1
        if resp.status not in RETRY_STATUSES:
            self.report.answered += 1
        if resp.status in REDIRECT_STATUSES:
            self._redirect(item, resp)
            return None
        if resp.status == 304:
            self._finish(item, "unchanged", None, fetched=True, counted=True)
            return None
        if resp.status in RETRY_STATUSES:
            self._hold_host(resp)
            self._fail(item, f"HTTP {resp.status} {resp.reason}".strip())
            return None
        if resp.status != 200:
            self._finish(item, "skipped", f"HTTP {resp.status} {resp.reason}".strip(), fetched=True, counted=True)
            return None
        if resp.body_skipped:
            self._finish(item, "skipped", resp.body_skipped, fetched=True, counted=True)
            return None
        if b"\x00" in resp.body[:2048]:
            self._finish(item, "skipped", "binary content (NUL bytes)", fetched=True, counted=True)
            return None
        # Archive first, as received: once the record is on disk the page is never fetched again.
        self._warc.write_response(item.url, resp.status, resp.reason, resp.headers, resp.raw_body,
                                  protocol=resp.protocol, request_headers=resp.request_headers)
        self._emit("fetched", item.url)
        # The same fallback date read_warc() takes from WARC-Date, so a re-read gives the same document.
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        doc = self._process_page(item, resp.headers, resp.body, today, journal=True)
        if doc is not None:
            self._counts["documents"] += 1
            self._emit("document", item.url)
        return doc

    def _hold_host(self, resp: Response) -> None:
        """A final 429/503 with ``Retry-After``: nothing more goes to that host before then."""
        wait_for = retry_after(resp)
        if wait_for is not None:
            host = url_host(resp.url)
            until = time.monotonic() + min(wait_for, self.options.max_retry_after)
            self._host_next[host] = max(self._host_next.get(host, 0.0), until)

    def _process_page(self, item: _Item, headers: list[tuple[str, str]], body: bytes,
                      capture_date: str | None, *, journal: bool) -> Document | None:
        """Clean an archived page, queue its links, decide whether it is a new article."""
        result = analyze_page(item.url, headers, body, capture_date=capture_date,
                              obey_robots=self.options.obey_robots)
        if item.depth < self.options.max_depth:
            for link in result.links:
                why = self.scope.reason(link)
                if why is None:
                    self._queue(_Item(link, item.depth + 1))
                elif link not in self._offsite:
                    self._offsite.add(link)
                    log.info("not followed %s: %s", link, why)
        doc = result.document
        reason = result.reason
        if doc is not None:
            reason = self._filter.reject(doc, result, item.url)
            if reason is not None:
                doc = None
        outcome = "document" if doc is not None else "page" if result.is_list else "skipped"
        if journal or item.url not in self._done:
            # A list page is followed, not indexed: it is a skip too, with the cleaner's reason.
            self._finish(item, outcome, reason if doc is None else None, fetched=True, counted=True,
                         journal=journal)
        return doc

    def _redirect(self, item: _Item, resp: Response) -> None:
        location = resp.header("Location")
        target = canonicalize_url(location, item.url) if location else None
        if target is None:
            self._finish(item, "skipped", f"HTTP {resp.status} without a usable Location", fetched=True,
                         counted=True)
            return
        chain = item.chain + (item.url,)
        why = self.scope.reason(target)
        if target in chain:
            self._finish(item, "skipped", f"redirect loop ({' -> '.join(chain + (target,))})", fetched=True,
                         counted=True)
        elif len(chain) > self.options.max_redirects:
            self._finish(item, "skipped", f"more than {self.options.max_redirects} redirects", fetched=True,
                         counted=True)
        elif why is not None:
            self._finish(item, "skipped", f"redirects to {target}: {why}", fetched=True, counted=True)
        else:
            if target not in self._seen:
                self._queue(_Item(target, item.depth, chain), front=True)
            self._finish(item, "redirect", None, fetched=True, counted=True)
            self._emit("redirect", item.url, target)

    def _finish(self, item: _Item, outcome: str, reason: str | None, *, fetched: bool,
                counted: bool = False, journal: bool = True) -> None:
        """Record a URL as done. ``counted``: the fetch was already added to the totals."""
        if fetched and not counted:
            self._counts["fetched"] += 1
        self._done[item.url] = outcome
        self._failed.discard(item.url)
        if journal:
            entry: dict[str, Any] = {"e": "done", "url": item.url, "outcome": outcome, "fetched": fetched}
            if reason:
                entry["reason"] = reason
            self._journal.append(entry)
        if outcome == "unchanged":
            self._counts["unchanged"] += 1
        if outcome in ("skipped", "page"):
            self._counts["skipped"] += 1
            self.report.skipped.append((item.url, reason or outcome))
            log.info("skipped %s: %s", item.url, reason)
            self._emit("skipped", item.url, reason)

    def _fail(self, item: _Item, reason: str) -> None:
        """A temporary failure: journaled, counted, and left pending for the next run."""
        self._failed.add(item.url)
        self._journal.append({"e": "fail", "url": item.url, "reason": reason})
        self._counts["errors"] += 1
        self.report.failed.append((item.url, reason))
        log.info("failed %s: %s", item.url, reason)
        self._emit("error", item.url, reason)

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

    def _unchanged_by_lastmod(self, url: str) -> bool:
        """A refresh: the sitemap says the page has not changed since the archived copy."""
        lastmod, validators = self._lastmod.get(url), self._validators.get(url)
        if not self._pass_offset or not lastmod or validators is None or not validators.captured:
            return False
        modified, captured = _parse_time(lastmod, end_of_day=True), _parse_time(validators.captured)
        return modified is not None and captured is not None and modified < captured

    # -- robots.txt and sitemaps (fetched here, in the crawl thread, before the host's pages) --

    def _rules_for(self, url: str) -> RobotsRules:
        host = url_host(url)
        rules = self._robots.get(host)
        if rules is None:
            parts = urlsplit(url)
            robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
            try:
                resp = self._fetch_aux(robots_url)
            except FetchError as exc:
                rules = RobotsRules.from_response(None, b"", self.options.user_agent,
                                                  failure=f"robots.txt unreachable ({exc})")
            else:
                if resp is None:  # redirected out of scope, or too often: as if there were none
                    rules = RobotsRules()
                else:
                    rules = RobotsRules.from_response(resp.status, resp.body, self.options.user_agent)
            self._robots[host] = rules
            # The next request waits for the Crawl-delay this file may have just set.
            self._host_next[host] = time.monotonic() + self._delay(host)
        return rules

    def _fetch_aux(self, url: str) -> Response | None:
        """robots.txt or a sitemap: any type, no archive, redirects followed within the scope.

        None when a redirect leaves the scope (reported as a skip) or loops; raises
        :class:`FetchError` when the server cannot be read."""
        for _ in range(self.options.max_redirects + 1):
            why = self.scope.host_reason(url)
            if why is not None:
                self._skip_aux(url, why)
                return None
            host = url_host(url)
            pause = self._host_next.get(host, 0.0) - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                resp = self._client.get(url, max_bytes=self.options.max_sitemap_bytes,
                                        retry_wait=self._delay(host))
            finally:
                self._host_next[host] = time.monotonic() + self._delay(host)
            location = resp.header("Location")
            if resp.status in REDIRECT_STATUSES and location:
                url = canonicalize_url(location, url) or urljoin(url, location)
                continue
            return resp
        return None

    def _skip_aux(self, url: str, reason: str) -> None:
        if url not in self._done:
            self._finish(_Item(url, 0), "skipped", reason, fetched=False)

    def _queue_sitemaps(self, seed: str) -> None:
        host = url_host(seed)
        if host in self._sitemaps_done:
            return
        rules = self._rules_for(seed) if self.options.obey_robots else None
        if rules is not None and rules.unavailable is not None:
            return  # robots.txt first; the next run tries again
        parts = urlsplit(seed)
        default = urlunsplit((parts.scheme, parts.netloc, "/sitemap.xml", "", ""))
        todo = [canonicalize_url(u) or u for u in (rules.sitemaps if rules else [])]
        if default not in todo:
            todo.append(default)
        fetched: set[str] = set()
        found = 0
        complete = True
        while todo and len(fetched) < 50 and found < self.options.max_sitemap_urls:
            sitemap_url = todo.pop(0)
            if sitemap_url in fetched:
                continue
            fetched.add(sitemap_url)
            try:
                resp = self._fetch_aux(sitemap_url)
                if resp is None or resp.status != 200:
                    complete = complete and (resp is None or resp.status not in RETRY_STATUSES)
                    continue
                pages, children = parse_sitemap(resp.body, self.options.max_sitemap_bytes)
            except FetchError as exc:
                complete = complete and not exc.retryable
                self._skip_aux(sitemap_url, f"sitemap: {exc}")
                continue
            todo.extend(children)
            for page, lastmod in pages:
                if found >= self.options.max_sitemap_urls:
                    break
                why = self.scope.reason(page)
                if why is not None:
                    if page not in self._offsite:
                        self._offsite.add(page)
                        log.info("sitemap entry not followed %s: %s", page, why)
                elif self.options.max_depth >= 1:
                    found += 1
                    if lastmod:
                        self._lastmod[page] = lastmod
                    self._queue(_Item(page, 1))
        if complete:  # else the next run reads the sitemaps again
            self._sitemaps_done.add(host)
            self._journal.append({"e": "sitemaps", "host": host, "urls": found})

    # -- reporting --------------------------------------------------------------------------

    def _snapshot(self) -> CrawlCounts:
        pending = sum(len(items) for items in self._frontier.values()) + self._in_flight + len(self._failed)
        return CrawlCounts(**{**self._counts, "pending": pending, "out_of_scope": len(self._offsite)})

    def _emit(self, kind: EventKind, url: str, reason: str | None = None) -> None:
        if self.on_event is not None:
            self.on_event(CrawlEvent(kind=kind, url=url, counts=self._snapshot(), reason=reason))

    def _sync_report(self) -> None:
        self.report.counts = self._snapshot()


def _parse_time(value: str, *, end_of_day: bool = False) -> datetime.datetime | None:
    """A W3C datetime (sitemap ``lastmod``, ``WARC-Date``) as an aware datetime; a bare date is
    taken as the end of that day when ``end_of_day`` (so the page counts as possibly changed)."""
    try:
        parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(value.strip()) <= 10 and end_of_day:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _lock(path: Path) -> FileLock:
    """Hold an exclusive lock on the state folder, so two crawls never write one archive."""
    lock = FileLock(path)
    if not lock.try_acquire():
        raise CrawlError(f"{path.parent}: another crawl is using this state folder",
                         hint="Wait for it to finish or stop it, then run again.")
    return lock


def _unlock(lock: FileLock) -> None:
    lock.release()
