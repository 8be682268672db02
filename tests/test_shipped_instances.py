"""The instances shipped in ``instances/``: every folder loads and says what it shows, the
generated one is reproducible from its recorded command, and Arnosti's footnote 4 gives the
answers the footnote gives.

Footnote 4 (N. Arnosti, "A Better Way to Schedule Vaccinations", 2021-04-21): two slots, morning
and afternoon; A has the highest priority and is available all day, preferring the morning; B is
available only in the morning. "In a serial dictatorship, if A expresses a preference for
morning, then A will get the morning slot, and B will go unassigned. [...] It seems better to
schedule B for the morning, and A for the afternoon." Algorithm 1 commits to A, then adds B
because {A, B} can both be served.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pandas as pd
import pytest

import slotopt
from slotopt.run.cli import main

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
FOLDERS = sorted(p for p in INSTANCES.iterdir() if (p / "instance.json").is_file())
SPECS = {p: json.loads((p / "instance.json").read_text()) for p in FOLDERS}
MATCHING = [p for p in FOLDERS if SPECS[p]["kind"] == "matching"]
GENERATED = [p for p in MATCHING if "generated_by" in SPECS[p]]
FOOTNOTE4 = INSTANCES / "arnosti-footnote4"


def test_the_promised_instances_are_shipped() -> None:
    assert {"arnosti-footnote4", "prefecture-week"} <= {p.name for p in MATCHING}
    assert INSTANCES / "prefecture-week" in GENERATED


@pytest.mark.parametrize("folder", MATCHING, ids=lambda p: p.name)
def test_every_matching_instance_folder_has_a_readme(folder: Path) -> None:
    assert (folder / "README.md").is_file()


@pytest.mark.parametrize("folder", MATCHING, ids=lambda p: p.name)
def test_every_matching_instance_loads(folder: Path) -> None:
    inst = slotopt.load_instance(folder)
    assert inst.kind == "matching"
    assert inst.n_applicants > 0 and inst.n_slots > 0 and len(inst.acc_slot) > 0
    assert inst.name == SPECS[folder]["name"]


@pytest.mark.parametrize("folder", GENERATED, ids=lambda p: p.name)
def test_generated_instances_are_reproducible_from_their_command(
    folder: Path, tmp_path: Path
) -> None:
    spec = SPECS[folder]
    words = shlex.split(spec["generated_by"])
    assert words[:2] == ["slotopt", "generate"]
    assert Path(words[2]) == folder.relative_to(INSTANCES.parent)
    assert main(["generate", str(tmp_path / "again"), *words[3:]]) == 0
    for name in ("slots.csv", "applicants.csv", "acceptable.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes(), name
    again = json.loads((tmp_path / "again" / "instance.json").read_text())
    assert again["generator"] == spec["generator"]


def test_prefecture_week_is_what_its_readme_says() -> None:
    inst = slotopt.load_instance(INSTANCES / "prefecture-week")
    assert inst.n_applicants == 300 and inst.n_slots == 420
    assert inst.slots["location"].nunique() == 3
    start = pd.to_datetime(inst.slots["start"])
    assert ((pd.to_datetime(inst.slots["end"]) - start) == pd.Timedelta(minutes=15)).all()
    assert inst.total_capacity < inst.n_applicants  # demand exceeds supply
    assert set(inst.priority.tolist()) == {1, 2, 3}


def footnote4_assignment(method: str) -> dict[str, str | None]:
    result = slotopt.solve(FOOTNOTE4, method=method)
    table = result.assignment
    return {
        row.applicant_id: (None if pd.isna(row.slot_id) else row.slot_id)
        for row in table.itertuples()
    }


def test_footnote4_instance_is_the_footnote() -> None:
    inst = slotopt.load_instance(FOOTNOTE4)
    assert dict(zip(inst.slots["slot_id"], inst.capacity.tolist(), strict=True)) == {
        "morning": 1,
        "afternoon": 1,
    }
    assert dict(zip(inst.applicants["applicant_id"], inst.priority.tolist(), strict=True)) == {
        "A": 1,
        "B": 2,
    }
    a, b = (inst.applicant_index.get_loc(x) for x in ("A", "B"))
    assert inst.slot_ids[inst.acceptable_slots(a)].tolist() == ["morning", "afternoon"]  # by rank
    assert inst.slot_ids[inst.acceptable_slots(b)].tolist() == ["morning"]


@pytest.mark.parametrize("method", ["greedy", "naive"])
def test_footnote4_algorithm1_serves_both_with_b_in_the_morning(method: str) -> None:
    assert footnote4_assignment(method) == {"A": "afternoon", "B": "morning"}


def test_footnote4_serial_dictatorship_leaves_b_out() -> None:
    assert footnote4_assignment("serial-dictatorship") == {"A": "morning", "B": None}
