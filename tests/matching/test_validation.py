"""One test per validation error: each names the file, the 1-based data row and the column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import slotopt
from slotopt import InstanceError

GOOD = {
    "instance.json": '{"kind": "matching", "name": "tiny", "seed": 3}\n',
    "slots.csv": "slot_id,capacity,location\nm,1,Town hall\nn,2,Town hall\n",
    "applicants.csv": "applicant_id,priority\nA,1\nB,2\nC,2\n",
    "acceptable.csv": "applicant_id,slot_id,rank\nA,m,1\nA,n,2\nB,m,\nC,n,1\n",
}


def folder(tmp_path: Path, **changes: str | bytes | None) -> Path:
    d = tmp_path / "inst"
    d.mkdir()
    files: dict[str, str | bytes | None] = dict(GOOD)
    files.update(
        {
            k.replace("_", ".", 1) if k.endswith(("_csv", "_json")) else k: v
            for k, v in changes.items()
        }
    )
    for name, text in files.items():
        if text is None:
            continue
        path = d / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return d


def error(tmp_path: Path, **changes: str | bytes | None) -> str:
    with pytest.raises(InstanceError) as exc:
        slotopt.load_instance(folder(tmp_path, **changes))
    return str(exc.value)


def test_the_good_folder_loads(tmp_path: Path) -> None:
    inst = slotopt.load_instance(folder(tmp_path))
    assert (inst.n_applicants, inst.n_slots, inst.total_capacity, inst.seed) == (3, 2, 3, 3)
    assert set(inst.input_sha256) == set(GOOD)


def test_instance_error_is_a_value_error() -> None:
    assert issubclass(InstanceError, ValueError)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="no such instance folder"):
        slotopt.load_instance(tmp_path / "nowhere")


def test_missing_instance_json(tmp_path: Path) -> None:
    assert "instance.json: file not found" in error(tmp_path, instance_json=None)


def test_malformed_json(tmp_path: Path) -> None:
    msg = error(tmp_path, instance_json='{"kind": "matching",\n "name": }')
    assert "instance.json line 2" in msg and "malformed JSON" in msg


def test_unknown_kind(tmp_path: Path) -> None:
    msg = error(tmp_path, instance_json='{"kind": "tombola"}')
    assert "instance.json, key kind" in msg and "'tombola'" in msg


def test_bad_seed(tmp_path: Path) -> None:
    msg = error(tmp_path, instance_json='{"kind": "matching", "seed": -4}')
    assert "instance.json, key seed" in msg


def test_missing_file(tmp_path: Path) -> None:
    assert "acceptable.csv: file not found" in error(tmp_path, acceptable_csv=None)


def test_missing_column(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,seats\nm,1\n")
    assert "slots.csv: missing column(s) capacity" in msg


def test_unreadable_bytes(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv=b"applicant_id,priority\nA,1\n\xff\xfeB,2\n")
    assert "applicants.csv line 3" in msg and "not UTF-8" in msg


def test_duplicate_slot_id(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,capacity\nm,1\nm,2\n")
    assert "slots.csv row 2, column slot_id: duplicate id 'm'" in msg


def test_duplicate_applicant_id(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB,2\nA,3\n")
    assert "applicants.csv row 3, column applicant_id: duplicate id 'A'" in msg


def test_unknown_slot_reference(tmp_path: Path) -> None:
    msg = error(tmp_path, acceptable_csv="applicant_id,slot_id\nA,m\nB,S99\n")
    assert "acceptable.csv row 2, column slot_id: 'S99' is not a slot in slots.csv" in msg


def test_unknown_applicant_reference(tmp_path: Path) -> None:
    msg = error(tmp_path, acceptable_csv="applicant_id,slot_id\nA,m\nZed,m\n")
    assert "acceptable.csv row 2, column applicant_id: 'Zed' is not an applicant" in msg


def test_duplicate_pair(tmp_path: Path) -> None:
    msg = error(tmp_path, acceptable_csv="applicant_id,slot_id\nA,m\nB,m\nA,m\n")
    assert "acceptable.csv row 3, column slot_id: duplicate pair ('A', 'm')" in msg


def test_negative_capacity(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,capacity\nm,1\nn,-2\n")
    assert "slots.csv row 2, column capacity: expected an integer >= 0, got -2" in msg


def test_non_integer_capacity(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,capacity\nm,1.5\nn,two\n")
    assert "slots.csv row 1, column capacity: expected an integer >= 0, got '1.5'" in msg
    assert "slots.csv row 2, column capacity: expected an integer >= 0, got 'two'" in msg


def test_missing_capacity_value(tmp_path: Path) -> None:
    msg = error(tmp_path, slots_csv="slot_id,capacity\nm,\nn,1\n")
    assert "slots.csv row 1, column capacity: expected an integer >= 0, got nothing" in msg


def test_negative_priority(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB,-1\nC,2\n")
    assert "applicants.csv row 2, column priority" in msg and "got -1" in msg


def test_non_integer_priority(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\nB,high\nC,2\n")
    assert "applicants.csv row 2, column priority" in msg and "'high'" in msg


def test_empty_id(tmp_path: Path) -> None:
    msg = error(tmp_path, applicants_csv="applicant_id,priority\nA,1\n,2\nC,2\n")
    assert "applicants.csv row 2, column applicant_id: empty id" in msg


def test_nan_like_id_is_kept_as_text_but_blank_is_empty(tmp_path: Path) -> None:
    # "NA" and "nan" are legitimate ids (keep_default_na=False); only blank cells are empty.
    inst = slotopt.load_instance(
        folder(
            tmp_path,
            applicants_csv="applicant_id,priority\nA,1\nNA,2\nnan,2\n",
            acceptable_csv="applicant_id,slot_id\nA,m\nNA,m\nnan,n\n",
        )
    )
    assert list(inst.applicant_ids) == ["A", "NA", "nan"]


def test_blank_slot_reference(tmp_path: Path) -> None:
    msg = error(tmp_path, acceptable_csv="applicant_id,slot_id\nA,m\nB,  \n")
    assert "acceptable.csv row 2, column slot_id: empty id" in msg


def test_rank_below_one(tmp_path: Path) -> None:
    msg = error(tmp_path, acceptable_csv="applicant_id,slot_id,rank\nA,m,1\nB,m,0\n")
    assert "acceptable.csv row 2, column rank: expected an integer >= 1" in msg


def test_all_problems_are_collected(tmp_path: Path) -> None:
    with pytest.raises(InstanceError) as exc:
        slotopt.load_instance(
            folder(
                tmp_path,
                slots_csv="slot_id,capacity\nm,-1\nn,1\n",
                acceptable_csv="applicant_id,slot_id\nA,m\nB,zz\n",
            )
        )
    assert len(exc.value.problems) == 2
    assert "slots.csv row 1" in str(exc.value) and "acceptable.csv row 2" in str(exc.value)


def test_only_the_first_twenty_problems_are_shown(tmp_path: Path) -> None:
    rows = "".join(f"s{i},-1\n" for i in range(30))
    with pytest.raises(InstanceError) as exc:
        slotopt.load_instance(folder(tmp_path, slots_csv="slot_id,capacity\n" + rows))
    assert "and " in str(exc.value) and "more problem" in str(exc.value)
    assert str(exc.value).count("expected an integer") == 20


def test_parquet_stands_in_for_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd

    d = folder(tmp_path)
    pd.read_csv(d / "slots.csv").to_parquet(d / "slots.parquet")
    (d / "slots.csv").unlink()
    inst = slotopt.load_instance(d)
    assert inst.total_capacity == 3 and "slots.parquet" in inst.input_sha256


def test_round_trip_through_write_instance(tmp_path: Path) -> None:
    inst = slotopt.load_instance(folder(tmp_path))
    out = slotopt.write_instance(inst, tmp_path / "copy")
    again = slotopt.load_instance(out)
    assert json.loads((out / "instance.json").read_text())["seed"] == 3
    assert again.acc_slot.tolist() == inst.acc_slot.tolist()
    assert again.acc_rank.tolist() == inst.acc_rank.tolist()
    with pytest.raises(FileExistsError):
        slotopt.write_instance(inst, out)
