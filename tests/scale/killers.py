"""Task functions that kill their worker process mid-instance, for the solve-all fault tests.

They run in worker processes (imported there by name), so they coordinate through marker files
beside the instance folder rather than through memory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from slotopt.run.solve_all import Task, solve_task


def die_once(task: Task) -> dict[str, Any]:
    """Kill the worker the first time an instance whose name starts with ``victim`` runs."""
    name = Path(task.source).name
    marker = Path(task.source).parent / f".{name}.died"
    if name.startswith("victim") and not marker.exists():
        marker.write_text("1")
        os._exit(1)  # as if killed (OOM killer, SIGKILL) in the middle of the instance
    return solve_task(task)


def always_die(task: Task) -> dict[str, Any]:
    """Kill the worker every time it runs an instance named ``poison``; count the deaths."""
    name = Path(task.source).name
    if name == "poison":
        marker = Path(task.source).parent / ".poison.deaths"
        with marker.open("a") as fh:
            fh.write("x")
        os._exit(1)
    return solve_task(task)


def slow(task: Task) -> dict[str, Any]:
    """Solve after a pause, so that a signal sent once the first result lands finds the run
    mid-instance with most instances still to do, however fast the machine solves."""
    time.sleep(0.25)
    return solve_task(task)


def cli_with_slow_tasks(argv: list[str]) -> int:
    """``slotopt`` with :func:`slow` as solve-all's task (for a child process)."""
    from slotopt.run import solve_all as solve_all_module
    from slotopt.run.cli import main

    solve_all_module.solve_task = slow  # type: ignore[assignment]
    return main(argv)
