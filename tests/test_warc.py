"""WARC reading and writing: round trip, skips with reasons, truncated archives, repair before append."""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path

import pytest

from corpus import CleanedPage, Document
from corpus._urls import canonicalize_url, scan_page
from corpus._warc import WarcWriter, analyze_page, iter_responses, read_warc, repair_warc

DATA = Path(__file__).parent / "data" / "site"
TODAY = datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def _paragraphs() -> dict[str, str]:
    with open(DATA / "xquad_vi.jsonl", encoding="utf-8") as fh:
        return {r["id"]: r["text"].lstrip("\ufeff") for r in map(json.loads, fh)}


XQ = _paragraphs()
BACSON = (DATA / "bacson.txt").read_text(encoding="utf-8")


def _article(title: str, text: str, *, date: str | None = None) -> bytes:
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    return (f'<html lang="vi"><head><meta charset="utf-8">{meta}<title>{title}</title></head><body>'
            f'<nav><a href="/">Trang chủ</a></nav><article><h1>{title}</h1><p>{text}</p></article>'
            f"<footer>© Báo điện tử</footer></body></html>").encode("utf-8")


HTML = [("Content-Type", "text/html; charset=utf-8")]


def _write_sample(path: Path) -> None:
    links = "".join(f'<li><a href="/bai/{i}">Bài số {i} về rừng Amazon</a></li>' for i in range(20))
    with WarcWriter(path) as w:
        w.write_response("HTTP://Example.VN:80/bai/amazon?utm_source=fb&b=2&a=1#x", 200, "OK", HTML,
                         _article("Rừng nhiệt đới Amazon", XQ["xq-vi-16-00"]),
                         request_headers=[("User-Agent", "vnsearch/test")])
        w.write_response("http://example.vn/khong-co", 404, "Not Found", HTML, b"<p>404</p>")
        w.write_response("http://example.vn/logo.png", 200, "OK", [("Content-Type", "image/png")],
                         b"\x89PNG\r\n\x1a\n\x00\x00")
        w.write_response("http://example.vn/tin-tuc/", 200, "OK", HTML,
                         f"<html><body><h1>Tin tức</h1><ul>{links}</ul></body></html>".encode())
        w.write_response("http://example.vn/ghi-chu.txt", 200, "OK", [("Content-Type", "text/plain")],
                         ("Động cơ hơi nước\n\n" + XQ["xq-vi-11-00"]).encode("utf-8"))


def test_round_trip_yields_articles_with_canonical_ids_and_reasons_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    _write_sample(path)
    skipped: list[tuple[str, str]] = []
    docs = list(read_warc(path, on_skip=lambda where, why: skipped.append((where, why))))

    assert [d.id for d in docs] == ["http://example.vn/bai/amazon?a=1&b=2", "http://example.vn/ghi-chu.txt"]
    amazon, note = docs
    assert amazon.url == amazon.id and amazon.source == "example.vn"
    assert amazon.title == "Rừng nhiệt đới Amazon"
    assert "Floresta Amazônica" in amazon.text and "Trang chủ" not in amazon.text
    assert amazon.date == TODAY  # no date in the page: the capture date (WARC-Date) is used
    assert note.title == "Động cơ hơi nước" and XQ["xq-vi-11-00"][:60] in note.text
    reasons = dict(skipped)
    assert reasons["http://example.vn/khong-co"] == "HTTP status 404"
    assert reasons["http://example.vn/logo.png"] == "unsupported content type image/png"
    assert reasons["http://example.vn/tin-tuc/"].startswith("not an article")


def test_read_file_dispatches_warc_to_read_warc(tmp_path: Path) -> None:
    from corpus import read_file

    path = tmp_path / "b.warc.gz"
    _write_sample(path)
    assert [d.title for d in read_file(path)] == ["Rừng nhiệt đới Amazon", "Động cơ hơi nước"]


