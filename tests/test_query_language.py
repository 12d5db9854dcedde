"""The query language and the Python API, on a small real-Vietnamese index (issue 6).

The fixture (``tests/data/fixture_docs.jsonl``, sources in ``FIXTURE_SOURCES.md``) holds three
parts of the Bắc Sơn article (one stored in NFD) and 22 XQuAD paragraphs.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from corpus import read_jsonl
from index import Index
from searcher import Searcher
from searcher._errors import QuerySyntaxError
from searcher._query import Phrase, Text, parse_query, suggest_query

FIXTURE = Path(__file__).parent / "data" / "fixture_docs.jsonl"
NONG_THON = {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "xq-vi-09-00", "xq-vi-18-01", "xq-vi-41-00"}
BACSON = {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd"}


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("fixture-index")
    Index.create(path).add_documents(read_jsonl(FIXTURE), workers=1)
    with Searcher.open(path) as searcher:
        yield searcher


def ids(results) -> list[str]:
    return [h.id for h in results.hits]


def all_ids(s: Searcher, query: str, **kw) -> set[str]:
    return set(ids(s.search(query, limit=100, **kw)))


# -- the fixture itself --------------------------------------------------------------


def test_fixture_is_indexed_whole_and_holds_an_nfd_document(s: Searcher) -> None:
    raw = FIXTURE.read_text(encoding="utf-8")
    assert s.doc_count() == 25
    assert not unicodedata.is_normalized("NFC", raw)  # the -3-nfd document really is NFD on disk


# -- words, multi-syllable words -----------------------------------------------------


def test_tai_lieu_unquoted_finds_the_documents_holding_the_word_first(s: Searcher) -> None:
    # Whoosh's stock parser would search tài AND liệu; the word tài_liệu is in two documents.
    assert parse_query("tài liệu") == Text("tài liệu")
    assert set(ids(s.search("tài liệu"))[:2]) == {"xq-vi-21-03", "xq-vi-38-03"}


def test_tai_lieu_quoted_finds_exactly_those_documents(s: Searcher) -> None:
    r = s.search('"tài liệu"')
    assert r.total == 2
    assert set(ids(r)) == {"xq-vi-21-03", "xq-vi-38-03"}


def test_exact_phrase_requires_adjacent_words(s: Searcher) -> None:
    assert all_ids(s, '"nông thôn mới"') == {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}
    assert all_ids(s, '"nông thôn"') == NONG_THON


def test_proximity_allows_words_in_between(s: Searcher) -> None:
    # The text says "Đảng bộ huyện Bắc Sơn": one word between "Đảng bộ" and "Bắc Sơn".
    assert all_ids(s, '"Đảng bộ Bắc Sơn"') == set()
    assert all_ids(s, '"Đảng bộ Bắc Sơn"~3') == {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}  # text, title
    assert all_ids(s, '"nông thôn"~3') == NONG_THON


def test_bare_words_rank_the_documents_holding_them(s: Searcher) -> None:
    r = s.search("nông thôn mới", limit=3)
    assert ids(r)[:2] == ["bacson-2020-06-12-1", "bacson-2020-06-12-2"]
    assert r.total >= 5


# -- boolean operators, parentheses ---------------------------------------------------


def test_and_requires_every_word_of_both_sides(s: Searcher) -> None:
    # Not just one syllable of each side (tế, bình ...): the two XQuAD inequality paragraphs.
    assert all_ids(s, "kinh tế AND bất bình đẳng") == {"xq-vi-33-00", "xq-vi-33-02"}
    assert all_ids(s, "Bắc Sơn AND nông thôn") == {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}


def test_or_unions(s: Searcher) -> None:
    assert all_ids(s, "Harvard OR Kuznets") == {"xq-vi-31-00", "xq-vi-33-02"}


@pytest.mark.parametrize("query", ["kinh tế -Chicago", "kinh tế NOT Chicago"])
def test_not_and_minus_exclude(s: Searcher, query: str) -> None:
    with_chicago = all_ids(s, "kinh tế")
    assert "xq-vi-35-04" in with_chicago
    assert all_ids(s, query) == with_chicago - {"xq-vi-35-04"}


def test_minus_phrase_excludes(s: Searcher) -> None:
    assert all_ids(s, 'Bắc Sơn -"nông thôn"') & NONG_THON == set()
    assert "bacson-2020-06-12-3-nfd" in all_ids(s, 'Bắc Sơn -"nông thôn"')


def test_parentheses_group(s: Searcher) -> None:
    assert all_ids(s, "(Kuznets OR Harvard) AND bất bình đẳng") == {"xq-vi-33-02"}
    assert all_ids(s, "(Kuznets OR Harvard) AND (tổ chức OR Stiglitz)") == {"xq-vi-31-00"}


def test_plus_requires(s: Searcher) -> None:
    assert all_ids(s, "+Chicago kinh tế") == {"xq-vi-35-04"}


# -- fields -----------------------------------------------------------------------------


def test_title_field(s: Searcher) -> None:
    assert all_ids(s, 'title:"Bắc Sơn"') == BACSON
    assert all_ids(s, "title:Harvard") == {"xq-vi-31-00"}
    assert all_ids(s, "title:Kuznets OR title:Harvard") == {"xq-vi-31-00", "xq-vi-33-02"}


def test_author_field_with_and_without_accents(s: Searcher) -> None:
    assert all_ids(s, 'author:"Lộc Huệ"') == BACSON
    hoa = {"xq-vi-09-00", "xq-vi-13-03", "xq-vi-15-00", "xq-vi-15-01"}
    assert all_ids(s, 'author:"Nguyen Thi Hoa"') == hoa
    assert all_ids(s, 'author:"Nguyễn Thị Hòa"') == hoa  # stored as "Hoà": old and new tone placement


def test_source_field_filters_and_ors(s: Searcher) -> None:
    assert len(all_ids(s, "source:kinhte.example.vn")) == 7
    assert all_ids(s, 'source:"langson.gov.vn"') == BACSON
    # Two sources ORed stay an OR (they used to be ANDed into nothing).
    both = all_ids(s, "(source:kinhte.example.vn OR source:langson.gov.vn) AND kinh tế")
    assert both == {"xq-vi-33-00", "xq-vi-33-02", "xq-vi-35-04", "xq-vi-15-01"}


def test_filter_among_words_still_needs_the_words(s: Searcher) -> None:
    found = all_ids(s, "kinh tế source:kinhte.example.vn")
    assert {"xq-vi-33-00", "xq-vi-33-02", "xq-vi-35-04"} <= found
    assert "xq-vi-08-03" not in found  # in that source, but says nothing of kinh tế


def test_url_field_takes_the_whole_url(s: Searcher) -> None:
    url = "https://langson.gov.vn/bac-son/tong-ket-kiem-tra-giam-sat"
    assert all_ids(s, f"url:{url}") == {"bacson-2020-06-12-3-nfd"}
    assert all_ids(s, f'url:"{url}"') == {"bacson-2020-06-12-3-nfd"}
    assert all_ids(s, f"(url:{url} OR title:Harvard)") == {"bacson-2020-06-12-3-nfd", "xq-vi-31-00"}


def test_date_ranges(s: Searcher) -> None:
    first_half = {"xq-vi-15-00", "xq-vi-33-00", "xq-vi-16-01", *BACSON, "xq-vi-15-01"}
    assert all_ids(s, "date:2020-01-01..2020-06-30") == first_half  # both ends included
    assert all_ids(s, "date:2020-01..2020-06") == first_half
    assert len(all_ids(s, "date:2020")) == 8
    assert all_ids(s, "date:..2016") == {"xq-vi-02-00"}
    assert all_ids(s, "date:2023..") == {"xq-vi-31-00", "xq-vi-43-03"}
    assert all_ids(s, "kinh tế date:2020") == {"xq-vi-33-00", "xq-vi-33-02", "xq-vi-16-01", "xq-vi-15-01"}


def test_prefix_wildcard(s: Searcher) -> None:
    found = all_ids(s, "kinh*")
    assert {"xq-vi-33-00", "xq-vi-33-02", "xq-vi-35-04", "xq-vi-13-03", "xq-vi-31-00"} <= found  # kinh tế, kinh doanh
    assert not found & BACSON


# -- accents and Unicode forms ---------------------------------------------------------


def test_unaccented_queries_find_accented_text(s: Searcher) -> None:
    assert set(ids(s.search("bac son", limit=3))) == BACSON
    assert ids(s.search("nong thon moi", limit=2)) == ["bacson-2020-06-12-1", "bacson-2020-06-12-2"]
    assert all_ids(s, '"nong thon"') == NONG_THON


def test_accented_query_matches_only_its_accents_unless_told_any(s: Searcher) -> None:
    # bác, bạc and Bắc all fold to "bac": typed with accents, only "bác" matches.
    bac = ids(s.search("bác", limit=100))
    assert set(bac) == {"xq-vi-26-04", "xq-vi-36-03"}  # "bác sĩ"
    assert s.search("bác").total == 2
    # accents="any": every "bac" matches, the exact accents ranked first.
    loose = ids(s.search("bác", limit=100, accents="any"))
    assert set(loose[:2]) == {"xq-vi-26-04", "xq-vi-36-03"}
    assert set(loose[2:]) >= BACSON
    assert ids(s.search("bạc", limit=100))[0] == "xq-vi-08-03"  # "cờ bạc"
    # accents="exact" typed without accents: only unaccented "bac" (there is none).
    assert s.search("bac", accents="exact").total == 0
    assert s.search("bac").total >= 5


def test_nfd_document_found_by_nfc_query_and_back(s: Searcher) -> None:
    nfc = "kiểm tra giám sát"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert ids(s.search(nfc))[0] == "bacson-2020-06-12-3-nfd"
    assert ids(s.search(nfd))[0] == "bacson-2020-06-12-3-nfd"
    assert all_ids(s, f'"{unicodedata.normalize("NFD", "nông thôn")}"') == NONG_THON


def test_old_and_new_tone_placement_match_alike(s: Searcher) -> None:
    hoa = all_ids(s, '"hòa"')
    assert {"xq-vi-15-00", "xq-vi-28-01", "xq-vi-44-03", "xq-vi-46-00"} <= hoa
    assert all_ids(s, '"hoà"') == hoa
    assert ids(s.search("hoà", limit=100)) == ids(s.search("hòa", limit=100))


# -- ranking ---------------------------------------------------------------------------


def test_title_match_counts_more_than_body_match(s: Searcher) -> None:
    # "Norman" is only in the title of xq-vi-02-00 and only in the body of xq-vi-44-03.
    assert ids(s.search("Norman")) == ["xq-vi-02-00", "xq-vi-44-03"]


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_sort_by_date(s: Searcher, sort: str) -> None:
    r = s.search("kinh tế", sort=sort, limit=100)
    dates = [h.date for h in r.hits]
    assert dates == sorted(dates, reverse=sort == "-date")
    assert r.total == len(all_ids(s, "kinh tế"))


# -- snippets --------------------------------------------------------------------------


def test_highlights_point_at_matched_words(s: Searcher) -> None:
    for query, words in (("nông thôn", {"nông", "thôn"}), ("nong thon", {"nông", "thôn"}),
                         ("kinh*", {"kinh"})):
        r = s.search(query, limit=5)
        assert r.hits
        for h in r.hits:
            marked = {h.snippet[a:b].lower() for a, b in h.highlights}
            assert marked and marked <= words, (query, h.id, marked)


def test_snippet_of_nfd_document_is_nfc_and_highlighted(s: Searcher) -> None:
    h = s.search("giám sát").hits[0]
    assert h.id == "bacson-2020-06-12-3-nfd"
    assert unicodedata.is_normalized("NFC", h.snippet)
    assert [h.snippet[a:b] for a, b in h.highlights] == ["giám", "sát"]


# -- filters, facets, totals, paging ----------------------------------------------------


def test_structured_filters(s: Searcher) -> None:
    assert all_ids(s, "nông thôn", source="bachkhoa.example.vn") == {"xq-vi-09-00", "xq-vi-18-01", "xq-vi-41-00"}
    assert all_ids(s, "nông thôn", author="Loc Hue") == {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}
    assert all_ids(s, "nông thôn", date_from="2021") == {"xq-vi-18-01", "xq-vi-41-00"}
    assert all_ids(s, "nông thôn", date_to="2019-12-31") == {"xq-vi-09-00"}
    assert all_ids(s, "nông thôn", date_from="2020-06-12", date_to="2021-08-09") == \
        {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "xq-vi-18-01"}


def test_facets_and_total(s: Searcher) -> None:
    r = s.search("nông thôn", limit=1, facets=("source", "year", "author"))
    assert r.total == 5 and len(r.hits) == 1
    assert r.facets["source"] == {"bachkhoa.example.vn": 3, "langson.gov.vn": 2}
    assert r.facets["year"] == {"2020": 2, "2018": 1, "2021": 1, "2022": 1}
    assert sum(r.facets["author"].values()) == 5


def test_pages_continue_without_overlap(s: Searcher) -> None:
    everything = ids(s.search("kinh tế", limit=100))
    assert len(everything) > 10
    pages = [ids(s.search("kinh tế", limit=4, page=p)) for p in (1, 2, 3)]
    assert pages[0] + pages[1] + pages[2] == everything[:12]
    r2 = s.search("kinh tế", limit=4, page=2)
    assert [h.rank for h in r2.hits] == [5, 6, 7, 8]


def test_results_are_plain_values_that_outlive_the_searcher(tmp_path: Path) -> None:
    Index.create(tmp_path).add_documents(read_jsonl(FIXTURE), workers=1)
    with Searcher.open(tmp_path) as searcher:
        r = searcher.search("tài liệu", facets=("source",))
    assert r.as_dict()["hits"][0]["id"] in {"xq-vi-21-03", "xq-vi-38-03"}
    assert r.hits[0].title and r.hits[0].url.startswith("https://bachkhoa.example.vn/")


# -- suggestions -----------------------------------------------------------------------


def test_suggestion_restores_accents(s: Searcher) -> None:
    assert s.search("bac son").suggestion == "bắc sơn"
    assert s.search("nong thon moi").suggestion == "nông thôn mới"


def test_no_suggestion_for_a_well_spelt_query(s: Searcher) -> None:
    assert s.search("bắc sơn").suggestion is None


def test_suggestion_fixes_a_one_letter_typo(s: Searcher) -> None:
    assert s.suggest("nông thôm mới") == "nông thôn mới"  # the suggester can; search must ask it
    assert s.search("nông thôm mới").suggestion == "nông thôn mới"


@pytest.mark.parametrize("query,expected", [
    ("source:kinhte.example.vn", None),
    ("date:2020-01-01..2020-06-30", None),
    ("bac son AND nong thon", "bắc sơn AND nông thôn"),
    ('"nong thon moi" source:langson.gov.vn', '"nông thôn mới" source:langson.gov.vn'),
])
def test_suggestion_keeps_the_query_syntax(s: Searcher, query: str, expected: str | None) -> None:
    assert s.search(query).suggestion == expected


def test_suggest_query_rewrites_only_free_words() -> None:
    fix = {"bac son": "bắc sơn", "nong thon": "nông thôn"}.get
    assert suggest_query("(bac son OR nong thon) -kinh", fix) == "(bắc sơn OR nông thôn) -kinh"
    assert suggest_query("title:bac son", fix) is None  # "son" alone is not in the table
    assert suggest_query('"nong thon"~3 url:http://a.vn/bac', fix) == '"nông thôn"~3 url:http://a.vn/bac'
    assert suggest_query('"unbalanced', fix) is None


# -- malformed queries -------------------------------------------------------------------


@pytest.mark.parametrize("query,message", [
    ('"nông thôn', "unbalanced quote"),
    ("(kinh tế OR xã hội", "unbalanced parenthesis"),
    ("kinh tế)", "unbalanced parenthesis"),
    ("tacgia:Huệ", "unknown field 'tacgia'"),
    ("date:2020-13-01", "bad date"),
    ("date:2021-02-29", "bad date"),
    ("date:hôm-qua", "bad date"),
    ("date:2020-06-30..2020-01-01", "ends (2020-01-01) before it starts"),
    ("", "empty"),
    ("   ", "empty"),
    ("title:", "title: needs a value"),
    ("kinh AND AND tế", "AND needs something on its left"),
    ("source:)", "needs a value"),
])
def test_malformed_queries_raise_query_syntax_error(s: Searcher, query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=None) as info:
        s.search(query)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parser_keeps_phrase_slop_and_fields() -> None:
    assert parse_query('"nông thôn"~3') == Phrase("nông thôn", 3)
    assert parse_query('title:"Bắc Sơn"') == Phrase("Bắc Sơn", 1, "title")
    assert parse_query("url:https://a.vn/x:y") == Text("https://a.vn/x:y", "url")


def test_queries_are_cleaned_as_documents_are(s: Searcher) -> None:
    # Invisible characters and odd spaces (pasted from a web page) are removed by the same
    # corpus.clean_text as documents get, in parsed and in plain-text queries alike.
    plain = all_ids(s, "nông thôn")
    assert plain
    assert all_ids(s, "n\u00adông\u00a0th\u200bôn") == plain
    assert all_ids(s, '"nông\u3000thôn"') == all_ids(s, '"nông thôn"')
    assert [i for i, _ in s.search_ids("n\u00adông\u202fthôn", limit=50)] == [i for i, _ in s.search_ids("nông thôn", limit=50)]


def test_closing_a_searcher_twice_is_harmless(tmp_path: Path) -> None:
    Index.create(tmp_path).add_documents(read_jsonl(FIXTURE), workers=1)
    with Searcher.open(tmp_path) as s:
        hits = s.search("nông thôn").hits
        s.close()
    s.close()
    assert hits and hits[0].title  # plain values outlive the searcher
