"""HTML page (or page text) to article text and metadata.

Main-text extraction is trafilatura's, measured against hand-written rules and BeautifulSoup on
the shared pages (``bench/eval_clean.py``). Around it this module adds what Vietnamese news
pages need and trafilatura leaves out: the encoding (``_encoding``), the lead paragraph
("sapo") that sites keep outside the article body, author names cleaned of site names, and a
list-page detector, since a section front page must not be indexed as an article.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ._document import clean_text, normalize_date
from ._encoding import charset_from_content_type, decode_bytes, sniff_declared_charset
from ._errors import InputError
from ._legacy_vn import looks_vietnamese

log = logging.getLogger(__name__)

# Fewer words than this in the extracted main text is not an article (a gallery, a stub).
MIN_ARTICLE_WORDS = 30
# A list page's main block holds many headline links with little other text around each.
# On the shared pages lists score 0-34 words per headline link and articles 400 and more.
LIST_MIN_HEADLINES = 8
LIST_MAX_WORDS_PER_HEADLINE = 100
# Or this share of the extracted text is whole link texts (a bare list of headlines).
LIST_MIN_LINK_TEXT_SHARE = 0.5
# ... and at least this share of its paragraphs sit in teaser blocks: within a few levels up,
# a block with one or two headline links and at most TEASER_MAX_WORDS words besides.
LIST_MIN_TEASER_SHARE = 0.5
# ... or the block holding the text has this many times more words than the text itself.
LIST_MIN_CONTAINER_RATIO = 2.5
TEASER_MAX_LEVELS = 3
TEASER_MAX_WORDS = 120
# An anchor with at least this many words is taken for a headline (menus have 1-3 words).
HEADLINE_MIN_WORDS = 5
# Lines longer than this are never chrome, whatever they start with.
CHROME_MAX_WORDS = 8


@dataclass(frozen=True)
class CleanedPage:
    """What the cleaner found in a page.

    ``text`` is the paragraphs joined by blank lines, title excluded. ``is_article`` is False
    for list, index and empty pages, with the reason in ``reason``.
    """

    title: str
    text: str
    paragraphs: tuple[str, ...] = ()
    date: str | None = None
    author: str | None = None
    language: str | None = None
    url: str | None = None
    source: str | None = None
    is_article: bool = True
    lead: str | None = None
    """The standfirst, when the page has one (it is also the first paragraph)."""
    reason: str | None = None
    """Why the page is not an article, or None."""

    def as_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict."""
        d = dataclasses.asdict(self)
        d["paragraphs"] = list(self.paragraphs)
        return d


def clean_html(html: bytes | str, url: str | None = None, *, content_type: str | None = None) -> CleanedPage:
    """Extract title, date, author, language and main-text paragraphs from a page.

    ``content_type`` is the HTTP header, whose charset (if any) is preferred to the page's
    own ``<meta charset>``; both are verified by :func:`decode_bytes`.

    Raises :class:`InputError` when the bytes' encoding cannot be determined.
    """
    import trafilatura
    from lxml import html as lxml_html

    if isinstance(html, bytes):
        declared = charset_from_content_type(content_type) or sniff_declared_charset(html)
        html = decode_bytes(html, declared)
    # lxml refuses str input that carries an XML encoding declaration.
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", clean_text(html))
    if not html.strip():
        raise InputError("the page is empty", hint="Check that the file is a saved web page.")
    # huge_tree: libxml2 otherwise stops at 256 nested elements and drops the rest of the page.
    parser = lxml_html.HTMLParser(huge_tree=True)
    try:
        tree = lxml_html.document_fromstring(html, parser=parser)
    except (ValueError, lxml_html.etree.ParserError) as exc:
        raise InputError(f"the page cannot be parsed as HTML ({exc})") from exc

    options: dict[str, Any] = dict(url=url, with_metadata=True, include_comments=False, include_tables=True,
                                   include_images=False)
    extracted = trafilatura.bare_extraction(html, **options)
    if not getattr(extracted, "text", None) and tree.text_content().strip():
        # trafilatura's own parse hit the depth limit: hand it a tree parsed without one (a fresh
        # parse, as it prunes the tree it is given).
        extracted = trafilatura.bare_extraction(lxml_html.document_fromstring(html, parser=parser), **options)
    title = _collapse(getattr(extracted, "title", None) or _fallback_title(tree))
    body = getattr(extracted, "text", None) or ""
    # Lines without a letter or digit ("|" between menu items) are layout, not text.
    paragraphs = [p for p in (_collapse(line) for line in body.split("\n"))
                  if p and re.search(r"\w", p) and not _is_chrome(p)]
    # The headline often opens the body too; it is kept once, as the title.
    while paragraphs and _fold(paragraphs[0]) == _fold(title):
        paragraphs.pop(0)
    url = url or getattr(extracted, "url", None)
    sitename = getattr(extracted, "sitename", None)
    if sitename and _fold(sitename) == _fold(title):
        sitename = None  # some pages repeat the headline in og:site_name
    source = sitename or getattr(extracted, "hostname", None) or _host(url)
    date = normalize_date(getattr(extracted, "date", None))
    author = _clean_author(getattr(extracted, "author", None), [source, getattr(extracted, "hostname", None), _host(url)])
    language = _language(tree, getattr(extracted, "language", None), " ".join(paragraphs))

    reason = _not_article_reason(tree, paragraphs)
    lead = None
    if reason is None:
        lead = _lead(getattr(extracted, "description", None), title, paragraphs)
        if lead:
            paragraphs.insert(0, lead)
    else:
        log.info("not an article (%s): %s", reason, url or title)
    return CleanedPage(title=title, text="\n\n".join(paragraphs), paragraphs=tuple(paragraphs), date=date,
                       author=author, language=language, url=url, source=source, is_article=reason is None,
                       lead=lead, reason=reason)


