"""Benchmark: loading a million-applicant instance folder (CSV and Parquet) and restricting it.

Run from the repository root (results go in docs/performance.md, "Exact input" and "CSV
through pyarrow's reader"):

    python benchmarks/bench_load.py                     # 1M hub week, on at most 2 cores
    python benchmarks/bench_load.py --quick             # 50k, a smoke run
    python benchmarks/bench_load.py --folder hub1m      # an existing folder (CSV or Parquet)

Without ``--folder`` the instance is ``generate_hub(N, seed=1)`` (docs/generator.md), written
once as CSV and once as Parquet to a temporary folder. In one process, best of ``--repeat``:

* ``slotopt.load_instance`` (the loop-free pyarrow path) against the path that locates
  problems (``read_table`` + ``matching_from_frames``, which is what every load took before),
  on the same files, with a check that both give the same arrays;
* ``inst.restrict(applicants=...)`` (every second applicant), ``restrict(capacity=...)`` and
  both at once, against validating the filtered tables again with ``matching_from_frames``
  (the tables built beforehand, not timed), with a check that the two agree.

Then ``slotopt.load_instance`` and ``slotopt solve DIR --out OUT`` each in a child process, for
their wall time and peak memory (the child's high-water mark). Times are wall clock; CPU
seconds of this process (all threads) are shown beside them, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import slotopt
from slotopt.instance import MatchingInstance, matching, matching_from_frames, write_instance
from slotopt.instance.generate import generate_hub

from _common import environment, table, timed, timed_cpu

ARRAYS = ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank")


def best(
    repeat: int, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        wall, cpu, out = timed_cpu(fn, *args, **kwargs)
        walls.append(wall)
        cpus.append(cpu)
    return min(walls), min(cpus), out


def locating_load(folder: Path) -> MatchingInstance:
    """``load_instance`` through the path that locates problems (the fast path switched off)."""
    fast = matching._load_fast
    matching._load_fast = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        return slotopt.load_instance(folder)
    finally:
        matching._load_fast = fast  # type: ignore[assignment]


def same(a: MatchingInstance, b: MatchingInstance) -> bool:
    ids = a.slot_ids.tolist() == b.slot_ids.tolist()
    ids = ids and a.applicant_ids.tolist() == b.applicant_ids.tolist()
    return ids and all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ARRAYS)


def child(code: str) -> tuple[float, float]:
    """Wall seconds and peak memory (GB) of running ``code`` in a child process; ``code``
    leaves its exit code in ``rc``. The peak is the child's own high-water mark (``VmHWM``,
    Linux): ``ru_maxrss`` would carry over the parent's peak through fork and exec."""
    report = (
        "import resource, pathlib\n"
        "status = pathlib.Path('/proc/self/status')\n"
        "hwm = [l.split()[1] for l in status.read_text().splitlines() if l.startswith('VmHWM')]"
        " if status.exists() else []\n"
        "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    script = f"{code}\n{report}\nraise SystemExit(rc)"
    run = [sys.executable, "-c", script]
    wall, done = timed(subprocess.run, run, check=True, capture_output=True, text=True)
    return wall, int(done.stdout.split()[-1]) / 1024**2  # KiB


def bench_loads(folders: dict[str, Path], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for fmt, folder in folders.items():
        fast_wall, fast_cpu, fast = best(repeat, slotopt.load_instance, folder)
        slow_wall, slow_cpu, slow = best(repeat, locating_load, folder)
        rows.append(
            {
                "format": fmt,
                "fast s": fast_wall,
                "fast cpu s": fast_cpu,
                "locating s": slow_wall,
                "locating cpu s": slow_cpu,
                "ratio (wall)": slow_wall / fast_wall,
                "same arrays": "yes" if same(fast, slow) else "NO",
            }
        )
    return rows


def bench_restrict(inst: MatchingInstance, repeat: int) -> list[dict[str, Any]]:
    keep = np.zeros(inst.n_applicants, dtype=bool)
    keep[::2] = True
    capacity = np.maximum(inst.capacity - 1, 0)
    slots, applicants, acceptable = inst.slots, inst.applicants, inst.acceptable
    kept_ids = set(inst.applicant_ids[keep].tolist())
    kept_pairs = acceptable["applicant_id"].isin(kept_ids).to_numpy(dtype=bool)
    cases = {
        "applicants (every 2nd)": (
            {"applicants": keep},
            (slots, applicants[keep], acceptable[kept_pairs]),
        ),
        "capacity": (
            {"capacity": capacity},
            (slots.assign(capacity=capacity), applicants, acceptable),
        ),
        "both": (
            {"applicants": keep, "capacity": capacity},
            (slots.assign(capacity=capacity), applicants[keep], acceptable[kept_pairs]),
        ),
    }
    rows = []
    for label, (kwargs, frames) in cases.items():
        r_wall, r_cpu, got = best(repeat, inst.restrict, **kwargs)
        b_wall, b_cpu, expected = best(max(1, repeat - 1), matching_from_frames, *frames)
        rows.append(
            {
                "restrict": label,
                "restrict s": r_wall,
                "restrict cpu s": r_cpu,
                "rebuild s": b_wall,
                "rebuild cpu s": b_cpu,
                "rebuild / restrict": b_wall / r_wall,
                "same arrays": "yes" if same(got, expected) else "NO",
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each timing")
    parser.add_argument("--cores", type=int, default=2, help="pin to this many cores (default 2)")
    parser.add_argument("--quick", action="store_true", help="50,000 applicants")
    parser.add_argument("--folder", type=Path, action="append", help="existing folder(s)")
    parser.add_argument("--no-child", action="store_true", help="skip the child-process runs")
    args = parser.parse_args(argv)
    print(environment(args.cores))
    with tempfile.TemporaryDirectory() as tmp:
        if args.folder:
            folders = {str(f): f for f in args.folder}
        else:
            n = 50_000 if args.quick else args.applicants
            wall, generated = timed(generate_hub, n, seed=args.seed)
            print(f"generate_hub({n:,}, seed={args.seed}): {wall:.1f} s, {generated}")
            folders = {
                fmt: write_instance(generated, Path(tmp) / fmt, format=fmt)
                for fmt in ("csv", "parquet")
            }
            del generated
        print(f"\nload_instance, best of {args.repeat}:")
        print(table(bench_loads(folders, args.repeat)))
        inst = slotopt.load_instance(next(iter(folders.values())))
        print(f"\nrestrict vs validating the filtered tables again, {inst}:")
        print(table(bench_restrict(inst, args.repeat)))
        del inst
        if not args.no_child:
            rows = []
            for fmt, folder in folders.items():
                load = f"import slotopt; slotopt.load_instance({str(folder)!r}); rc = 0"
                load_wall, load_peak = child(load)
                out = Path(tmp) / f"out-{Path(fmt).name}"
                solve = (
                    "from slotopt.run.cli import main; "
                    f"rc = main(['solve', {str(folder)!r}, '--out', {str(out)!r}])"
                )
                solve_wall, solve_peak = child(solve)
                rows.append(
                    {
                        "format": fmt,
                        "python + import + load s": load_wall,
                        "load peak GB": load_peak,
                        "slotopt solve --out s": solve_wall,
                        "solve peak GB": solve_peak,
                    }
                )
            print("\neach in a child process, one run (peak = the child's VmHWM):")
            print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