def test_records_hold_raw_body_headers_and_request(tmp_path: Path) -> None:
    path = tmp_path / "c.warc.gz"
    body = _article("Bắc Sơn", BACSON)
    with WarcWriter(path) as w:
        w.write_response("http://example.vn/bac-son", 200, "OK", HTML + [("X-Test", "1")], body,
                         request_headers=[("User-Agent", "vnsearch/test")])
    (resp,) = list(iter_responses(path))
    assert resp.body == body
    assert ("X-Test", "1") in resp.headers and resp.status == 200
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds == ["warcinfo", "response", "request"]


def test_page_date_wins_over_capture_date(monkeypatch: pytest.MonkeyPatch) -> None:
    import corpus._clean

    monkeypatch.setattr(corpus._clean, "clean_html", lambda html, url=None: CleanedPage(
        title="Hội nghị", text=BACSON, date="2020-06-12", author="Lộc Huệ", language="vi"))
    result = analyze_page("http://example.vn/bac-son", HTML, b"<html><body>x</body></html>",
                          capture_date="2026-01-01")
    assert result.document is not None
    assert result.document.date == "2020-06-12" and result.document.author == "Lộc Huệ"
    monkeypatch.setattr(corpus._clean, "clean_html", lambda html, url=None: CleanedPage(
        title="Danh sách", text="Tin tức", is_article=False))
    result = analyze_page("http://example.vn/tin-tuc/", HTML, b'<a href="/bai/1">x</a>')
    assert result.document is None and result.is_list and result.links == ("http://example.vn/bai/1",)


def test_charset_declared_only_in_meta_is_used() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from crawl_site import encode_cp1258

    text = XQ["xq-vi-10-00"]
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1258">'
            f"<title>Chiến tranh tôn giáo</title></head><body><p>{text}</p></body></html>")
    body = encode_cp1258(page)
    assert b"Chi\xea\xecn" in body  # ê then a combining acute: the real windows-1258 spelling
    result = analyze_page("http://example.vn/huguenot", [("Content-Type", "text/html")], body)
    assert result.document is not None
    assert result.document.title == "Chiến tranh tôn giáo"
    assert text[:80] in result.document.text  # NFC again after decoding


def _three_articles(path: Path) -> None:
    with WarcWriter(path) as w:
        for i, key in enumerate(("xq-vi-16-00", "xq-vi-16-01", "xq-vi-11-00")):
            w.write_response(f"http://example.vn/bai/{i}", 200, "OK", HTML, _article(f"Bài {i}", XQ[key]))


def test_truncated_gzip_warc_is_read_up_to_the_truncation(tmp_path: Path) -> None:
    path = tmp_path / "t.warc.gz"
    _three_articles(path)
    data = path.read_bytes()
    path.write_bytes(data[:-200])  # the crawl died while writing the last record
    skipped: list[tuple[str, str]] = []
    docs = list(read_warc(path, on_skip=lambda where, why: skipped.append((where, why))))
    assert [d.title for d in docs] == ["Bài 0", "Bài 1"]
    assert len(skipped) == 1 and "truncated" in skipped[0][1]


def test_truncated_uncompressed_warc_is_read_up_to_the_truncation(tmp_path: Path) -> None:
    path = tmp_path / "t.warc.gz"
    _three_articles(path)
    raw = gzip.decompress(path.read_bytes())  # the same records, one plain .warc
    plain = tmp_path / "t.warc"
    plain.write_bytes(raw[:-300])
    skipped: list[str] = []
    docs = list(read_warc(plain, on_skip=lambda where, why: skipped.append(why)))
    assert [d.title for d in docs] == ["Bài 0", "Bài 1"]
    assert skipped and "truncated" in skipped[-1]


def test_writer_cuts_a_torn_tail_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.warc.gz"
    _three_articles(path)
    full = path.read_bytes()
    path.write_bytes(full[:-150])
    with WarcWriter(path) as w:
        assert w.repaired_bytes > 0
        w.write_response("http://example.vn/bai/moi", 200, "OK", HTML,
                         _article("Bài mới", XQ["xq-vi-10-00"]))
    # Without the repair the new record would sit behind garbage and never be read.
    assert [d.title for d in read_warc(path)] == ["Bài 0", "Bài 1", "Bài mới"]
    assert repair_warc(path) == 0


