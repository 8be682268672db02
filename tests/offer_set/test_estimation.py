"""β estimation: closed forms derived by hand, the paper's survey estimates (Sect. 3.4), simulated
recovery with a fixed seed, derivative checks, and one test per validation error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.offer_set.choice import LinearRamp
from slotopt.engines.offer_set.estimate import (
    build_likelihood,
    fit_choice_model,
    two_option_beta,
)
from slotopt.errors import InstanceError
from slotopt.instance.choices import choices_from_frame, load_choices, split_by
from slotopt.run.cli import main

SURVEY = Path(__file__).resolve().parents[2] / "instances" / "kaluza-survey"
COLUMNS = ["situation_id", "alternative", "shown", "chosen"]


def two_option_table(n: int, chose_first: int, first: int, second: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append((f"s{i}", "A", first, int(i < chose_first)))
        rows.append((f"s{i}", "B", second, int(i >= chose_first)))
    return pd.DataFrame(rows, columns=COLUMNS)


# --- closed forms ----------------------------------------------------------------------------


@given(
    n=st.integers(2, 300),
    data=st.data(),
    sizes=st.tuples(st.integers(1, 40), st.integers(1, 40)).filter(lambda p: p[0] != p[1]),
)
def test_two_alternatives_match_the_hand_derived_closed_form(n, data, sizes):
    # P(A) = 1 / (1 + exp(-beta (f_B - f_A))); the score vanishes where P(A) = y/n, so
    # beta = logit(y/n) / (f_B - f_A) and the information is n (f_B - f_A)^2 q (1 - q).
    y = data.draw(st.integers(1, n - 1))
    first, second = sizes
    a, b = 0.0, 40.0
    fit = fit_choice_model(
        choices_from_frame(two_option_table(n, y, first, second)), lower_bound=a, upper_bound=b
    )
    d = (second - first) / (b - a)
    q = y / n
    se = 1 / (abs(d) * math.sqrt(n * q * (1 - q)))
    # The optimiser stops on a gradient tolerance, so its error in beta is a tiny fraction of the
    # standard error, whatever the conditioning (|d| = 1/40 with extreme shares gives SE ~ 40).
    assert abs(fit.beta - math.log(q / (1 - q)) / d) <= 1e-6 * se
    assert fit.beta_se == pytest.approx(se, rel=1e-6)
    assert (fit.beta, fit.beta_se) == pytest.approx(two_option_beta(y, n, first / b, second / b))


def test_per_slot_two_alternatives_closed_form():
    # Eq. 5 with one slot type: P(A) = sA e^{-beta fA} / (sA e^{-beta fA} + sB e^{-beta fB}),
    # so logit(q) = log(sA / sB) + beta (fB - fA).
    n, y, sa, sb = 120, 45, 2, 8
    table = choices_from_frame(two_option_table(n, y, sa, sb))
    fit = fit_choice_model(table, model="per_slot", lower_bound=2, upper_bound=32)
    d = (sb - sa) / 30
    q = y / n
    assert fit.beta == pytest.approx((math.log(q / (1 - q)) - math.log(sa / sb)) / d, rel=1e-7)
    assert fit.beta_se == pytest.approx(1 / (d * math.sqrt(n * q * (1 - q))), rel=1e-7)


def test_outside_option_closed_form():
    # One provider, menu sizes 2 and 32 (f = 0 and 1), booking vs leaving, one slot type, no
    # weights: with sigma = 2, P(book) = 2 / (2 + 1); with sigma = 32, 32 e^{-beta} / (... + 1).
    # Fixing w = 0 (fit_weights=False) leaves beta alone: logit(q32) = log 32 - beta.
    rows = []
    for i in range(200):
        rows.append((f"big{i}", "P", 32, int(i < 150), 1))
    for i in range(3):
        rows.append((f"small{i}", "P", 2, int(i < 2), 1))
    df = pd.DataFrame(rows, columns=[*COLUMNS, "outside"])
    fit = fit_choice_model(
        choices_from_frame(df), model="per_slot", lower_bound=2, upper_bound=32, fit_weights=False
    )
    # the small situations have f = 0 and carry no information about beta
    assert fit.beta == pytest.approx(math.log(32) - math.log(150 / 50), rel=1e-7)
    assert fit.n_no_choice == 51


# --- the paper (Kaluza et al. 2024, Sect. 3.4 and Table 2) -------------------------------------


def test_shipped_first_choices_match_tables_1_and_2():
    table = load_choices(SURVEY / "choices.csv")
    assert table.n_situations == 248  # Sect. 3.4: "first decision of each subject (248 obs.)"
    rows = table.rows
    for treatment, n, small, large, pct in (
        ("T1", 93, 2, 8, 47),
        ("T2", 84, 2, 32, 57),
        ("T3", 71, 8, 32, 75),
    ):  # Table 1 (46+47, 42+42, 41+30 respondents) and Table 2 (choice frequencies)
        part = rows[rows["treatment"] == treatment]
        assert part["situation_id"].nunique() == n
        assert sorted(set(part["shown"])) == [small, large]
        chose_small = int(part.loc[part["shown"] == small, "chosen"].sum())
        assert round(100 * chose_small / n) == pct


def test_shipped_all_choices_match_table_7():
    table = load_choices(SURVEY / "choices_all.csv")
    rows = table.rows
    for comparison, small, pct in (("2v8", 2, 40), ("2v32", 2, 58), ("8v32", 8, 73)):
        part = rows[rows["comparison"] == comparison]
        assert part["situation_id"].nunique() == 248
        chose_small = int(part.loc[part["shown"] == small, "chosen"].sum())
        assert round(100 * chose_small / 248) == pct


@pytest.mark.parametrize(
    ("treatment", "beta", "se"),
    [("T1", -0.5382, 1.0385), ("T2", 0.2877, 0.2205), ("T3", 1.35, 0.341)],
)
def test_per_treatment_estimates_reproduce_section_3_4(treatment, beta, se):
    # Sect. 3.4: beta_T1 = -0.5382 (sigma = 1.0385), beta_T2 = 0.2877 (0.2205),
    # beta_T3 = 1.35 (0.341), with a = 2 and b = 32. Compared at the printed precision.
    part = split_by(load_choices(SURVEY / "choices.csv"), "treatment")[treatment]
    fit = fit_choice_model(part, lower_bound=2, upper_bound=32)
    digits = len(str(beta).split(".")[1])
    assert round(fit.beta, digits) == beta
    assert round(fit.beta_se, len(str(se).split(".")[1])) == se


def test_overall_estimate_is_within_printed_rounding_of_section_3_4():
    # Sect. 3.4: beta_all = 0.6007 (sigma = 0.18, t-ratio -3.34). Our MLE on the reconstructed
    # counts is 0.60063; the paper's fourth digit differs by 1 (docs/estimation.md).
    fit = fit_choice_model(load_choices(SURVEY / "choices.csv"))
    assert (fit.lower_bound, fit.upper_bound) == (2.0, 32.0)
    assert abs(fit.beta - 0.6007) < 2e-4
    assert round(fit.beta_se, 2) == 0.18
    assert round(fit.z, 2) == 3.34


# --- recovery and derivatives ----------------------------------------------------------------


def simulate_per_slot(beta: float, weights: tuple[float, float], n: int, seed: int) -> pd.DataFrame:
    """One provider, two slot types, random menus; the customer books a slot or leaves (Eq. 2b)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    shown = rng.integers(0, 9, size=(n, 2))
    shown[shown.sum(axis=1) == 0, 0] = 1
    f = LinearRamp(2, 16)(shown.sum(axis=1))
    attraction = shown * np.exp(np.asarray(weights))[None, :]
    none = np.exp(beta * f)
    prob = np.column_stack([attraction, none]) / (attraction.sum(axis=1) + none)[:, None]
    pick = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    rows = []
    for i in range(n):
        for t, name in enumerate(("morning", "afternoon")):
            rows.append((f"v{i}", "page", int(shown[i, t]), int(pick[i] == t), 1, name))
    return pd.DataFrame(rows, columns=[*COLUMNS, "outside", "slot_type"])


