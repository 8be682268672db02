"""The registry at scale: one batch of 1M requests for 50k slots registered (receipted), committed,
drawn and stored, phase by phase; then registration rates, bulk and one at a time, against naive
insert loops run in the same process.

    python benchmarks/bench_batch.py --requests 1000000 --slots 50000 --sample 2000

Each request accepts 1-3 distinct slots (seeded), so the registry stores about 2M acceptable-slot
rows at registration and again as the draw's inputs. The registry file uses the default
``synchronous=FULL`` unless ``--synchronous NORMAL``. Best of ``--repeat`` runs for the rates.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slotopt.engines.batch import draw, requests_from_frames, requests_to_frames
from slotopt.engines.commitment import commitment, draw_seed, replay_secret
from slotopt.registry import Registry
from slotopt.verify.audit import audit_draw

from _common import environment, table, timed_cpu

T0 = 1_767_225_600


def make(n: int, n_slots: int, capacity: int, seed: int) -> tuple[pd.DataFrame, ...]:
    """Registrations, acceptable slots and slots of one batch."""
    rng = np.random.default_rng(seed)
    rid = np.array([f"R{i:07d}" for i in range(n)], dtype=object)
    ikh = [hashlib.sha256(f"identity-{i}".encode()).hexdigest() for i in range(n)]
    k = rng.integers(1, 4, n)
    first = np.repeat(rng.integers(0, n_slots, n), k)
    offset = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    sid = np.array([f"S{j:05d}" for j in range(n_slots)], dtype=object)
    req = pd.DataFrame(
        {
            "request_id": rid,
            "identity_key_hash": ikh,
            "registered_at": T0 + np.sort(rng.integers(0, 7 * 86_400, n)),
            "priority_tier": 1,
            "carry_over": 0,
        }
    )
    acc = pd.DataFrame(
        {
            "request_id": np.repeat(rid, k),
            "slot_id": sid[(first + offset) % n_slots],
            "rank": pd.array([None] * int(k.sum()), dtype="Int64"),
        }
    )
    slots = pd.DataFrame({"slot_id": sid, "capacity": capacity})
    return req, acc, slots


def pipeline(
    folder: Path, req: pd.DataFrame, acc: pd.DataFrame, slots: pd.DataFrame, sync: str
) -> list[dict[str, Any]]:
    """Register, commit, draw and store one batch; one row per phase."""
    rows: list[dict[str, Any]] = []
    batch, context = "2026-W01", "batch-2026-W01"
    secret = replay_secret(2026, batch)

    def phase(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        wall, cpu, out = timed_cpu(fn, *args, **kwargs)
        rows.append({"phase": name, "wall_s": wall, "cpu_s": cpu})
        return out

    reg = phase("open registry", Registry.open, folder / "registry.sqlite", synchronous=sync)
    phase("register + receipts (1 transaction)", reg.register, batch, req, acc)
    phase("commit", reg.commit, batch, commitment(secret), None)
    cols = ["request_id", "priority_tier", "carry_over", "registered_at"]
    r, s = phase("draw inputs from tables", requests_from_frames, req[cols], acc, slots)
    result = phase("draw (uniform)", draw, "uniform", r, s, seed=draw_seed(secret), context=context)
    inputs = phase("inputs back to tables", requests_to_frames, r, s)
    phase(
        "store draw (1 transaction)",
        reg.record_draw,
        batch,
        mechanism="uniform",
        params={},
        context=context,
        inputs=dict(zip(("requests", "request_slots", "slots"), inputs, strict=True)),
        result=result,
        secret=secret,
        public=b"",
    )
    total_wall = sum(x["wall_s"] for x in rows)
    total_cpu = sum(x["cpu_s"] for x in rows)
    rows.append(
        {"phase": "TOTAL drawn, stored, receipted", "wall_s": total_wall, "cpu_s": total_cpu}
    )
    wall, cpu, pub = timed_cpu(reg.published_draw, batch)
    rows.append({"phase": "(read the published draw, not in total)", "wall_s": wall, "cpu_s": cpu})
    wall, cpu, report = timed_cpu(audit_draw, pub)
    rows.append({"phase": "(audit: recompute + test, not in total)", "wall_s": wall, "cpu_s": cpu})
    assert report.ok, report.text()
    assert result.n_allocated == int(pub.allocation["slot_id"].notna().sum())
    reg.close()
    return rows


def _fresh(path: Path) -> Path:
    """``path`` with no database left from an earlier repetition."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def naive_bulk(folder: Path, req: pd.DataFrame) -> float:
    """Baseline: the same rows, one INSERT each in one transaction, no hashing, no checks."""
    con = sqlite3.connect(_fresh(folder / "naive.sqlite"), isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE r (id TEXT, ikh TEXT, at INTEGER, tier INTEGER, carry INTEGER)")
    rows = list(req.itertuples(index=False, name=None))
    start = time.perf_counter()
    con.execute("BEGIN")
    for row in rows:
        con.execute("INSERT INTO r VALUES (?, ?, ?, ?, ?)", row)
    con.execute("COMMIT")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def naive_single(folder: Path, req: pd.DataFrame, sync: str) -> float:
    """Baseline: one INSERT and one COMMIT per row, as a live loop without the registry."""
    con = sqlite3.connect(_fresh(folder / f"single-{sync}.sqlite"), isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute(f"PRAGMA synchronous = {sync}")
    con.execute("CREATE TABLE r (id TEXT, ikh TEXT, at INTEGER, tier INTEGER, carry INTEGER)")
    rows = list(req.itertuples(index=False, name=None))
    start = time.perf_counter()
    for row in rows:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO r VALUES (?, ?, ?, ?, ?)", row)
        con.execute("COMMIT")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def singles(folder: Path, req: pd.DataFrame, acc: pd.DataFrame, sync: str) -> float:
    slots: dict[str, list[tuple[str, int | None]]] = {}
    for r, s in zip(acc["request_id"], acc["slot_id"], strict=True):
        slots.setdefault(r, []).append((s, None))
    with Registry.open(_fresh(folder / f"live-{sync}.sqlite"), synchronous=sync) as reg:
        start = time.perf_counter()
        for r in req.itertuples(index=False):
            reg.register_one(
                "live",
                r.request_id,
                r.identity_key_hash,
                r.registered_at,
                slots=slots[r.request_id],
            )
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--slots", type=int, default=50_000)
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--sample", type=int, default=2_000, help="one-at-a-time sample size")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    print(environment(args.cores))
    req, acc, slots = make(args.requests, args.slots, args.capacity, seed=0)
    print(
        f"{len(req):,} requests, {len(acc):,} acceptable-slot rows, {len(slots):,} slots x "
        f"{args.capacity} = {int(slots['capacity'].sum()):,} appointments; "
        f"synchronous={args.synchronous}"
    )
    best: list[dict[str, Any]] | None = None
    for _ in range(args.repeat):
        tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
        try:
            rows = pipeline(tmp, req, acc, slots, args.synchronous)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if best is None or rows[-3]["wall_s"] < best[-3]["wall_s"]:
            best = rows
    assert best is not None
    print(table(best))
    register_s = next(r["wall_s"] for r in best if r["phase"].startswith("register"))

    sample_req = req.iloc[: args.sample]
    sample_acc = acc[acc["request_id"].isin(set(sample_req["request_id"]))]
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        naive = min(naive_bulk(tmp, req) for _ in range(args.repeat))
        rates = [
            {
                "registrations": "naive INSERT loop, 1 transaction (baseline)",
                "n": len(req),
                "per_s": len(req) / naive,
                "x_baseline": 1.0,
            },
            {
                "registrations": "Registry.register, bulk (receipts chained)",
                "n": len(req),
                "per_s": len(req) / register_s,
                "x_baseline": naive / register_s,
            },
        ]
        for sync in ("FULL", "NORMAL"):
            base = min(naive_single(tmp, sample_req, sync) for _ in range(args.repeat))
            live = min(singles(tmp, sample_req, sample_acc, sync) for _ in range(args.repeat))
            rates.append(
                {
                    "registrations": f"naive INSERT + COMMIT per row, {sync} (baseline)",
                    "n": len(sample_req),
                    "per_s": len(sample_req) / base,
                    "x_baseline": 1.0,
                }
            )
            rates.append(
                {
                    "registrations": f"Registry.register_one, {sync}",
                    "n": len(sample_req),
                    "per_s": len(sample_req) / live,
                    "x_baseline": base / live,
                }
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(rates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
