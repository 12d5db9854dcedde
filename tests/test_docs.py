"""The documentation runs: README's Python example, every module's doctests, every command's help."""

from __future__ import annotations

import doctest
import importlib
import json
import os
import pkgutil
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from searcher.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "analyzers", "index", "searcher")


def _modules() -> list[str]:
    names = []
    for pkg in PACKAGES:
        names.append(pkg)
        mod = importlib.import_module(pkg)
        names += [f"{pkg}.{m.name}" for m in pkgutil.iter_modules(mod.__path__)]
    return names


@pytest.mark.parametrize("name", _modules())
def test_doctests_pass(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert code is not None
    (tmp_path / "articles.jsonl").write_text(json.dumps(
        {"id": "a1", "title": "Nông thôn mới", "text": "Huyện Bắc Sơn xây dựng nông thôn mới.", "source": "bacson"},
        ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "saved-pages").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "pages" / "tuoitre_article.html", tmp_path / "saved-pages")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["2", "bắc", "sơn"]  # total, then the restored-accent suggestion
    assert {line.split()[1] for line in out[1:]} == {"1", "a1"}


def _commands() -> list[str]:
    return sorted(main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"], env={"NO_COLOR": "1", **os.environ})
    assert result.exit_code == 0
    assert "Example" in result.output and f"vnsearch {command}" in result.output
