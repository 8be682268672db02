"""The layers of docs/design.md, checked on the source: no module imports a higher layer (not even
inside a function or under TYPE_CHECKING), and only the formulations import Pyomo."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Package prefix -> layer; the longest matching prefix wins. docs/design.md, "The layers".
LAYERS: dict[str, int] = {
    "slotopt._atomic": 0,
    "slotopt._jit": 0,
    "slotopt._version": 0,
    "slotopt.errors": 0,
    "slotopt.instance": 1,
    "slotopt.engines": 2,
    "slotopt.formulations": 3,
    # the method registry: names engine and formulation functions by import path, read by the
    # verify and run layers
    "slotopt.methods": 3,
    "slotopt.verify": 4,
    # state that outlives a run: built on the engines, used by the run layer (and audits)
    "slotopt.registry": 4,
    "slotopt.run": 5,
    "slotopt.batch": 5,
    "slotopt": 6,  # the package itself: the public names
}


def layer_of(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def upward_imports(path: Path, root: Path = SRC) -> list[str]:
    own = layer_of(module_name(path, root))
    return [
        f"line {line}: {name} (layer {layer_of(name)} > {own})"
        for line, name in imports(path, root)
        if name.split(".")[0] == "slotopt" and layer_of(name) > own
    ]


def pyomo_imports(path: Path, root: Path = SRC) -> list[int]:
    if module_name(path, root).startswith("slotopt.formulations"):
        return []
    return [
        line for line, name in imports(path, root) if name.split(".")[0] in ("pyomo", "highspy")
    ]


FILES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    assert not upward_imports(path), f"{module_name(path)} imports upward: {upward_imports(path)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_formulations_import_pyomo(path: Path) -> None:
    assert not pyomo_imports(path), (
        f"{module_name(path)} imports Pyomo/HiGHS: {pyomo_imports(path)}"
    )


def test_the_checks_catch_upward_relative_and_pyomo_imports(tmp_path: Path) -> None:
    engines = tmp_path / "slotopt" / "engines"
    (engines / "offer_set").mkdir(parents=True)
    probe = engines / "probe.py"
    probe.write_text(
        "from slotopt.instance import load_instance\n"  # down: fine
        "def f():\n"
        "    from slotopt.run.solve import solve\n"  # up, even inside a function
        "    import pyomo.environ\n"
    )
    assert upward_imports(probe, tmp_path) == ["line 3: slotopt.run.solve (layer 5 > 2)"]
    assert pyomo_imports(probe, tmp_path) == [4]
    relative = engines / "offer_set" / "x.py"
    relative.write_text("from ...verify import matching\nfrom . import dp\n")
    assert imports(relative, tmp_path) == [(1, "slotopt.verify"), (2, "slotopt.engines.offer_set")]
    assert upward_imports(relative, tmp_path) == ["line 1: slotopt.verify (layer 4 > 2)"]
    # the same import is allowed from the run layer, and Pyomo from the formulations
    run = tmp_path / "slotopt" / "run"
    run.mkdir()
    (run / "ok.py").write_text("from slotopt.verify import matching\n")
    assert upward_imports(run / "ok.py", tmp_path) == []
    form = tmp_path / "slotopt" / "formulations"
    form.mkdir()
    (form / "m.py").write_text("import pyomo.environ as pyo\n")
    assert pyomo_imports(form / "m.py", tmp_path) == []
