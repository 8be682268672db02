"""Docstring examples are tests: every ``>>>`` example in the slotopt package runs.

The modules are taken from the installed package (``import slotopt``), not from ``src/``, so this
works the same after ``pip install '.[test]'`` (CI) and after an editable install.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
from pathlib import Path

import pytest

import slotopt

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.walk_packages(slotopt.__path__, "slotopt."))


def test_the_modules_were_found() -> None:
    assert {"slotopt.run.solve", "slotopt.instance.offer_set"} <= set(MODULES)


def test_docstring_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # examples may read the shipped instances/
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    ran = []
    for name in ["slotopt", *MODULES]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an optional extra that is not installed
            if exc.name and exc.name.split(".")[0] != "slotopt":
                continue
            raise
        for test in doctest.DocTestFinder().find(module, name):
            if test.examples:
                runner.run(test, out=out.write)
                ran.append(test.name)
    assert "slotopt.run.solve.solve" in ran  # the notebook entry point's example is among them
    assert runner.failures == 0, out.getvalue()
