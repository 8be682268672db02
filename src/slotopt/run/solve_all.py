"""``slotopt.solve_all()``: solve every instance folder below a directory, in parallel processes
or on a Dask cluster, resumably, with one bad instance never stopping the others.

Each instance folder (a folder holding ``instance.json``; any kind) becomes one task that loads,
solves and writes its result folder on the worker, atomically, to the same relative path under
the results directory, and returns a plain row (never a model or a result object). The rows go
to ``summary.csv`` (instance, kind, method, status, objective, seconds, verified, error), also
written atomically. An instance whose result folder records the same input hashes (SHA-256 of
its input files, ``input_sha256`` in ``summary.json``) and method is skipped on a re-run, so a
killed run resumes where it stopped. Failures of any kind (bad input, solver errors, failed
certificates, a worker process that died) become that instance's row.

Design choices (see docs/scaling.md):

* Local runs use ``concurrent.futures.ProcessPoolExecutor`` with the ``forkserver`` context
  (``spawn`` where forkserver is unavailable): no forked copies of the parent's state, threads
  or solver handles. A worker initializer sets HiGHS to one thread per worker and makes the
  workers ignore Ctrl-C (the parent decides how to stop).
* A worker that dies (killed, out of memory) breaks a process pool; the pool is rebuilt and
  the instances that were in flight are tried again, one at a time, so that a death names its
  instance. An instance whose worker died under it more than ``allowed_failures`` times
  (default 3, as Dask's ``distributed.scheduler.allowed-failures``) is reported as an error
  row. (Dask counts a death against every task assigned to the dying worker, so there an
  innocent neighbour can be reported too.)
* On Dask, tasks are submitted with ``pure=False`` (``Client.map`` would otherwise merge
  identical calls into one key), ``retries=0`` (an exception inside the task is already
  caught and turned into a row; retrying a deterministic failure only wastes time), and a
  worker that dies mid-task is handled by the scheduler: the task is rescheduled until it has
  been on ``allowed-failures`` (default 3) dying workers, then its future raises
  ``KilledWorker``, which becomes the instance's error row. Workers are terminated by their
  nanny at 95% of their memory limit (``distributed.worker.memory.terminate``), which counts as
  a death. Paths travel, not data: the workers must see the same file system.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from slotopt._atomic import PARTIAL, OutputExistsError
from slotopt.errors import UsageError
from slotopt.instance._tables import sha256_of
from slotopt.run.progress import Progress

COLUMNS = ("instance", "kind", "method", "status", "objective", "seconds", "verified", "error")
SUMMARY = "summary.csv"
ALLOWED_FAILURES = 3  # as distributed.scheduler.allowed-failures
# summary keys holding a result's objective, first found wins (matching, offer_set, others)
_OBJECTIVE_KEYS = ("objective", "n_matched", "optimal_value")
# matching methods that call no solver: a time limit does not apply to them
_NO_TIME_LIMIT = frozenset({"greedy", "naive", "serial-dictatorship"})


@dataclass(frozen=True)
class SolveAllResult:
    """What :func:`solve_all` did.

    Attributes
    ----------
    rows : DataFrame
        One row per instance (the contents of ``summary.csv``), in path order.
    out : Path
        The results directory.
    solved, skipped, failed : int
        Instances solved in this run, skipped as already finished, and failed.
    interrupted : bool
        The run was stopped (Ctrl-C, SIGTERM) before every instance was done.
    """

    rows: pd.DataFrame
    out: Path
    solved: int
    skipped: int
    failed: int
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.interrupted


@dataclass(frozen=True)
class Task:
    """One instance to solve: paths and options only (this is what crosses to a worker)."""

    instance: str  # path relative to the instances directory, with "/" separators
    source: str  # absolute path of the instance folder
    target: str  # absolute path of its result folder
    method: str | None
    time_limit: float | None
    verify: bool


def find_instances(root: Path, *, exclude: Path | None = None) -> list[Path]:
    """Instance folders below ``root`` (folders with ``instance.json``), sorted by relative
    path; hidden folders and anything inside ``exclude`` are left out."""
    root = Path(root)
    found: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and (skip is None or (here / d).resolve() != skip)
        )
        if "instance.json" in filenames:
            found.append(here)
            dirnames[:] = []  # an instance folder's own subfolders are not instances
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _relative(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return "." if rel in ("", ".") else rel


def finished(task: Task) -> dict[str, Any] | None:
    """The row of a finished result for ``task`` whose inputs are unchanged, else None."""
    summary_path = Path(task.target) / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return None
    recorded = summary.get("input_sha256") or {}
    if not isinstance(recorded, dict) or not recorded:
        return None
    if task.method is not None and summary.get("method") != task.method:
        return None
    if task.verify and summary.get("verified") is not True:
        return None
    if summary.get("failure"):
        return None
    source = Path(task.source)
    for name, digest in recorded.items():
        path = source / name
        if not path.is_file() or sha256_of(path) != digest:
            return None
    # a table added or switched format since (CSV beside Parquet) changes what is read
    tables = {p.name for p in source.iterdir() if p.suffix in (".csv", ".parquet")}
    if not tables <= set(recorded):
        return None
    return row_from_summary(task.instance, summary)


def row_from_summary(instance: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The summary.csv row of a finished result."""
    objective = next((summary[k] for k in _OBJECTIVE_KEYS if summary.get(k) is not None), None)
    failure = summary.get("failure")
    return {
        "instance": instance,
        "kind": summary.get("kind"),
        "method": summary.get("method"),
        # the result's own status where the kind has one (matching: "optimal"), else "solved"
        "status": "failed" if failure else summary.get("status") or "solved",
        "objective": objective,
        "seconds": summary.get("seconds"),
        "verified": summary.get("verified"),
        "error": " ".join(str(failure).split()) if failure else "",
    }


