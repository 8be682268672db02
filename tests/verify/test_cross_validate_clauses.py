"""The cross-validation rank sum: unranked pairs rank after the applicant's ranked ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slotopt.verify.cross_validate import total_rank
from tests.matching import cases


def _instance() -> object:
    """a ranks s1 first and lists s2 without a rank; b ranks s1; c lists s3 without a rank (and
    ranks nothing at all)."""
    return cases.build(
        {"s1": 1, "s2": 1, "s3": 1},
        {"a": 1, "b": 2, "c": 3},
        [("a", "s1"), ("a", "s2"), ("b", "s1"), ("c", "s3")],
        ranks=pd.array([1, None, 1, None], dtype="Int64"),
    )


def test_an_unranked_slot_counts_as_the_worst_rank_plus_one() -> None:
    inst = _instance()
    # a in s2 (unranked: a's worst given rank is 1, so 2), b in s1 (1), c in s3 (c ranked
    # nothing: 1). By hand: 2 + 1 + 1 = 4.
    slot_of = np.array([1, 0, 2])
    assert total_rank(inst, slot_of) == 4.0  # type: ignore[arg-type]
    # a in s1 instead (rank 1), b unmatched, c in s3 (1): 1 + 1 = 2
    assert total_rank(inst, np.array([0, -1, 2])) == 2.0  # type: ignore[arg-type]


def test_no_ranks_at_all_gives_none() -> None:
    assert total_rank(cases.chain(), np.array([1, 0, -1])) is None
