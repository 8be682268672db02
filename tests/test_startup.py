"""The command line starts without loading what only some commands need.

`build_parser()` imports every command module, so each command keeps its heavy imports inside
``run`` (docs/design.md, "A new command"); a module-level import of the optimiser, the
statistics, the sparse graphs or matplotlib would make every ``slotopt`` call, ``--help``
included, pay for it.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy.optimize", "scipy.stats", "scipy.sparse", "matplotlib", "pyomo", "highspy")


def test_building_the_parser_loads_no_heavy_module() -> None:
    code = (
        "import sys; from slotopt.run.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
