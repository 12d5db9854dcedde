"""docs/FORMAT.md is enough to read an index: ``bench/read_format3.py``, written from the page
alone (standard library and numpy, nothing of vnsearch or Whoosh), reads fresh indexes exactly as
vnsearch's own readers (``index/format.py``) do: the table of contents, every term, posting,
frequency and position (through the skip list too), every stored document, length and column."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.util.numeric import byte_to_length

from corpus import Document
from index import Index
from index._schema import build_schema
from index.format import ArrayCodec, encode_varints

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def _load_reader():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("read_format3", ROOT / "bench" / "read_format3.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["read_format3"] = module
    spec.loader.exec_module(module)
    return module


rf3 = _load_reader()


def _fixture_docs() -> list[Document]:
    docs = [Document.from_dict(json.loads(line))
            for line in (DATA / "fixture_docs.jsonl").read_text(encoding="utf-8").splitlines()]
    return docs[:3] + docs[-9:]


def _sentence_docs(count: int) -> list[Document]:
    """Sentences of real Vietnamese Wikipedia paragraphs: common syllables ("của", "và") get
    more than 128 postings in one segment, so their positions have a skip list."""
    out = []
    for line in (DATA / "ops" / "xquad_vi_excerpt.jsonl").read_text(encoding="utf-8").splitlines():
        para = json.loads(line)
        for k, sentence in enumerate(s for s in re.split(r"(?<=\.) ", para["text"].lstrip("\ufeff")) if s):
            out.append(Document(id=f"{para['id']}-{k}", title=para["title"].replace("_", " "), text=sentence,
                                source="xquad-vi", date=f"{2000 + len(out) % 24}-01-0{1 + len(out) % 9}"))
    return out[:count]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("spec")
    three = base / "three"  # as the fixture indexes: 3 segments, one document deleted
    ix = Index.create(three)
    ix.add_documents(_fixture_docs(), workers=1, batch_size=5)
    ix.delete(["xq-vi-36-03"])
    merged = base / "merged"  # a merge: blocks copied, the block with the deleted document rewritten
    shutil.copytree(three, merged)
    Index.open(merged).optimize()
    big = base / "big"  # one segment of 400 short documents, with a deletion
    ix = Index.create(big)
    docs = _sentence_docs(400)
    ix.add_documents(docs, workers=1, batch_size=1000)
    ix.delete([docs[7].id, docs[300].id])
    # and the committed fixture indexes of this format (only read)
    return {"three": three, "merged": merged, "big": big,
            "fixture v3": DATA / "indexes" / "v3", "fixture v3-merged": DATA / "indexes" / "v3-merged"}


@pytest.mark.parametrize("name", ["three", "merged", "big", "fixture v3", "fixture v3-merged"])
def test_the_spec_reader_reads_what_vnsearch_reads(indexes: dict[str, Path], name: str) -> None:
    path = indexes[name]
    mine = rf3.Format3Index(path)
    storage = FileStorage(str(path))
    toc = TOC.read(storage, "MAIN")
    assert mine.toc.generation == toc.generation
    assert [(s.segid, s.doccount, s.deleted, s.fieldlengths) for s in mine.toc.segments] == [
        (s.segid, s.doc_count_all(), set(s.deleted_docs()), s.field_lengths()) for s in toc.segments]
    codec = ArrayCodec()
    skipped_blocks = 0
    for seg, terms, docs in zip(toc.segments, mine.terms, mine.docs):
        theirs = codec.terms_reader(storage, seg)
        assert sorted(terms.fields) == theirs.indexed_field_names()
        for fname, field in terms.fields.items():
            ref = theirs.field(fname)
            assert (field.kind, field.boost, field.count) == (ref.kind, ref.boost, ref.count)
            assert field.terms() == ref.terms()
            assert field.samples_match()
            for i in range(field.count):
                rdocs, rfreqs = ref.postings(i)
                assert field.postings(i) == (rdocs.tolist(), rfreqs.tolist())
                for k in range(1, -(-len(rdocs) // 128)):  # blocks of postings found through the skip list
                    assert field.block_postings(i, k) == (rdocs[128 * k:128 * (k + 1)].tolist(),
                                                          rfreqs[128 * k:128 * (k + 1)].tolist())
                    skipped_blocks += 1
                if field.kind == "positions":
                    flat = ref.positions(i, rfreqs).tolist()
                    mine_pos = field.positions(i)
                    assert [p for posting in mine_pos for p in posting] == flat
                    assert [len(p) for p in mine_pos] == rfreqs.tolist()
                    for k in range(1, -(-len(rdocs) // 128)):  # blocks found through the skip list
                        assert field.positions_of_block(i, k) == mine_pos[128 * k:128 * (k + 1)]
                        skipped_blocks += 1
            some = field.term(field.count // 2)
            assert field.find(some) == ref.find(some) and field.find(some + b"\xff") == -1
            assert field.prefix(some[:1]) == ref.terms(*ref.prefix_range(some[:1]))
        theirs.close()
        ref_docs = codec.per_document_reader(storage, seg)
        assert docs.length_fields == ref_docs.length_fields()
        assert sorted(docs.columns) == ref_docs.column_names()
        for d in range(seg.doc_count_all()):
            assert docs.stored(d) == ref_docs.stored_fields(d)
            for fname in docs.length_fields:
                assert docs.length(fname, d) == ref_docs.doc_field_length(d, fname)
            for cname in docs.columns:
                assert docs.column(cname, d) == ref_docs.column_values(cname)[d]
        ref_docs.close()
    if name == "big":
        assert skipped_blocks > 0  # the skip list was exercised


def test_every_section_and_directory_key_written_is_in_the_spec(indexes: dict[str, Path]) -> None:
    # A section or key added to the writer without a word in docs/FORMAT.md fails here.
    spec = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    generic = [(r"^f\d+\.", "fN."), (r"^lengths\..+$", "lengths.<field>"),
               (r"^column\.[^.]+\.(offsets|data)$", r"column.<field>.\1"), (r"^column\.[^.]+$", "column.<field>")]
    written: set[str] = set()
    for path in indexes.values():
        for f in path.glob("MAIN_*.vn?"):
            directory = rf3.SectionFile(f, f.read_bytes()[:8]).directory
            written |= {f"key {k}" for k in directory}
            written |= {f"field key {k}" for spec_ in directory.get("fields", []) for k in spec_}
            written |= {f"kind {spec_['kind']}" for spec_ in directory.get("fields", [])}
            written |= {f"column kind {c['kind']}" for c in directory.get("columns", {}).values()}
            for name, (_offset, _length, dtype) in directory["sections"].items():
                for pattern, replacement in generic:
                    name = re.sub(pattern, replacement, name)
                written |= {f"section {name}", f"dtype {dtype}"}
    missing = sorted(w for w in written if f"`{w.split(' ')[-1]}`" not in spec
                     and f'"{w.split(" ")[-1]}"' not in spec)
    assert not missing, f"not described in docs/FORMAT.md: {missing}"
    assert "section fN.positions" in written and "section column.<field>.offsets" in written


def test_the_spec_formulas_match_whoosh() -> None:
    assert [rf3.byte_to_length(b) for b in range(256)] == [byte_to_length(b) for b in range(256)]
    year = build_schema()["year"]
    for value in (0, 1, 1999, 2020, 2 ** 32 - 1):
        for shift in range(0, 32, 4):
            assert rf3.numeric_bytes(value, shift) == year.to_bytes(value, shift)
            assert rf3.numeric_term(year.to_bytes(value, shift)) == (shift, value >> shift)


def test_the_spec_reader_finds_a_document_by_term_and_shows_it(indexes: dict[str, Path],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ix = rf3.Format3Index(indexes["three"])
    k, d = next((k, d) for k, docs in enumerate(ix.docs) for d in range(docs.doc_count)
                if docs.stored(d)["id"] == "xq-vi-02-00")
    field = ix.terms[k].fields["title"]
    norman = field.postings(field.find("Norman".lower().encode()))[0]  # title words are lower-cased
    assert d in norman
    assert rf3.main([str(indexes["three"]), "--doc", str(ix.toc.segments[k].base + d)]) == 0
    out = capsys.readouterr().out
    assert '"id": "xq-vi-02-00"' in out and "column year: " in out


def test_the_spec_reader_refuses_what_is_not_format_3(indexes: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(rf3.SpecError, match="format 2"):
        rf3.Format3Index(DATA / "indexes" / "v2")
    broken = tmp_path / "broken"
    shutil.copytree(indexes["three"], broken)
    vnd = next(broken.glob("*.vnd"))
    vnd.write_bytes(vnd.read_bytes()[:-5])
    with pytest.raises(rf3.SpecError, match="bad trailer"):
        rf3.Format3Index(broken)


def test_varints_as_the_spec_defines_them() -> None:
    assert rf3.read_varints(bytes([0x05, 0xAC, 0x02, 0x80, 0x80, 0x01])) == [5, 300, 16384]
    assert rf3.read_varints(encode_varints(np.array([0, 127, 128, 2 ** 35 + 3]))) == [0, 127, 128, 2 ** 35 + 3]
    assert rf3.read_packed(bytes([9, 2, 0x2C, 0x01, 0xFF, 0xFF]), 1, 2, (1, 2, 4)) == ([300, 65535], 6)
    assert rf3.read_packed(bytes([0]), 0, 3, (0, 1, 2, 4)) == ([1, 1, 1], 1)
