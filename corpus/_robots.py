"""robots.txt rules and sitemap URLs for the crawler."""

from __future__ import annotations

import gzip
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

from ._fetch import canonicalize_url

log = logging.getLogger(__name__)


@dataclass
class RobotsRules:
    """What one host's robots.txt allows. ``allow_all``/``deny_all`` cover a missing or failing file."""

    parser: RobotFileParser | None = None
    deny_all: bool = False
    sitemaps: list[str] = field(default_factory=list)
    crawl_delay: float | None = None

    @classmethod
    def from_response(cls, status: int | None, body: bytes, user_agent: str) -> "RobotsRules":
        """Rules from a robots.txt fetch; ``status`` None means the fetch failed.

        Follows RFC 9309: a 4xx file means no rules; a 5xx or unreachable file means
        the whole host is off limits for now.
        """
        if status is None or status >= 500:
            return cls(deny_all=True)
        if status >= 400:
            return cls()
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        delay = parser.crawl_delay(user_agent)
        sitemaps = [u for u in (parser.site_maps() or [])]
        return cls(parser=parser, sitemaps=sitemaps, crawl_delay=float(delay) if delay else None)

    def allowed(self, url: str, user_agent: str) -> bool:
        """True when ``user_agent`` may fetch ``url``."""
        if self.deny_all:
            return False
        if self.parser is None:
            return True
        return self.parser.can_fetch(user_agent, url)


_LOC = re.compile(r"\s+")


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """``(page_urls, child_sitemap_urls)`` from a sitemap or sitemap index (gzipped or not).

    A text sitemap (one URL a line) is accepted too. Malformed XML gives what could be read.
    """
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            return [], []
    pages: list[str] = []
    children: list[str] = []
    stripped = body.lstrip()
    if not stripped.startswith(b"<"):
        for line in body.decode("utf-8", "replace").splitlines():
            canon = canonicalize_url(line)
            if canon:
                pages.append(canon)
        return pages, children
    try:
        root = ET.fromstring(stripped)
    except ET.ParseError as exc:
        log.info("malformed sitemap: %s", exc)
        return pages, children
    is_index = root.tag.rsplit("}", 1)[-1] == "sitemapindex"
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "loc" or not el.text:
            continue
        canon = canonicalize_url(_LOC.sub("", el.text))
        if canon:
            (children if is_index else pages).append(canon)
    return pages, children
