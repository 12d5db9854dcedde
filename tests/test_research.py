"""Instruments for researchers (issue 15): exact accents, --match all, trends, keyword in context,
abbreviations, browsing, CSV for Excel, highlighted titles.

The index holds the fixture (``tests/data/fixture_docs.jsonl``: the Bắc Sơn article in three
parts, one NFD, and 22 XQuAD-vi paragraphs, dated 2016-2023) and the real sentences below:
law text from Bộ luật Hình sự (shared/data/retrieval/alqac2022; legal texts are unprotected
under Vietnamese law) and Vietnamese Wikipedia sentences (shared/data/corpus/viwiki, CC BY-SA
3.0) in which "hình phát" and "hình Phật" are the folded neighbours of "hình phạt". The
abbreviation documents are short notices written for these tests.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import Document, read_jsonl
from index import Index
from searcher import Searcher
from searcher._errors import QuerySyntaxError
from searcher._query import parse_query
from searcher._snippets import make_snippet
from searcher._synonyms import default_synonyms
from searcher.cli import main

FIXTURE = Path(__file__).parent / "data" / "fixture_docs.jsonl"

EXTRA = [
    Document(id="law-55", title="Bộ luật Hình sự, Điều 55", date="2017-06-20", source="quochoi.vn",
             text="1. Đối với hình phạt chính: a) Nếu các hình phạt đã tuyên cùng là cải tạo không giam "
                  "giữ hoặc cùng là tù có thời hạn, thì các hình phạt đó được cộng lại thành hình phạt chung."),
    Document(id="wiki-amoled", title="AMOLED", date="2017-03-01", source="vi.wikipedia.org",
             text="AMOLED (tiếng Việt: công nghệ màn hình phát quang hữu cơ ma trận chủ động) là một "
                  "công nghệ màn hình."),
    Document(id="wiki-phat", title="Bùa hộ mệnh", date="2019-09-09", source="vi.wikipedia.org",
             text="Ở Thái Lan, người dân thường đeo vòng cổ hình Phật Thích ca mâu ni."),
    Document(id="wiki-suoi", title="Suối nước nóng", date="2019-01-05", source="vi.wikipedia.org",
             text="Một số suối nước nóng thôn Bản Lề đã trở thành vẩn đục sau trận động đất."),
    Document(id="ubnd-short", title="UBND tỉnh Lạng Sơn họp phiên thường kỳ", date="2021-03-02",
             source="langson.gov.vn", text="Sáng nay, UBND tỉnh Lạng Sơn họp phiên thường kỳ tháng 3."),
    Document(id="ubnd-long", title="Ủy ban nhân dân tỉnh Lạng Sơn tổng kết năm", date="2021-12-20",
             source="langson.gov.vn", text="Ủy ban nhân dân tỉnh Lạng Sơn tổng kết công tác năm 2021."),
    Document(id="hcm-1", title="Mưa lớn ở TP.HCM", date="2022-06-01", source="tin-tuc.example.vn",
             text="Chiều qua, nhiều tuyến đường ở TP.HCM ngập sâu sau mưa lớn."),
    Document(id="hcm-2", title="Thành phố Hồ Chí Minh mở rộng đường", date="2022-07-01",
             source="tin-tuc.example.vn", text="Thành phố Hồ Chí Minh khởi công mở rộng đường Vành đai 2."),
    Document(id="gddt-1", title="Sở GD&ĐT công bố điểm thi THPT", date="2023-07-15", source="tin-tuc.example.vn",
             text="Sở GD&ĐT Lạng Sơn công bố điểm thi tốt nghiệp THPT năm 2023."),
    Document(id="gddt-2", title="Kỳ thi tốt nghiệp trung học phổ thông", date="2023-06-27",
             source="tin-tuc.example.vn",
             text="Sở Giáo dục và Đào tạo Lạng Sơn chuẩn bị kỳ thi tốt nghiệp trung học phổ thông."),
]


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("research-index")
    Index.create(path).add_documents([*read_jsonl(FIXTURE), *EXTRA], workers=1)
    return str(path)


@pytest.fixture(scope="module")
def s(index_path: str):
    with Searcher.open(index_path) as searcher:
        yield searcher


def ids(results) -> list[str]:
    return [h.id for h in results.hits]


def cli(index_path: str, *args: str, expect: int = 0):
    result = CliRunner().invoke(main, [*args, "--index", index_path])
    assert result.exit_code == expect, (result.output, result.exception)
    return result


# -- exact when typed exactly ------------------------------------------------------------


def test_a_phrase_typed_with_accents_matches_only_those_accents(s: Searcher) -> None:
    exact = s.search('"hình phạt"', limit=100)
    assert ids(exact) == ["law-55"] and exact.total == 1
    loose = s.search('"hình phạt"', limit=100, accents="any")
    assert set(ids(loose)) == {"law-55", "wiki-amoled", "wiki-phat"}
    assert ids(loose)[0] == "law-55"  # the accents typed still rank first
    assert set(ids(s.search('"hinh phat"', limit=100))) == {"law-55", "wiki-amoled", "wiki-phat"}
    assert ids(s.search('"hình Phật"', limit=100)) == ["wiki-phat"]  # case never matters
    assert s.search('"nông thôn"', limit=100).total == 5  # not "nóng thôn"
    assert "wiki-suoi" in ids(s.search('"nong thon"', limit=100))


def test_exact_accents_survive_nfd_and_old_tone_placement(s: Searcher) -> None:
    nfd = unicodedata.normalize("NFD", '"hình phạt"')
    assert ids(s.search(nfd, limit=100)) == ["law-55"]
    assert ids(s.search('"kiểm tra"', limit=100)) == ids(s.search(unicodedata.normalize("NFD", '"kiểm tra"'), limit=100))
    # old/new tone placement: "hoà" and "hòa" are one spelling.
    assert ids(s.search("hoà", limit=100)) == ids(s.search("hòa", limit=100)) != []


def test_word_queries_typed_with_accents_count_only_exact_matches(s: Searcher) -> None:
    assert s.matching_ids("phạt") == ["law-55"]  # not "phát" (wiki-amoled) nor "Phật" (wiki-phat)
    loose = set(s.matching_ids("phạt", accents="any"))
    assert {"law-55", "wiki-amoled", "wiki-phat"} <= loose  # and every "phát" of the fixture
    assert s.search("phạt").total == 1 and s.search("Phật").total == 1
    assert s.search("phat").total == len(loose)


def test_accents_option_on_the_command_line(index_path: str) -> None:
    exact = json.loads(cli(index_path, "search", '"hình phạt"', "--format", "json").stdout)
    loose = json.loads(cli(index_path, "search", '"hình phạt"', "--accents", "any", "--format", "json").stdout)
    assert (exact["total"], loose["total"]) == (1, 3)
    none = json.loads(cli(index_path, "search", '"hinh phat"', "--accents", "exact", "--format", "json").stdout)
    assert none["total"] == 0


# -- --match all -------------------------------------------------------------------------


def test_match_all_keeps_only_documents_with_every_word(s: Searcher) -> None:
    any_ = set(s.matching_ids("nông thôn Bắc Sơn"))
    all_ = set(s.matching_ids("nông thôn Bắc Sơn", match="all"))
    assert all_ and all_ < any_
    for doc_id in all_:
        text = (s.document(doc_id).title + " " + s.document(doc_id).text).lower()
        text = unicodedata.normalize("NFC", text)
        assert "nông thôn" in text and "bắc sơn" in text
    assert {"bacson-2020-06-12-1", "bacson-2020-06-12-2"} <= all_
    # Ranked as with "any" among the documents both find.
    ranked = [i for i in ids(s.search("nông thôn Bắc Sơn", limit=100)) if i in all_]
    assert ids(s.search("nông thôn Bắc Sơn", limit=100, match="all")) == ranked


def test_match_all_accepts_any_form_of_an_abbreviation(s: Searcher) -> None:
    assert set(s.matching_ids("UBND Lạng Sơn", match="all")) == {"ubnd-short", "ubnd-long"}
    assert s.matching_ids("UBND tổng kết", match="all") == ["ubnd-long"]


def test_filters_narrow_without_changing_what_matches_or_the_ranking(s: Searcher) -> None:
    for q in ("nông thôn", "bac son", "Sơn"):
        everything = s.search(q, limit=1000).hits
        for start, end in (("2020", "2020"), ("2017", "2021-06")):
            inside = [h.id for h in everything if h.date and start <= h.date[:len(start)] and h.date[:len(end)] <= end]
            assert ids(s.search(q, date_from=start, date_to=end, limit=1000)) == inside, (q, start, end)
        assert ids(s.search(q, source="langson.gov.vn", limit=1000)) == \
            [h.id for h in everything if h.source == "langson.gov.vn"]


def test_matching_ids_is_what_search_counts(s: Searcher) -> None:
    for q, kw in [("nông thôn", {}), ('"hình phạt"', {"accents": "any"}), ("bac son", {"date_from": "2020"}),
                  ("UBND", {"source": "langson.gov.vn"})]:
        r = s.search(q, limit=1000, **kw)
        assert sorted(s.matching_ids(q, **kw)) == sorted(ids(r)) and r.total == len(r.hits)


# -- trends ------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["year", "month"])
def test_trend_counts_equal_search_counts_per_period(s: Searcher, by: str) -> None:
    t = s.trend(["nông thôn", '"hình phạt"', "UBND"], by=by)
    assert t.by == by
    for series in t.series:
        periods = [p.period for p in series.points]
        assert periods == sorted(periods) and len(set(periods)) == len(periods)
        dated = sorted(d for d in (s.document(i).date for i in s.matching_ids(None, date_from="1900")) if d)
        assert periods[0] == dated[0][:len(periods[0])] and periods[-1] == dated[-1][:len(periods[0])]
        for p in series.points:
            assert p.documents == s.search(series.query, date_from=p.period, date_to=p.period).total
            assert p.total == s.search(None, date_from=p.period, date_to=p.period).total if p.total else True
            assert p.share == (round(p.documents / p.total, 4) if p.total else 0.0)
    # No period is skipped: each is the one after the one before.
    periods = [p.period for p in t.series[0].points]
    following = {"year": lambda x: str(int(x) + 1),
                 "month": lambda x: f"{int(x[:4]) + int(x[5:]) // 12:04d}-{int(x[5:]) % 12 + 1:02d}"}[by]
    assert all(following(a) == b for a, b in zip(periods, periods[1:]))
    years = t.series[0].points
    if by == "year":  # every year between the first and last dated document, zeros included
        assert [p.period for p in years] == [str(y) for y in range(2016, 2024)]
        assert any(p.documents == 0 for p in years)


def test_trend_json_has_exactly_the_documented_shape(index_path: str) -> None:
    out = json.loads(cli(index_path, "trend", "nông thôn", "UBND", "--format", "json").stdout)
    assert set(out) == {"by", "series"} and out["by"] == "year"
    assert [x["query"] for x in out["series"]] == ["nông thôn", "UBND"]
    point = out["series"][0]["points"][0]
    assert set(point) == {"period", "documents", "total", "share"}
    assert isinstance(point["period"], str) and isinstance(point["share"], float)


def test_trend_table_csv_and_filters(index_path: str) -> None:
    table = cli(index_path, "trend", "nông thôn", "--from", "2018", "--to", "2020").stdout
    assert re.search(r"2020\s+2 / \d+", table) and "2017" not in table and "2021" not in table
    csv_text = cli(index_path, "trend", "nông thôn", "--format", "csv", "--bom").stdout
    assert csv_text.startswith("\ufeffquery,period,documents,total,share")


def test_trend_plot_is_written(index_path: str, tmp_path: Path) -> None:
    png = tmp_path / "trend.png"
    cli(index_path, "trend", "nông thôn", "UBND", "--plot", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = tmp_path / "trend.svg"
    cli(index_path, "trend", "nông thôn", "--plot", str(svg), "--by", "month")
    assert b"<svg" in svg.read_bytes()[:2000]
    bad = cli(index_path, "trend", "nông thôn", "--plot", str(tmp_path / "t.gif"), expect=1)
    assert bad.output.count("\n") <= 2 and ".png or .svg" in bad.output


def test_trend_plot_without_matplotlib_is_one_clear_line(index_path: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    result = cli(index_path, "trend", "nông thôn", "--plot", str(tmp_path / "t.png"), expect=1)
    assert "matplotlib" in result.output and "vnsearch[plot]" in result.output
    assert "Traceback" not in result.output


# -- keyword in context ------------------------------------------------------------------


def test_kwic_lists_every_occurrence_as_written(s: Searcher) -> None:
    lines = s.kwic('"nông thôn"', width=30)
    expected = 0
    for doc_id in s.matching_ids('"nông thôn"'):
        doc = s.document(doc_id)
        for field in (doc.title, doc.text):
            expected += len(re.findall(r"(?<!\w)nông thôn(?!\w)", unicodedata.normalize("NFC", field), re.I))
    assert len(lines) == expected == 11
    assert all(line.match.lower() == "nông thôn" for line in lines)
    dates = [line.date for line in lines]
    assert dates == sorted(dates)  # oldest document first
    for line in lines:
        doc = s.document(line.id)
        assert line.left + line.match + line.right in doc.text.replace("\n", " ")
        assert len(line.left) <= 30 and len(line.right) <= 30


def test_kwic_match_keeps_the_documents_case_and_finds_nfd_queries(s: Searcher) -> None:
    lines = s.kwic("KIỂM TRA GIÁM SÁT")
    assert {x.match for x in lines if x.id == "bacson-2020-06-12-3-nfd"} == {"kiểm tra", "giám sát"}
    assert s.kwic(unicodedata.normalize("NFD", "KIỂM TRA GIÁM SÁT")) == lines
    assert {x.match for x in s.kwic("bắc sơn")} == {"Bắc Sơn"}


def test_kwic_follows_the_accent_rules_of_search(s: Searcher) -> None:
    assert {x.match for x in s.kwic('"hình phạt"')} == {"hình phạt"}
    assert {x.match for x in s.kwic('"hinh phat"')} == {"hình phạt", "hình phát", "hình Phật"}
    assert [x.match for x in s.kwic("UBND")].count("Ủy ban nhân dân") == 2  # title and text
    assert len(s.kwic('"nông thôn"', limit=3)) == 3


def test_kwic_cli_formats(index_path: str) -> None:
    data = json.loads(cli(index_path, "kwic", '"hình phạt"', "--format", "json").stdout)
    assert data and set(data[0]) == {"id", "title", "date", "left", "match", "right"}
    assert all(x["match"] == "hình phạt" and x["id"] == "law-55" for x in data)
    table = cli(index_path, "kwic", '"hình phạt"', "--width", "20").stdout
    rows = [r for r in table.splitlines() if "hình phạt" in r]
    assert len(rows) == len(data)
    assert len({r.index("hình phạt") for r in rows}) == 1  # the matches are aligned
    assert cli(index_path, "kwic", "UBND", "--format", "csv", "--bom").stdout.startswith("\ufeffid,title,date")


# -- abbreviations -------------------------------------------------------------------------


def test_the_shipped_list_covers_the_common_abbreviations() -> None:
    groups = default_synonyms()
    assert len(groups) >= 50
    forms = {f for g in groups for f in g}
    for abbr in ("UBND", "HĐND", "TP.HCM", "THPT", "CSGT", "TAND", "VKSND", "MTTQ", "BCH", "CNTT", "GD&ĐT"):
        assert abbr in forms, abbr


def test_every_shipped_group_has_one_abbreviation_and_full_forms_of_several_words() -> None:
    # A comma inside a full form ("Phòng, chống tham nhũng") splits it into groups of their own:
    # "Phòng" would then find every PCTN document. Every form is either written solid with capitals
    # (an abbreviation) or has several words.
    for group in default_synonyms():
        for form in group:
            assert " " in form.strip() or sum(c.isupper() for c in form) >= 2, (form, group)


@pytest.mark.parametrize("typed, first, other", [
    ("UBND", "ubnd-short", "ubnd-long"), ("Ủy ban nhân dân", "ubnd-long", "ubnd-short"),
    ("uy ban nhan dan", "ubnd-long", "ubnd-short"), ("TP.HCM", "hcm-1", "hcm-2"),
    ("Thành phố Hồ Chí Minh", "hcm-2", "hcm-1"), ("GD&ĐT", "gddt-1", "gddt-2"),
    ("THPT", "gddt-1", "gddt-2"), ("trung học phổ thông", "gddt-2", "gddt-1"),
])
def test_either_form_finds_both_the_typed_form_first(s: Searcher, typed: str, first: str, other: str) -> None:
    found = ids(s.search(typed, limit=100))
    assert found[0] == first and other in found


def test_abbreviations_in_a_phrase(s: Searcher) -> None:
    assert set(ids(s.search('"UBND tỉnh Lạng Sơn"'))) == {"ubnd-short", "ubnd-long"}
    assert ids(s.search('"UBND tỉnh Lạng Sơn"'))[0] == "ubnd-short"


def test_user_synonyms_from_python_and_the_command_line(index_path: str, tmp_path: Path) -> None:
    with Searcher.open(index_path, abbreviations=False) as plain:
        assert ids(plain.search("UBND", limit=100)) == ["ubnd-short"]
    with Searcher.open(index_path, abbreviations=False, synonyms=[("suối nóng", "suối nước nóng")]) as own:
        assert "wiki-suoi" in ids(own.search('"suối nóng"'))
    syn = tmp_path / "syn.txt"
    syn.write_text("# my terms\nvòng cổ, dây chuyền\n", encoding="utf-8")
    out = json.loads(cli(index_path, "search", '"dây chuyền"', "--synonyms", str(syn), "--format", "json").stdout)
    assert "wiki-phat" in [h["id"] for h in out["hits"]]
    without = json.loads(cli(index_path, "search", '"dây chuyền"', "--format", "json").stdout)
    assert "wiki-phat" not in [h["id"] for h in without["hits"]]


# -- browsing, CSV, titles -----------------------------------------------------------------


def test_browsing_without_a_query_lists_the_filtered_documents_newest_first(s: Searcher, index_path: str) -> None:
    r = s.search(None, source="langson.gov.vn", limit=100)
    assert set(ids(r)) == {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd",
                           "ubnd-short", "ubnd-long"}
    dates = [h.date for h in r.hits]
    assert dates == sorted(dates, reverse=True)
    out = json.loads(cli(index_path, "search", "--source", "tin-tuc.example.vn", "--sort", "-date",
                         "--from", "2022", "--to", "2022", "--format", "json").stdout)
    assert [h["id"] for h in out["hits"]] == ["hcm-2", "hcm-1"] and out["total"] == 2
    old_first = json.loads(cli(index_path, "search", "--from", "2023", "--sort", "date", "--format", "json").stdout)
    assert [h["date"] for h in old_first["hits"]] == sorted(h["date"] for h in old_first["hits"])
    assert "query is empty" in cli(index_path, "search", expect=2).output
    with pytest.raises(QuerySyntaxError):
        s.search("  ")


def test_csv_with_a_byte_order_mark_for_excel(index_path: str) -> None:
    with_bom = cli(index_path, "search", "nông thôn", "--format", "csv", "--bom").stdout_bytes
    assert with_bom.startswith("\ufeffrank,id".encode("utf-8"))
    assert not cli(index_path, "search", "nông thôn", "--format", "csv").stdout.startswith("\ufeff")


def test_snippets_highlight_the_accents_that_matched(s: Searcher) -> None:
    text = "Các hình phạt chính; vòng cổ hình Phật; màn hình phát quang."
    exact = s._compiler().compile(parse_query('"hình phạt"')).terms
    snippet, marks = make_snippet(text, exact)
    assert [snippet[a:b] for a, b in marks] == ["hình", "phạt", "hình", "hình"]
    loose = s._compiler(accents="any").compile(parse_query('"hình phạt"')).terms
    snippet, marks = make_snippet(text, loose)
    assert [snippet[a:b] for a, b in marks] == ["hình", "phạt", "hình", "Phật", "hình", "phát"]
    hit = s.search('"hình phạt"').hits[0]
    assert {hit.snippet[a:b] for a, b in hit.highlights} == {"hình", "phạt"}
    # Accents are compared after tone placement and case are normalised, word by word.
    snippet, marks = make_snippet("Hoà Bình, HÒA giải, hoa hồng, hỏa hoạn.", frozenset({"=hòa"}))
    assert [snippet[a:b] for a, b in marks] == ["Hoà", "HÒA"]


def test_titles_are_highlighted_like_snippets(s: Searcher) -> None:
    hit = s.search("Bắc Sơn").hits[0]
    assert [hit.title[a:b] for a, b in hit.title_highlights] == ["Bắc", "Sơn"]
    assert hit.as_dict()["title_highlights"] == [list(x) for x in hit.title_highlights]


# -- the bundled sample ----------------------------------------------------------------------


def test_the_bundled_sample_is_dated_vietnamese_news_and_law() -> None:
    sample = Path(__file__).parents[1] / "corpus" / "data" / "sample" / "sample.jsonl.gz"
    docs = list(read_jsonl(sample))
    assert 200 <= len(docs) <= 600 and sample.stat().st_size < 1_000_000
    assert all(d.title and d.source and d.date for d in docs)
    assert len({d.date[:4] for d in docs}) >= 4  # a trend over several years
    assert sum(d.source == "Quốc hội" for d in docs) > 200 and len({d.source for d in docs}) >= 6
    sources = (sample.parent / "SOURCES.md").read_text(encoding="utf-8")
    for name in ("alqac2022", "VnExpress", "Bắc Sơn", "Điều 15"):
        assert name in sources
