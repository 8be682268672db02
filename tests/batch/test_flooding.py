"""The brief's argument, measured: flooding the draw with fake identities lowers the chance of
the scalper's real clients, who have exactly an ordinary applicant's chance; under FCFS the bots'
speed wins every slot.

Hand derivation (uniform lottery, one slot of capacity m, N requests, one per identity): every
draw order is equally likely, so each request is among the first m with probability m / N. With
m = 2 slots, 4 direct applicants, 2 real clients of the scalper and f fake identities, N = 6 + f:
a client wins with probability 2 / (6 + f) and the scalper's clients win 2 * 2 / (6 + f) slots
on average: 2/3 with no fakes, 0.4 with 4 fakes, 0.25 with 10.
"""

from __future__ import annotations

import numpy as np
import pytest

from slotopt.engines.batch import draw
from tests.batch.helpers import batch

DIRECT = [f"direct-{k}" for k in range(4)]
CLIENTS = ["client-0", "client-1"]


def instance(fakes: int, *, bots_first: bool = False):
    fake = [f"fake-{k:02d}" for k in range(fakes)]
    ids = DIRECT + CLIENTS + fake
    # bots register at time 0, people later
    at = {
        i: (0 if bots_first and not i.startswith("direct") else 100 + k) for k, i in enumerate(ids)
    }
    return batch({i: ["desk"] for i in ids}, {"desk": 2}, at=at)


@pytest.mark.parametrize("fakes", [0, 4, 10])
def test_fakes_lower_the_clients_chance_as_derived(fakes):
    r, s = instance(fakes)
    n = 4000
    clients = np.isin(r.request_id, CLIENTS)
    direct = np.isin(r.request_id, DIRECT)
    served_clients = served_direct = 0
    for seed in range(n):
        won = draw("uniform", r, s, seed=seed, context="batch-flood").slot_of_request >= 0
        served_clients += int(won[clients].sum())
        served_direct += int(won[direct].sum())
    expected_per_request = 2 / (6 + fakes)
    # per-request frequencies: binomial std <= sqrt(0.25 / (2 * 4000)) = 0.0056; 0.025 is 4.5 std
    assert abs(served_clients / (2 * n) - expected_per_request) < 0.025
    # a client has an ordinary applicant's chance, no more
    assert abs(served_direct / (4 * n) - expected_per_request) < 0.025


def test_more_fakes_monotonically_fewer_client_wins():
    means = []
    for fakes in (0, 2, 6, 14):
        r, s = instance(fakes)
        clients = np.isin(r.request_id, CLIENTS)
        means.append(
            np.mean(
                [
                    (draw("uniform", r, s, seed=k, context="m").slot_of_request[clients] >= 0).sum()
                    for k in range(1500)
                ]
            )
        )
    assert means == sorted(means, reverse=True)


def test_under_fcfs_bots_take_every_slot():
    # hand case: bots register first, so the scalper holds min(m, clients + fakes) = 2 slots
    r, s = instance(4, bots_first=True)
    won = draw("fcfs", r, s, seed=0, context="x").slot_of_request >= 0
    assert not won[np.isin(r.request_id, DIRECT)].any()
    assert won.sum() == 2
