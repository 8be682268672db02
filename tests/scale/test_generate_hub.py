"""The hub-shape generator: seeded, deterministic, and shaped as documented in
docs/generator.md (checked on the arrays, not on our own printed figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slotopt.instance import load_instance
from slotopt.instance.generate import generate_hub, instance_statistics
from slotopt.run.cli import main


def test_same_seed_same_tables_other_seed_differs() -> None:
    a, b, c = generate_hub(2_000, seed=5), generate_hub(2_000, seed=5), generate_hub(2_000, seed=6)
    for name in ("slots", "applicants", "acceptable"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.acceptable.equals(c.acceptable)


def test_shape_sites_blocks_and_capacities() -> None:
    inst = generate_hub(60_000, seed=1)  # 3 sites x 5 days x 40 windows
    assert inst.n_slots == 3 * 5 * 40
    assert inst.capacity.min() >= 1 and inst.capacity.max() <= 40
    # demand about three times supply
    assert 2.7 < inst.n_applicants / inst.total_capacity < 3.3
    # every applicant: 1-3 sites, the same block of consecutive windows on one day at each
    ids = inst.slot_ids
    site = np.array([s.split("-")[0] for s in ids])
    day = np.array([s.split("-")[1] for s in ids])
    window = np.arange(inst.n_slots) % 40
    for i in range(0, inst.n_applicants, 997):
        slots = inst.acceptable_slots(i)
        sites = list(dict.fromkeys(site[slots].tolist()))
        assert 1 <= len(sites) <= 3
        assert len(set(day[slots].tolist())) == 1
        blocks = [sorted(window[slots][site[slots] == s].tolist()) for s in sites]
        assert all(b == blocks[0] for b in blocks)
        assert blocks[0] == list(range(blocks[0][0], blocks[0][-1] + 1))
    # ranks: home site first, windows in time order
    first = inst.acceptable_slots(0)
    assert np.all(np.diff(first[site[first] == site[first[0]]]) == 1)


def test_statistics_count_distinct_sets() -> None:
    inst = generate_hub(3_000, seed=2)
    stats = instance_statistics(inst)
    sets = {tuple(sorted(inst.acceptable_slots(i).tolist())) for i in range(inst.n_applicants)}
    assert stats["distinct_acceptable_sets"] == len(sets)
    assert stats["acceptable_pairs"] == len(inst.acceptable)
    assert stats["appointments"] == int(inst.slots["capacity"].sum())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_sites": 0}, "n_sites"),
        ({"mean_block": 0.5}, "mean_block"),
        ({"demand_ratio": 0.0}, "demand_ratio"),
        ({"site_count_shares": (0.5, 0.5)}, "site_count_shares"),
        ({"windows_per_day": 100}, "do not fit"),
        ({"max_capacity": 0}, "max_capacity"),
    ],
)
def test_bad_parameters_are_value_errors(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        generate_hub(100, seed=0, **kwargs)


def test_cli_hub_shape_writes_a_loadable_folder(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "hub"
    assert (
        main(["generate", str(out), "--applicants", "2000", "--shape", "hub", "--seed", "3"]) == 0
    )
    printed = capsys.readouterr().out
    inst = load_instance(out)
    assert f"distinct acceptable sets {inst.types.n_types:,}" in printed
    assert inst.meta["generated_by"].endswith("--seed 3 --shape hub")
    direct = generate_hub(2000, seed=3)
    assert np.array_equal(inst.capacity, direct.capacity)
    assert np.array_equal(inst.acc_slot, direct.acc_slot)


def test_cli_hub_refuses_prefecture_options(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(
        [
            "generate",
            str(tmp_path / "x"),
            "--applicants",
            "10",
            "--shape",
            "hub",
            "--supply-ratio",
            "2",
        ]
    )
    assert code == 2
    assert "--supply-ratio" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
