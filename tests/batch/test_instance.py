"""The kind 'batch' instance folder: loading, and validation that names file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import slotopt
from slotopt.instance.batch import BatchInstance
from slotopt.run.cli import main


def write(folder: Path, files: dict[str, str], spec: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.json").write_text(json.dumps(spec or {"kind": "batch", "name": "t"}))
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


GOOD = {
    "periods.csv": "period_id,opens_at,closes_at\nW1,0,100\nW2,100,200\n",
    "slots.csv": "slot_id,period_id,capacity,site,slot_type\n"
    "s1,W1,2,Nord,first\ns2,W2,1,Sud,renewal\n",
    "requests.csv": "request_id,registered_at,document_number,date_of_birth\n"
    "a,5,X1,1990-01-01\nb,150,X2,1991-02-03\n",
    "request_slots.csv": "request_id,site,slot_type,rank\n"
    "a,Nord,first,1\nb,Sud,renewal,\nb,Nord,first,2\n",
}


def test_loads_a_good_folder(tmp_path):
    inst = slotopt.load_instance(write(tmp_path / "ok", GOOD))
    assert isinstance(inst, BatchInstance) and inst.kind == "batch"
    assert inst.period_ids == ["W1", "W2"] and inst.mechanism == "uniform"
    assert inst.events.empty and set(inst.input_sha256) == {"instance.json", *GOOD}
    assert inst.request_slots["rank"].tolist()[:1] == [1]


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "periods.csv",
            "period_id,opens_at,closes_at\nW1,0,100\nW2,99,200\n",
            "periods.csv row 2, column opens_at: request windows may not overlap",
        ),
        (
            "periods.csv",
            "period_id,opens_at,closes_at\nW1,0,0\nW2,100,200\n",
            "periods.csv row 1, column closes_at: expected a time after opens_at",
        ),
        (
            "periods.csv",
            "period_id,opens_at,closes_at\nW1,0,1.5\nW2,100,200\n",
            "periods.csv row 1, column closes_at: expected an integer time",
        ),
        (
            "slots.csv",
            "slot_id,period_id,capacity,site,slot_type\ns1,W9,2,Nord,first\n",
            "slots.csv row 1, column period_id: not a period_id listed in periods.csv",
        ),
        (
            "slots.csv",
            "slot_id,period_id,capacity,site,slot_type\ns1,W1,-2,Nord,first\n",
            "slots.csv row 1, column capacity: expected an integer >= 0",
        ),
        (
            "slots.csv",
            "slot_id,period_id,capacity,site,slot_type,usable_until\ns1,W2,2,Nord,first,W1\n",
            "slots.csv row 1, column usable_until: expected a period at or after",
        ),
        (
            "requests.csv",
            "request_id,registered_at,document_number,date_of_birth\n"
            "a,5,X1,01/02/1990\nb,150,X2,1991-02-03\n",
            "requests.csv row 1, column date_of_birth: expected a date as YYYY-MM-DD",
        ),
        (
            "requests.csv",
            "request_id,registered_at,document_number,date_of_birth\n"
            "a,5,,1990-01-01\nb,150,X2,1991-02-03\n",
            "requests.csv row 1, column document_number: expected a non-empty value",
        ),
        (
            "requests.csv",
            "request_id,registered_at,document_number,date_of_birth,priority_tier\n"
            "a,5,X1,1990-01-01,0\nb,150,X2,1991-02-03,1\n",
            "requests.csv row 1, column priority_tier: expected an integer >= 1",
        ),
        (
            "requests.csv",
            "request_id,registered_at,document_number,date_of_birth\n"
            "a,5,X1,1990-01-01\nb,150,X2,1991-02-03\nc,7,X3,1991-02-03\n",
            "requests.csv row 3, column request_id: this request accepts no slot",
        ),
        (
            "request_slots.csv",
            "request_id,site,slot_type\na,Nord,renewal\nb,Sud,renewal\n",
            "request_slots.csv row 1, column slot_type: no slot of slots.csv has site 'Nord'",
        ),
        (
            "request_slots.csv",
            "request_id,site,slot_type,rank\na,Nord,first,0\nb,Sud,renewal,\n",
            "request_slots.csv row 1, column rank: expected an integer >= 1",
        ),
        (
            "request_slots.csv",
            "request_id,site,slot_type\na,Nord,first\nzz,Sud,renewal\nb,Sud,renewal\n",
            "request_slots.csv row 2, column request_id: not a request_id listed in requests.csv",
        ),
        (
            "events.csv",
            "request_id,event,after\na,vanish,3\n",
            "events.csv row 1, column event: expected one of confirm, cancel",
        ),
        (
            "events.csv",
            "request_id,event,after\na,confirm,\n",
            "events.csv row 1, column after: expected the seconds after the draw",
        ),
        (
            "events.csv",
            "request_id,event,after\na,confirm,-1\n",
            "events.csv row 1, column after: expected an integer >= 0",
        ),
    ],
)
def test_each_problem_names_file_row_and_column(tmp_path, file, text, expected):
    folder = write(tmp_path / "bad", GOOD | {file: text})
    with pytest.raises(slotopt.InstanceError) as exc:
        slotopt.load_instance(folder)
    assert expected in str(exc.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"mechanism": "lottery"}, "instance.json, key mechanism: mechanism must be one of"),
        ({"mechanism": "weighted", "params": {"rule": "squares"}}, "key params: weighted rule"),
        (
            {"mechanism": "uniform", "params": {"rule": "linear"}},
            "key params: mechanism 'uniform' takes no parameter rule",
        ),
        ({"carry_over": "yes"}, "instance.json, key carry_over: expected true or false"),
        ({"confirmation_window": -5}, "instance.json, key confirmation_window"),
        (
            {"unconfirmed": "lost"},
            "instance.json, key unconfirmed: expected one of next_batch, waitlist",
        ),
        ({"no_show_bar": 1.5}, "instance.json, key no_show_bar"),
        ({"seed": -1}, "instance.json, key seed"),
    ],
)
def test_policy_problems_name_the_json_key(tmp_path, spec, expected):
    folder = write(tmp_path / "bad", GOOD, {"kind": "batch", "name": "t"} | spec)
    with pytest.raises(slotopt.InstanceError, match=expected.replace("(", r"\(")):
        slotopt.load_instance(folder)


def test_windows_may_touch(tmp_path):
    # [0, 100) and [100, 200) do not overlap: a request at 100 belongs to W2
    inst = slotopt.load_instance(write(tmp_path / "ok", GOOD))
    assert inst.periods["opens_at"].tolist() == [0, 100]


def test_all_problems_are_collected(tmp_path):
    folder = write(
        tmp_path / "bad",
        GOOD
        | {
            "slots.csv": "slot_id,period_id,capacity,site,slot_type\ns1,W9,x,Nord,first\n",
            "requests.csv": "request_id,registered_at,document_number,date_of_birth\n"
            "a,5,X1,1990-13-01\nb,later,X2,1991-02-03\n",
        },
    )
    with pytest.raises(slotopt.InstanceError) as exc:
        slotopt.load_instance(folder)
    problems = exc.value.problems
    assert any("slots.csv row 1, column capacity" in p for p in problems)
    assert any("slots.csv row 1, column period_id" in p for p in problems)
    assert any("requests.csv row 1, column date_of_birth" in p for p in problems)
    assert any("requests.csv row 2, column registered_at" in p for p in problems)


def test_missing_file_and_column(tmp_path):
    files = dict(GOOD)
    del files["request_slots.csv"]
    with pytest.raises(slotopt.InstanceError, match="request_slots.csv: file not found"):
        slotopt.load_instance(write(tmp_path / "a", files))
    with pytest.raises(slotopt.InstanceError, match="slots.csv: missing column"):
        slotopt.load_instance(
            write(tmp_path / "b", GOOD | {"slots.csv": "slot_id,period_id,capacity\ns1,W1,1\n"})
        )


def test_cli_batch_run(tmp_path, capsys):
    folder = write(tmp_path / "ok", GOOD)
    out = tmp_path / "out"
    assert main(["batch-run", str(folder), "--out", str(out), "--seed", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "batch" and summary["seed"] == 3 and summary["periods"] == 2
    assert main(["batch-run", str(folder), "--out", str(out)]) == 2  # exists, no --force
    assert "already exists" in capsys.readouterr().err
    assert (
        main(["batch-run", str(folder), "--out", str(out), "--force", "--mechanism", "fcfs"]) == 0
    )
    assert json.loads((out / "summary.json").read_text())["method"] == "fcfs"
    bad = write(tmp_path / "bad", GOOD | {"events.csv": "request_id,event,after\nq,confirm,1\n"})
    assert main(["batch-run", str(bad), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "events.csv row 1, column request_id" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2").exists()
    assert main(["batch-run", str(folder), "--out", str(tmp_path / "o3"), "--seed", "-1"]) == 2


def test_cli_db_without_registry_is_a_usage_error(tmp_path, capsys):
    # the registry may have landed; then this clause does not apply
    try:
        import slotopt.registry  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("slotopt.registry is installed")
    folder = write(tmp_path / "ok", GOOD)
    assert (
        main(
            ["batch-run", str(folder), "--out", str(tmp_path / "o"), "--db", str(tmp_path / "r.db")]
        )
        == 2
    )
    assert "--db needs the registry" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
