"""Solving an offer-set instance: exact DP, the paper's decision rules, checks and outputs.

``slotopt.solve(inst)`` dispatches here for ``kind: "offer_set"``. Methods: ``"dp"`` (default; the
sort-based backward induction) and ``"enumerate"`` (the same recursion searching every offer
vector; a reference for small instances). Options:

``n_runs`` (10000)
    Monte Carlo horizons simulated per policy; 0 skips the simulation.
``rules`` (all four)
    Which decision rules to evaluate: a tuple of ``"no_blocking"``, ``"r_low"``, ``"r_one"``,
    ``"r_myopic"``; ``()`` evaluates none.
``confidence`` (0.95)
    Level of the Monte Carlo intervals.
``verify_states`` (200)
    With ``verify=True``: states per period whose every offer vector is enumerated.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slotopt.engines.offer_set.dp import DPSolution, backward_induction
from slotopt.engines.offer_set.rules import (
    RULES,
    MonteCarloEstimate,
    RuleResult,
    evaluate_rules,
    simulate_policy,
)
from slotopt.errors import VerificationError
from slotopt.instance.offer_set import OfferSetInstance
from slotopt.run.folders import common_summary, verification_note, write_result_folder
from slotopt.verify.offer_set import OfferSetReport, check_offer_set

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["METHODS", "OfferSetResult", "solve_offer_set"]

METHODS: dict[str, str] = {"dp": "sort", "enumerate": "enumerate"}
OPTIONS = {"n_runs", "rules", "confidence", "verify_states"}
# The enumerating search costs (offer vectors x states) per period; refuse what would take hours.
MAX_ENUMERATION_WORK = 50_000_000
# verify=True also re-solves by enumeration when it is this cheap (per period).
VERIFY_ENUMERATION_WORK = 1_000_000


@dataclass(frozen=True, eq=False)
class OfferSetResult:
    """The outcome of :func:`solve_offer_set`; every field is always present (None when absent).

    Attributes
    ----------
    instance : OfferSetInstance
    method : str
        ``"dp"`` or ``"enumerate"``.
    seed : int
        Seed of the Monte Carlo simulations.
    seconds : float
        Wall time of the DP alone.
    optimal_value : float
        ``V_tau(kappa)``, the optimal expected revenue.
    values : ndarray of shape (tau + 1, S)
        ``values[t]`` is ``V_t`` over the states ``states`` (``values[0] = 0``).
    policy : ndarray of shape (tau, S, N)
        ``policy[t - 1]``: the optimal offer vectors in period ``t`` (time counts backwards).
    states : ndarray of shape (S, N)
        The booking states (free slots per type), mixed-radix order, last type fastest.
    rules : dict of str to RuleResult
        The evaluated decision rules (empty when none were asked for).
    optimal_monte_carlo : MonteCarloEstimate or None
        Simulation of the optimal policy (None when ``n_runs=0``).
    verification : OfferSetReport or None
        The certificates, when ``verify=True`` was asked for.
    rule_seconds : float
        Wall time of evaluating and simulating the rules.
    """

    instance: OfferSetInstance
    method: str
    seed: int
    seconds: float
    optimal_value: float
    values: np.ndarray
    policy: np.ndarray
    states: np.ndarray
    rules: Mapping[str, RuleResult] = field(default_factory=dict)
    optimal_monte_carlo: MonteCarloEstimate | None = None
    verification: OfferSetReport | None = None
    rule_seconds: float = 0.0

    def __repr__(self) -> str:  # one line: the arrays stay out of a notebook's output
        return (
            f"OfferSetResult({self.instance.name!r}: optimal value {self.optimal_value:.6g}, "
            f"method {self.method}, seed {self.seed}{verification_note(self.verification)})"
        )

    # -- views -----------------------------------------------------------------------------
    def rule_values(self) -> dict[str, float]:
        """Exact expected revenue of each evaluated rule."""
        return {name: r.expected_revenue for name, r in self.rules.items()}

    def offer(self, t: int, s: tuple[int, ...]) -> tuple[int, ...]:
        """The optimal offer vector in period ``t`` (``tau >= t >= 1``) and booking state ``s``."""
        if not 1 <= t <= self.instance.horizon:
            raise ValueError(f"period t must be in 1..{self.instance.horizon}, got {t}")
        caps = np.asarray(self.instance.capacities) + 1
        i = int(np.ravel_multi_index(tuple(int(x) for x in s), tuple(caps)))
        return tuple(int(x) for x in self.policy[t - 1, i])

    def policy_table(self) -> pd.DataFrame:
        """``period, state_<type>..., offered_<type>...``: one row per period and state."""
        tau, n_s, n = self.policy.shape
        names = self.instance.type_names
        period = np.repeat(np.arange(tau, 0, -1), n_s)
        data: dict[str, Any] = {"period": period}
        states = np.tile(self.states, (tau, 1))
        offered = self.policy[::-1].reshape(tau * n_s, n)
        for j, name in enumerate(names):
            data[f"state_{name}"] = states[:, j]
        for j, name in enumerate(names):
            data[f"offered_{name}"] = offered[:, j]
        return pd.DataFrame(data)

    def rules_table(self) -> pd.DataFrame:
        """``rule, expected_revenue, gap_pct`` and the Monte Carlo columns; ``optimal`` first."""
        rows: list[dict[str, Any]] = [
            _row("optimal", self.optimal_value, 0.0, self.optimal_monte_carlo)
        ]
        for name, r in self.rules.items():
            rows.append(_row(name, r.expected_revenue, r.gap_pct, r.monte_carlo))
        return pd.DataFrame(rows, columns=list(_row("", 0.0, 0.0, None)))

    # -- output ----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        inst = self.instance
        out = common_summary(inst)
        mc = {
            name: None if r.monte_carlo is None else _mc_dict(r.monte_carlo)
            for name, r in self.rules.items()
        }
        out.update(
            {
                "method": self.method,
                "seed": self.seed,
                "n_types": inst.n_types,
                "total_capacity": inst.total_capacity,
                "horizon": inst.horizon,
                "n_states": int(self.states.shape[0]),
                "optimal_value": self.optimal_value,
                "rules": self.rule_values(),
                "rule_gaps_pct": {name: r.gap_pct for name, r in self.rules.items()},
                "monte_carlo": {
                    "optimal": None
                    if self.optimal_monte_carlo is None
                    else _mc_dict(self.optimal_monte_carlo),
                    **mc,
                },
                "seconds": round(self.seconds, 6),
                "rule_seconds": round(self.rule_seconds, 6),
                "verified": None if self.verification is None else self.verification.ok,
                "verification": None if self.verification is None else self.verification.to_dict(),
            }
        )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"policy": self.policy_table(), "rules": self.rules_table()}

    def figures(self) -> dict[str, Figure]:
        """``policy``: share of free slots shown, by period and number of free slots.

        Built with matplotlib's object interface (no pyplot, no backend switch), so calling it
        in a notebook neither changes the backend nor keeps figures alive in pyplot.
        """
        from matplotlib.figure import Figure

        tau = self.policy.shape[0]
        free = self.states.sum(axis=1)
        kappa = int(free.max(initial=0))
        shown = self.policy.sum(axis=2)  # (tau, S)
        share = np.full((kappa, tau), np.nan)
        for k in range(1, kappa + 1):
            sel = free == k
            share[k - 1] = (shown[:, sel] / k).mean(axis=1)
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        im = ax.imshow(
            share,
            origin="lower",
            aspect="auto",
            extent=(0.5, tau + 0.5, 0.5, kappa + 0.5),
            vmin=0,
            vmax=1,
            cmap="viridis",
        )
        ax.invert_xaxis()  # time counts backwards: period tau (left) ... 1 (right)
        ax.set_xlabel("period t (counts down to the workday)")
        ax.set_ylabel("free slots")
        ax.set_title(f"{self.instance.name}: mean share of free slots shown (optimal policy)")
        fig.colorbar(im, ax=ax, label="shown / free")
        return {"policy": fig}

    def to_folder(self, path: str | Path, *, force: bool = False) -> Path:
        """Write ``summary.json``, ``policy.csv``, ``rules.csv`` and ``policy.png`` atomically."""
        return write_result_folder(self, path, force=force)

    def report(self) -> str:
        inst = self.instance
        lines = [
            f"{inst.name}: optimal expected revenue {self.optimal_value:.6g} from "
            f"{inst.total_capacity} slots in {inst.n_types} types over {inst.horizon} periods "
            f"({self.states.shape[0]} states; method {self.method}, {self.seconds:.3f} s)"
        ]
        for name, r in self.rules.items():
            gap = "" if r.gap_pct is None else f", gap {r.gap_pct:.3f}%"
            sim = ""
            if r.monte_carlo is not None:
                m = r.monte_carlo
                sim = f"; simulated {m.mean:.4g} [{m.ci_low:.4g}, {m.ci_high:.4g}]"
            lines.append(f"  {name:<12} {r.expected_revenue:.6g}{gap}{sim}")
        if self.rules and self.optimal_monte_carlo is not None:
            lines.append(
                f"  (Monte Carlo: {self.optimal_monte_carlo.n_runs} runs, seed {self.seed})"
            )
        if self.verification is not None:
            lines.append(
                "verification: "
                + (
                    "all certificates hold"
                    if self.verification.ok
                    else self.verification.describe()
                )
            )
        return "\n".join(lines)


def _mc_dict(m: MonteCarloEstimate) -> dict[str, float]:
    return {
        "mean": m.mean,
        "std_err": m.std_err,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "n_runs": m.n_runs,
        "confidence": m.confidence,
    }


def _row(
    name: str, value: float, gap: float | None, mc: MonteCarloEstimate | None
) -> dict[str, Any]:
    return {
        "rule": name,
        "expected_revenue": value,
        "gap_pct": gap,
        "mc_mean": None if mc is None else mc.mean,
        "mc_std_err": None if mc is None else mc.std_err,
        "mc_ci_low": None if mc is None else mc.ci_low,
        "mc_ci_high": None if mc is None else mc.ci_high,
        "mc_runs": None if mc is None else mc.n_runs,
    }


def _resolve_seed(inst: OfferSetInstance, seed: int | None) -> int:
    if seed is None:
        seed = inst.seed if inst.seed is not None else secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def solve_offer_set(
    inst: OfferSetInstance,
    *,
    method: str | None = None,
    seed: int | None = None,
    verify: bool = False,
    **options: Any,
) -> OfferSetResult:
    """Solve an offer-set instance exactly and evaluate the decision rules.

    Parameters
    ----------
    inst
        A validated :class:`~slotopt.instance.offer_set.OfferSetInstance`.
    method
        ``"dp"`` (default) or ``"enumerate"``.
    seed
        Seed of the Monte Carlo simulations (None: the instance's ``seed`` or a fresh one; the
        result records it). The DP itself is deterministic.
    verify
        Run :func:`slotopt.verify.offer_set.check_offer_set` (policy residual, Bellman optimality
        by enumeration, monotonicity, dominance over every rule) and raise on any violation.
    **options
        ``n_runs``, ``rules``, ``confidence``, ``verify_states`` (see the module docstring).

    Returns
    -------
    OfferSetResult

    Raises
    ------
    ValueError
        Unknown method, option or rule; an enumeration too large to run.
    VerificationError
        ``verify=True`` and a certificate failed.

    Examples
    --------
    >>> from slotopt.instance.offer_set import offer_set_from_dict
    >>> inst = offer_set_from_dict({"slot_types": [{"name": "h", "capacity": 2, "weight": 2},
    ...     {"name": "l", "capacity": 1, "weight": 1}], "horizon": 8, "arrival_rate": 0.5,
    ...     "beta": 0.5})
    >>> res = solve_offer_set(inst, seed=1, n_runs=0, verify=True)
    >>> round(res.optimal_value, 3), res.offer(8, (2, 1)), res.offer(1, (2, 1))
    (2.673, (2, 1), (2, 0))
    """
    method = method or "dp"
    if method not in METHODS:
        raise ValueError(f"unknown offer_set method {method!r}; choose from {', '.join(METHODS)}")
    unknown = set(options) - OPTIONS
    if unknown:
        raise ValueError(
            f"unknown option(s) for offer_set: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(OPTIONS))}"
        )
    n_runs = int(options.get("n_runs", 10_000))
    rules = tuple(options.get("rules", RULES))
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise ValueError(f"unknown rule(s) {', '.join(bad)}; choose from {', '.join(RULES)}")
    confidence = float(options.get("confidence", 0.95))
    seed = _resolve_seed(inst, seed)
    if method == "enumerate":
        work = inst.n_states * math.prod(c + 1 for c in inst.capacities)
        if work > MAX_ENUMERATION_WORK:
            raise ValueError(
                f"method 'enumerate' would evaluate {work:,} (state, offer) pairs per period; "
                "use method 'dp' (exact, no enumeration) for instances this large"
            )

    start = time.perf_counter()
    solution: DPSolution = backward_induction(inst, method=METHODS[method])  # type: ignore[arg-type]
    seconds = time.perf_counter() - start

    start = time.perf_counter()
    evaluated = evaluate_rules(
        inst, solution=solution, rules=rules, n_runs=n_runs, seed=seed, confidence=confidence
    )
    optimal_mc = (
        simulate_policy(
            inst,
            solution.policy,
            n_runs=n_runs,
            seed=seed,
            stream=0,
            confidence=confidence,
            space=solution.space,
        )
        if n_runs
        else None
    )
    rule_seconds = time.perf_counter() - start

    report = None
    if verify:
        reference = None
        work = inst.n_states * math.prod(c + 1 for c in inst.capacities)
        if method == "dp" and work <= VERIFY_ENUMERATION_WORK:
            reference = backward_induction(inst, method="enumerate")
        report = check_offer_set(
            inst,
            solution,
            rule_values={name: r.values for name, r in evaluated.items()},
            reference=reference,
            max_states=int(options.get("verify_states", 200)),
        )
    result = OfferSetResult(
        instance=inst,
        method=method,
        seed=seed,
        seconds=seconds,
        optimal_value=solution.optimal_value,
        values=solution.values,
        policy=solution.policy,
        states=solution.space.states,
        rules=evaluated,
        optimal_monte_carlo=optimal_mc,
        verification=report,
        rule_seconds=rule_seconds,
    )
    if report is not None and not report.ok:
        raise VerificationError(
            f"the {method} solution for {inst.name!r} failed its certificates:\n"
            + report.describe(),
            report=report,
        )
    return result