def error_row(task: Task, message: str, *, kind: str | None = None) -> dict[str, Any]:
    return {
        "instance": task.instance,
        "kind": kind,
        "method": task.method,
        "status": "failed",
        "objective": None,
        "seconds": None,
        "verified": None,
        "error": " ".join(message.split()),  # one line in the CSV
    }


def solve_task(task: Task) -> dict[str, Any]:
    """Load, solve and write one instance; returns its row. Runs on the worker and never
    raises for a problem of the instance (that becomes the row's error)."""
    from slotopt.instance import load_instance
    from slotopt.run.solve import solve

    kind = None
    try:
        inst = load_instance(task.source)
        kind = getattr(inst, "kind", None)
        options: dict[str, Any] = {}
        method = task.method
        if task.time_limit is not None and not (
            kind == "matching" and (method or "greedy") in _NO_TIME_LIMIT
        ):
            options["time_limit"] = task.time_limit
        result = solve(inst, method=method, verify=task.verify, **options)
        result.to_folder(task.target, force=True)
        return row_from_summary(task.instance, result.summary())
    except Exception as exc:  # any failure of this instance is its row, never the run's
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not isinstance(exc, ValueError | OSError | RuntimeError):
            message += " | " + traceback.format_exc(limit=3).splitlines()[-1]
        return error_row(task, message, kind=kind or _declared_kind(task.source))


