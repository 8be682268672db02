"""Small registries built through the Recorder contract (register, commit, draw, record)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from slotopt.engines.batch import DrawResult, draw, requests_from_frames, requests_to_frames
from slotopt.engines.commitment import commitment, draw_seed, replay_secret
from slotopt.registry import Registry

DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def identity(i: int) -> str:
    return hashlib.sha256(f"person-{i}".encode()).hexdigest()


@dataclass(frozen=True)
class Batch:
    name: str
    requests: (
        pd.DataFrame
    )  # request_id, identity_key_hash, registered_at, priority_tier, carry_over
    request_slots: pd.DataFrame  # request_id, slot_id, rank
    slots: pd.DataFrame  # slot_id, capacity


def make_batch(
    name: str,
    n: int,
    *,
    slots: int = 3,
    capacity: int = 2,
    people: range | None = None,
    start: int = T0,
    days: int = 7,
    ranked: bool = False,
    seed: int = 0,
) -> Batch:
    """``n`` requests registered over ``days`` days, each accepting one to three of the slots."""
    rng = np.random.default_rng(seed)
    who = list(people) if people is not None else list(range(n))
    rid = [f"{name}-R{i:04d}" for i in range(n)]
    req = pd.DataFrame(
        {
            "request_id": rid,
            "identity_key_hash": [identity(p) for p in who[:n]],
            "registered_at": start + np.sort(rng.integers(0, days * DAY, n)),
            "priority_tier": 1,
            "carry_over": 0,
        }
    )
    sids = [f"S{k}" for k in range(slots)]
    rows = []
    for r in rid:
        k = int(rng.integers(1, min(3, slots) + 1))
        for rank, s in enumerate(rng.choice(sids, size=k, replace=False).tolist(), start=1):
            rows.append((r, s, rank if ranked else None))
    acc = pd.DataFrame(rows, columns=["request_id", "slot_id", "rank"])
    acc["rank"] = pd.array(acc["rank"], dtype="Int64")
    sl = pd.DataFrame({"slot_id": sids, "capacity": capacity})
    return Batch(name, req, acc, sl)


def draw_inputs(b: Batch) -> dict[str, pd.DataFrame]:
    cols = ["request_id", "priority_tier", "carry_over", "registered_at"]
    r, s = requests_from_frames(b.requests[cols], b.request_slots, b.slots)
    req, acc, sl = requests_to_frames(r, s)
    return {"requests": req, "request_slots": acc, "slots": sl}


def run_draw(
    b: Batch, *, master_seed: int = 11, mechanism: str = "uniform", **params: object
) -> tuple[dict[str, pd.DataFrame], DrawResult, bytes]:
    inputs = draw_inputs(b)
    r, s = requests_from_frames(inputs["requests"], inputs["request_slots"], inputs["slots"])
    secret = replay_secret(master_seed, b.name)
    result = draw(mechanism, r, s, seed=draw_seed(secret, b""), context=f"batch-{b.name}", **params)
    return inputs, result, secret


def record(
    reg: Registry, b: Batch, *, master_seed: int = 11, mechanism: str = "uniform", **params: object
) -> DrawResult:
    """Register, commit, draw and record one batch, as the rolling run does."""
    reg.register(b.name, b.requests, b.request_slots)
    inputs, result, secret = run_draw(b, master_seed=master_seed, mechanism=mechanism, **params)
    reg.commit(b.name, commitment(secret), None)
    reg.record_draw(
        b.name,
        mechanism=mechanism,
        params=dict(params),
        context=f"batch-{b.name}",
        inputs=inputs,
        result=result,
        secret=secret,
        public=b"",
    )
    return result


def open_registry(tmp_path: Path, name: str = "registry.sqlite") -> Registry:
    return Registry.open(tmp_path / name)
