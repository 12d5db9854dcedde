"""Turn paths given on the command line into Documents: JSONL files, folders of .txt/.html files,
PDF and Word files, WARC archives.

Every input problem is reported through ``on_skip(where, reason)`` with a true reason, and what
could be read is kept: a damaged ``.jsonl.gz`` gives the records before the damage, a text cut
in its last character keeps the rest. Nothing is read whole beyond ``max_bytes`` (one document's
cap): larger files and longer JSONL lines are skipped with their size.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._document import Document, title_from_text
from ._errors import InputError

log = logging.getLogger(__name__)

SkipCallback = Callable[[str, str], None]
"""Called as ``on_skip(where, reason)`` for each input that yields no document."""

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
OFFICE_SUFFIXES = {".pdf", ".docx"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
MAX_DOC_BYTES = 10 * 1024 * 1024
"""The default cap on one document: a file, or one JSONL line. Cleaning an HTML page takes
about 40 bytes of memory per byte of page, so this bounds an import's memory (about 400 MB
for a page at the cap) whatever the size of the inputs."""
MAX_FILE_BYTES = MAX_DOC_BYTES  # the name older callers use

BENIGN_SKIPS = ("not an article", "empty file", "HTTP status", "duplicate content", "not Vietnamese",
                "unsupported content type", "revisit record", "empty response", "binary content",
                "no text found")
"""Reasons that mean "not a document" rather than "a problem with the input": list pages, a
crawl's archived non-pages, duplicates, other languages (see :func:`is_problem`)."""


def is_problem(reason: str) -> bool:
    """True if a skip reason is an input problem (damaged, unreadable, mistyped, too large, no
    text layer, an unsupported file named on the command line ...), false for inputs that are
    simply not documents (:data:`BENIGN_SKIPS`). ``vnsearch index`` exits with code 1 after an
    import that met a problem.

    >>> is_problem("not an article (list or index page)"), is_problem("not valid JSON (…)")
    (False, True)
    """
    return not reason.startswith(BENIGN_SKIPS)


def _skip(on_skip: SkipCallback | None, where: str, reason: str) -> None:
    log.info("skipped %s: %s", where, reason)
    if on_skip is not None:
        on_skip(where, reason)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} bytes"


# -- JSONL ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Broken:
    """In place of a line: why no (more) lines could be read here."""

    reason: str


def read_jsonl(path: str | os.PathLike[str], on_skip: SkipCallback | None = None, *,
               workers: int = 1, max_bytes: int = MAX_DOC_BYTES) -> Iterator[Document]:
    """Documents from a JSONL file: one ``{"id","title","text",...}`` object a line.

    A ``.jsonl.gz`` file is read compressed; a damaged one gives the records before the damage
    and a skip naming the line where it starts. A byte-order mark is ignored. Bad lines
    (invalid JSON, fields of the wrong type, lines over ``max_bytes``) are skipped with their
    line number. With ``workers`` > 1 and a file of 2 MB or more, lines are parsed into
    documents (JSON, Unicode clean-up, content hash) by that many processes while this one
    decompresses and splits the file; documents and skips come in file order either way.
    """
    path = Path(path)
    try:
        info = path.stat()
        if workers > 1 and stat.S_ISREG(info.st_mode) and info.st_size < _PARALLEL_MIN_BYTES:
            workers = 1  # a small file: starting processes would cost more than they save (a pipe may be long)
        raw = open(path, "rb")
    except OSError as exc:
        _skip(on_skip, str(path), f"cannot read ({exc.strerror or exc})")
        return
    with raw:
        gz = path.name.lower().endswith(".gz")
        lines = _numbered_lines(path, _gz_lines(raw) if gz else _plain_lines(raw), max_bytes)
        parsed = _parse_in_parallel(lines, workers) if workers > 1 else map(_parse_line, lines)
        for item in parsed:
            if isinstance(item, Document):
                yield item
            elif item is not None:
                _skip(on_skip, *item)


