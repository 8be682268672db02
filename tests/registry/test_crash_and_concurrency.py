"""A crash inside the draw transaction leaves no trace; concurrent registrations lose nothing."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from slotopt.engines.commitment import commitment
from slotopt.registry import Registry
from slotopt.registry.integrity import check_registry

from .helpers import T0, identity, make_batch, open_registry, record, run_draw

REPO = Path(__file__).resolve().parents[2]


def _draw_tables(reg: Registry, batch: str) -> dict[str, int]:
    c = reg.connection
    return {
        t: c.execute(f"SELECT count(*) FROM {t} WHERE batch = ?", (batch,)).fetchone()[0]
        for t in ("draws", "draw_requests", "draw_slots")
    }


def _dump(reg: Registry) -> list[tuple]:
    c = reg.connection
    out: list[tuple] = []
    for t in ("requests", "commitments", "draw_requests", "draw_slots", "events"):
        out += [(t, *r) for r in c.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
    out += [("draws", *r) for r in c.execute("SELECT * FROM draws ORDER BY batch")]
    return out


@pytest.fixture
def prepared(tmp_path: Path) -> tuple[Path, Path]:
    """A registry with batch w1 drawn and w2 registered + committed; and a reference copy in
    which w2 was drawn without any crash."""
    path = tmp_path / "registry.sqlite"
    with Registry.open(path) as reg:
        record(reg, make_batch("w1", 30))
        b2 = make_batch("w2", 40, seed=1, start=T0 + 7 * 86_400)
        reg.register("w2", b2.requests, b2.request_slots)
        _, _, secret = run_draw(b2)
        reg.commit("w2", commitment(secret), None)
    ref = tmp_path / "reference.sqlite"
    shutil.copy(path, ref)
    with Registry.open(ref) as reg:
        _record_w2(reg)
    return path, ref


def _record_w2(reg: Registry) -> None:
    b2 = make_batch("w2", 40, seed=1, start=T0 + 7 * 86_400)
    inputs, result, secret = run_draw(b2)
    reg.record_draw(
        "w2",
        mechanism="uniform",
        params={},
        context="batch-w2",
        inputs=inputs,
        result=result,
        secret=secret,
        public=b"",
    )


def test_an_exception_inside_the_draw_transaction_rolls_it_all_back(
    prepared: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ref = prepared

    def boom(c: object, rows: object) -> None:  # after draws, inputs and slots were inserted
        raise OSError("disk full (injected)")

    with Registry.open(path) as reg:
        monkeypatch.setattr(Registry, "_insert_draw_requests", staticmethod(boom))
        with pytest.raises(OSError, match="injected"):
            _record_w2(reg)
        monkeypatch.undo()
        assert _draw_tables(reg, "w2") == dict.fromkeys(_draw_tables(reg, "w2"), 0)
        assert reg.finished() == {"w1"}
        assert check_registry(reg).ok
        _record_w2(reg)  # the re-run
        assert reg.finished() == {"w1", "w2"}
        _record_w2(reg)  # and again: no duplicate rows
        with Registry.open(ref) as want:
            assert _dump(reg) == _dump(want)


CRASHER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {repo!r})
    from slotopt.registry import Registry
    from tests.registry.test_crash_and_concurrency import _record_w2

    def die(c, rows):
        c.executemany("INSERT INTO draw_requests VALUES (" + ", ".join("?" * 10) + ")", rows[:5])
        os._exit(17)  # the process dies mid-transaction: no rollback, no close

    Registry._insert_draw_requests = staticmethod(die)
    _record_w2(Registry.open({path!r}))
    """
)


def test_a_process_killed_inside_the_draw_transaction_leaves_no_trace(
    prepared: tuple[Path, Path],
) -> None:
    path, ref = prepared
    code = CRASHER.format(repo=str(REPO), path=str(path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 17, proc.stderr
    with Registry.open(path) as reg:
        assert _draw_tables(reg, "w2") == dict.fromkeys(_draw_tables(reg, "w2"), 0)
        assert check_registry(reg).ok
        _record_w2(reg)
        with Registry.open(ref) as want:
            assert _dump(reg) == _dump(want)
            assert check_registry(reg).ok


# ---------------------------------------------------------------- concurrency
WORKERS, PER_WORKER = 4, 40


def _register_many(path: str, worker: int, barrier: object) -> None:
    with Registry.open(path) as reg:
        for k in range(PER_WORKER):
            if k == 1:
                barrier.wait()  # type: ignore[attr-defined]  # everyone wrote once: interleaved
            i = worker * PER_WORKER + k
            reg.register_one(
                "live",
                f"W{worker}-{k:04d}",
                identity(i),
                T0 + i,
                slots=[(f"S{i % 3}", None)],
            )


def test_four_processes_registering_at_once_keep_every_request(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    Registry.open(path).close()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    procs = [
        ctx.Process(target=_register_many, args=(str(path), w, barrier)) for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    with open_registry(tmp_path) as reg:
        receipts = reg.receipts()
        assert len(receipts) == WORKERS * PER_WORKER
        assert receipts["seq"].tolist() == list(range(1, WORKERS * PER_WORKER + 1))
        assert set(receipts["request_id"]) == {
            f"W{w}-{k:04d}" for w in range(WORKERS) for k in range(PER_WORKER)
        }
        # The barrier made every worker write its first request before any wrote a second,
        # so the four really wrote into the chain at the same time.
        assert set(receipts["request_id"].str[:2].iloc[:WORKERS]) == {
            f"W{w}" for w in range(WORKERS)
        }
        report = check_registry(reg)
        assert report.ok, report.problems
    assert os.path.getsize(path) > 0
