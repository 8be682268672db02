"""The market config: every problem names the file and the key; all are collected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from slotopt.errors import InstanceError
from slotopt.instance.market import load_market, market_from_dict
from slotopt.run.cli import main
from tests.market.configs import small

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "change,key",
    [
        ({"slots": 0}, "key slots"),
        ({"applicants": 2.5}, "key applicants"),
        ({"entry_cost": -1}, "key entry_cost"),
        ({"fake_pass": 1.5}, "key fake_pass"),
        ({"direct_failure": 1}, "key direct_failure"),
        ({"direct_cost": "x"}, "key direct_cost"),
        ({"cancel_rate": 1.0}, "key cancel_rate"),
        ({"price": 0}, "key price"),
        ({"seeds": 1}, "key seeds"),
        ({"rounds": 0}, "key rounds"),
        ({"seed": -3}, "key seed"),
        ({"flooding": "sometimes"}, "key flooding"),
        ({"fakes_per_slot": -1}, "key fakes_per_slot"),
        ({"bot_poll_ms": 0}, "key bot_poll_ms"),
        ({"window_seconds": -1}, "key window_seconds"),
        ({"human_retry_seconds": 0}, "key human_retry_seconds"),
        ({"duplicates_per_client": -1}, "key duplicates_per_client"),
        ({"deduplicate": "yes"}, "key deduplicate"),
        ({"name": ""}, "key name"),
        ({"demand_label": 3}, "key demand_label"),
        ({"compare_label": ""}, "key compare_label"),
        ({"compare_applicants": 0}, "key compare_applicants"),
        ({"values": "uniform"}, "key values"),
        ({"learning": []}, "key learning"),
        ({"learning": {"temperature": 0}}, "key learning.temperature"),
        ({"learning": {"exploration": 0.5}}, "key learning.exploration"),
        ({"learning": {"initial_profit": "high"}}, "key learning.initial_profit"),
        ({"learning": {"belief_rate": 1.5}}, "key learning.belief_rate"),
        ({"learning": {"initial_direct_belief": -0.1}}, "key learning.initial_direct_belief"),
        ({"sweep": [1]}, "key sweep"),
        ({"sweep": {"applicants": [5], "fake_pass": [0], "rounds": 0}}, "key sweep.rounds"),
        ({"sweep": {"applicants": [5], "fake_pass": [0], "seeds": 1}}, "key sweep.seeds"),
        ({"sweep": {"applicants": [5], "fake_pass": [0], "step": 1}}, "key sweep.step"),
        ({"values": {"distribution": "normal", "low": 1, "high": 2}}, "key values.distribution"),
        ({"values": {"distribution": "uniform", "low": 5, "high": 2}}, "key values.high"),
        ({"values": [1, 2]}, "key values"),
        ({"values": [1.0] * 61}, "key values"),
        ({"values": [1.0] * 59 + [-1.0]}, "key values[59]"),
        ({"learning": {"rate": 0}}, "key learning.rate"),
        ({"learning": {"speed": 1}}, "key learning.speed"),
        ({"sweep": {"applicants": [], "fake_pass": [0]}}, "key sweep.applicants"),
        ({"sweep": {"applicants": [10], "fake_pass": [2]}}, "key sweep.fake_pass"),
        ({"fake_pas": 0.5}, "key fake_pas"),
        ({"kind": "matching"}, "key kind"),
    ],
)
def test_each_bad_value_names_its_key(change: dict, key: str) -> None:
    with pytest.raises(InstanceError, match=re.escape(f"m.json, {key}:")):
        market_from_dict(small(**change), file="m.json")


def test_missing_required_keys_are_all_reported() -> None:
    with pytest.raises(InstanceError) as info:
        market_from_dict({"kind": "market"}, file="m.json")
    text = str(info.value)
    for key in ("slots", "applicants", "values", "entry_cost", "rounds", "seeds"):
        assert f"key {key}: missing" in text


def test_several_problems_are_collected_into_one_error() -> None:
    with pytest.raises(InstanceError) as info:
        market_from_dict(small(slots=0, fake_pass=2, seeds=1), file="m.json")
    assert len(info.value.problems) == 3


def test_a_value_list_cannot_be_compared_at_another_demand() -> None:
    with pytest.raises(InstanceError, match="key compare_applicants"):
        market_from_dict(small(values=[5.0] * 60, compare_applicants=10), file="m.json")


def test_config_round_trips_through_its_spec() -> None:
    inst = market_from_dict(
        small(
            fake_pass=0.3,
            compare_applicants=20,
            sweep={"applicants": [10, 20], "fake_pass": [0, 1]},
        )
    )
    again = market_from_dict(inst.to_spec())
    assert again.to_spec() == inst.to_spec()


def test_cli_exits_2_naming_the_key_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps(small(fake_pass=-0.1)))
    out = tmp_path / "out"
    assert main(["simulate", "market", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json, key fake_pass" in err[0]
    assert not out.exists()


def test_cli_malformed_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.json"
    cfg.write_text("{")
    assert main(["simulate", "market", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert main(["simulate", "market", str(tmp_path / "nope.json")]) == 2


@pytest.mark.parametrize("name", ["market-high-demand.json", "market-low-demand.json"])
def test_shipped_configs_load(name: str) -> None:
    inst = load_market(REPO / "instances" / name)
    assert inst.kind == "market"
    high = inst.applicants > inst.slots
    assert high == (name == "market-high-demand.json")
