"""The prefecture-week generator: determinism, the shapes and parameters it promises, the
structure of its availability model, and that what it writes loads back unchanged."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotopt import load_instance, write_instance
from slotopt.instance import MatchingInstance
from slotopt.instance.generate import generate_prefecture


def assert_same_instance(a: MatchingInstance, b: MatchingInstance) -> None:
    for name in ("slots", "applicants", "acceptable"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    for name in ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_same_seed_gives_identical_frames() -> None:
    kwargs = dict(n_slots=500, pairs_per_applicant=9.0)
    assert_same_instance(
        generate_prefecture(2_000, seed=11, **kwargs), generate_prefecture(2_000, seed=11, **kwargs)
    )


def test_different_seeds_differ() -> None:
    a, b = generate_prefecture(2_000, seed=1), generate_prefecture(2_000, seed=2)
    assert not a.acceptable.equals(b.acceptable)
    assert not np.array_equal(a.priority, b.priority)
    assert not np.array_equal(a.capacity, b.capacity)


def test_default_calendar_is_three_sites_a_week_of_15_minute_slots() -> None:
    inst = generate_prefecture(500, seed=3)
    slots = inst.slots
    assert inst.n_slots == 3 * 5 * 28
    assert sorted(slots["location"].unique()) == ["S1", "S2", "S3"]
    start = pd.to_datetime(slots["start"])
    end = pd.to_datetime(slots["end"])
    assert ((end - start) == pd.Timedelta(minutes=15)).all()
    assert sorted(start.dt.date.astype(str).unique()) == [
        "2025-03-03",
        "2025-03-04",
        "2025-03-05",
        "2025-03-06",
        "2025-03-07",
    ]
    assert start.dt.strftime("%H:%M").min() == "08:30"
    assert end.dt.strftime("%H:%M").max() == "16:30"
    assert not ((start.dt.hour == 12) & (start.dt.minute >= 30)).any()  # lunch break
    assert set(slots["slot_type"]) == {"morning", "afternoon"}
    assert slots["slot_id"].iloc[0] == "S1-D1-0830"


def test_ids_tiers_and_identity() -> None:
    inst = generate_prefecture(1_000, seed=5)
    apps = inst.applicants
    assert apps["applicant_id"].is_unique and apps["applicant_id"].iloc[0] == "A0001"
    assert set(np.unique(inst.priority)) == {1, 2, 3}
    shares = np.bincount(inst.priority, minlength=4)[1:] / inst.n_applicants
    np.testing.assert_allclose(shares, [0.1, 0.3, 0.6], atol=0.04)
    assert apps["identity"].is_unique
    assert "identity" not in generate_prefecture(10, seed=5, identity=False).applicants


def test_custom_tiers() -> None:
    inst = generate_prefecture(400, seed=5, tier_shares=(0.5, 0.5))
    assert set(np.unique(inst.priority)) == {1, 2}


@pytest.mark.parametrize("n_slots", [1, 139, 140, 141, 500, 3000])
def test_n_slots_is_exact(n_slots: int) -> None:
    inst = generate_prefecture(300, seed=2, n_slots=n_slots)
    assert inst.n_slots == n_slots
    assert inst.slots["slot_id"].is_unique
    assert inst.meta["generator"]["parameters"]["n_sites"] == -(-n_slots // 140)


def test_n_sites() -> None:
    inst = generate_prefecture(300, seed=2, n_sites=5, days=2)
    assert inst.n_slots == 5 * 2 * 28
    assert inst.slots["location"].nunique() == 5


def test_supply_ratio_sets_total_capacity() -> None:
    for ratio in (0.5, 0.7, 1.5):
        inst = generate_prefecture(20_000, seed=4, supply_ratio=ratio)
        assert inst.total_capacity == pytest.approx(ratio * 20_000, rel=0.03)
        assert (inst.capacity >= 0).all()


@pytest.mark.parametrize("target", [6.0, 9.0, 14.0, 30.0])
def test_pairs_per_applicant_is_hit_on_average(target: float) -> None:
    inst = generate_prefecture(20_000, seed=8, n_slots=3_000, pairs_per_applicant=target)
    assert len(inst.acc_slot) / inst.n_applicants == pytest.approx(target, rel=0.04)


def test_benchmark_shape() -> None:
    """100k / 3k / ~900k with demand above supply, as benchmarks/bench_matching.py uses it."""
    inst = generate_prefecture(100_000, seed=1, n_slots=3_000, pairs_per_applicant=9.0)
    assert (inst.n_applicants, inst.n_slots) == (100_000, 3_000)
    assert 850_000 <= len(inst.acc_slot) <= 950_000
    assert inst.total_capacity < inst.n_applicants
    # realistic sharing: most applicants share their acceptable set, but there are many sets
    types = inst.types
    shared = types.size[types.size > 1].sum() / inst.n_applicants
    assert 0.5 < shared < 0.95
    assert types.n_types > 10_000


def test_scales_to_50k_quickly() -> None:
    start = time.perf_counter()
    inst = generate_prefecture(50_000, seed=9)
    seconds = time.perf_counter() - start
    assert inst.n_applicants == 50_000
    assert seconds < 30  # about 1 s on a laptop; generous for a loaded CI runner


def _site_day_runs(inst: MatchingInstance) -> pd.DataFrame:
    """One row per (applicant, site, day) with the acceptable slots' first/last time index."""
    slot_pos = inst.slots.reset_index(drop=True)
    parts = slot_pos["slot_id"].str.extract(r"^(S\d+)-D(\d+)-(\d{2})(\d{2})$")
    minutes = parts[2].astype(int) * 60 + parts[3].astype(int)
    acc = pd.DataFrame(
        {
            "app": np.repeat(np.arange(inst.n_applicants), np.diff(inst.acc_indptr)),
            "site": parts[0].to_numpy()[inst.acc_slot],
            "day": parts[1].astype(int).to_numpy()[inst.acc_slot],
            "minute": minutes.to_numpy()[inst.acc_slot],
            "slot_type": slot_pos["slot_type"].to_numpy()[inst.acc_slot],
        }
    )
    return acc.groupby(["app", "site", "day"]).agg(
        first=("minute", "min"),
        last=("minute", "max"),
        n=("minute", "size"),
        periods=("slot_type", "nunique"),
    )


