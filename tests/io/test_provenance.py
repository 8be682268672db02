"""Provenance: one frozen value that every instance kind carries, read the same way on each;
a restricted instance says so; summary.json names the instance as the caller did."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
from pathlib import Path

import pytest

import slotopt
from slotopt.instance.provenance import Provenance
from slotopt.run.folders import common_summary

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {  # kind -> a shipped instance (a folder, or a market's JSON file)
    "matching": "arnosti-footnote4",
    "offer_set": "offer-set-day",
    "batch": "prefecture-batches",
    "market": "market-low-demand.json",
}


def load(kind: str) -> tuple[Path, object]:
    path = REPO / "instances" / SHIPPED[kind]
    if kind == "market":
        from slotopt.instance.market import load_market

        return path, load_market(path)
    return path, slotopt.load_instance(path)


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_every_kind_carries_one_provenance(kind: str) -> None:
    path, inst = load(kind)
    p = inst.provenance  # type: ignore[attr-defined]
    assert isinstance(p, Provenance) and inst.kind == kind  # type: ignore[attr-defined]
    assert inst.source == p.source == path  # type: ignore[attr-defined]
    assert inst.input_sha256 is p.input_sha256 and inst.meta is p.meta  # type: ignore[attr-defined]
    assert inst.seed == (p.seed if kind != "market" else int(p.seed or 0))  # type: ignore[attr-defined]
    assert (path.name if kind == "market" else "instance.json") in p.input_sha256
    assert p.restricted is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.seed = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.input_sha256["instance.json"] = "forged"  # type: ignore[index]


def test_choice_observations_carry_one_too() -> None:
    from slotopt.instance.choices import load_choices

    path = REPO / "instances" / "kaluza-survey" / "choices.csv"
    table = load_choices(path)
    assert table.provenance.source == path and table.source == path
    assert set(table.input_sha256) == {"choices.csv"}


def test_provenance_copies_what_it_is_given_and_pickles() -> None:
    hashes, meta = {"a.csv": "00"}, {"note": "x"}
    p = Provenance(seed=1, source=Path("here"), input_sha256=hashes, meta=meta)
    hashes["a.csv"], meta["note"] = "ff", "y"
    assert dict(p.input_sha256) == {"a.csv": "00"} and dict(p.meta) == {"note": "x"}
    again = pickle.loads(pickle.dumps(p))
    assert again == p and again.meta == {"note": "x"}
    assert p.replace(seed=2).seed == 2 and p.seed == 1


def test_a_restricted_result_says_so_in_summary_json(tmp_path: Path) -> None:
    inst = slotopt.load_instance(REPO / "instances" / "arnosti-footnote4")
    plain = slotopt.solve(inst, seed=1).summary()
    assert plain["restricted"] is None
    small = slotopt.solve(inst.restrict(applicants=[0]), seed=1)
    small.to_folder(tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["restricted"] == {
        "applicants_kept": 1,
        "applicants_in_files": 2,
        "capacity_changed": False,
    }
    assert summary["input_sha256"] == dict(inst.input_sha256)  # what it was derived from


def test_summary_names_the_instance_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "instances" / "arnosti-footnote4", tmp_path / "week")
    monkeypatch.chdir(tmp_path)
    assert common_summary(slotopt.load_instance("week"))["instance"] == "week"
    given = str(tmp_path / "week")
    assert common_summary(slotopt.load_instance(given))["instance"] == given
