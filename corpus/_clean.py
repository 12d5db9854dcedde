"""HTML page to article text. (First version: BeautifulSoup text of the page body.)"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ._encoding import decode_bytes


@dataclass(frozen=True)
class CleanedPage:
    """What the cleaner found in a page."""

    title: str
    text: str
    paragraphs: tuple[str, ...] = ()
    date: str | None = None
    author: str | None = None
    language: str | None = None
    url: str | None = None
    source: str | None = None
    is_article: bool = True

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["paragraphs"] = list(self.paragraphs)
        return d


def clean_html(html: bytes | str, url: str | None = None) -> CleanedPage:
    """Extract the title and the visible text of a page."""
    from bs4 import BeautifulSoup

    if isinstance(html, bytes):
        html = decode_bytes(html)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    body = soup.body or soup
    paragraphs = tuple(p for p in (line.strip() for line in body.get_text("\n").splitlines()) if p)
    return CleanedPage(title=title, text="\n\n".join(paragraphs), paragraphs=paragraphs, url=url)