def test_simulated_data_recover_beta_and_weights():
    # Fixed seed: the outcome is deterministic, so the tolerance (4 standard errors) cannot flake.
    true_beta, true_w = 1.5, (1.0, 0.3)
    df = simulate_per_slot(true_beta, true_w, n=6000, seed=20240704)
    fit = fit_choice_model(choices_from_frame(df), model="per_slot", lower_bound=2, upper_bound=16)
    assert fit.weights is not None and fit.weight_se is not None
    assert abs(fit.beta - true_beta) < 4 * fit.beta_se
    assert fit.beta_se < 0.15
    for name, w in zip(("morning", "afternoon"), true_w, strict=True):
        assert abs(fit.weights[name] - w) < 4 * fit.weight_se[name]
    assert fit.converged


def test_analytic_derivatives_and_standard_errors_match_finite_differences():
    df = simulate_per_slot(0.8, (0.5, -0.2), n=400, seed=7)
    table = choices_from_frame(df)
    fit = fit_choice_model(table, model="per_slot", lower_bound=2, upper_bound=16)
    lik = build_likelihood(table, model="per_slot", effect=LinearRamp(2, 16))
    theta = fit.parameters["estimate"].to_numpy()
    h = 1e-4
    p = len(theta)
    num_grad = np.zeros(p)
    num_hess = np.zeros((p, p))
    for i in range(p):
        e = np.zeros(p)
        e[i] = h
        num_grad[i] = (lik.value(theta + e) - lik.value(theta - e)) / (2 * h)
        num_hess[i] = (lik.gradient(theta + e) - lik.gradient(theta - e)) / (2 * h)
    probe = theta + 0.1
    assert lik.gradient(probe) == pytest.approx(
        [
            (lik.value(probe + h * np.eye(p)[i]) - lik.value(probe - h * np.eye(p)[i])) / (2 * h)
            for i in range(p)
        ],
        rel=1e-5,
    )
    assert np.abs(num_grad).max() < 1e-5  # the score vanishes at the estimate
    assert lik.hessian(theta) == pytest.approx(num_hess, rel=1e-5, abs=1e-8)
    se_numeric = np.sqrt(np.diag(np.linalg.inv(-num_hess)))
    assert fit.parameters["std_error"].to_numpy() == pytest.approx(se_numeric, rel=1e-4)


