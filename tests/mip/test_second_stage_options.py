"""Solver options reach the second stage after a combinatorial method (regression: greedy was
handed ``raise_on_failure`` and failed with a TypeError)."""

from __future__ import annotations

import numpy as np
import pytest

import slotopt
from slotopt.formulations.solver import StopReason
from tests.matching import cases


@pytest.mark.solver
def test_greedy_then_min_rank_takes_solver_options() -> None:
    inst = cases.footnote4()
    plain = slotopt.solve(inst, seed=0)
    best = slotopt.solve(
        inst, seed=0, second_stage="min-rank", on_failure="record", threads=1, verify=True
    )
    assert np.array_equal(best.matched, plain.matched)
    # Footnote 4 by hand: A ranks morning 1, afternoon 2; B only morning (rank 1). Both served
    # forces B morning, A afternoon: total rank 2 + 1 = 3, the only schedule serving both.
    assert best.total_rank == 3
    assert best.ok and [st.stop for st in best.stages] == [StopReason.optimal] * 2
