"""Small builders for the batch tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slotopt.engines.batch import BatchRequests, BatchSlots, requests_from_frames


def batch(
    accepts: dict[str, Sequence[str] | dict[str, int]],
    capacity: dict[str, int],
    *,
    tier: dict[str, int] | None = None,
    carry: dict[str, int] | None = None,
    at: dict[str, int] | None = None,
) -> tuple[BatchRequests, BatchSlots]:
    """Requests accepting slots (a list, or a dict slot -> rank) and slot capacities."""
    ids = list(accepts)
    req = pd.DataFrame(
        {
            "request_id": ids,
            "priority_tier": [(tier or {}).get(r, 1) for r in ids],
            "carry_over": [(carry or {}).get(r, 0) for r in ids],
            "registered_at": [(at or {}).get(r, k) for k, r in enumerate(ids)],
        }
    )
    rows = []
    for r, acc in accepts.items():
        if isinstance(acc, dict):
            rows += [(r, s, k) for s, k in acc.items()]
        else:
            rows += [(r, s, None) for s in acc]
    acc_df = pd.DataFrame(rows, columns=["request_id", "slot_id", "rank"])
    acc_df["rank"] = acc_df["rank"].astype("Int64")
    slots = pd.DataFrame({"slot_id": list(capacity), "capacity": list(capacity.values())})
    return requests_from_frames(req, acc_df, slots)


def winners(requests: BatchRequests, slots: BatchSlots, slot_of: np.ndarray) -> dict[str, str]:
    return {
        str(requests.request_id[r]): str(slots.slot_id[s])
        for r, s in enumerate(slot_of.tolist())
        if s >= 0
    }