def test_weights_absent_when_not_identified_and_present_when_asked():
    fit = fit_choice_model(choices_from_frame(two_option_table(50, 20, 2, 8)))
    assert fit.weights is None and fit.weight_se is None
    assert list(fit.parameters["parameter"]) == ["beta"]
    assert fit.null_log_likelihood == pytest.approx(50 * math.log(0.5))


def test_forced_choice_weights_are_relative_to_the_first_type():
    # Two providers each showing one type; with no outside option the first type is the
    # reference (w = 0) and only the difference is estimated.
    rng = np.random.Generator(np.random.PCG64(11))
    rows = []
    for i in range(300):
        sa, sb = (int(x) for x in rng.integers(1, 10, size=2))
        pa = 1 / (1 + np.exp(0.7 - 1.0 * ((sb - sa) / 8)))
        a_wins = bool(rng.random() < pa)
        rows.append((f"s{i}", "A", sa, int(a_wins), "x"))
        rows.append((f"s{i}", "B", sb, int(not a_wins), "y"))
    df = pd.DataFrame(rows, columns=[*COLUMNS, "slot_type"])
    fit = fit_choice_model(choices_from_frame(df), lower_bound=1, upper_bound=9)
    assert fit.weights is not None
    assert fit.weights["x"] == 0.0
    assert list(fit.parameters["parameter"]) == ["beta", "w[y]"]


# --- validation: one test per error -----------------------------------------------------------


def expect(df: pd.DataFrame, *fragments: str) -> None:
    with pytest.raises(InstanceError) as err:
        choices_from_frame(df)
    for fragment in fragments:
        assert fragment in str(err.value)


def base() -> pd.DataFrame:
    return two_option_table(3, 1, 2, 8)


def test_error_missing_column():
    expect(base().drop(columns="chosen"), "choices.csv", "missing column(s) chosen")


def test_error_no_rows():
    expect(base().iloc[:0], "no data rows")


def test_error_empty_situation_id():
    df = base()
    df.loc[2, "situation_id"] = None
    expect(df, "choices.csv row 3, column situation_id", "empty id")


def test_error_shown_not_a_count():
    df = base().astype({"shown": object})
    df.loc[1, "shown"] = "eight"
    df.loc[3, "shown"] = -2
    expect(df, "row 2, column shown", "'eight'", "row 4, column shown", "got -2")


def test_error_chosen_not_binary():
    df = base()
    df.loc[0, "chosen"] = 2
    expect(df, "row 1, column chosen", "expected 0 or 1, got 2")


def test_error_outside_differs_within_situation():
    df = base().assign(outside=[0, 1, 0, 0, 0, 0])
    expect(df, "row 2, column outside", "must be the same on all its rows")


def test_error_two_chosen_in_one_situation():
    df = base()
    df.loc[1, "chosen"] = 1
    expect(df, "row 2, column chosen", "already has a chosen option")


def test_error_no_choice_without_outside_option():
    df = base()
    df.loc[0, "chosen"] = 0
    expect(df, "row 1, column chosen", "no chosen option and no outside option")


def test_error_chosen_option_shows_nothing():
    df = base()
    df.loc[0, "shown"] = 0
    expect(df, "row 1, column chosen", "shows 0 slots")


def test_error_duplicate_option():
    df = pd.concat([base(), base().iloc[[4]]], ignore_index=True)
    expect(df, "row 7, column alternative", "duplicate")