def test_repair_keeps_whole_records_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "k.warc.gz"
    _three_articles(path)
    before = path.read_bytes()
    assert repair_warc(path) == 0 and path.read_bytes() == before


@pytest.mark.parametrize("raw, expected", [
    ("HTTPS://Bao.Example.VN:443/Thoi-Su/?utm_campaign=x&b=2&a=1&fbclid=z#comments",
     "https://bao.example.vn/Thoi-Su/?a=1&b=2"),
    ("http://example.vn:8080", "http://example.vn:8080/"),
    ("http://example.vn/tin%20t%E1%BB%A9c", "http://example.vn/tin%20t%E1%BB%A9c"),
    ("http://example.vn/tin tức", "http://example.vn/tin%20t%E1%BB%A9c"),
    ("ftp://example.vn/a", None),
    ("javascript:void(0)", None),
])
def test_canonicalize_url(raw: str, expected: str | None) -> None:
    assert canonicalize_url(raw) == expected


def test_scan_page_resolves_links_and_measures_link_text() -> None:
    page = ('<base href="http://example.vn/tin-tuc/"><a href="bai-1?utm_source=x">Bài 1</a>'
            '<a href="/bai-2#top">Bài 2</a><a href="mailto:a@b.vn">thư</a>'
            '<a rel="nofollow" href="/dang-nhap">x</a>'
            f"<p>{XQ['xq-vi-16-00']}</p>")
    links = scan_page(page, "http://example.vn/")
    assert links.links == ("http://example.vn/tin-tuc/bai-1", "http://example.vn/bai-2")
    assert not links.noindex and not links.nofollow


def test_document_round_trips_through_dict(tmp_path: Path) -> None:
    # The CLI writes crawled documents as JSONL with as_dict(); reading them back must be lossless.
    path = tmp_path / "x.warc.gz"
    _write_sample(path)
    doc = next(read_warc(path))
    assert Document.from_dict(json.loads(json.dumps(doc.as_dict()))) == doc


def test_crawl_archives_the_exchange_as_received_with_its_request(tmp_path: Path) -> None:
    """Response records hold the headers and the still-encoded, chunked body as they came off the
    wire; warcio reads them back (undoing both) and the request record is linked to its response."""
    import sys

    from warcio.archiveiterator import ArchiveIterator

    from corpus._crawl import CrawlOptions, crawl

    sys.path.insert(0, str(Path(__file__).parent))
    from crawl_site import Page, SiteServer

    body = _article("Rừng nhiệt đới Amazon", XQ["xq-vi-16-00"] + " " + XQ["xq-vi-16-01"])
    pages = {"/": Page(body=b'<html><body><a href="/bai">x</a></body></html>'),
             "/bai": Page(body=body, encoding="gzip", chunked=True)}
    with SiteServer(pages=pages) as site:
        crawler = crawl([site.url("/")], tmp_path, CrawlOptions(delay=0, use_sitemaps=False, obey_robots=False))
        docs = list(crawler)
        wire = site.wire["/bai"]
    assert wire.startswith(b"64\r\n\x1f\x8b")  # chunk framing around gzip: what the server sent
    records = {}
    with open(crawler.report.warc_path, "rb") as fh:
        for record in ArchiveIterator(fh):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if uri == site.url("/bai"):
                headers = dict(record.http_headers.headers)
                records[record.rec_type] = (record.rec_headers, headers, record.raw_stream.read())
    rec_headers, headers, raw = records["response"]
    assert raw == wire
    assert headers["Content-Encoding"] == "gzip" and headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in headers  # the server sent none; none is invented
    request_headers, sent, _ = records["request"]
    assert request_headers.get_header("WARC-Concurrent-To") == rec_headers.get_header("WARC-Record-ID")
    assert sent["Accept-Encoding"] == "gzip, deflate" and sent["Host"] == f"127.0.0.1:{site.port}"
    # Read back (warcio undoes chunking and gzip), the archive gives the crawl's documents.
    assert [r.body for r in iter_responses(crawler.report.warc_path) if r.url.endswith("/bai")] == [body]
    assert list(read_warc(crawler.report.warc_path)) == docs and len(docs) == 1
