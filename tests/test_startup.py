"""The command line starts without loading what only some commands need.

`build_parser()` imports every command module, so each command keeps its heavy imports inside
``run`` (docs/design.md, "A new command"); a module-level import of the optimiser, the
statistics, the sparse graphs or matplotlib would make every ``slotopt`` call, ``--help``
included, pay for it.
"""

from __future__ import annotations

import os
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


def _hugepages_after_main(env: dict[str, str]) -> str:
    code = (
        "import os; from numpy._core.multiarray import _set_madvise_hugepage as s; "
        "from slotopt.run.cli import main; main(['--version']); "
        "print(os.environ['NUMPY_MADVISE_HUGEPAGE'], s(False))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_command_line_turns_numpy_hugepages_off_for_itself_and_its_workers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    # the variable for worker processes, and numpy's switch already off in this one
    assert _hugepages_after_main(env) == "0 False"


def test_a_users_own_hugepage_choice_is_kept() -> None:
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "1"}
    assert _hugepages_after_main(env) == "1 True"
