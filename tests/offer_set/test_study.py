"""The Kaluza et al. (2024) study: design sizes per reading, agreement with the engines, the
paper's claims that must hold under any reading (DP >= every rule, Theorem 1), the published
numbers that the default reading is documented to reproduce (docs/reproductions/kaluza2024.md),
and the CLI through ``main()``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slotopt._atomic import OutputError, OutputExistsError
from slotopt.engines.offer_set.dp import backward_induction, evaluate_policy
from slotopt.engines.offer_set.rules import RULES, evaluate_rules
from slotopt.errors import UsageError
from slotopt.instance.offer_set import offer_set_from_dict
from slotopt.run.cli import main
from slotopt.run.studies.kaluza import (
    MYOPIC_RTOL,
    READINGS,
    KaluzaStudy,
    Reading,
    design,
    instance_spec,
    run_kaluza_study,
)

TOL = 1e-9


@pytest.fixture(scope="module")
def study() -> KaluzaStudy:
    """The full factorial study under the default reading (about 2 s)."""
    return run_kaluza_study()


# --- the design --------------------------------------------------------------------------


@pytest.mark.parametrize("reading", Reading.all(), ids=lambda r: r.key)
def test_design_has_the_documented_number_of_instances(reading: Reading) -> None:
    # 4 sizes x 2 horizons x 3 weights x 3 arrival rates x |beta grid| (Sect. 6.1, Table 4).
    expected = 936 if reading.betas == "half-steps" else 432
    table = design(reading)
    assert len(table) == expected
    assert table["instance"].tolist() == list(range(expected))
    assert not table.duplicated(["kappa", "tau_hat", "w_h", "alpha", "beta"]).any()


def test_design_follows_table4_and_the_reading() -> None:
    table = design("a=sect6.1,periods=tau-hat")
    caps = table.groupby("kappa")[["kappa_h", "kappa_l"]].first()
    assert caps.to_dict("index") == {
        3: {"kappa_h": 2, "kappa_l": 1},
        4: {"kappa_h": 2, "kappa_l": 2},
        5: {"kappa_h": 3, "kappa_l": 2},
        6: {"kappa_h": 4, "kappa_l": 2},
    }
    assert (table["horizon"] == table["tau_hat"]).all()
    assert table.groupby("kappa")["a"].first().to_dict() == {3: 1.0, 4: 1.0, 5: 1.25, 6: 1.5}
    default = design()
    assert (default["horizon"] == default["tau_hat"] - 1).all()
    assert (default["a"] == 1.0).all()
    assert sorted(default["tau_hat"].unique()) == [6, 8, 9, 10, 12, 15, 18]


def test_reading_parse_presets_pairs_and_errors() -> None:
    assert Reading.parse(None) == Reading() == READINGS["default"]
    assert Reading.parse("literal") == Reading(a="sect6.1", periods="tau-hat", betas="sect6.1")
    r = Reading.parse(" periods=tau-hat , betas=sect6.1 ")
    assert r == Reading(a="sect6.3.1", periods="tau-hat", betas="sect6.1")
    assert Reading.parse(r.key) == r
    for bad in ("nonsense", "a=sect9", "colour=red", "a"):
        with pytest.raises(UsageError):
            Reading.parse(bad)
    with pytest.raises(UsageError):
        design(kappas=[7])


# --- agreement with the engines -------------------------------------------------------------


def test_study_values_equal_the_engines_solved_one_instance_at_a_time() -> None:
    st = run_kaluza_study(
        "a=sect6.1", kappas=[3, 5], high_weights=[2.0], alphas=[0.2, 0.8], betas=[0.5, 3.0]
    )
    assert len(st.instances) == 2 * 2 * 2 * 2
    for _, row in st.instances.iterrows():
        inst = offer_set_from_dict(instance_spec(row))
        sol = backward_induction(inst)
        rules = evaluate_rules(inst, solution=sol, n_runs=0)
        assert row["optimal"] == pytest.approx(sol.optimal_value, rel=1e-12)
        for rule in RULES:
            assert row[rule] == pytest.approx(rules[rule].expected_revenue, rel=1e-12)


def test_sensitivity_value_is_the_estimated_policy_evaluated_under_the_actual_beta() -> None:
    st = run_kaluza_study(kappas=[4], high_weights=[2.0], alphas=[0.5], betas=[1.0, 3.0])
    sens = st.sensitivity
    assert sens is not None
    row = sens[(sens["tau_hat"] == 12) & (sens["beta_e"] == 1.0) & (sens["beta_a"] == 3.0)]
    assert len(row) == 1
    base = st.instances[(st.instances["tau_hat"] == 12) & (st.instances["beta"] == 1.0)].iloc[0]
    estimated = offer_set_from_dict(instance_spec(base))
    actual = offer_set_from_dict({**estimated.to_spec(), "beta": 3.0})
    policy = backward_induction(estimated).policy
    values = evaluate_policy(actual, policy)
    assert row["value"].iloc[0] == pytest.approx(values[-1, -1], rel=1e-12)
    assert row["optimal"].iloc[0] == pytest.approx(
        backward_induction(actual).optimal_value, rel=1e-12
    )
    # The correct estimate loses nothing.
    diag = sens[sens["beta_e"] == sens["beta_a"]]
    assert diag["delta_pct"].abs().max() < 1e-9


# --- claims that hold under every reading ---------------------------------------------------


def test_no_rule_beats_the_optimum(study: KaluzaStudy) -> None:
    df = study.instances
    for rule in RULES:
        assert (df[f"gap_pct_{rule}"] >= -100 * TOL).all(), rule
    assert (df["gap_pct_r_myopic"] >= -100 * MYOPIC_RTOL).all()


def test_theorem1_myopic_is_optimal_when_weights_are_equal(study: KaluzaStudy) -> None:
    # Theorem 1 (Sect. 5.1, Appendix F): with w_h = w_l the myopic rule is optimal.
    homogeneous = study.instances[study.instances["w_h"] == study.instances["w_l"]]
    assert len(homogeneous) == 312
    assert not homogeneous["myopic_suboptimal"].any()
    assert homogeneous["gap_pct_r_myopic"].abs().max() < 100 * TOL


def test_theorem1_off_the_papers_grid() -> None:
    st = run_kaluza_study(
        "a=sect6.1,periods=tau-hat",
        high_weights=[1.0],
        alphas=[0.35, 1.0],
        betas=[0.25, 2.25, 7.0],
        sensitivity=False,
    )
    assert not st.instances["myopic_suboptimal"].any()
    assert st.instances["gap_pct_r_myopic"].abs().max() < 100 * TOL


def test_table5_structure(study: KaluzaStudy) -> None:
    t5 = study.table5()
    assert list(t5["factor"]) == ["w_h"] * 3 + ["alpha"] * 3
    assert list(t5["level"]) == [1.0, 2.0, 5.0, 0.2, 0.5, 0.8]
    betas = [f"{0.5 * i:g}" for i in range(13)]
    assert list(t5.columns) == ["factor", "level", *betas, "overall", "overall_all_betas"]
    # Without the quality-inference effect nothing is gained by blocking.
    assert t5["0"].abs().max() < 1e-9
    # Every row of a factor averages the same instances: the row means agree across factors.
    by_factor = t5.groupby("factor")[[*betas, "overall_all_betas"]].mean()
    pd.testing.assert_series_equal(
        by_factor.loc["w_h"], by_factor.loc["alpha"], check_names=False, rtol=1e-12
    )
    # "overall" averages Table 5's printed columns (balanced design: their plain mean).
    printed = ["0", "0.5", "1", "1.5", "3"]
    np.testing.assert_allclose(t5["overall"], t5[printed].mean(axis=1), rtol=1e-12)
    # Relative to the smaller no-blocking value the same gain is a larger percentage.
    literal = study.table5(relative_to="no_blocking", overall_betas=None)
    assert (literal[betas].to_numpy() >= t5[betas].to_numpy() - 1e-9).all()
    np.testing.assert_allclose(literal["overall"], literal["overall_all_betas"], rtol=1e-12)
    with pytest.raises(UsageError):
        study.table5(average="median")  # type: ignore[arg-type]


def test_rules_table_structure(study: KaluzaStudy) -> None:
    rules = study.rules_table()
    assert set(rules["rule"]) == set(RULES)
    assert len(rules) == 3 * (13 + 1) * len(RULES)
    overall = rules[rules["beta"].isna()]
    assert (overall["n_instances"] == 312).all()


# --- published numbers (default reading; docs/reproductions/kaluza2024.md) ----------------


def test_appendix_g_183_of_936_myopic_suboptimal(study: KaluzaStudy) -> None:
    # Appendix G: "We observe 183 of 936 instances ... in which the myopic rule performs
    # (slightly) worse than the optimal blocking strategy."
    s = study.summary()
    assert s["n_instances"] == 936
    assert s["myopic_suboptimal"] == 183
    # Sect. 6.3.2: optimal for w_h = w_l and for the extreme cases beta = 0 and beta = 6.
    sub = study.instances[study.instances["myopic_suboptimal"]]
    assert not sub["beta"].isin([0.0, 6.0]).any()


def test_appendix_g_instance_value_and_policy() -> None:
    # Appendix G, footnote 7: kappa = (2, 1), tau_hat = 9, alpha = 0.5, beta = 0.5, w = (2, 1):
    # "the dynamic program yields an expected profit of 2.673"; blocking type 2 in the full state
    # is optimal only in periods t in (2, 1), not in t in (8, ..., 3).
    st = run_kaluza_study(
        kappas=[3], high_weights=[2.0], alphas=[0.5], betas=[0.5], sensitivity=False
    )
    row = st.instances[st.instances["tau_hat"] == 9].iloc[0]
    assert round(row["optimal"], 3) == 2.673
    assert row["r_myopic"] < row["optimal"]
    sol = backward_induction(offer_set_from_dict(instance_spec(row)))
    assert sol.horizon == 8
    assert [sol.offer(t, (2, 1)) for t in range(8, 0, -1)] == [(2, 1)] * 6 + [(2, 0)] * 2


def test_table5_weight_rows(study: KaluzaStudy) -> None:
    # Table 5, rows w_h = 1, 2, 5 (columns beta = 0, 0.5, 1, 1.5, 3 and overall), in per cent.
    published = {
        1.0: [0, 0, 0, 3, 30, 7],
        2.0: [0, 0, 1, 2, 19, 4],
        5.0: [0, 0, 0, 0, 2, 0],
    }
    t5 = study.table5().set_index("level")
    for wh, values in published.items():
        ours = t5.loc[wh, ["0", "0.5", "1", "1.5", "3", "overall"]].to_numpy(dtype=float)
        assert [round(x) + 0 for x in ours] == values, wh


def test_sect62_size_and_horizon_extremes(study: KaluzaStudy) -> None:
    # Sect. 6.2: no-blocking losses "between 2% (6 slots) and 6% (3 Slots)" and "between 2%
    # (tau = 18) and 7% (tau = 6)", averaged like Table 5 (its printed beta columns).
    df = study.instances[study.instances["beta"].isin([0.0, 0.5, 1.0, 1.5, 3.0])]
    by_kappa = df.groupby("kappa")["gap_pct_no_blocking"].mean()
    by_tau = df.groupby("tau_hat")["gap_pct_no_blocking"].mean()
    assert (round(by_kappa[6]), round(by_kappa[3])) == (2, 6)
    assert (round(by_tau[18]), round(by_tau[6])) == (2, 7)


def test_sect633_under_and_overestimation(study: KaluzaStudy) -> None:
    # Sect. 6.3.3: underestimation -10.14 %, overestimation -1.38 % on average.
    s = study.summary()["sensitivity"]
    assert round(s["underestimation_pooled_delta_pct"], 2) == -10.14
    assert round(s["overestimation_pooled_delta_pct"], 2) == -1.38


def test_paper_comparison_lists_exactly_the_documented_differences(study: KaluzaStudy) -> None:
    # docs/reproductions/kaluza2024.md: under the default reading everything is reproduced except
    # the arrival-rate rows of Table 5 (12 of their 18 cells), Sect. 6.3.2's "< 0.01 %" and
    # Appendix G's myopic 2.688 (which exceeds the paper's own optimum 2.673).
    paper = study.paper()
    assert study.is_full_design
    assert len(paper) == 47
    assert paper["match"].notna().all()
    missed = paper[~paper["match"].astype(bool)]
    assert len(missed) == 14
    assert set(missed["source"]) == {"Table 5", "Sect. 6.3.2", "Appendix G"}
    assert missed[missed["source"] == "Table 5"]["quantity"].str.startswith("lambda").all()
    assert set(missed[missed["source"] == "Appendix G"]["published"]) == {"2.688"}
    assert study.summary()["paper_numbers_reproduced"] == {"matched": 33, "compared": 47}


def test_paper_comparison_on_a_sub_design_leaves_missing_numbers_empty() -> None:
    st = run_kaluza_study(kappas=[3], high_weights=[2.0], alphas=[0.5], betas=[0.5, 1.0])
    paper = st.paper()
    assert not st.is_full_design
    # Counts and averages of a sub-design say nothing about the paper's: only the instance of
    # Appendix G is compared.
    compared = paper[paper["match"].notna()]
    assert list(compared["published"]) == ["2.673", "2.688"]
    row = paper[paper["published"] == "2.673"].iloc[0]
    assert row["match"] is True and row["ours_rounded"] == 2.673


# --- outputs and the CLI ----------------------------------------------------------------------

FILES = {
    "instances.csv",
    "paper.csv",
    "table5.csv",
    "rules.csv",
    "sensitivity.csv",
    "table5.png",
    "rules.png",
    "sensitivity.png",
    "summary.json",
}


def test_cli_writes_every_file_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kaluza"
    assert main(["study", "kaluza", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == FILES
    summary = json.loads((out / "summary.json").read_text())
    for key in ("n_instances", "myopic_suboptimal", "mean_myopic_gap_pct", "reading", "seconds"):
        assert key in summary
    assert summary["reading"] == Reading().key
    assert summary["n_instances"] == len(pd.read_csv(out / "instances.csv")) == 936
    assert "183 instances" in capsys.readouterr().out
    before = (out / "summary.json").read_text()
    assert main(["study", "kaluza", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == before
    assert main(["study", "kaluza", "--out", str(tmp_path / "x"), "--reading", "a=bad"]) == 2
    assert not (tmp_path / "x").exists()


def test_to_folder_force_replaces_whole_folder(tmp_path: Path) -> None:
    st = run_kaluza_study(kappas=[3], high_weights=[2.0], alphas=[0.5], betas=[0.0, 1.0])
    out = tmp_path / "small"
    st.to_folder(out)
    (out / "stray.txt").write_text("left by a user")
    with pytest.raises(OutputExistsError):
        st.to_folder(out)
    assert (out / "stray.txt").exists()
    with pytest.raises(OutputError, match="holds files slotopt did not write"):
        st.to_folder(out, force=True)  # --force never deletes a user's file
    (out / "stray.txt").unlink()
    st.to_folder(out, force=True)
    assert {p.name for p in out.iterdir()} == FILES
    t5 = pd.read_csv(out / "table5.csv")
    assert len(t5) == 2 and np.isnan(t5["overall"]).sum() == 0
