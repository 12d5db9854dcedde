"""``vnsearch search`` and ``vnsearch show`` through click's CliRunner on the fixture index (issue 6)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import read_jsonl
from index import Index
from searcher.cli import main

FIXTURE = Path(__file__).parent / "data" / "fixture_docs.jsonl"
NONG_THON = {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "xq-vi-09-00", "xq-vi-18-01", "xq-vi-41-00"}
ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli-index")
    Index.create(path).add_documents(read_jsonl(FIXTURE), workers=1)
    return str(path)


@pytest.fixture(scope="module")
def run(index_path: str):
    runner = CliRunner()

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(main, [*args, "--index", index_path])
        assert result.exit_code == expect, (result.output, result.exception)
        return result
    return invoke


def search_json(run, query: str, *opts: str) -> dict:
    return json.loads(run("search", query, "--format", "json", *opts).stdout)


def hit_ids(data: dict) -> list[str]:
    return [h["id"] for h in data["hits"]]


# -- formats ---------------------------------------------------------------------------


def test_json_has_total_hits_and_metadata(run) -> None:
    data = search_json(run, '"tài liệu"')
    assert data["total"] == 2
    assert set(hit_ids(data)) == {"xq-vi-21-03", "xq-vi-38-03"}
    assert [h["rank"] for h in data["hits"]] == [1, 2]
    geo = next(h for h in data["hits"] if h["id"] == "xq-vi-21-03")
    assert (geo["source"], geo["date"], geo["author"]) == ("bachkhoa.example.vn", "2017-03-14", "Trần Văn Minh")
    assert geo["url"] == "https://bachkhoa.example.vn/bai/xq-vi-21-03"


def test_json_highlights_point_at_matched_words(run) -> None:
    data = search_json(run, "nông thôn", "--limit", "5")
    assert set(hit_ids(data)) == NONG_THON
    for h in data["hits"]:
        marked = [h["snippet"][a:b].lower() for a, b in h["highlights"]]
        assert marked and set(marked) <= {"nông", "thôn"}, (h["id"], marked)


def test_jsonl_is_one_hit_per_line(run) -> None:
    out = run("search", "bac son", "--format", "jsonl", "--limit", "3").stdout
    lines = out.splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["id"] for line in lines} == {
        "bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd"}


def test_csv_parses_back(run) -> None:
    out = run("search", "nông thôn", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["id"] for r in rows} == NONG_THON
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(float(r["score"]) > 0 for r in rows)
    by_id = {r["id"]: r for r in rows}
    # A title with a comma survives quoting.
    assert by_id["bacson-2020-06-12-1"]["title"].startswith("Ban Chấp hành Đảng bộ huyện Bắc Sơn")
    assert "," in by_id["bacson-2020-06-12-1"]["title"]
    assert by_id["xq-vi-09-00"]["author"] == "Nguyễn Thị Hoà"


def test_trec_run_lines(run) -> None:
    lines = run("search", '"nông thôn"', "--format", "trec").stdout.splitlines()
    assert len(lines) == 5
    parts = [line.split() for line in lines]
    assert all(len(p) == 6 and p[1] == "Q0" and p[5] == "vnsearch" for p in parts)
    assert {p[2] for p in parts} == NONG_THON
    assert [int(p[3]) for p in parts] == [1, 2, 3, 4, 5]
    scores = [float(p[4]) for p in parts]
    assert scores == sorted(scores, reverse=True)


def test_table_to_a_pipe_is_plain_text(run) -> None:
    out = run("search", "nông thôn", "--facet", "source").stdout
    assert not ANSI.search(out) and not BOX.search(out)
    assert "5 results" in out
    assert "1. " in out and "[xq-vi-09-00]" in out
    assert "bachkhoa.example.vn (3)" in out and "langson.gov.vn (2)" in out


def test_table_shows_the_suggestion(run) -> None:
    out = run("search", "nong thon moi").stdout
    assert "Did you mean: nông thôn mới" in out


# -- query language through the CLI ------------------------------------------------------


@pytest.mark.parametrize("query,expected", [
    ('"nông thôn mới"', {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}),
    ("kinh tế AND bất bình đẳng", {"xq-vi-33-00", "xq-vi-33-02"}),
    ("Harvard OR Kuznets", {"xq-vi-31-00", "xq-vi-33-02"}),
    ("(Kuznets OR Harvard) AND bất bình đẳng", {"xq-vi-33-02"}),
    ('+Chicago "kinh tế"', {"xq-vi-35-04"}),
    ("Norman NOT Sudan", {"xq-vi-02-00", "xq-vi-44-03"}),
    ('title:"Bắc Sơn" -"nông thôn"', {"bacson-2020-06-12-3-nfd"}),
    ('author:"Loc Hue" kiểm tra', {"bacson-2020-06-12-3-nfd"}),
    ("source:langson.gov.vn", {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd"}),
    ("url:https://bachkhoa.example.vn/bai/xq-vi-41-00", {"xq-vi-41-00"}),
    ("date:2023-01-01..2023-12-31", {"xq-vi-31-00", "xq-vi-43-03"}),
    ('"nông thôn"~3 date:2021..2022', {"xq-vi-18-01", "xq-vi-41-00"}),
    ('"tai lieu"', {"xq-vi-21-03", "xq-vi-38-03"}),
])
def test_query_language(run, query: str, expected: set[str]) -> None:
    data = search_json(run, query, "--limit", "50")
    assert set(hit_ids(data)) == expected
    assert data["total"] == len(expected)


def test_minus_word_excludes(run) -> None:
    everything = set(hit_ids(search_json(run, "kinh tế", "--limit", "50")))
    without = set(hit_ids(search_json(run, "kinh tế -Chicago", "--limit", "50")))
    assert everything - without == {"xq-vi-35-04"}


def test_prefix_wildcard(run) -> None:
    found = set(hit_ids(search_json(run, "kinh*", "--limit", "50")))
    assert {"xq-vi-33-00", "xq-vi-35-04", "xq-vi-31-00"} <= found  # kinh tế, kinh doanh
    assert "bacson-2020-06-12-1" not in found


# -- filters, facets, paging ------------------------------------------------------------


def test_filter_options(run) -> None:
    assert set(hit_ids(search_json(run, "nông thôn", "--source", "langson.gov.vn"))) == \
        {"bacson-2020-06-12-1", "bacson-2020-06-12-2"}
    assert set(hit_ids(search_json(run, "nông thôn", "--author", "Nguyễn Thị Hòa"))) == {"xq-vi-09-00"}
    assert set(hit_ids(search_json(run, "nông thôn", "--from", "2021-01-01"))) == {"xq-vi-18-01", "xq-vi-41-00"}
    assert set(hit_ids(search_json(run, "nông thôn", "--to", "2020-06"))) == \
        {"xq-vi-09-00", "bacson-2020-06-12-1", "bacson-2020-06-12-2"}
    both = search_json(run, "nông thôn", "--from", "2020-06-13", "--to", "2021-12-31")
    assert hit_ids(both) == ["xq-vi-18-01"] and both["total"] == 1


def test_facet_counts(run) -> None:
    data = search_json(run, "nông thôn", "--limit", "1", "--facet", "source", "--facet", "year")
    assert data["total"] == 5 and len(data["hits"]) == 1
    assert data["facets"]["source"] == {"bachkhoa.example.vn": 3, "langson.gov.vn": 2}
    assert data["facets"]["year"] == {"2020": 2, "2018": 1, "2021": 1, "2022": 1}


def test_facets_count_every_match_not_just_the_page(run) -> None:
    data = search_json(run, "date:2016..2023", "--limit", "2", "--facet", "source", "--facet", "author")
    assert data["total"] == 25
    assert data["facets"]["source"] == {"bachkhoa.example.vn": 15, "kinhte.example.vn": 7, "langson.gov.vn": 3}
    assert sum(data["facets"]["author"].values()) == 25


def test_page_two_continues_page_one(run) -> None:
    all_hits = hit_ids(search_json(run, "kinh tế", "--limit", "50"))
    p1 = search_json(run, "kinh tế", "--limit", "5")
    p2 = search_json(run, "kinh tế", "--limit", "5", "--page", "2")
    assert p1["total"] == p2["total"] == len(all_hits) > 10
    assert not set(hit_ids(p1)) & set(hit_ids(p2))
    assert hit_ids(p1) + hit_ids(p2) == all_hits[:10]
    assert [h["rank"] for h in p2["hits"]] == [6, 7, 8, 9, 10]
    assert p2["page"] == 2 and p2["limit"] == 5


def test_page_past_the_end_is_empty_not_an_error(run) -> None:
    data = search_json(run, '"tài liệu"', "--limit", "5", "--page", "3")
    assert data["hits"] == [] and data["total"] == 2


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_sort_by_date(run, sort: str) -> None:
    data = search_json(run, "nông thôn", "--sort", sort)
    dates = [h["date"] for h in data["hits"]]
    assert dates == sorted(dates, reverse=sort == "-date")
    expected_first = "xq-vi-09-00" if sort == "date" else "xq-vi-41-00"  # 2018-05-20 / 2022-02-17
    assert hit_ids(data)[0] == expected_first


def test_title_match_counts_more(run) -> None:
    # "Norman": title only of xq-vi-02-00, body only of xq-vi-44-03.
    assert hit_ids(search_json(run, "Norman")) == ["xq-vi-02-00", "xq-vi-44-03"]


# -- show --------------------------------------------------------------------------------


def test_show_prints_the_whole_document_and_metadata(run) -> None:
    out = run("show", "bacson-2020-06-12-1").stdout
    source = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])
    assert "id: bacson-2020-06-12-1" in out
    assert "source: langson.gov.vn" in out and "date: 2020-06-12" in out and "author: Lộc Huệ" in out
    assert "url: https://langson.gov.vn/bac-son/so-ket-6-thang-dau-nam-2020-1" in out
    assert f"title: {source['title']}" in out
    last_sentence = source["text"].rstrip().rsplit(";", 1)[-1].strip()
    assert last_sentence in out and "Ngày 12/6/2020" in out
    assert not ANSI.search(out)


def test_show_json_round_trips(run) -> None:
    doc = json.loads(run("show", "xq-vi-41-00", "--format", "json").stdout)
    source = next(json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()
                  if json.loads(line)["id"] == "xq-vi-41-00")
    assert doc["text"] == source["text"] and doc["title"] == source["title"] and doc["date"] == "2022-02-17"


def test_show_unknown_id_is_one_error_line(run) -> None:
    result = run("show", "no-such-doc", expect=1)
    assert result.stderr.startswith("Error: ") and "no-such-doc" in result.stderr
    assert "Traceback" not in result.output


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("query,message", [
    ('"nông thôn', "unbalanced quote"),
    ("(kinh tế OR xã hội", "unbalanced parenthesis '('"),
    ("kinh tế)", "unbalanced parenthesis ')'"),
    ("tacgia:Huệ", "unknown field 'tacgia'"),
    ("date:2020-13-45", "bad date '2020-13-45'"),
    ("date:2020/06/12", "bad date"),
    ("", "the query is empty"),
    ("   ", "the query is empty"),
    ("title:", "title: needs a value"),
    ("kinh AND", "AND needs something on its right"),
    ("*", "wildcard"),
])
def test_malformed_query_is_one_error_line_and_exit_2(run, query: str, message: str) -> None:
    result = run("search", query, expect=2)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2, lines
    assert lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("opts", [("--from", "2020-13-01"), ("--to", "2021-02-29")])
def test_bad_date_option_is_an_error(run, opts: tuple[str, ...]) -> None:
    result = run("search", "nông thôn", *opts, expect=2)
    assert result.stderr.startswith("Error: ") and "bad date" in result.stderr


def test_search_help_has_examples(run) -> None:
    out = CliRunner().invoke(main, ["search", "--help"]).stdout
    assert "Examples:" in out and "vnsearch search" in out
