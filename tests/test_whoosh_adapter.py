"""The Whoosh adapter honours Whoosh's token contract, so Whoosh's own tools work on its fields."""

from __future__ import annotations

import pickle
from pathlib import Path

from whoosh import fields, highlight
from whoosh import index as wi
from whoosh import query as wq

from analyzers.whoosh_adapter import VietnameseTokenizer, whoosh_analyzer

TEXT = "Ban Chấp hành Đảng bộ huyện Bắc Sơn xây dựng nông thôn mới."


def test_tokens_carry_positions_and_character_offsets() -> None:
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in whoosh_analyzer("syllables")(TEXT, positions=True, chars=True)]
    assert tokens[:3] == [("ban", 0, 0, 3), ("chấp", 1, 4, 8), ("hành", 2, 9, 13)]
    assert all(TEXT[s:e].lower() == text for text, _pos, s, e in tokens)
    words = [t.text for t in whoosh_analyzer("words")(TEXT)]
    assert "bắc_sơn" in words and "nông_thôn" in words


def test_whoosh_phrase_query_and_highlighter_work_on_a_field_using_it(tmp_path: Path) -> None:
    schema = fields.Schema(id=fields.ID(stored=True),
                           body=fields.TEXT(analyzer=whoosh_analyzer("folded"), stored=True, phrase=True))
    ix = wi.create_in(str(tmp_path), schema)
    with ix.writer() as w:
        w.add_document(id="1", body=TEXT)
        w.add_document(id="2", body="Sơn Bắc thôn nông mới")
    ix = wi.open_dir(str(tmp_path))  # the analyzer is unpickled from the index's table of contents
    assert isinstance(ix.schema["body"].analyzer, VietnameseTokenizer)
    with ix.searcher() as s:
        hits = s.search(wq.Phrase("body", ["bac", "son"]))
        assert [h["id"] for h in hits] == ["1"]
        hits.formatter = highlight.UppercaseFormatter()
        assert "BẮC SƠN" in hits[0].highlights("body")


def test_adapter_pickles_without_the_model() -> None:
    tok = whoosh_analyzer("words", user_words=["Đảng bộ huyện"])
    tok("Đảng bộ huyện")  # loads the segmenter
    copy = pickle.loads(pickle.dumps(tok))
    assert copy == tok and [t.text for t in copy("Đảng bộ huyện Bắc Sơn")][0] == "đảng_bộ_huyện"


def test_indexing_terms_equal_the_analysis_on_real_text() -> None:
    # terms() is the indexing fast path (no offsets); it must give analyze()'s terms exactly.
    from analyzers import VietnameseAnalyzer
    from corpus import read_jsonl

    sample = Path(__file__).parents[1] / "corpus" / "data" / "sample" / "sample.jsonl.gz"
    texts = [d.text for d in read_jsonl(sample)][::4]
    texts += ["", " \n \n", "… — !!", "Hoà Bình\n\nTP.HCM, 1.000 đồng; e-mail: a@b.vn", TEXT]
    a = VietnameseAnalyzer(user_words=["Đảng bộ huyện"])
    for text in texts:
        analysis = a.analyze(text)
        assert a.terms(text) == tuple(analysis.terms(x) for x in ("words", "syllables", "folded"))
