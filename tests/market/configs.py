"""Small market configs for fast tests (our numbers, chosen so each run takes milliseconds)."""

from __future__ import annotations

from typing import Any


def small(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": "market",
        "name": "small",
        "slots": 30,
        "applicants": 60,
        "values": {"distribution": "uniform", "low": 10, "high": 100},
        "entry_cost": 500,
        "rounds": 80,
        "seeds": 3,
        "seed": 7,
    }
    spec.update(changes)
    return spec