def clean_plain_text(text: str) -> CleanedPage:
    """Clean the text of a page saved as plain text: drop chrome lines such as "Skip to main
    content", take the first line as the title, a date from the opening lines, and a trailing
    byline (a short line of capitalised names) as the author.

    >>> page = clean_plain_text("Skip to main content\\n\\nHội nghị sơ kết\\n\\nNgày 12/6/2020, "
    ...                         "huyện Bắc Sơn tổ chức hội nghị.\\n\\n      Lộc Huệ")
    >>> page.title, page.date, page.author, page.paragraphs
    ('Hội nghị sơ kết', '2020-06-12', 'Lộc Huệ', ('Ngày 12/6/2020, huyện Bắc Sơn tổ chức hội nghị.',))
    """
    # A block may still hold several chrome lines; test line by line before joining.
    kept: list[str] = []
    for block in re.split(r"\n\s*\n", clean_text(text)):
        lines = [_collapse(line) for line in block.splitlines()]
        lines = [line for line in lines if line and not _is_chrome(line)]
        if lines:
            kept.append(" ".join(lines))
    author = None
    if len(kept) > 1 and _is_byline(kept[-1]):
        author = kept.pop()
    title = kept.pop(0) if kept else ""
    date = None
    for para in kept[:3]:
        m = re.search(r"\b(\d{1,2}[/.-]\d{1,2}[/.-]\d{4})\b", para)
        if m and (date := normalize_date(m.group(1))):
            break
    body = " ".join(kept)
    language = "vi" if looks_vietnamese(body) else None
    reason = None if len(body.split()) >= MIN_ARTICLE_WORDS else "too little text"
    return CleanedPage(title=title, text="\n\n".join(kept), paragraphs=tuple(kept), date=date, author=author,
                       language=language, is_article=reason is None, reason=reason)


# --- helpers -------------------------------------------------------------------------

def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


