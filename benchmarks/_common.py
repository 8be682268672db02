"""What every benchmark script shares: timing, pinning to the target core count, the environment
line printed above the figures, and a plain text table. Scripts run as
``python benchmarks/<script>.py`` from the repository root, so this module is imported by name."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import slotopt


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Wall-clock seconds of ``fn(*args, **kwargs)`` and its result."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def timed_cpu(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (this process, all threads) of ``fn(*args, **kwargs)``.

    On a shared machine the CPU time of single-threaded code is what it would take alone.
    """
    cpu = time.process_time()
    wall, out = timed(fn, *args, **kwargs)
    return wall, time.process_time() - cpu, out


def pin_cores(cores: int) -> str:
    """Restrict this process to ``cores`` CPUs (the 2-core target machine); says what it did."""
    if not hasattr(os, "sched_setaffinity") or cores <= 0:
        return "not pinned"
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[:cores])
    return f"pinned to cores {sorted(os.sched_getaffinity(0))}"


def environment(cores: int) -> str:
    """Pin to ``cores`` and return the line every benchmark prints above its figures."""
    pinned = pin_cores(cores)
    load = ""
    if hasattr(os, "getloadavg"):
        load = " load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + ","
    return (
        f"slotopt {slotopt.__version__}, Python {platform.python_version()}, numpy "
        f"{np.__version__}, {platform.machine()} with {os.cpu_count()} CPUs ({pinned}),{load} "
        "times are wall clock unless marked cpu"
    )


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Right-aligned text table of ``rows`` (dicts with the same keys)."""
    cols = list(rows[0])
    cells = [[_fmt(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.rjust(w) for c, w in zip(cols, width, strict=True))
    out = [line, "  ".join("-" * w for w in width)]
    out += ["  ".join(v.rjust(w) for v, w in zip(row, width, strict=True)) for row in cells]
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
