"""robots.txt rules (RFC 9309, parsed by protego), page-level robots directives, and sitemaps."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._urls import canonicalize_url

if TYPE_CHECKING:
    from protego import Protego

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024
"""RFC 9309 asks crawlers to parse at least 500 KiB of a robots.txt; more is ignored."""


@dataclass
class RobotsRules:
    """What one host's robots.txt allows.

    ``unavailable`` is set when the file could not be read (5xx, network failure): RFC 9309 then
    forbids the whole host for now, and the crawler keeps its URLs pending for a later run.

    >>> rules = RobotsRules.from_response(200, b"User-agent: *\\nDisallow: /*.pdf$\\n", "vnsearch/1")
    >>> rules.allowed("http://a.vn/bao-cao.pdf", "vnsearch/1"), rules.allowed("http://a.vn/bao-cao.pdf?x", "vnsearch/1")
    (False, True)
    """

    parser: Protego | None = None
    unavailable: str | None = None
    sitemaps: list[str] = field(default_factory=list)
    crawl_delay: float | None = None

    @classmethod
    def from_response(cls, status: int | None, body: bytes, user_agent: str,
                      failure: str | None = None) -> "RobotsRules":
        """Rules from a robots.txt fetch; ``status`` None means the fetch failed (``failure`` says why).

        4xx: no rules (allow all). 5xx or unreachable: disallow all for now.
        """
        if status is None or status >= 500:
            return cls(unavailable=failure or f"robots.txt answered HTTP {status}")
        if status >= 400:
            return cls()
        from protego import Protego

        text = body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace")
        parser = Protego.parse(text)
        delay = parser.crawl_delay(user_agent)
        return cls(parser=parser, sitemaps=list(parser.sitemaps),
                   crawl_delay=float(delay) if delay else None)

    def allowed(self, url: str, user_agent: str) -> bool:
        """True when ``user_agent`` may fetch ``url`` (False while the file is unavailable)."""
        if self.unavailable is not None:
            return False
        if self.parser is None:
            return True
        return bool(self.parser.can_fetch(url, user_agent))


def header_directives(headers: Iterable[tuple[str, str]], user_agent: str) -> set[str]:
    """The ``X-Robots-Tag`` directives that apply to ``user_agent`` (``noindex``, ``nofollow``...).

    >>> sorted(header_directives([("X-Robots-Tag", "googlebot: noindex"), ("X-Robots-Tag", "nofollow")], "vnsearch/1"))
    ['nofollow']
    """
    token = user_agent.split("/")[0].strip().lower()
    found: set[str] = set()
    for key, value in headers:
        if key.lower() != "x-robots-tag":
            continue
        head, sep, rest = value.partition(":")
        if sep and head.strip() and " " not in head.strip() and "," not in head:
            if head.strip().lower() != token:
                continue  # for another crawler
            value = rest
        for d in value.split(","):
            d = d.strip().lower()
            found |= {"noindex", "nofollow"} if d == "none" else {d}
    return found


_LOC = re.compile(r"\s+")


SITEMAP_MAX_BYTES = 50 * 1024 * 1024
"""The sitemaps protocol's own limit on one sitemap, uncompressed."""


def parse_sitemap(body: bytes, max_bytes: int = SITEMAP_MAX_BYTES
                  ) -> tuple[list[tuple[str, str | None]], list[str]]:
    """``([(page_url, lastmod or None)], child_sitemap_urls)`` from a sitemap or sitemap index.

    A gzipped sitemap is unpacked up to ``max_bytes`` (:class:`FetchError` past it: a gzip bomb
    stops there). A text sitemap (one URL a line) is accepted too. Malformed XML gives what could
    be read.
    """
    from ._http import decompress_capped

    if body[:2] == b"\x1f\x8b":
        body = decompress_capped(body, "gzip", max_bytes)
    pages: list[tuple[str, str | None]] = []
    children: list[str] = []
    stripped = body.lstrip()
    if not stripped.startswith(b"<"):
        for line in body.decode("utf-8", "replace").splitlines():
            canon = canonicalize_url(line)
            if canon:
                pages.append((canon, None))
        return pages, children
    try:
        root = ET.fromstring(stripped)
    except ET.ParseError as exc:
        log.info("malformed sitemap: %s", exc)
        return pages, children
    is_index = root.tag.rsplit("}", 1)[-1] == "sitemapindex"
    for entry in root:
        loc = lastmod = None
        for el in entry:
            name = el.tag.rsplit("}", 1)[-1]
            if name == "loc" and el.text:
                loc = canonicalize_url(_LOC.sub("", el.text))
            elif name == "lastmod" and el.text:
                lastmod = el.text.strip()
        if loc:
            if is_index:
                children.append(loc)
            else:
                pages.append((loc, lastmod))
    return pages, children
