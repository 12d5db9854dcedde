"""Odd, damaged and large inputs: each gets one true reason, and everything readable is kept.
Also PDF and Word files with Vietnamese text, stable ids and titles of plain text files."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import TITLE_MAX_CHARS, read_documents, read_file, read_jsonl
from index import Index, IndexNotFoundError
from searcher.cli import main

DATA = Path(__file__).parent / "data"
OFFICE = DATA / "office"
BACSON = (DATA / "pages" / "bacson_2020-06-12.txt").read_text(encoding="utf-8")


def _read(path: Path, **kw: object) -> tuple[list, list[tuple[str, str]]]:
    skipped: list[tuple[str, str]] = []
    docs = list(read_documents([path], on_skip=lambda w, r: skipped.append((w, r)), **kw))  # type: ignore[arg-type]
    return docs, skipped


def _record(i: int) -> str:
    return json.dumps({"id": f"d{i}", "title": f"Bài {i}", "text": f"Nông thôn mới ở Bắc Sơn, số {i}."},
                      ensure_ascii=False)


# -- JSONL ----------------------------------------------------------------------------------

def test_a_bom_does_not_cost_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(_record(i) for i in range(3)).encode())
    docs, skipped = _read(path)
    assert [d.id for d in docs] == ["d0", "d1", "d2"] and skipped == []


def test_a_file_that_is_not_gzip_says_so(tmp_path: Path) -> None:
    path = tmp_path / "fake.jsonl.gz"
    path.write_text(_record(1) + "\n", encoding="utf-8")
    docs, skipped = _read(path)
    assert docs == [] and len(skipped) == 1
    assert skipped[0][0] == str(path) and skipped[0][1].startswith("not gzip-compressed data despite its name")


def test_damaged_gzip_keeps_what_precedes_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl.gz"
    whole = gzip.compress("\n".join(_record(i) for i in range(3000)).encode() + b"\n")
    # A second member whose header is damaged (as when two downloads were glued together).
    path.write_bytes(whole + b"\x1f\x8b\x08\x00garbage that is not deflate data" * 20)
    docs, skipped = _read(path)
    assert [d.id for d in docs] == [f"d{i}" for i in range(3000)]
    assert len(skipped) == 1 and skipped[0][0] == f"{path}:3001"
    assert skipped[0][1].startswith("damaged compressed data from here on (")
    assert skipped[0][1].endswith("the 3000 lines before it were read")


def test_mistyped_fields_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "typed.jsonl"
    path.write_text("\n".join([
        '{"id": 7, "text": "Bắc Sơn"}',
        '{"id": ["a", "b"], "text": "Bắc Sơn"}',
        '{"id": "x", "source": ["a", "b"], "text": "Bắc Sơn"}',
        '{"id": "y", "title": {"vi": "Bắc Sơn"}}',
        '{"id": "z", "text": "Bắc Sơn", "date": 2020}',
    ]), encoding="utf-8")
    docs, skipped = _read(path)
    assert [d.id for d in docs] == ["7"]
    assert skipped == [(f"{path}:2", 'field "id" must be a string or an integer, not a list'),
                       (f"{path}:3", 'field "source" must be a string, not a list'),
                       (f"{path}:4", 'field "title" must be a string, not an object'),
                       (f"{path}:5", 'field "date" must be a string, not a number')]


def test_a_line_over_the_cap_is_skipped_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        out.write(_record(1) + "\n")
        out.write('{"id": "huge", "text": "' + "Bac Son " * 3_750_000 + '"}\n')  # 30 MB on one line
        out.write(_record(2) + "\n")
    tracemalloc.start()
    try:
        docs, skipped = _read(path, max_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.id for d in docs] == ["d1", "d2"]
    assert skipped == [(f"{path}:2", "line of 30.0 MB, over the 1.0 MB cap on one document (--max-doc-size)")]
    assert peak < 8_000_000, peak  # a couple of 1 MB read blocks, not the 30 MB line


# -- text and HTML files --------------------------------------------------------------------

def test_a_text_cut_in_its_last_character_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_bytes(BACSON.encode("utf-8") + "\n\nNguồn: Huyện ủy Bắ".encode("utf-8")[:-1])  # "ắ" cut in half
    docs, skipped = _read(path)
    assert skipped == [] and docs[0].text.endswith("Nguồn: Huyện ủy B")


def test_a_short_latin1_french_text_is_not_read_as_vietnamese(tmp_path: Path) -> None:
    path = tmp_path / "fr.txt"
    path.write_bytes("Ça va très bien, merci.\n\nLe garçon mange une pomme à midi.".encode("latin-1"))
    docs, skipped = _read(path)
    assert docs[0].title == "Ça va très bien, merci." and "garçon" in docs[0].text


def test_html_nested_deeper_than_lxml_allows_keeps_its_text(tmp_path: Path) -> None:
    body = "<p>" + "Huyện Bắc Sơn tổ chức hội nghị sơ kết công tác xây dựng nông thôn mới. " * 15 + "</p>"
    page = ("<html><head><title>Hội nghị sơ kết</title></head><body>" + "<div>" * 300
            + "<h1>Hội nghị sơ kết</h1>" + body * 3 + "</div>" * 300 + "</body></html>")
    path = tmp_path / "deep.html"
    path.write_text(page, encoding="utf-8")
    docs, skipped = _read(path)
    assert skipped == [] and "nông thôn mới" in docs[0].text


def test_a_file_over_the_cap_is_skipped_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    path.write_bytes(b"<html><body><p>" + b"Bac Son " * 375_000 + b"</p></body></html>")
    docs, skipped = _read(path, max_bytes=1_000_000)
    assert docs == [] and skipped == [(str(path), "file of 3.0 MB, over the 1.0 MB cap on one document "
                                                  "(--max-doc-size)")]


@pytest.mark.parametrize("layout", ["single newlines", "no line break"])
def test_the_title_of_a_text_file_is_its_first_line_or_sentences(tmp_path: Path, layout: str) -> None:
    paragraphs = [p for p in BACSON.split("\n") if p.strip()]
    text = "\n".join(paragraphs) if layout == "single newlines" else " ".join(paragraphs) * 20
    path = tmp_path / "doc.txt"
    path.write_text(text, encoding="utf-8")
    doc, = _read(path)[0]
    assert 0 < len(doc.title) <= TITLE_MAX_CHARS
    if layout == "single newlines":  # the first line is a "Skip to main content" link: not a title
        assert doc.title == paragraphs[1].strip()
    assert "Ban Chấp hành" in doc.text and len(doc.text) >= len(" ".join(text.split())) - len(doc.title) - 5


# -- stable ids -----------------------------------------------------------------------------

def test_the_same_files_reached_through_two_folders_are_one_set_of_documents(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    (pages / "html").mkdir(parents=True)
    (pages / "html" / "bacson.txt").write_text(BACSON, encoding="utf-8")
    (pages / "html" / "page.html").write_bytes((DATA / "pages" / "tuoitre_article.html").read_bytes())
    ix = tmp_path / "ix"
    runner = CliRunner()
    first = runner.invoke(main, ["index", str(pages), "--index", str(ix), "--workers", "1"])
    again = runner.invoke(main, ["index", str(pages / "html"), "--index", str(ix), "--workers", "1"])
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "2 added" in first.output and "0 added, 0 replaced, 2 unchanged" in again.output
    assert Index.open(ix).doc_count() == 2


def test_a_saved_page_and_the_same_page_in_a_warc_are_one_document(tmp_path: Path) -> None:
    from corpus import WarcWriter

    html = (DATA / "pages" / "tuoitre_article.html").read_bytes()
    url = "https://tuoitre.vn/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm"
    warc = tmp_path / "crawl.warc.gz"
    with WarcWriter(warc) as writer:
        writer.write_response(url, 200, "OK", [("Content-Type", "text/html; charset=utf-8")], html)
    saved = tmp_path / "saved" / "page.html"
    saved.parent.mkdir()
    saved.write_bytes(html)
    from_file, = read_file(saved)
    from_warc, = read_file(warc)
    assert from_file.id == from_warc.id == url


def test_source_tags_every_document_of_the_import(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(_record(1) + "\n" + json.dumps({"id": "s", "text": "Bắc Sơn", "source": "khác"}) + "\n",
                    encoding="utf-8")
    ix = tmp_path / "ix"
    result = CliRunner().invoke(main, ["index", str(path), "--index", str(ix), "--source", "Sở Nội vụ",
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    stats = CliRunner().invoke(main, ["stats", "--index", str(ix), "--format", "json"])
    assert json.loads(stats.stdout)["sources"] == {"Sở Nội vụ": 2}


# -- PDF and Word ---------------------------------------------------------------------------

def test_a_pdf_gives_its_vietnamese_text_title_and_date() -> None:
    doc, = read_file(OFFICE / "vanban.pdf")
    assert doc.title == "Thông báo kết luận hội nghị sơ kết nông thôn mới"
    assert doc.date == "2020-06-12"
    assert "Ban Chấp hành Đảng bộ huyện" in doc.text and "ỦY BAN NHÂN DÂN HUYỆN BẮC SƠN" in doc.text


def test_a_pdf_in_the_tcvn3_font_encoding_is_converted() -> None:
    doc, = read_file(OFFICE / "tcvn3.pdf")
    assert doc.text.startswith("Huyện Bắc Sơn tổ chức hội nghị sơ kết công tác xây dựng nông thôn mới.")


def test_a_scanned_pdf_is_skipped_with_that_reason() -> None:
    docs, skipped = _read(OFFICE / "scan.pdf")
    assert docs == [] and skipped[0][1].startswith("PDF without a text layer")


def test_clean_reads_a_pdf_as_the_import_does_and_names_why_a_scan_gives_nothing() -> None:
    result = CliRunner().invoke(main, ["clean", str(OFFICE / "vanban.pdf"), "--format", "json"])
    assert result.exit_code == 0, result.output
    page = json.loads(result.output)
    assert page["title"] == "Thông báo kết luận hội nghị sơ kết nông thôn mới" and page["date"] == "2020-06-12"
    assert "ỦY BAN NHÂN DÂN HUYỆN BẮC SƠN" in page["text"]
    scan = CliRunner().invoke(main, ["clean", str(OFFICE / "scan.pdf")])
    assert scan.exit_code == 1 and "PDF without a text layer" in scan.output and "Traceback" not in scan.output


def test_a_docx_gives_its_text_title_and_the_date_of_the_document(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Thông báo kết luận"
    document.add_paragraph("ỦY BAN NHÂN DÂN HUYỆN BẮC SƠN")
    document.add_paragraph("Bắc Sơn, ngày 12 tháng 6 năm 2020")
    # NFD as some Word files hold it: the document comes out NFC.
    document.add_paragraph("Kết luận của Ban Chấp hành Đảng bộ huyện về nông thôn mới.".encode().decode()
                           .replace("ế", "e\u0302\u0301"))
    path = tmp_path / "thong-bao.docx"
    document.save(str(path))
    doc, = read_file(path)
    assert doc.title == "Thông báo kết luận" and doc.date == "2020-06-12"
    assert "Kết luận của Ban Chấp hành Đảng bộ huyện" in doc.text


def test_damaged_pdf_and_docx_files_get_their_own_reasons(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes((OFFICE / "vanban.pdf").read_bytes()[:300])
    (tmp_path / "b.docx").write_bytes(b"PK\x03\x04 not really a zip")
    docs, skipped = _read(tmp_path)
    assert docs == []
    assert [r.split(" (")[0] for _w, r in skipped] == ["not a readable PDF", "not a readable Word .docx file"]


# -- the CLI: exit codes and messages -------------------------------------------------------

def test_an_import_with_problems_exits_1_after_indexing_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_record(1) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_text("not gzip", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(good), str(bad), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert "not gzip-compressed data" in result.output and "bug" not in result.output
    assert Index.open(tmp_path / "ix").doc_count() == 1


def test_every_named_file_skipped_is_a_failure(tmp_path: Path) -> None:
    odd = tmp_path / "notes.odt"
    odd.write_bytes(b"PK")
    result = CliRunner().invoke(main, ["index", str(odd), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1 and "unsupported file type '.odt'" in result.output


def test_an_unreadable_dictionary_exits_1(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_record(1) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(good), "--index", str(tmp_path / "ix"),
                                       "--user-words", str(tmp_path / "missing.txt")])
    assert result.exit_code == 1 and "cannot read the user dictionary" in result.output


@pytest.mark.parametrize("content, says", [(b"", "is empty"), (b"{not json", "is not valid JSON"),
                                           (b"[1, 2]", "is not a JSON object")])
def test_a_damaged_vnsearch_json_gets_a_true_message(tmp_path: Path, content: bytes, says: str) -> None:
    ix = tmp_path / "ix"
    Index.create(ix)
    (ix / "vnsearch.json").write_bytes(content)
    with pytest.raises(IndexNotFoundError, match=says):
        Index.open(ix)
    result = CliRunner().invoke(main, ["stats", "--index", str(ix)])
    assert result.exit_code == 1 and says in result.output and "bug" not in result.output


def test_a_docx_whose_text_is_over_the_cap_is_skipped(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for _ in range(400):
        document.add_paragraph(BACSON[:2000])
    path = tmp_path / "dai.docx"
    document.save(str(path))
    assert path.stat().st_size < 200_000  # compressed: the file itself is under the cap
    docs, skipped = _read(path, max_bytes=500_000)
    assert docs == [] and "of text once extracted, over the 0.5 MB cap" in skipped[0][1]
    docs, skipped = _read(path)
    assert len(docs) == 1 and skipped == []


def test_a_warc_record_over_the_cap_is_skipped_and_the_next_one_kept(tmp_path: Path) -> None:
    from corpus import WarcWriter

    html = (DATA / "pages" / "tuoitre_article.html").read_bytes()
    warc = tmp_path / "crawl.warc.gz"
    headers = [("Content-Type", "text/html; charset=utf-8")]
    with WarcWriter(warc) as writer:
        writer.write_response("https://example.vn/huge", 200, "OK", headers, b"<p>" + b"Bac Son " * 400_000)
        writer.write_response("https://tuoitre.vn/bai.htm", 200, "OK", headers, html)
    docs, skipped = _read(warc, max_bytes=1_000_000)
    assert [d.title[:8] for d in docs] == ["Chiến sự"]
    assert len(skipped) == 1 and skipped[0][0].endswith("https://example.vn/huge")
    assert skipped[0][1] == "response too large (more than 1000000 bytes)"