def _declared_kind(folder: str) -> str | None:
    """The ``kind`` an instance.json declares, if it can be read at all (for error rows)."""
    try:
        kind = json.loads((Path(folder) / "instance.json").read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def one_highs_thread() -> None:
    """One HiGHS thread per worker process (the workers themselves are the parallelism)."""
    from slotopt.formulations.solver import start_scheduler

    start_scheduler(1)


def init_worker() -> None:
    """Run once in every local worker process: one HiGHS thread, and Ctrl-C left to the parent
    (which stops the workers itself, so no result is half-written)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_highs_thread()


def write_summary(out: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``summary.csv`` atomically (a temporary file renamed into place)."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS), dtype=object)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
    path = out / SUMMARY
    tmp = out / f".{SUMMARY}.tmp-{os.getpid()}"
    tmp.write_text(buffer.getvalue())
    os.replace(tmp, path)
    return path


def _clean_temporaries(out: Path) -> None:
    """Remove temporary result folders a killed worker may have left (never a result)."""
    if not out.exists():
        return
    for dirpath, dirnames, _ in os.walk(out):
        for d in list(dirnames):
            folder = Path(dirpath) / d
            # slotopt's temporary folders carry its marker; nothing else is ever removed
            if d.startswith(".") and not folder.is_symlink() and (folder / PARTIAL).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                dirnames.remove(d)


class _Stop(Exception):
    """Raised in the parent by SIGTERM, to stop like Ctrl-C."""


def solve_all(
    instances: str | Path,
    out: str | Path,
    *,
    jobs: int | None = None,
    scheduler: str | Any | None = None,
    method: str | None = None,
    time_limit: float | None = None,
    verify: bool = False,
    force: bool = False,
    allowed_failures: int = ALLOWED_FAILURES,
    progress: bool | None = None,
) -> SolveAllResult:
    """Solve every instance folder below ``instances`` and write results under ``out``.

    Parameters
    ----------
    instances
        A directory; every folder below it with an ``instance.json`` is solved (any kind).
    out
        Results directory: ``out/<relative path>/`` per instance and ``out/summary.csv``.
        It may exist only if a previous run made it (it has ``summary.csv``) or with ``force``.
    jobs
        Worker processes on this machine (default: the number of CPUs; 1 still uses one
        worker process, so a crash cannot take the run down).
    scheduler
        A Dask scheduler address (``"tcp://host:port"``) or a ``dask.distributed.Client``:
        run the same tasks on that cluster instead (``pip install 'slotopt[dask]'``).
    method
        The method for every instance (None: each kind's default). Results made with another
        method are not reused.
    time_limit
        Seconds for each instance's method, for the methods that call a solver (the
        matching MIP methods: one budget for the method's whole sequence of solves, and one
        for its second stage); the combinatorial methods take none and ignore it.
    verify
        Run each result's certificates; a failed certificate is that instance's error.
    force
        Solve everything again (finished results are replaced) and accept any ``out``.
    allowed_failures
        How many worker deaths an instance may be present at and still be retried; one more
        and it is reported as failed (local pool; on Dask the scheduler's
        ``distributed.scheduler.allowed-failures`` decides, default 3 too).
    progress
        Show a progress bar on stderr (default: only when stderr is a terminal).

    Returns
    -------
    SolveAllResult

    Raises
    ------
    UsageError
        ``instances`` is not a directory, or bad ``jobs`` / ``allowed_failures``.
    OutputExistsError
        ``out`` exists, was not made by a previous run, and ``force`` is False.
    """
    root = Path(instances).resolve()
    out = Path(out).resolve()
    if not root.is_dir():
        raise UsageError(f"{instances}: not a directory")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise UsageError(f"jobs must be a positive integer, got {jobs!r}")
    if (
        isinstance(allowed_failures, bool)
        or not isinstance(allowed_failures, int)
        or allowed_failures < 0
    ):
        raise UsageError(f"allowed_failures must be an integer >= 0, got {allowed_failures!r}")
    previous_run = (out / SUMMARY).is_file()
    if out.exists() and not force and not previous_run and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(
            f"{out}: exists and holds no {SUMMARY} of an earlier solve-all run; "
            "choose another folder or pass --force"
        )
    out.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out)
    folders = find_instances(root, exclude=out)
    tasks = []
    for folder in folders:
        rel = _relative(folder, root)
        target = out / (root.name if rel == "." else rel)
        tasks.append(Task(rel, str(folder), str(target), method, time_limit, verify))
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Task] = []
    for task in tasks:
        row = None if force else finished(task)
        if row is None:
            todo.append(task)
        else:
            rows[task.instance] = row
    skipped = len(rows)
    bar = Progress("solve-all", total=len(todo), enabled=progress)
    interrupted = False
    n_done = 0

    def record(row: dict[str, Any]) -> None:
        nonlocal n_done
        rows[row["instance"]] = row
        n_done += 1
        bar(n_done)

    previous = signal.getsignal(signal.SIGTERM)
    in_main = _in_main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _raise_stop)
    try:
        if todo:
            if scheduler is None:
                _run_local(todo, jobs or os.cpu_count() or 1, allowed_failures, record)
            else:
                _run_dask(todo, scheduler, record)
    except (KeyboardInterrupt, _Stop):
        interrupted = True
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        bar.close("stopped" if interrupted else "done")
        _clean_temporaries(out)
        ordered = [rows[t.instance] for t in tasks if t.instance in rows]
        write_summary(out, ordered)
    frame = pd.DataFrame(ordered, columns=list(COLUMNS), dtype=object)
    failed = int((frame["status"] == "failed").sum())
    return SolveAllResult(
        rows=frame,
        out=out,
        solved=len(ordered) - skipped - failed,
        skipped=skipped,
        failed=failed,
        interrupted=interrupted,
    )


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(f"signal {signum}")


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_local(
    todo: list[Task], jobs: int, allowed_failures: int, record: Callable[[dict[str, Any]], None]
) -> None:
    """Run the tasks on a process pool, rebuilding it when a worker dies.

    A dead worker breaks the whole pool and fails every task in flight, so the culprit is not
    known. If one task was in flight, it is; otherwise the tasks in flight are re-run one at a
    time in a one-worker pool, where a death names its task. Only named deaths count towards
    ``allowed_failures``; innocent neighbours are never reported.
    """
    pending: deque[Task] = deque(todo)
    suspects: deque[Task] = deque()
    deaths: dict[str, int] = {}
    while pending or suspects:
        isolate = bool(suspects)
        source = suspects if isolate else pending
        workers = 1 if isolate else min(jobs, len(pending))
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_context(), initializer=init_worker
        )
        running: dict[Future[dict[str, Any]], Task] = {}
        in_flight: list[Task] = []
        try:
            _fill(pool, source, running, 1 if isolate else jobs * 2)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        record(future.result())
                    except BrokenProcessPool:
                        in_flight.append(task)
                if not in_flight:
                    _fill(pool, source, running, 1 if isolate else jobs * 2)
        except BaseException:
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if len(in_flight) == 1:
            task = in_flight[0]
            deaths[task.instance] = deaths.get(task.instance, 0) + 1
            if deaths[task.instance] > allowed_failures:
                record(
                    error_row(
                        task,
                        f"worker died {deaths[task.instance]} times while solving it "
                        "(killed or out of memory)",
                    )
                )
            else:
                suspects.append(task)
        else:
            suspects.extend(in_flight)


def _fill(
    pool: ProcessPoolExecutor,
    queue: deque[Task],
    running: dict[Future[dict[str, Any]], Task],
    limit: int,
) -> None:
    """Keep at most ``limit`` tasks submitted, so a broken pool fails few tasks at once."""
    while len(running) < limit and queue:
        task = queue.popleft()
        running[pool.submit(solve_task, task)] = task


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now (on Ctrl-C/SIGTERM): their temporary folders are removed after."""
    processes = getattr(pool, "_processes", None) or {}
    for proc in list(processes.values()):
        if proc.is_alive():
            proc.terminate()
    for proc in list(processes.values()):
        proc.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)