@lru_cache(maxsize=1)
def _chrome_re() -> re.Pattern[str]:
    raw = resources.files("corpus").joinpath("data/chrome_lines.txt").read_text(encoding="utf-8")
    patterns = [line.strip() for line in raw.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return re.compile(r"^\W*(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\W*$", re.IGNORECASE)


def _is_chrome(line: str) -> bool:
    return len(line.split()) <= CHROME_MAX_WORDS and bool(_chrome_re().match(line))


def _is_byline(line: str) -> bool:
    """A closing byline: one to five capitalised words ("Lộc Huệ", "NHẬT XUÂN"), optionally
    after "Tác giả:"/"Bài và ảnh:", with no sentence punctuation."""
    line = re.sub(r"^(tác giả|bài và ảnh|bài, ảnh|pv|phóng viên)\s*:?\s*", "", line, flags=re.IGNORECASE)
    words = line.replace(" - ", " ").split()
    if not 1 <= len(words) <= 5 or len(line) > 50 or re.search(r"[.!?;:]$", line.rstrip(".")) or "./." in line:
        return False
    return all(w[0].isupper() and w.replace("-", "").isalpha() for w in words)


def _fallback_title(tree: Any) -> str:
    for xpath in ("//h1", "//title"):
        found = tree.xpath(xpath)
        if found:
            return found[0].text_content()
    return ""


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Tuổi Trẻ Online" -> "tuoitreonline"."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return re.sub(r"[^a-z0-9]", "", text)


def _clean_author(author: str | None, site_names: list[str | None]) -> str | None:
    """trafilatura joins every byline-like value with "; ", site names included
    ("TUOI TRE ONLINE; Baotuoitre; NHẬT XUÂN"); keep the people."""
    if not author:
        return None
    sites = {_fold(s.split(".")[0] if "." in s and " " not in s else s) for s in site_names if s}
    sites |= {_fold(s) for s in site_names if s}
    sites.discard("")
    people = []
    for part in (p.strip() for p in author.split(";")):
        folded = _fold(part)
        if not folded or any(s in folded or folded in s for s in sites if len(s) >= 4):
            continue
        people.append(part)
    return "; ".join(dict.fromkeys(people)) or None


def _language(tree: Any, detected: str | None, text: str) -> str | None:
    if detected:
        return detected
    lang = (tree.get("lang") or tree.get("xml:lang") or "").strip().lower()
    if lang:
        return lang.split("-")[0]
    return "vi" if looks_vietnamese(text) else None


def _lead(description: str | None, title: str, paragraphs: list[str]) -> str | None:
    """The meta description, when it is the article's standfirst and the body lacks it.

    Vietnamese news sites put the sapo in a heading outside the body element, and repeat it
    as the description; a description that shares little vocabulary with the body is a
    site-wide blurb and is ignored."""
    lead = _collapse(description)
    if len(lead.split()) < 8 or _fold(lead) == _fold(title):
        return None
    body = " ".join(paragraphs)
    if _fold(lead[:60]) in _fold(body):
        return None
    words = set(re.findall(r"\w+", body.lower()))
    lead_words = re.findall(r"\w+", lead.lower())
    if sum(w in words for w in lead_words) < 0.6 * len(lead_words):
        return None
    return lead


def _not_article_reason(tree: Any, paragraphs: list[str]) -> str | None:
    words = sum(len(p.split()) for p in paragraphs)
    if words < MIN_ARTICLE_WORDS:
        return "too little text"
    anchors = {_collapse(a.text_content()) for a in tree.iter("a")}
    link_words = sum(len(p.split()) for p in paragraphs if p in anchors)
    if link_words >= LIST_MIN_LINK_TEXT_SHARE * words:
        return f"list page ({link_words} of its {words} words are link text)"
    found = _main_container(tree, paragraphs)
    if found is None:
        return None
    container, matched = found
    headlines: set[str] = set()
    link_words = 0
    for anchor in container.iter("a"):
        anchor_words = len(anchor.text_content().split())
        link_words += anchor_words
        if anchor_words >= HEADLINE_MIN_WORDS:
            headlines.add(anchor.get("href") or anchor.text_content())
    other_words = max(0, len(container.text_content().split()) - link_words)
    if len(headlines) < LIST_MIN_HEADLINES or other_words / len(headlines) >= LIST_MAX_WORDS_PER_HEADLINE:
        return None
    # A short article with a "related articles" box inside its body also has many headlines
    # per word; what a list has besides is that its paragraphs are teasers, each in a small
    # block of its own with one headline link.
    # Or the extracted text is a small island (a pop-up, a notice) in a block of links.
    teasers = sum(_is_teaser(el) for el in matched)
    container_words = len(container.text_content().split())
    if teasers < LIST_MIN_TEASER_SHARE * len(matched) and container_words < LIST_MIN_CONTAINER_RATIO * words:
        return None
    return (f"list page ({len(headlines)} headline links, {other_words} words of other text, "
            f"{teasers}/{len(matched)} paragraphs are teasers, {container_words}/{words} words in the block)")


def _is_teaser(element: Any) -> bool:
    for node in (element, *list(element.iterancestors())[:TEASER_MAX_LEVELS]):
        words = len(node.text_content().split())
        heads = [a for a in node.iter("a") if len(a.text_content().split()) >= HEADLINE_MIN_WORDS]
        if node.tag == "a" and words >= HEADLINE_MIN_WORDS:
            return True
        if heads:
            own = words - sum(len(a.text_content().split()) for a in heads)
            # One or two headlines (title, maybe a duplicate image link) and little else.
            return len({a.get("href") for a in heads}) <= 2 and own <= TEASER_MAX_WORDS
    return False


def _main_container(tree: Any, paragraphs: list[str]) -> tuple[Any, list[Any]] | None:
    """The smallest element holding most of the extracted paragraphs.

    Paragraphs are found by the first 30 characters of a text node; an article's container
    is its body element, a list page's the block of teasers, links and all. Returns it with
    the elements where paragraphs were found."""
    tree = _without_scripts(tree)
    index: dict[str, Any] = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        for text, owner in ((el.text, el), (el.tail, el.getparent())):
            key = _collapse(text)[:30]
            if owner is not None and len(key) >= 15:
                index.setdefault(key, owner)
    matched = [index[key] for key in (p[:30] for p in paragraphs if len(p.split()) >= 8) if key in index]
    if len(matched) < 3:
        return None
    counts: dict[Any, int] = {}
    for el in matched:
        for node in (el, *el.iterancestors()):
            counts[node] = counts.get(node, 0) + 1
    need = 0.7 * len(matched)
    container = max((node for node, n in counts.items() if n >= need),
                    key=lambda node: sum(1 for _ in node.iterancestors()))
    return container, matched


def _without_scripts(tree: Any) -> Any:
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return tree
