"""The ``kind: "offer_set"`` instance: loading, defaults, round trips and every validation error."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import slotopt
from slotopt import InstanceError
from slotopt.instance.offer_set import OfferSetInstance, default_lower_bound, offer_set_from_dict


def spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "offer_set",
        "name": "t",
        "slot_types": [
            {"name": "a", "capacity": 2, "weight": 2.0},
            {"name": "b", "capacity": 1, "weight": 1.0},
            {"name": "c", "capacity": 3, "weight": 0.5},
        ],
        "horizon": 4,
        "arrival_rate": 0.5,
        "beta": 1.0,
    }
    base.update(changes)
    return base


def with_type(i: int, **changes: Any) -> dict[str, Any]:
    s = spec()
    s["slot_types"][i] = {**s["slot_types"][i], **changes}
    return s


def problems_of(s: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(InstanceError) as info:
        offer_set_from_dict(s)
    return info.value.problems


def test_defaults_follow_section_6_1() -> None:
    inst = offer_set_from_dict(spec())
    assert inst.total_capacity == 6
    assert inst.lower_bound == max(0.25 * 6, 1) == 1.5
    assert inst.upper_bound == 6.0
    assert (inst.w0, inst.revenue) == (0.0, 1.0)
    assert inst.menu_effect == {"shape": "linear", "cap": False}
    assert inst.seed is None
    assert default_lower_bound(32) == 8.0 and default_lower_bound(3) == 1.0


def test_single_slot_gets_a_valid_upper_bound() -> None:
    s = spec(slot_types=[{"name": "x", "capacity": 1, "weight": 0.0}])
    inst = offer_set_from_dict(s)
    assert (inst.lower_bound, inst.upper_bound) == (1.0, 2.0)


def test_arrival_list_is_in_calendar_order() -> None:
    inst = offer_set_from_dict(spec(arrival_rate=[0.1, 0.2, 0.3, 0.4]))
    # period tau = 4 comes first in the file; alpha()[t - 1] is alpha_t
    assert inst.alpha().tolist() == [0.4, 0.3, 0.2, 0.1]
    assert offer_set_from_dict(spec()).alpha().tolist() == [0.5] * 4


def test_round_trip_and_unknown_keys_kept(tmp_path: Path) -> None:
    s = spec(description="kept", menu_effect={"shape": "inverse_u", "peak": 2, "scarcity": 0.5})
    inst = offer_set_from_dict(s)
    assert inst.meta == {"description": "kept"}
    again = offer_set_from_dict(inst.to_spec())
    assert again.to_spec() == inst.to_spec()
    slotopt.write_instance(inst, tmp_path / "inst")
    loaded = slotopt.load_instance(tmp_path / "inst")
    assert isinstance(loaded, OfferSetInstance)
    assert loaded.to_spec() == inst.to_spec()
    assert loaded.source == tmp_path / "inst"
    assert set(loaded.input_sha256) == {"instance.json"}


@pytest.mark.parametrize("name", ["offer-set-paper", "offer-set-day"])
def test_shipped_instances_load(repo: Path, name: str) -> None:
    inst = slotopt.load_instance(repo / "instances" / name)
    assert inst.kind == "offer_set" and inst.name == name
    if name == "offer-set-day":
        assert inst.capacities == (8, 8, 8, 8) and inst.horizon == 96 and inst.n_states == 9**4
        assert inst.lower_bound == 8.0 and inst.upper_bound == 32.0
    else:
        assert inst.capacities == (2, 1) and inst.weights == (2.0, 1.0) and inst.horizon == 8


# -- one test per validation error -----------------------------------------------------------


def test_negative_capacity() -> None:
    (p,) = problems_of(with_type(2, capacity=-1))
    assert p == "instance.json, key slot_types[2].capacity: expected a non-negative integer, got -1"


def test_non_integer_capacity() -> None:
    (p,) = problems_of(with_type(1, capacity=1.5))
    assert p.startswith(
        "instance.json, key slot_types[1].capacity: expected a non-negative integer"
    )


def test_missing_capacity() -> None:
    s = spec()
    del s["slot_types"][0]["capacity"]
    (p,) = problems_of(s)
    assert p.startswith("instance.json, key slot_types[0].capacity: missing")


def test_zero_total_capacity() -> None:
    s = spec(slot_types=[{"name": "x", "capacity": 0, "weight": 1.0}])
    assert any("total capacity is 0" in p for p in problems_of(s))


@pytest.mark.parametrize("bad", [math.nan, math.inf, "heavy", None, True])
def test_non_finite_weight(bad: object) -> None:
    (p,) = problems_of(with_type(0, weight=bad))
    assert p.startswith("instance.json, key slot_types[0].weight:")


def test_duplicate_type_names() -> None:
    (p,) = problems_of(with_type(1, name="a"))
    assert p == "instance.json, key slot_types[1].name: duplicate slot type name 'a'"


@pytest.mark.parametrize("bad", [[], "abc", [1, 2]])
def test_slot_types_not_a_list_of_objects(bad: object) -> None:
    assert all(
        p.startswith("instance.json, key slot_types") for p in problems_of(spec(slot_types=bad))
    )


def test_lower_bound_not_below_upper_bound() -> None:
    (p,) = problems_of(spec(lower_bound=4, upper_bound=4))
    assert p == (
        "instance.json, key lower_bound: the lower bound a = 4 must be below the upper bound b = 4"
    )


def test_negative_lower_bound() -> None:
    (p,) = problems_of(spec(lower_bound=-1))
    assert p.startswith("instance.json, key lower_bound: expected a number >= 0")


@pytest.mark.parametrize("bad", [0, -0.1, 1.01, math.nan, "often"])
def test_arrival_rate_outside_unit_interval(bad: object) -> None:
    (p,) = problems_of(spec(arrival_rate=bad))
    assert p.startswith("instance.json, key arrival_rate: expected a probability in (0, 1]")


def test_arrival_list_entry_outside_unit_interval() -> None:
    (p,) = problems_of(spec(arrival_rate=[0.5, 0.5, 2, 0.5]))
    assert p == "instance.json, key arrival_rate[2]: expected a probability in (0, 1], got 2"


def test_arrival_list_wrong_length() -> None:
    (p,) = problems_of(spec(arrival_rate=[0.5, 0.5]))
    assert p == (
        "instance.json, key arrival_rate: expected 4 values (one per period, period 4 first), got 2"
    )


@pytest.mark.parametrize("bad", [math.nan, -math.inf, "big", None])
def test_non_finite_beta(bad: object) -> None:
    (p,) = problems_of(spec(beta=bad))
    assert p.startswith("instance.json, key beta:")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "long"])
def test_horizon_below_one_or_not_integer(bad: object) -> None:
    problems = problems_of(spec(horizon=bad))
    assert problems[0].startswith("instance.json, key horizon: expected an integer >= 1")


def test_non_positive_revenue() -> None:
    (p,) = problems_of(spec(revenue=0))
    assert p == "instance.json, key revenue: expected r > 0, got 0"


def test_non_finite_w0() -> None:
    (p,) = problems_of(spec(w0=math.inf))
    assert p.startswith("instance.json, key w0: expected a finite number")


def test_unknown_menu_effect_shape() -> None:
    (p,) = problems_of(spec(menu_effect={"shape": "cubic"}))
    assert p.startswith("instance.json, key menu_effect.shape: expected one of 'linear'")


def test_piecewise_points_must_increase() -> None:
    (p,) = problems_of(spec(menu_effect={"shape": "piecewise", "points": [[2, 0], [1, 1]]}))
    assert p.startswith("instance.json, key menu_effect.points: sigma values must increase")


def test_piecewise_needs_two_points() -> None:
    (p,) = problems_of(spec(menu_effect={"shape": "piecewise", "points": [[2, 0]]}))
    assert p.startswith("instance.json, key menu_effect.points: expected at least two")


def test_inverse_u_peak_inside_bounds() -> None:
    (p,) = problems_of(spec(menu_effect={"shape": "inverse_u", "peak": 9}))
    assert p == "instance.json, key menu_effect.peak: expected 0 < peak < upper_bound (6), got 9"


def test_linear_cap_must_be_boolean() -> None:
    (p,) = problems_of(spec(menu_effect={"shape": "linear", "cap": "yes"}))
    assert p == "instance.json, key menu_effect.cap: expected true or false, got 'yes'"


def test_negative_seed() -> None:
    (p,) = problems_of(spec(seed=-1))
    assert p == "instance.json, key seed: expected a non-negative integer, got -1"


def test_wrong_kind() -> None:
    (p,) = problems_of(spec(kind="matching"))
    assert p == "instance.json, key kind: expected 'offer_set', got 'matching'"


def test_all_problems_are_collected(tmp_path: Path) -> None:
    s = with_type(2, capacity=-1)
    s.update(horizon=0, beta=math.nan, arrival_rate=1.5)
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "instance.json").write_text(json.dumps(s))
    with pytest.raises(InstanceError) as info:
        slotopt.load_instance(folder)
    msg = str(info.value)
    for key in ("slot_types[2].capacity", "horizon", "beta", "arrival_rate"):
        assert f"instance.json, key {key}:" in msg
    assert len(info.value.problems) == 4
