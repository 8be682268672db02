"""Examples are tests: every fenced ``python`` block in README.md and docs/ runs, from the
repository root."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> str:
    return "\n".join(BLOCK.findall(text))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_docs_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = python_blocks(page.read_text())
    if not code.strip():
        pytest.skip("no python example on this page")
    assert "assert" in code, "every example ends with a sanity assertion (STYLE.md 15)"
    monkeypatch.chdir(REPO)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Examples that write results write under results/; keep that out of the repository.
    code = code.replace('"results/', f'"{tmp_path.as_posix()}/results/')
    exec(compile(code, str(page.relative_to(REPO)), "exec"), {"__name__": "__docs__"})
