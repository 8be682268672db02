"""A MatchingInstance cannot be changed in place: its arrays and its types' arrays are read-only,
and the tables are built from the arrays on each access, so the two can never disagree."""

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
    slots, applicants, acceptable = inst.slots, inst.applicants, inst.acceptable
    slots.loc[0, "capacity"] = 99
    applicants.loc[0, "priority"] = 99
    acceptable.loc[0, "rank"] = 7
    assert slots["capacity"].tolist() == [99, 1]  # the edit took, in that frame only
    assert inst.capacity.tolist() == [1, 1]
    assert inst.priority.tolist() == [1, 2, 3]
    assert inst.acc_rank.tolist() == [-1, -1, -1, -1]
    assert inst.slots["capacity"].tolist() == [1, 1]  # a new view, from the arrays
    assert inst.applicants["priority"].tolist() == [1, 2, 3]
    assert inst.acceptable["rank"].isna().all()


@pytest.mark.parametrize("name", ("slot_ids", "applicant_ids"))
def test_id_arrays_are_read_only(name: str) -> None:
    arr = getattr(chain(), name)
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = "someone else"


def test_the_tables_are_views_of_the_arrays() -> None:
    inst = chain().restrict(capacity=[3, 0])
    assert inst.slots["capacity"].tolist() == inst.capacity.tolist() == [3, 0]
    assert inst.slots["slot_id"].tolist() == inst.slot_ids.tolist()
    assert inst.applicants["applicant_id"].tolist() == inst.applicant_ids.tolist()
    owner = inst.acceptable["applicant_id"].map(inst.applicant_index.get_loc)
    assert owner.tolist() == [0, 0, 1, 2]  # the CSR rows, in canonical order
    assert (
        inst.acceptable["slot_id"].map(inst.slot_index.get_loc).tolist() == inst.acc_slot.tolist()
    )