def _numbered_lines(path: Path, chunks: Iterator[bytes], max_bytes: int
                    ) -> Iterator[tuple[str, bytes | _Broken]]:
    """``(path:line, bytes)`` for each line, an over-long line as a :class:`_Broken` (never
    held whole), and the damage of a compressed file, if any, last."""
    lineno = 0
    try:
        for lineno, line in enumerate(_split_lines(chunks, max_bytes), 1):
            if lineno == 1 and not isinstance(line, _Broken) and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # a UTF-8 byte-order mark
            yield f"{path}:{lineno}", line
    except _Damaged as exc:
        if lineno == 0 and exc.at_start:
            yield str(path), _Broken(f"not gzip-compressed data despite its name ({exc.detail})")
        else:
            yield f"{path}:{lineno + 1}", _Broken(
                f"damaged compressed data from here on ({exc.detail}); the {lineno} lines before it were read")
    except OSError as exc:
        yield f"{path}:{lineno + 1}", _Broken(f"cannot read further ({exc.strerror or exc})")


def _split_lines(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes | _Broken]:
    """Lines of a stream of byte chunks; a line longer than ``max_bytes`` is dropped as it
    goes by (memory stays at one chunk plus ``max_bytes``) and given as a :class:`_Broken`."""
    parts: list[bytes] = []
    held = 0
    over = 0  # bytes of an over-long line dropped so far
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end + 1]
            if over:
                over += len(piece)
            elif held + len(piece) > max_bytes + 1:
                over, parts, held = held + len(piece), [], 0
            else:
                parts.append(piece)
                held += len(piece)
            if end < 0:
                break
            yield _Broken(f"line of {_size(over)}, over the {_size(max_bytes)} cap on one document "
                          "(--max-doc-size)") if over else b"".join(parts)
            parts, held, over = [], 0, 0
            start = end + 1
    if over:
        yield _Broken(f"line of {_size(over)}, over the {_size(max_bytes)} cap on one document (--max-doc-size)")
    elif held:
        yield b"".join(parts)


