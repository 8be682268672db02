"""The cross-validation rank sum: unranked pairs rank after the applicant's ranked ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slotopt.engines.matching.structure import total_rank
from slotopt.methods import MATCHING_METHODS
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


# -- the agreement table and its sentences (mutation survivors) ------------------------------


def _row(method: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "method": method,
        "status": "ok",
        "n_matched": 2,
        "same_matched_set": None,
        "certificates_ok": True,
        "feasible": True,
        "maximum": True,
        "respects_priorities": True,
        "total_rank": None,
        "second_stage_objective": None,
        "seconds": 0.0,
        "note": "",
    }
    row.update(values)
    return row


def test_disagreements_name_each_kind_of_failure() -> None:
    from slotopt.verify.cross_validate import disagreements

    df = pd.DataFrame(
        [
            _row("greedy", second_stage_objective=3.0),
            _row("naive", status="error: SolverError: boom"),
            _row(
                "lp",
                same_matched_set=False,
                certificates_ok=False,
                maximum=False,
                respects_priorities=False,
                second_stage_objective=3.5,
            ),
            _row("lexicographic", same_matched_set=True, second_stage_objective=3.0),
        ]
    )
    assert disagreements(df) == [
        "naive: error: SolverError: boom",
        "lp: certificate(s) failed: maximum, respects_priorities",
        "lp: matched set differs from greedy's",
        "second-stage optima differ across methods: greedy=3, lp=3.5, lexicographic=3",
    ]


def test_second_stage_optima_within_the_tolerance_agree() -> None:
    from slotopt.verify.cross_validate import disagreements

    df = pd.DataFrame(
        [
            _row("greedy", second_stage_objective=3.0),
            _row("lp", same_matched_set=True, second_stage_objective=3.0 + 1e-7),
        ]
    )
    assert disagreements(df) == []


def test_a_method_that_raises_becomes_an_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from slotopt.verify import cross_validate as cv

    broken = replace(
        MATCHING_METHODS["naive"], target="tests.verify.test_cross_validate_clauses:_raises"
    )
    monkeypatch.setitem(MATCHING_METHODS, "naive", broken)
    df = cv.cross_validate(cases.chain(), ("greedy", "naive"), seed=0)
    row = df.set_index("method").loc["naive"]
    assert row["status"] == "error: RuntimeError: no flow today"
    assert not df.attrs["agree"]
    assert cv.disagreements(df) == ["naive: error: RuntimeError: no flow today"]


def _raises(*args: object, **kwargs: object) -> None:
    raise RuntimeError("no flow today")


def test_the_table_of_a_small_case_by_hand() -> None:
    """Footnote 4 with ranks (A: morning 1, afternoon 2; B: morning 1): greedy and naive serve
    both (A afternoon, B morning: total rank 3); serial dictatorship serves only A (morning,
    rank 1), which is not maximum and not priority-respecting."""
    from slotopt.verify.cross_validate import cross_validate

    df = cross_validate(
        cases.footnote4(), ("greedy", "naive", "serial-dictatorship"), seed=0
    ).set_index("method")
    assert df.loc["greedy", "n_matched"] == 2 and df.loc["greedy", "total_rank"] == 3
    assert pd.isna(df.loc["greedy", "same_matched_set"])
    assert bool(df.loc["naive", "same_matched_set"]) and df.loc["naive", "total_rank"] == 3
    sd = df.loc["serial-dictatorship"]
    assert sd["n_matched"] == 1 and sd["total_rank"] == 1
    assert not sd["same_matched_set"] and not sd["certificates_ok"]
    assert bool(sd["feasible"]) and not sd["maximum"] and not sd["respects_priorities"]
    assert df.attrs["seed"] == 0 and not df.attrs["agree"]
