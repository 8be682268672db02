"""Exact input: integers are read digit by digit, never through a float; values outside the
supported range, booleans, duplicate headers, ragged rows and paths that are not files are each
refused with the file, the 1-based data row and the column (or JSON key) in the message."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slotopt
from slotopt import InstanceError
from slotopt.engines.matching.order import priority_order
from tests.matching.test_validation import GOOD, error, folder

RANGE = "0..2**62 (4611686018427387904)"


def test_seventeen_digit_priorities_stay_distinct(tmp_path: Path) -> None:
    # 2**53 < 10**16: as float64, ...001 and ...002 are the same number and a lottery would
    # decide between A and B. Read exactly, B (smaller) is served first under every seed.
    apps = "applicant_id,priority\nA,10000000000000002\nB,10000000000000001\nC,10000000000000003\n"
    inst = slotopt.load_instance(folder(tmp_path, applicants_csv=apps))
    assert inst.priority.tolist() == [10000000000000002, 10000000000000001, 10000000000000003]
    for seed in range(20):
        order = priority_order(inst.priority, inst.applicant_ids, seed)
        assert [inst.applicant_ids[i] for i in order] == ["B", "A", "C"]


def test_largest_supported_values_are_kept_exactly(tmp_path: Path) -> None:
    apps = f"applicant_id,priority\nA,{2**62}\nB,0\nC,{2**62 - 1}\n"
    inst = slotopt.load_instance(folder(tmp_path, applicants_csv=apps))
    assert inst.priority.tolist() == [2**62, 0, 2**62 - 1]


def test_priority_of_2_pow_70_is_refused_not_wrapped(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv=f"applicant_id,priority\nA,1\nB,{2**70}\nC,2\n")
    assert (
        f"applicants.csv row 2, column priority: expected an integer >= 0 (1 = served first), "
        f"got {2**70} (outside the supported range {RANGE})" in msg
    )


def test_priority_just_above_the_range_is_refused(tmp_path: Path) -> None:
    # 2**62 + 1 fits int64, so this exercises the range check and not an overflow
    msg = error(tmp_path, applicants_csv=f"applicant_id,priority\nA,1\nB,2\nC,{2**62 + 1}\n")
    assert "applicants.csv row 3, column priority" in msg and f"got {2**62 + 1}" in msg


def test_capacity_of_2_pow_70_is_refused_not_negative(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv=f"slot_id,capacity,location\nm,{2**70},x\nn,2,x\n")
    assert "slots.csv row 1, column capacity" in msg and f"got {2**70}" in msg
    assert RANGE in msg


def test_capacities_whose_sum_leaves_the_range_are_refused(tmp_path: Path) -> None:
    slots = f"slot_id,capacity\nm,{2**62}\nn,{2**62}\n"
    msg = error(tmp_path, slots_csv=slots)
    assert f"slots.csv, column capacity: the capacities add up to {2**63}" in msg


def test_negative_number_beyond_int64_is_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv=f"applicant_id,priority\nA,1\nB,-{2**70}\nC,2\n")
    assert "applicants.csv row 2, column priority" in msg and f"got -{2**70}" in msg


@pytest.mark.parametrize("word", ["true", "false", "True"])
def test_booleans_are_not_priorities(tmp_path: Path, word: str) -> None:
    msg = error(tmp_path, applicants_csv=f"applicant_id,priority\nA,1\nB,{word}\nC,2\n")
    assert "applicants.csv row 2, column priority: expected an integer" in msg
    assert f"got '{word}' (true/false is not an integer)" in msg


@pytest.mark.parametrize("text", ["1.0", "1e3", "1_000", "٣", "0x10", "1 2"])
def test_only_plain_ascii_digits_are_integers(tmp_path: Path, text: str) -> None:
    msg = error(tmp_path, slots_csv=f"slot_id,capacity\nm,1\nn,{text}\n")
    assert f"slots.csv row 2, column capacity: expected an integer >= 0, got {text!r}" in msg


def test_signs_leading_zeros_and_blanks_are_integers(tmp_path: Path) -> None:
    apps = "applicant_id,priority\nA,+1\nB, 0002\nC,00000000000000000000000000003\n"
    inst = slotopt.load_instance(folder(tmp_path, applicants_csv=apps))
    assert inst.priority.tolist() == [1, 2, 3]


def test_rank_out_of_range_is_refused(tmp_path: Path) -> None:
    acc = f"applicant_id,slot_id,rank\nA,m,1\nA,n,{2**64}\nB,m,\nC,n,1\n"
    msg = error(tmp_path, acceptable_csv=acc)
    assert "acceptable.csv row 2, column rank" in msg and f"got {2**64}" in msg


def test_duplicate_header_is_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,capacity,capacity\nm,1,5\nn,2,5\n")
    assert "slots.csv: duplicate column header(s) 'capacity'" in msg


def test_duplicate_header_after_stripping_blanks_is_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv='"slot_id","capacity"," capacity"\nm,1,5\nn,2,5\n')
    assert "slots.csv: duplicate column header(s) 'capacity'" in msg


def test_short_row_is_reported_with_its_field_count(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB\nC,2\n")
    assert "applicants.csv row 2: row 2 has 1 fields, the header has 2" in msg


def test_long_row_is_reported_with_its_field_count(tmp_path: Path) -> None:
    # blank lines are skipped in the row count, as everywhere else
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\n\nB,2\nC,2,9,9\n")
    assert "applicants.csv row 3: row 3 has 4 fields, the header has 2" in msg


def test_ragged_row_in_a_quoted_file(tmp_path: Path) -> None:
    slots = 'slot_id,capacity,location\nm,1,"Town hall, east"\nn,2\n'
    msg = error(tmp_path, slots_csv=slots)
    assert "slots.csv row 2: row 2 has 2 fields, the header has 3" in msg


def test_quoted_commas_are_not_extra_fields(tmp_path: Path) -> None:
    slots = 'slot_id,capacity,location\nm,1,"Town hall, east"\nn,2,"a ""b"", c"\n'
    inst = slotopt.load_instance(folder(tmp_path, slots_csv=slots))
    assert inst.slots["location"].tolist() == ["Town hall, east", 'a "b", c']


def test_symlink_loop_is_reported_as_one(tmp_path: Path) -> None:
    d = folder(tmp_path, slots_csv=None)
    os.symlink("slots.csv", d / "slots.csv")
    with pytest.raises(InstanceError, match=r"slots\.csv: is a symbolic link loop"):
        slotopt.load_instance(d)


def test_dangling_symlink_is_reported_as_one(tmp_path: Path) -> None:
    d = folder(tmp_path, slots_csv=None)
    os.symlink("gone.csv", d / "slots.csv")
    with pytest.raises(InstanceError, match=r"slots\.csv: is a symbolic link to 'gone\.csv'"):
        slotopt.load_instance(d)


def test_folder_where_a_table_should_be(tmp_path: Path) -> None:
    d = folder(tmp_path, slots_csv=None)
    (d / "slots.csv").mkdir()
    with pytest.raises(InstanceError, match=r"slots\.csv: is a folder, expected a file"):
        slotopt.load_instance(d)


def test_folder_where_instance_json_should_be(tmp_path: Path) -> None:
    d = folder(tmp_path, instance_json=None)
    (d / "instance.json").mkdir()
    with pytest.raises(InstanceError, match=r"instance\.json: is a folder, expected a file"):
        slotopt.load_instance(d)


def test_instance_folder_that_is_a_symlink_loop(tmp_path: Path) -> None:
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(InstanceError, match=r"loop: is a symbolic link loop"):
        slotopt.load_instance(tmp_path / "loop")


def test_bom_is_accepted_in_instance_json_and_csv(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    d = folder(
        tmp_path,
        instance_json=bom + GOOD["instance.json"].encode(),
        slots_csv=bom + GOOD["slots.csv"].encode(),
    )
    inst = slotopt.load_instance(d)
    assert inst.name == "tiny" and inst.capacity.tolist() == [1, 2]


# -- Parquet stand-ins ---------------------------------------------------------------------


def parquet_folder(tmp_path: Path, applicants: pd.DataFrame) -> Path:
    pytest.importorskip("pyarrow")
    d = folder(tmp_path, applicants_csv=None)
    applicants.to_parquet(d / "applicants.parquet", index=False)
    return d


def test_parquet_int64_priorities_are_exact(tmp_path: Path) -> None:
    big = [10000000000000002, 10000000000000001, 3]
    d = parquet_folder(tmp_path, pd.DataFrame({"applicant_id": ["A", "B", "C"], "priority": big}))
    assert slotopt.load_instance(d).priority.tolist() == big


def test_parquet_float_priority_that_cannot_be_exact_is_refused(tmp_path: Path) -> None:
    apps = pd.DataFrame({"applicant_id": ["A", "B", "C"], "priority": [1.0, 2.0**60, 2.5]})
    d = parquet_folder(tmp_path, apps)
    with pytest.raises(InstanceError) as exc:
        slotopt.load_instance(d)
    msg = str(exc.value)
    assert "applicants.parquet row 2, column priority: expected an integer" in msg
    assert "applicants.parquet row 3, column priority" in msg
    assert "row 1," not in msg  # 1.0 is an integer a float holds exactly


def test_parquet_uint64_beyond_the_range_is_refused(tmp_path: Path) -> None:
    apps = pd.DataFrame(
        {"applicant_id": ["A", "B", "C"], "priority": np.array([1, 2**63 + 5, 2], np.uint64)}
    )
    d = parquet_folder(tmp_path, apps)
    with pytest.raises(InstanceError, match=rf"row 2, column priority.*got {2**63 + 5} \(outside"):
        slotopt.load_instance(d)


def test_parquet_boolean_priority_is_refused(tmp_path: Path) -> None:
    apps = pd.DataFrame({"applicant_id": ["A", "B", "C"], "priority": [True, False, True]})
    d = parquet_folder(tmp_path, apps)
    with pytest.raises(InstanceError, match=r"applicants\.parquet row 1, column priority"):
        slotopt.load_instance(d)


def test_parquet_text_priority_is_parsed_like_csv(tmp_path: Path) -> None:
    apps = pd.DataFrame({"applicant_id": ["A", "B", "C"], "priority": ["1", "true", "2"]})
    d = parquet_folder(tmp_path, apps)
    with pytest.raises(InstanceError, match=r"applicants\.parquet row 2, column priority.*'true'"):
        slotopt.load_instance(d)


def test_parquet_duplicate_columns_are_refused(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    d = folder(tmp_path, applicants_csv=None)
    table = pa.table(
        [["A", "B", "C"], [1, 2, 3], [1, 2, 3]], names=["applicant_id", "priority", "priority"]
    )
    pq.write_table(table, d / "applicants.parquet")
    with pytest.raises(InstanceError, match=r"applicants\.parquet: duplicate column header"):
        slotopt.load_instance(d)


# -- offer-set instance.json numbers -------------------------------------------------------


def offer_set_error(tmp_path: Path, text: str) -> str:
    d = tmp_path / "os"
    d.mkdir()
    (d / "instance.json").write_text(text)
    with pytest.raises(InstanceError) as exc:
        slotopt.load_instance(d)
    return str(exc.value)


def offer_spec(**changes: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "kind": "offer_set",
        "slot_types": [{"name": "h", "capacity": 2, "weight": 2}],
        "horizon": 4,
        "arrival_rate": 0.5,
        "beta": 0.5,
    }
    spec.update(changes)
    return spec


def test_offer_set_float_capacity_is_refused(tmp_path: Path) -> None:
    spec = offer_spec(slot_types=[{"name": "h", "capacity": 2.0, "weight": 2}])
    msg = offer_set_error(tmp_path, json.dumps(spec))
    assert (
        "instance.json, key slot_types[0].capacity: expected a non-negative integer, got 2.0" in msg
    )
    assert "a JSON float" in msg


def test_offer_set_float_horizon_is_refused(tmp_path: Path) -> None:
    msg = offer_set_error(tmp_path, json.dumps(offer_spec(horizon=4.0)))
    assert "instance.json, key horizon: expected an integer >= 1, got 4.0" in msg


def test_offer_set_capacity_of_2_pow_70_is_refused(tmp_path: Path) -> None:
    spec = offer_spec(slot_types=[{"name": "h", "capacity": 2**70, "weight": 2}])
    msg = offer_set_error(tmp_path, json.dumps(spec))
    assert f"key slot_types[0].capacity: expected a non-negative integer, got {2**70}" in msg
    assert "outside the supported range 0..2**62" in msg


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_offer_set_non_finite_beta_is_refused(tmp_path: Path, literal: str) -> None:
    text = json.dumps(offer_spec(beta=0.5)).replace('"beta": 0.5', f'"beta": {literal}')
    assert literal in text
    msg = offer_set_error(tmp_path, text)
    assert "instance.json, key beta: expected a finite number" in msg


def test_offer_set_bom_is_accepted(tmp_path: Path) -> None:
    d = tmp_path / "os"
    d.mkdir()
    (d / "instance.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(offer_spec()).encode())
    assert slotopt.load_instance(d).total_capacity == 2


def test_matching_seed_given_as_float_is_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, instance_json='{"kind": "matching", "seed": 3.0}')
    assert "instance.json, key seed: expected a non-negative integer, got 3.0" in msg


def test_every_row_one_field_too_long_is_not_taken_as_an_index(tmp_path: Path) -> None:
    # pandas would silently use the first column as the index here
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1,x\nB,2,y\nC,2,z\n")
    assert "applicants.csv row 1: row 1 has 3 fields, the header has 2" in msg


def test_certificates_hold_for_a_capacity_beyond_32_bits(tmp_path: Path) -> None:
    inst = slotopt.load_instance(
        folder(tmp_path, slots_csv="slot_id,capacity\nm,3000000000\nn,2\n")
    )
    assert inst.total_capacity == 3_000_000_002
    result = slotopt.solve(inst, seed=1, verify=True)  # raises VerificationError today
    assert result.n_matched == 3


@pytest.mark.parametrize("text", ["0X10", "0xFFFFFFFFFFFFFFFF"])
def test_hexadecimal_is_not_an_integer(tmp_path: Path, text: str) -> None:
    # pyarrow's int64 parser reads these as 16 and -1; both readers must refuse them
    msg = error(tmp_path, applicants_csv=f"applicant_id,priority\nA,1\nB,{text}\nC,2\n")
    assert "applicants.csv row 2, column priority: expected an integer >= 0" in msg
    assert f"got {text!r}" in msg


def test_an_id_containing_0x_does_not_change_the_numbers(tmp_path: Path) -> None:
    apps = "applicant_id,priority\nbox0x1,10000000000000002\nB,10000000000000001\nC,3\n"
    acc = "applicant_id,slot_id\nbox0x1,m\nB,n\n"
    inst = slotopt.load_instance(folder(tmp_path, applicants_csv=apps, acceptable_csv=acc))
    assert inst.priority.tolist() == [10000000000000001, 3, 10000000000000002]