def _dask_outcome(future: Any, task: Task) -> dict[str, Any] | None:
    """The row of a finished Dask future, or None while its result is being recomputed.

    A result lives on the worker that computed it until it is gathered; when that worker dies
    first, the scheduler recomputes the task and the future goes back to pending. (Dask's
    ``as_completed`` was seen to drop such a future, hence this explicit loop.)
    """
    if future.status == "finished":
        try:
            return dict(future.result())
        except Exception:
            if future.status in ("pending", "lost") or not future.done():
                time.sleep(0.05)
                return None
            return error_row(task, f"on the cluster: result lost ({future.status})")
    exc = future.exception() if future.status == "error" else None
    what = f"{type(exc).__name__}: {exc}" if exc is not None else future.status
    return error_row(task, f"on the cluster: {what}")  # KilledWorker after allowed-failures


def _run_dask(todo: list[Task], scheduler: Any, record: Callable[[dict[str, Any]], None]) -> None:
    """Run the tasks on a Dask cluster; a KilledWorker (the scheduler gave up after
    ``allowed-failures`` worker deaths) becomes the task's error row."""
    try:
        from distributed import Client
        from distributed import wait as wait_dask
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError as exc:
        raise UsageError("--scheduler needs dask.distributed: pip install 'slotopt[dask]'") from exc

    class _Init(WorkerPlugin):
        name = "slotopt-solve-all"

        def setup(self, worker: Any) -> None:
            one_highs_thread()

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    futures: list[Any] = []
    try:
        client.register_plugin(_Init())
        # pure=False: identical arguments must still be separate tasks; unique keys say which
        # instance a task is in the dashboard. retries=0: failures inside a task are rows.
        futures = client.map(
            solve_task,
            todo,
            pure=False,
            retries=0,
            key=[f"slotopt-solve-{i}-{t.instance}" for i, t in enumerate(todo)],
        )
        remaining = dict(zip(futures, todo, strict=True))
        while remaining:
            wait_dask(list(remaining), return_when="FIRST_COMPLETED")
            for future in [f for f in remaining if f.done()]:
                outcome = _dask_outcome(future, remaining[future])
                if outcome is not None:
                    record(outcome)
                    del remaining[future]
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if own:
            client.close()