class _Damaged(Exception):
    def __init__(self, detail: str, at_start: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.at_start = at_start


def _plain_lines(raw: io.BufferedIOBase) -> Iterator[bytes]:
    # read1: what is there (up to 1 MB), not a wait for a full megabyte from a pipe
    return iter(lambda: raw.read1(1 << 20), b"")


def _gz_lines(raw: io.BufferedIOBase) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file, a megabyte of input at a time (zlib checks the
    CRC itself, unlike ``gzip.open``); raises :class:`_Damaged` where the data goes wrong."""
    inflate = zlib.decompressobj(wbits=31)
    produced = False
    while True:
        block = raw.read1(1 << 20)
        if not block:
            break
        before = inflate.copy()
        data, inflate, error = _inflate(inflate, block)
        if error is not None:
            # Again in small steps from where the block began, to keep what precedes the damage.
            inflate = before
            for k in range(0, len(block), 64):
                data, inflate, error = _inflate(inflate, block[k:k + 64])
                produced = produced or bool(data)
                yield data
                if error is not None:
                    raise _Damaged(str(error), at_start=not produced) from error
            data = b""  # (not reached: the same bytes fail again)
        if data:
            produced = True
            yield data
    if not inflate.eof:
        data = inflate.flush()
        if data:
            yield data
        raise _Damaged("the file ends before the end of the compressed stream", at_start=not produced)


def _inflate(inflate: "zlib._Decompress", block: bytes
             ) -> tuple[bytes, "zlib._Decompress", zlib.error | None]:
    """Decompress ``block`` across gzip members: the data, the decompressor to go on with, and
    the error that stopped it (the data is what came before the error)."""
    data = b""
    while True:
        try:
            data += inflate.decompress(block)
        except zlib.error as exc:
            return data, inflate, exc
        if not (inflate.eof and inflate.unused_data):  # several gzip members one after the other
            return data, inflate, None
        block = inflate.unused_data
        inflate = zlib.decompressobj(wbits=31)


def _parse_line(numbered: tuple[str, bytes | _Broken]) -> Document | tuple[str, str] | None:
    """One JSONL line as a document, ``(where, why)`` if it gives none, None if it is blank."""
    where, raw = numbered
    if isinstance(raw, _Broken):
        return where, raw.reason
    line = raw.decode("utf-8", errors="replace").strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return where, f"not valid JSON ({exc.msg} at character {exc.pos + 1})"
    if not isinstance(record, dict):
        return where, "not a JSON object"
    try:
        doc = Document.from_dict(record)
    except (TypeError, ValueError) as exc:
        return where, str(exc)
    if not (doc.text or doc.title):
        return where, "empty title and text"
    return doc


def _parse_chunk(chunk: list[tuple[str, bytes | _Broken]]) -> list[Document | tuple[str, str] | None]:
    return [_parse_line(numbered) for numbered in chunk]


# Files smaller than this are parsed in this process whatever ``workers`` says.
_PARALLEL_MIN_BYTES = 2 << 20
# Lines (and bytes) a worker parses at a time, and chunks in flight per worker: what is read
# ahead stays under about workers * _AHEAD * (_CHUNK_BYTES + one document's cap).
_CHUNK_LINES = 100
_CHUNK_BYTES = 4 << 20
_AHEAD = 3


def _chunks(lines: Iterator[tuple[str, bytes | _Broken]]) -> Iterator[list[tuple[str, bytes | _Broken]]]:
    chunk: list[tuple[str, bytes | _Broken]] = []
    size = 0
    for numbered in lines:
        chunk.append(numbered)
        size += len(numbered[1]) if isinstance(numbered[1], bytes) else 0
        if len(chunk) >= _CHUNK_LINES or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _parse_in_parallel(lines: Iterator[tuple[str, bytes | _Broken]], workers: int
                       ) -> Iterator[Document | tuple[str, str] | None]:
    from ._workers import ordered_map

    # Chunks' documents are large results and a chunk is quick to parse: a pool stopped early lets
    # the running chunks finish rather than killing a worker in the middle of sending one.
    for parsed in ordered_map(_parse_chunk, _chunks(lines), workers, ahead=_AHEAD, what="a JSONL parsing process",
                              terminate=False):
        yield from parsed


# -- single files ---------------------------------------------------------------------------

def read_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
              on_skip: SkipCallback | None = None, *, workers: int = 1,
              max_bytes: int = MAX_DOC_BYTES) -> Iterator[Document]:
    """Documents from one file, chosen by its suffix (.jsonl, .txt, .html, .pdf, .docx, .warc ...);
    JSONL is parsed by ``workers`` processes (see :func:`read_jsonl`). A file over ``max_bytes``
    (one document's cap; JSONL and WARC files are capped per record instead) is skipped.

    ``root`` is accepted for older callers and ignored: a file's id does not depend on the
    folder it was reached through (see :func:`file_id`).
    """
    path = Path(path)
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        yield from read_jsonl(path, on_skip, workers=workers, max_bytes=max_bytes)
        return
    if name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        from ._warc import read_warc

        yield from read_warc(path, on_skip, max_bytes=max_bytes)
        return
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES | OFFICE_SUFFIXES:
        _skip(on_skip, str(path), f"unsupported file type {suffix or '(none)'!r}")
        return
    try:
        size = path.stat().st_size
        if size > max_bytes:
            _skip(on_skip, str(path), f"file of {_size(size)}, over the {_size(max_bytes)} cap on one "
                                      "document (--max-doc-size)")
            return
        data = path.read_bytes()
    except OSError as exc:
        _skip(on_skip, str(path), f"cannot read ({exc.strerror or exc})")
        return
    try:
        if suffix in HTML_SUFFIXES:
            doc = _html_document(data, path)
        elif suffix in OFFICE_SUFFIXES:
            from ._office import read_office

            doc = read_office(data, suffix, file_id(path), path, max_bytes)
        else:
            doc = _text_document(data, path)
    except InputError as exc:
        _skip(on_skip, str(path), str(exc))
        return
    yield doc


def file_id(path: str | os.PathLike[str]) -> str:
    """The id of a document read from a local file: the file's absolute path with symbolic links
    resolved (POSIX slashes), so the same file reached through any folder, relative path or link
    has one id. A saved web page that names its own address (``<link rel="canonical">``,
    ``og:url``) takes that address instead, as the WARC reader and the crawler do.

    >>> file_id("/srv/archive/../archive/pages/a.html")
    '/srv/archive/pages/a.html'
    """
    return Path(os.path.realpath(path)).as_posix()


def _trim_cut_utf8(data: bytes) -> bytes:
    """Drop an incomplete UTF-8 sequence at the very end (a file cut mid-character)."""
    try:
        data[-4:].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            cut = len(data) - len(data[-4:]) + exc.start
            with contextlib.suppress(UnicodeDecodeError):
                data[:cut].decode("utf-8")
                return data[:cut]
    return data


def _text_document(data: bytes, path: Path) -> Document:
    from ._clean import _is_chrome, clean_plain_text
    from ._encoding import decode_bytes

    text = decode_bytes(_trim_cut_utf8(data))
    if not text.strip():
        raise InputError("empty file")
    page = clean_plain_text(text)
    first_line = next((" ".join(line.split()) for line in text.splitlines()
                       if line.strip() and not _is_chrome(" ".join(line.split()))), "")
    title = title_from_text(first_line)
    # clean_plain_text takes the first paragraph as the title: when that is more than the first
    # line (lines not separated by blank ones), the paragraph stays in the text.
    body = page.text if page.title == title else "\n\n".join(p for p in (page.title, page.text) if p)
    return Document(id=file_id(path), title=title or path.stem, text=body or text,
                    source=path.parent.name or None, url=path.resolve().as_uri(),
                    date=page.date, author=page.author)


def _html_document(data: bytes, path: Path) -> Document:
    from ._clean import clean_html

    page = clean_html(data, url=None)
    if not page.is_article:
        raise InputError("not an article (list or index page)")
    if not page.text.strip():
        raise InputError("no text found in the page")
    own_url = page.url if page.url and page.url.startswith(("http://", "https://")) else None
    doc_id = file_id(path)
    if own_url:
        from ._urls import canonicalize_url

        doc_id = canonicalize_url(own_url) or own_url
    return Document(id=doc_id, title=page.title or path.stem, text=page.text,
                    url=own_url or path.resolve().as_uri(), source=page.source or path.parent.name or None,
                    date=page.date, author=page.author)


# -- many paths -----------------------------------------------------------------------------

def read_documents(paths: Iterable[str | os.PathLike[str]],
                   on_skip: SkipCallback | None = None, *, workers: int = 1,
                   source: str | None = None, max_bytes: int = MAX_DOC_BYTES) -> Iterator[Document]:
    """All documents under the given files and folders, in a stable order.

    Folders are walked recursively; files of unknown types inside folders are ignored
    silently (a folder of saved pages holds images and scripts too), while a file named
    directly with an unknown type is reported through ``on_skip``. ``source`` tags every
    document with that source name (a batch's label) instead of the one read.
    ``max_bytes`` caps one document (see :func:`read_file`).

    JSONL files are parsed by ``workers`` processes (see :func:`read_jsonl`).

    Raises :class:`InputError` for a path that does not exist.
    """
    import dataclasses

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder", hint="Check the path and try again.")
        files = (sorted(p for p in path.rglob("*") if p.is_file() and _is_readable_kind(p))
                 if path.is_dir() else [path])
        for sub in files:
            for doc in read_file(sub, on_skip=on_skip, workers=workers, max_bytes=max_bytes):
                yield dataclasses.replace(doc, source=source) if source else doc


def _is_readable_kind(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith("."):
        return False
    return (path.suffix.lower() in TEXT_SUFFIXES | HTML_SUFFIXES | OFFICE_SUFFIXES
            or name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".warc", ".warc.gz")))


def fetch_url(url: str, *, timeout: float = 20.0, max_bytes: int = 10 * 1024 * 1024,
              user_agent: str | None = None) -> tuple[bytes, str, str | None]:
    """Fetch one page (for ``vnsearch clean URL``): ``(body, final_url, content_type)``.

    Raises :class:`InputError` with the reason on HTTP errors, timeouts and oversized pages.
    """
    from ._pages import fetch_page

    resp = fetch_page(url, timeout=timeout, max_bytes=max_bytes, user_agent=user_agent)
    return resp.body, resp.url, resp.header("Content-Type")