def test_acceptable_sets_are_windows_of_whole_blocks_at_one_or_two_neighbouring_sites() -> None:
    inst = generate_prefecture(3_000, seed=12)
    runs = _site_day_runs(inst)
    # one window a day: contiguous 15-minute slots inside one period, whole hours
    assert (runs["periods"] == 1).all()
    assert ((runs["last"] - runs["first"]) // 15 + 1 == runs["n"]).all()
    assert (runs["n"] % 4 == 0).all()
    assert ((runs["first"] - 8 * 60 - 30) % 60 == 0).all()  # windows start on the hour grid
    sites = runs.reset_index().groupby("app")["site"].unique()
    assert sites.map(len).max() == 2
    for pair in sites[sites.map(len) == 2]:
        a, b = sorted(int(s[1:]) for s in pair)
        assert b - a == 1
    # the same times at both sites (the form's two checklists)
    two = runs.reset_index().groupby(["app", "day"])[["first", "last"]].nunique()
    assert (two.to_numpy() == 1).all()


def test_ranks_are_a_preference_order_per_applicant() -> None:
    inst = generate_prefecture(2_000, seed=13)
    counts = np.diff(inst.acc_indptr)
    assert (counts > 0).all()
    expected = np.concatenate([np.arange(1, c + 1) for c in counts])
    np.testing.assert_array_equal(inst.acc_rank, expected)


def test_demand_exceeds_supply_and_many_share_a_set() -> None:
    inst = generate_prefecture(20_000, seed=14)
    assert inst.total_capacity < inst.n_applicants
    types = inst.types
    assert types.size.max() >= 10
    assert types.n_types < inst.n_applicants / 2


def test_meta_records_every_parameter() -> None:
    inst = generate_prefecture(100, seed=6, n_slots=200, pairs_per_applicant=9.0, name="x")
    params = inst.meta["generator"]["parameters"]
    assert params["seed"] == 6 and params["n_slots"] == 200 and params["pairs_per_applicant"] == 9.0
    assert inst.seed == 6 and inst.name == "x"
    again = generate_prefecture(
        params["n_applicants"],
        seed=params["seed"],
        n_slots=params["n_slots"],
        pairs_per_applicant=params["pairs_per_applicant"],
        name="x",
    )
    assert_same_instance(inst, again)


def test_written_instance_loads_back_unchanged(tmp_path: Path) -> None:
    inst = generate_prefecture(500, seed=15, n_slots=300)
    write_instance(inst, tmp_path / "inst")
    back = load_instance(tmp_path / "inst")
    assert back.seed == 15 and back.name == inst.name
    assert back.meta["generator"] == inst.meta["generator"]
    for name in ("capacity", "priority", "acc_indptr", "acc_slot", "acc_rank"):
        np.testing.assert_array_equal(getattr(back, name), getattr(inst, name))
    np.testing.assert_array_equal(back.applicant_ids, inst.applicant_ids)
    np.testing.assert_array_equal(back.slot_ids, inst.slot_ids)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_sites=2, n_slots=10), "not both"),
        (dict(n_slots=0), "n_slots"),
        (dict(n_sites=0), "n_sites"),
        (dict(days=0), "days"),
        (dict(tier_shares=(0.5, 0.4)), "tier_shares"),
        (dict(pairs_per_applicant=2.0), "pairs_per_applicant"),
        (dict(pairs_per_applicant=1e4), "pairs_per_applicant"),
        (dict(block_minutes=50), "block_minutes"),
        (dict(opening_hours=(("09:00", "08:00"),)), "opening period"),
        (dict(opening_hours=(("9h", "10:00"),)), "HH:MM"),
        (dict(period_weights=(1.0,)), "period_weights"),
        (dict(second_site_share=1.5), "second_site_share"),
        (dict(supply_ratio=0.0), "supply_ratio"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_prefecture(10, seed=0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_applicant_count(n: object) -> None:
    with pytest.raises(ValueError, match="n_applicants"):
        generate_prefecture(n, seed=0)  # type: ignore[arg-type]


@settings(max_examples=25)
@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**63),
    n_slots=st.one_of(st.none(), st.integers(1, 700)),
    days=st.integers(1, 7),
    second=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_any_small_generated_instance_is_consistent(
    n: int, seed: int, n_slots: int | None, days: int, second: float
) -> None:
    inst = generate_prefecture(n, seed=seed, n_slots=n_slots, days=days, second_site_share=second)
    assert inst.n_applicants == n
    if n_slots is not None:
        assert inst.n_slots == n_slots
    owner = np.repeat(np.arange(n), np.diff(inst.acc_indptr))
    pairs = pd.DataFrame({"a": owner, "s": inst.acc_slot})
    assert not pairs.duplicated().any()
    assert ((inst.acc_slot >= 0) & (inst.acc_slot < inst.n_slots)).all()
