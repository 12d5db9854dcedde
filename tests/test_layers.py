"""The packages import one way (corpus -> analyzers -> index -> searcher) and only the CLI
knows click and rich: read from the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "corpus": set(),
    "analyzers": set(),
    "index": {"corpus", "analyzers"},
    "searcher": {"corpus", "analyzers", "index"},
}
TERMINAL = {"click", "rich"}


def imported_top_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_and_only_the_cli_knows_click_and_rich(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules
    for module in modules:
        names = imported_top_names(module)
        ours = names & set(ALLOWED)
        assert ours <= ALLOWED[package] | {package}, f"{module.relative_to(ROOT)} imports {ours}"
        if module != ROOT / "searcher" / "cli.py":
            assert not names & TERMINAL, f"{module.relative_to(ROOT)} imports {names & TERMINAL}"