def test_error_weight_not_finite():
    df = base().assign(weight=[0.0, 1.0, "x", 1.0, np.inf, 0.0])
    expect(df, "row 3, column weight", "row 5, column weight", "finite number")


def test_error_weight_differs_within_slot_type():
    df = base().assign(slot_type=["a", "b"] * 3, weight=[0.0, 1.0, 0.0, 1.0, 0.5, 1.0])
    expect(df, "row 5, column weight", "same on every row of its type")


def test_error_provider_model_with_rows_by_type():
    df = pd.DataFrame(
        [("s", "A", 1, 1, "x"), ("s", "A", 2, 0, "y"), ("s", "B", 8, 0, "x")],
        columns=[*COLUMNS, "slot_type"],
    )
    with pytest.raises(InstanceError, match=r"row 2, column alternative: .*several rows"):
        fit_choice_model(choices_from_frame(df), lower_bound=1, upper_bound=8)


def test_error_beta_not_identified():
    df = two_option_table(10, 4, 8, 8)
    with pytest.raises(InstanceError, match="β is not identified"):
        fit_choice_model(choices_from_frame(df), lower_bound=2, upper_bound=32)


def test_error_separated_data_have_no_finite_estimate():
    df = two_option_table(30, 30, 2, 8)  # everyone chose the smaller menu
    with pytest.raises(InstanceError, match="no finite maximum-likelihood estimate"):
        fit_choice_model(choices_from_frame(df))


def test_error_weights_required_but_not_identified():
    # type y is only ever the sole option of its situation, so its weight moves no probability
    df = pd.concat(
        [
            two_option_table(10, 4, 2, 8).assign(slot_type="x"),
            pd.DataFrame([("alone", "A", 3, 1, "y")], columns=[*COLUMNS, "slot_type"]),
        ],
        ignore_index=True,
    )
    with pytest.raises(InstanceError, match="weights are not identified"):
        fit_choice_model(choices_from_frame(df), model="per_slot", fit_weights=True)
    fit = fit_choice_model(choices_from_frame(df), model="per_slot")  # None: fall back to beta
    assert fit.weights is None
    with pytest.raises(InstanceError, match="needs a slot_type column"):
        fit_choice_model(choices_from_frame(two_option_table(10, 4, 2, 8)), fit_weights=True)


def test_error_ramp_needs_two_sizes():
    df = two_option_table(10, 4, 8, 8)
    with pytest.raises(InstanceError, match="lower bound a < upper bound b"):
        fit_choice_model(choices_from_frame(df))


def test_error_nothing_shown_anywhere():
    df = pd.DataFrame([("s", "P", 0, 0, 1)], columns=[*COLUMNS, "outside"])
    with pytest.raises(InstanceError, match="no alternative shows any slot"):
        fit_choice_model(choices_from_frame(df), model="per_slot")


def test_error_group_column_missing_or_mixed():
    table = choices_from_frame(base().assign(arm=["x", "x", "y", "z", "y", "y"]))
    with pytest.raises(InstanceError, match="no column 'treatment'"):
        split_by(table, "treatment")
    with pytest.raises(InstanceError, match=r"row 4, column arm: situation 's1'"):
        split_by(table, "arm")


def test_error_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(InstanceError, match="nope.csv: file not found"):
        load_choices(tmp_path / "nope.csv")
    (tmp_path / "c.txt").write_text("x")
    with pytest.raises(InstanceError, match="expected a .csv or .parquet"):
        load_choices(tmp_path / "c.txt")


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_estimate_writes_json_and_csv_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "fit"
    assert (
        main(["estimate", str(SURVEY / "choices.csv"), "--by", "treatment", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "T3" in printed and "beta" in printed
    summary = json.loads((out / "estimate.json").read_text())
    assert [f["group"] for f in summary["fits"]] == ["all", "T1", "T2", "T3"]
    assert all(f["lower_bound"] == 2.0 and f["upper_bound"] == 32.0 for f in summary["fits"])
    params = pd.read_csv(out / "parameters.csv")
    assert list(params.columns) == ["group", "parameter", "estimate", "std_error", "z", "p_value"]
    assert main(["estimate", str(SURVEY / "choices.csv"), "--out", str(out)]) == 2
    assert main(["estimate", str(SURVEY / "choices.csv"), "--out", str(out), "--force"]) == 0


def test_cli_estimate_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "choices.csv"
    base().assign(chosen=[1, 1, 0, 1, 0, 1]).to_csv(bad, index=False)
    out = tmp_path / "fit"
    assert main(["estimate", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "choices.csv row 2, column chosen" in err
    assert not out.exists()
