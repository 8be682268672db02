"""A MatchingInstance cannot be changed in place: its arrays and its types' arrays are read-only,
and the tables hold their own copies, so the two can never disagree."""

from __future__ import annotations

import pytest

from tests.matching.cases import chain

ARRAYS = ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank")


@pytest.mark.parametrize("name", ARRAYS)
def test_instance_arrays_are_read_only(name: str) -> None:
    inst = chain()
    arr = getattr(inst, name)
    before = arr.copy()
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = 99
    assert (getattr(inst, name) == before).all()


@pytest.mark.parametrize("name", ("type_of", "indptr", "slots", "size"))
def test_type_arrays_are_read_only(name: str) -> None:
    arr = getattr(chain().types, name)
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = 99


def test_editing_a_table_leaves_the_arrays_alone() -> None:
    inst = chain()
    inst.slots.loc[0, "capacity"] = 99
    inst.applicants.loc[0, "priority"] = 99
    inst.acceptable.loc[0, "rank"] = 7
    assert inst.capacity.tolist() == [1, 1]
    assert inst.priority.tolist() == [1, 2, 3]
    assert inst.acc_rank.tolist() == [-1, -1, -1, -1]
