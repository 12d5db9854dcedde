"""Test helper: real Vietnamese lines from ``../shared/data`` (CI checks ``shared/`` out beside
the repository clone), for the segmenter's identity tests against pyvi and crfsuite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"shared evaluation data not found at {DATA}"
)


def real_lines() -> list[str]:
    """UD-VTB raw sentences, then law articles and Wikipedia paragraphs cut into lines."""
    lines: list[str] = []
    for name in ("train.raw.txt", "dev.raw.txt"):
        text = (DATA / "segmentation" / "ud_vtb" / name).read_text(encoding="utf-8")
        lines += [line for line in text.split("\n") if line.strip()]
    for corpus in ("alqac2022", "xquad_vi"):
        with open(DATA / "retrieval" / corpus / "corpus.jsonl", encoding="utf-8") as fin:
            for row in fin:
                lines += [line for line in json.loads(row)["text"].split("\n") if line.strip()]
    return lines
