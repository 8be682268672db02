"""Self-checks of a rolling run's draws: feasible, complete, and recomputable from their tables.

Each draw of a :class:`~slotopt.run.batch_result.BatchRunResult` is checked for: no slot over its
capacity, every allocated slot acceptable to its request, the waitlist equal to the unallocated
requests in draw order, and the same result when recomputed from the tables a registry stores
(``requests_to_frames`` -> ``requests_from_frames`` -> ``draw`` with the revealed secret).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from slotopt.engines.batch import draw, requests_from_frames, requests_to_frames
from slotopt.engines.commitment import draw_seed, replay_secret, reveal_matches

__all__ = ["check_draws"]


def check_draws(result: Any) -> list[str]:
    """Every violation found in ``result``'s draws, as messages naming the batch (empty = ok)."""
    problems: list[str] = []
    commits = dict(
        zip(result.commitments["period_id"], result.commitments["commitment"], strict=True)
    )
    publics = dict(
        zip(result.commitments["period_id"], result.commitments["public_randomness"], strict=True)
    )
    for pid, (req, slots, d) in result.batch_draws.items():
        where = f"batch {pid}"
        s = d.slot_of_request
        used = np.bincount(s[s >= 0], minlength=slots.n_slots)
        over = np.flatnonzero(used > slots.capacity)
        if len(over):
            problems.append(
                f"{where}: slot {slots.slot_id[over[0]]} holds {used[over[0]]} "
                f"requests for capacity {slots.capacity[over[0]]}"
            )
        for r in np.flatnonzero(s >= 0).tolist():
            if int(s[r]) not in req.slots_of(r).tolist():
                problems.append(
                    f"{where}: request {req.request_id[r]} holds slot "
                    f"{slots.slot_id[s[r]]}, which it does not accept"
                )
                break
        order = np.argsort(d.lottery_position, kind="stable")
        expected_wait = order[s[order] < 0]
        if not np.array_equal(expected_wait, d.waitlist):
            problems.append(f"{where}: the waitlist is not the unallocated requests in draw order")
        secret = replay_secret(result.seed, pid)
        if not reveal_matches(commits[pid], secret):
            problems.append(f"{where}: the revealed secret does not match the commitment")
        public = publics.get(pid)
        seed = draw_seed(secret, b"" if public is None or public != public else public.encode())
        r2, s2 = requests_from_frames(*requests_to_frames(req, slots))
        again = draw(d.mechanism, r2, s2, seed=seed, context=d.context, **dict(d.params))
        if not np.array_equal(again.slot_of_request, s) or not np.array_equal(
            again.lottery_position, d.lottery_position
        ):
            differ = np.flatnonzero(
                (again.slot_of_request != s) | (again.lottery_position != d.lottery_position)
            )
            problems.append(
                f"{where}: recomputing the draw differs first at request "
                f"{req.request_id[differ[0]]}"
            )
    return problems
