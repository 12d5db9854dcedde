"""The one JSONL writer (corpus.write_jsonl) against the one reader (corpus.read_jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

from corpus import Document, read_jsonl, write_jsonl


def test_written_documents_read_back_identical(tmp_path: Path) -> None:
    docs = [
        Document(id="bacson-1", title="Hội nghị sơ kết", text="Ban Chấp hành Đảng bộ huyện Bắc Sơn\ntổ chức hội nghị",
                 url="https://bacson.example.vn/a", source="bacson", date="12/6/2020", author="Lộc Huệ"),
        Document(id="2", text='Một dòng có "ngoặc kép", \\ và \t tab'),
    ]
    path = tmp_path / "docs.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        assert write_jsonl(docs, out) == 2
    back = list(read_jsonl(path))
    assert back == docs and [d.content_hash for d in back] == [d.content_hash for d in docs]
    second = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    assert second == {"id": "2", "title": "", "text": 'Một dòng có "ngoặc kép", \\ và \t tab'}
