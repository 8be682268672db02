"""``MatchingInstance.restrict`` equals validating the filtered (or edited) tables again."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import slotopt
from slotopt.errors import UsageError
from slotopt.instance import MatchingInstance, matching_from_frames, write_instance
from tests.matching.cases import chain
from tests.matching.strategies import matching_instances

ARRAYS = ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank")
TABLES = ("slots", "applicants", "acceptable")


def assert_same(a: MatchingInstance, b: MatchingInstance) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert not x.flags.writeable, name
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    for name in ("type_of", "indptr", "slots", "size"):
        assert np.array_equal(getattr(a.types, name), getattr(b.types, name)), name


def snapshot(inst: MatchingInstance) -> dict[str, object]:
    return {n: getattr(inst, n).copy() for n in ARRAYS + TABLES} | {"meta": dict(inst.meta)}


def assert_unchanged(inst: MatchingInstance, before: dict[str, object]) -> None:
    for n in ARRAYS:
        assert np.array_equal(getattr(inst, n), before[n]), n
    for n in TABLES:
        pd.testing.assert_frame_equal(getattr(inst, n), before[n])
    assert dict(inst.meta) == before["meta"]


@given(matching_instances(), st.data(), st.integers(0, 2**31 - 1))
def test_subset_equals_validating_the_filtered_tables(inst, data, seed) -> None:  # type: ignore[no-untyped-def]
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=inst.n_applicants, max_size=inst.n_applicants)),
        dtype=bool,
    )
    before = snapshot(inst)
    kept_ids = set(inst.applicant_ids[mask].tolist())
    expected = matching_from_frames(
        inst.slots,
        inst.applicants[mask],
        inst.acceptable[inst.acceptable["applicant_id"].isin(kept_ids).to_numpy(dtype=bool)],
    )
    got = inst.restrict(applicants=mask)
    assert_same(got, expected)
    by_index = inst.restrict(applicants=np.flatnonzero(mask)[::-1])  # index order is irrelevant
    assert_same(by_index, expected)
    if got.n_applicants:
        a = slotopt.solve(got, method="greedy", seed=seed)
        b = slotopt.solve(expected, method="greedy", seed=seed)
        assert np.array_equal(a.slot_of, b.slot_of)
    assert_unchanged(inst, before)


@given(matching_instances(), st.data())
def test_capacity_change_equals_editing_the_slots_table(inst, data) -> None:  # type: ignore[no-untyped-def]
    caps = data.draw(st.lists(st.integers(0, 3), min_size=inst.n_slots, max_size=inst.n_slots))
    before = snapshot(inst)
    edited = inst.slots.assign(capacity=caps)
    expected = matching_from_frames(edited, inst.applicants, inst.acceptable)
    assert_same(inst.restrict(capacity=caps), expected)
    assert_unchanged(inst, before)


def test_capacity_change_equals_reloading_an_edited_slots_csv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inst = chain()
    folder = write_instance(inst, tmp_path / "chain")
    slots_csv = folder / "slots.csv"
    slots_csv.write_text(slots_csv.read_text().replace("s1,1", "s1,0").replace("s2,1", "s2,2"))
    reloaded = slotopt.load_instance(folder)
    assert reloaded.capacity.tolist() == [0, 2]  # the edit took
    assert_same(inst.restrict(capacity=[0, 2]), reloaded)


def test_both_at_once_and_provenance() -> None:
    base = chain()
    inst = dataclasses.replace(base, provenance=base.provenance.replace(seed=7, meta={"note": "x"}))
    got = inst.restrict(applicants=[0, 2], capacity=np.array([2, 0], dtype=np.uint8))
    assert got.applicant_ids.tolist() == ["a1", "a3"] and got.capacity.tolist() == [2, 0]
    assert got.acc_indptr.tolist() == [0, 2, 3] and got.acc_slot.tolist() == [0, 1, 1]
    assert got.capacity.dtype == np.int64
    assert (got.name, got.seed, got.source) == (inst.name, inst.seed, inst.source)
    assert dict(got.input_sha256) == dict(inst.input_sha256)
    assert dict(got.meta) == {"note": "x"}
    note = {"applicants_kept": 2, "applicants_in_files": 3, "capacity_changed": True}
    assert got.provenance.restricted == note
    assert inst.provenance.restricted is None


def test_a_restriction_of_a_restriction_counts_the_files_applicants() -> None:
    once = chain().restrict(capacity=[0, 1])
    twice = once.restrict(applicants=[1])
    assert twice.applicant_ids.tolist() == ["a2"]
    note = {"applicants_kept": 1, "applicants_in_files": 3, "capacity_changed": True}
    assert twice.provenance.restricted == note
    assert chain().restrict().provenance.restricted == {
        "applicants_kept": 3,
        "applicants_in_files": 3,
        "capacity_changed": False,
    }


def test_the_tables_of_the_result_are_its_own() -> None:
    inst = chain()
    got = inst.restrict()
    slots, applicants, acceptable = got.slots, got.applicants, got.acceptable
    slots.loc[0, "capacity"] = 5
    applicants.loc[0, "priority"] = 5
    acceptable.loc[0, "slot_id"] = "s2"
    assert got.slots["capacity"].tolist() == [1, 1] and got.capacity.tolist() == [1, 1]
    assert inst.slots["capacity"].tolist() == [1, 1]
    assert inst.applicants["priority"].tolist() == [1, 2, 3]
    assert inst.acceptable["slot_id"].tolist()[0] == "s1"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"applicants": np.ones(2, dtype=bool)}, "needs 3 entries"),
        ({"applicants": np.ones(4, dtype=bool)}, "needs 3 entries"),
        ({"applicants": [[0, 1]]}, "1-d"),
        ({"applicants": [0.0, 1.0]}, "integer indices"),
        ({"applicants": [-1]}, r"0\.\.2"),
        ({"applicants": [3]}, r"0\.\.2"),
        ({"applicants": [1, 1]}, "repeated"),
        ({"capacity": [1]}, "one value per slot"),
        ({"capacity": [1, 1, 1]}, "one value per slot"),
        ({"capacity": [[1, 1]]}, "one value per slot"),
        ({"capacity": [1.0, 1.0]}, "integers"),
        ({"capacity": [True, False]}, "integers"),
        ({"capacity": ["1", "1"]}, "integers"),
        ({"capacity": [-1, 1]}, "must lie in"),
        ({"capacity": [2**62 + 1, 0]}, "must lie in"),
        ({"capacity": [2**62, 1]}, "add up to"),
    ],
)
def test_bad_arguments_raise_usage_error(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    inst = chain()
    before = snapshot(inst)
    with pytest.raises(UsageError, match=match):
        inst.restrict(**kwargs)
    assert_unchanged(inst, before)


def test_the_range_edges_are_accepted() -> None:
    inst = chain()
    assert inst.restrict(capacity=[2**62, 0]).capacity.tolist() == [2**62, 0]
    assert inst.restrict(capacity=[0, 0]).total_capacity == 0
    assert inst.restrict(applicants=[]).n_applicants == 0
    assert inst.restrict(applicants=np.zeros(3, dtype=bool)).acc_indptr.tolist() == [0]
