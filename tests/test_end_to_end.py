"""End to end: index real Vietnamese documents, search them from Python and from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import whoosh.index
from click.testing import CliRunner

from corpus import Document
from index import Index
from searcher import IndexNotFoundError, QuerySyntaxError, Searcher
from searcher.cli import main

DATA = Path(__file__).parent / "data"
SEED = DATA / "pages" / "bacson_2020-06-12.txt"
PAGE_ID = "https://tuoitre.vn/chien-su-day-gia-hoa-nhap-khau-dip-8-3-tang-manh-20260307075519174.htm"  # its og:url

DOCS = [
    Document(id="tl-1", title="Số hóa tài liệu lưu trữ",
             text="Trung tâm lưu trữ quốc gia đã số hóa hàng nghìn tài liệu quý về lịch sử Việt Nam.",
             source="luutru.gov.vn", date="2021-03-02", author="Minh Anh"),
    Document(id="tl-2", title="Thư viện huyện",
             text="Thư viện mở cửa buổi tối. Bạn đọc được mượn tài khoản điện tử để đọc sách.",
             source="baolangson.vn", date="2019-11-20"),
    Document(id="ntm-1", title="Xây dựng nông thôn mới ở Bắc Sơn",
             text="Huyện Bắc Sơn hoàn thiện hồ sơ đề nghị công nhận xã Tân Lập đạt chuẩn nông thôn mới.",
             source="baolangson.vn", date="2020-06-12", author="Lộc Huệ"),
    # Stored in NFD, with the new tone placement (hoà): an NFC, old-style query must find it.
    Document(id="nfd-1", title="Hoà Bình".replace("à", "a\u0300"),
             text="Tỉnh Hoà Bình phát triển du lịch cộng đồng.".replace("ì", "i\u0300"),
             source="hoabinh.gov.vn", date="2022-01-05"),
]


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ix")
    report = Index.create(path).add_documents(DOCS, workers=1)
    assert report.added == len(DOCS)
    return path


def test_tai_lieu_is_one_word_for_queries_as_for_documents(index_path: Path) -> None:
    # Whoosh's stock QueryParser splits on spaces first and finds nothing for the word tài_liệu.
    with Searcher.open(index_path) as s:
        assert [h.id for h in s.search("tài liệu")][:1] == ["tl-1"]
        assert [h.id for h in s.search('"tài liệu"')] == ["tl-1"]
        # tl-2 has "tài khoản", never "tài liệu": the phrase must not match it.
        assert "tl-2" not in [h.id for h in s.search('"tài liệu"')]


def test_unaccented_query_finds_accented_text_and_suggests(index_path: Path) -> None:
    with Searcher.open(index_path) as s:
        results = s.search("bac son")
        assert results.hits[0].id == "ntm-1"
        assert results.suggestion == "bắc sơn"
        assert s.search("nong thon moi").hits[0].id == "ntm-1"


def test_nfd_and_tone_placement_variants_match(index_path: Path) -> None:
    with Searcher.open(index_path) as s:
        for query in ("Hòa Bình", "Hoà Bình", "hoa binh", "Hoa\u0300 Bi\u0300nh"):
            assert s.search(query).hits[0].id == "nfd-1", query


def test_hits_are_plain_values_that_outlive_the_searcher(index_path: Path) -> None:
    with Searcher.open(index_path) as s:
        results = s.search("nông thôn mới", limit=5)
    hit = results.hits[0]
    assert hit.id == "ntm-1" and hit.title.startswith("Xây dựng")
    assert hit.date == "2020-06-12" and hit.source == "baolangson.vn"
    marked = {hit.snippet[a:b].lower() for a, b in hit.highlights}
    assert {"nông", "thôn", "mới"} <= marked
    assert json.loads(json.dumps(results.as_dict()))["hits"][0]["id"] == "ntm-1"


def test_reindexing_same_documents_changes_nothing_and_changed_ones_are_replaced(tmp_path: Path) -> None:
    ix = Index.create(tmp_path)
    ix.add_documents(DOCS, workers=1)
    again = ix.add_documents(DOCS, workers=1)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, len(DOCS))
    changed = Document(id="tl-2", title="Thư viện huyện", text="Thư viện số hóa tài liệu cổ.")
    report = ix.add_documents([changed], workers=1)
    assert (report.added, report.replaced) == (0, 1)
    with Searcher.open(tmp_path) as s:
        assert s.doc_count() == len(DOCS)
        assert "tl-2" in [h.id for h in s.search('"tài liệu cổ"')]


def test_missing_index_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError):
        Searcher.open(tmp_path / "nope")


def test_empty_query_is_a_syntax_error(index_path: Path) -> None:
    with Searcher.open(index_path) as s, pytest.raises(QuerySyntaxError):
        s.search("   ")


# -- CLI ---------------------------------------------------------------------------------


def test_cli_index_folder_and_jsonl_then_search_json(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "bacson.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    # A real news page (tests/data/pages/SOURCES.md): its menus must not become the document.
    (folder / "page.html").write_bytes((DATA / "pages" / "tuoitre_article.html").read_bytes())
    (folder / "list.html").write_bytes((DATA / "pages" / "vnexpress_list.html").read_bytes())
    (folder / "broken.jsonl").write_text('{"id": "x1", "title": "Một", "text": "Bắc Sơn"}\n{not json\n',
                                         encoding="utf-8")
    ix = tmp_path / "ix"
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(folder), "--index", str(ix), "--workers", "1"])
    assert result.exit_code == 1, result.output  # the broken line is an input problem; the rest is indexed
    assert "3 added" in result.output and "2 skipped" in result.output
    assert "broken.jsonl:2: not valid JSON" in result.output
    assert "list.html: not an article" in result.output
    result = runner.invoke(main, ["search", "hoa nhập khẩu", "--index", str(ix), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["hits"][0]["id"] == PAGE_ID and data["total"] >= 1
    assert data["hits"][0]["title"].startswith("Chiến sự đẩy giá hoa nhập khẩu")
    result = runner.invoke(main, ["search", "Lộc Huệ", "--index", str(ix), "--format", "json"])
    assert json.loads(result.stdout)["hits"][0]["author"] == "Lộc Huệ"


def test_cli_batch_mode_writes_a_trec_run(index_path: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "q1", "text": "nông thôn mới ở đâu?"}\n{"id": "q2", "text": "tai lieu"}\n',
                       encoding="utf-8")
    run = tmp_path / "run.txt"
    result = CliRunner().invoke(main, ["search", "--queries", str(queries), "--run", str(run),
                                       "--index", str(index_path)])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in run.read_text().splitlines()]
    assert lines[0][:4] == ["q1", "Q0", "ntm-1", "1"] and lines[0][5] == "vnsearch"
    assert ["q2", "Q0", "tl-1", "1"] in [line[:4] for line in lines]


@pytest.mark.parametrize("args, message", [
    (["search", "x", "--index", "{missing}"], "no vnsearch index"),
    (["search", '"unbalanced', "--index", "{ix}"], "unbalanced quote"),
    (["search", "", "--index", "{ix}"], "empty"),
    (["index", "{missing_file}", "--index", "{tmp}"], "no such file"),
])
def test_cli_errors_are_one_line_without_traceback(args: list[str], message: str, index_path: Path,
                                                    tmp_path: Path) -> None:
    values = {"missing": str(tmp_path / "missing"), "ix": str(index_path),
              "missing_file": str(tmp_path / "nothing.jsonl"), "tmp": str(tmp_path / "new")}
    result = CliRunner().invoke(main, [a.format(**values) for a in args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.output.startswith("Error:") and message in result.output.splitlines()[0]
    assert not (tmp_path / "new").exists(), "a failed import must not leave an empty index behind"


def test_search_without_an_index_uses_the_bundled_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("VNSEARCH_INDEX", raising=False)
    result = CliRunner().invoke(main, ["search", "nông thôn mới", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["hits"][0]["id"] == "bacson-2020-06-12"
    assert (tmp_path / "vnsearch" / "sample-index" / "vnsearch.json").exists()


def test_refresh_sees_new_commits_even_from_an_empty_index(tmp_path: Path) -> None:
    ix = Index.create(tmp_path)
    with Searcher.open(tmp_path) as s:
        assert s.doc_count() == 0
        ix.add_documents(DOCS[:1], workers=1)
        s.refresh()
        assert s.doc_count() == 1 and s.search("tài liệu").hits[0].id == "tl-1"


def test_stop_words_are_dropped_from_word_queries_but_kept_in_phrases(index_path: Path, tmp_path: Path) -> None:
    with Searcher.open(index_path) as s:
        # "của" and "ở" are shipped stop words: alone they still search, inside a phrase they count.
        assert s.search('"nông thôn mới của Bắc Sơn"').total == 0
        assert [h.id for h in s.search('"nông thôn mới ở Bắc Sơn"')] == ["ntm-1"]
        assert s.search("nông thôn mới của Bắc Sơn").hits[0].id == "ntm-1"
    own = tmp_path / "stop.txt"
    own.write_text("# my list\nhuyện\n", encoding="utf-8")
    args = ["search", "huyện Hòa Bình", "--index", str(index_path), "--format", "json"]
    default = [h["id"] for h in json.loads(CliRunner().invoke(main, args).stdout)["hits"]]
    assert {"ntm-1", "tl-2"} <= set(default)
    result = CliRunner().invoke(main, args + ["--stopwords", str(own)])
    assert result.exit_code == 0, result.output
    ids = [h["id"] for h in json.loads(result.stdout)["hits"]]
    assert ids[0] == "nfd-1" and not {"ntm-1", "tl-2"} & set(ids)


def test_user_dictionary_is_stored_with_the_index_and_used_by_queries(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# names that must stay whole\nĐảng bộ huyện\nTân Lập\n", encoding="utf-8")
    data = tmp_path / "docs.jsonl"
    data.write_text(json.dumps({"id": "d1", "title": "Hội nghị", "text": "Đảng bộ huyện Bắc Sơn họp ở xã Tân Lập."},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    ix = tmp_path / "ix"
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(data), "--index", str(ix), "--user-words", str(words), "--workers", "1"])
    assert result.exit_code == 0, result.output
    opened = Index.open(ix)
    assert opened.meta.user_words == ("Đảng bộ huyện", "Tân Lập")
    with whoosh.index.open_dir(str(ix), indexname="MAIN").searcher() as s:  # the terms, as Whoosh reads them
        assert s.doc_frequency("text", "đảng_bộ_huyện") == 1 and s.doc_frequency("text", "tân_lập") == 1
    with Searcher.open(ix) as s:
        assert s.analyzer.analyze("đảng bộ huyện").terms("words") == ["đảng_bộ_huyện"]
        assert s.search("đảng bộ huyện").hits[0].id == "d1"
    other = tmp_path / "other.txt"
    other.write_text("Bắc Sơn\n", encoding="utf-8")
    result = runner.invoke(main, ["index", str(data), "--index", str(ix), "--user-words", str(other)])
    assert result.exit_code == 1 and "another user dictionary" in result.output
