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
``on_failure`` ("raise")
    ``"record"`` returns a result whose certificates failed instead of raising (docs/failures.md).

Options of the matching kind (``second_stage``, ``time_limit``, ...) and unknown methods are
usage errors (:class:`~slotopt.errors.UsageError`), and so is an instance whose DP arrays or
simulations would not fit in memory: that is checked before anything is allocated.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slotopt.engines.offer_set.dp import MAX_BYTES, DPSolution
from slotopt.engines.offer_set.rules import (
    RULES,
    MonteCarloEstimate,
    RuleResult,
    evaluate_rules,
    simulate_policy,
)
from slotopt.errors import UsageError, VerificationError
from slotopt.instance.offer_set import OfferSetInstance
from slotopt.methods import OFFER_SET_METHODS, OFFER_SET_OPTIONS, SOLVER_OPTIONS, resolve_seed
from slotopt.run.folders import common_summary, verification_note, write_result_folder
from slotopt.run.outcome import VerificationOutcome, on_failure_option
from slotopt.run.progress import Progress
from slotopt.verify.offer_set import OfferSetReport, check_offer_set

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["METHODS", "OfferSetResult", "solve_offer_set"]

METHODS = OFFER_SET_METHODS
OPTIONS = OFFER_SET_OPTIONS
# Options that only the matching kind takes: named in the error so the mistake is obvious.
MATCHING_ONLY = {"second_stage", "levels", "weights"} | SOLVER_OPTIONS
MAX_RUNS = 10_000_000
"""Largest ``n_runs``: the simulation keeps a few arrays of ``n_runs`` numbers per policy."""
# The enumerating search costs (offer vectors x states) per period; refuse what would take hours.
MAX_ENUMERATION_WORK: int = OFFER_SET_METHODS["enumerate"].impractical_above or 0
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
    verification_outcome : VerificationOutcome
        ``not_run``, ``passed`` or ``failed``.
    failure : str or None
        What failed (only with ``on_failure="record"``; None when nothing did).
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
    verification_outcome: VerificationOutcome = VerificationOutcome.not_run
    failure: str | None = None

    @property
    def ok(self) -> bool:
        """True when no certificate failed (the DP itself always reaches its exact answer)."""
        return self.failure is None

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
                "ok": self.ok,
                "failure": self.failure,
                "verification_outcome": self.verification_outcome.value,
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
                    else "FAILED\n" + self.verification.describe()
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


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise UsageError(f"{name} must be an integer in [{low:,}, {high:,}], got {value!r}")
    return int(value)


def check_size(inst: OfferSetInstance, *, n_rules: int, n_runs: int) -> None:
    """Refuse an instance whose arrays would not fit, before anything is allocated.

    The DP keeps ``values`` (tau + 1, S) and ``policy`` (tau, S, N); each evaluated rule keeps its
    own value table and policy of the same sizes, and the verification a further copy.

    Raises
    ------
    UsageError
        The arrays would exceed the DP's memory limit (16 GiB).
    """
    n_states, n_types = inst.n_states, inst.n_types
    one = 8 * (inst.horizon + 1) * n_states * (1 + n_types)
    needed = one * (1 + n_rules) + 8 * 4 * n_runs
    if needed > MAX_BYTES:
        raise UsageError(
            f"{inst.name!r} has {n_states:,} booking states over {inst.horizon} periods; the value "
            f"functions and policies of the DP and {n_rules} rule(s) would need "
            f"{needed / 2**30:.1f} GiB (limit {MAX_BYTES / 2**30:.0f} GiB). Merge slot types, "
            "shorten the horizon or evaluate fewer rules (rules=())."
        )


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
    UsageError
        Unknown method, option or rule; an option value out of range; an instance too large for
        memory; an enumeration too large to run.
    VerificationError
        ``verify=True``, a certificate failed and ``on_failure`` is "raise".

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
    record = on_failure_option(options) == "record"
    method = method or "dp"
    if method not in METHODS:
        raise UsageError(
            f"unknown offer_set method {method!r}; choose from {', '.join(METHODS)} (the "
            "matching methods apply to matching instances only)"
        )
    misplaced = sorted(set(options) & MATCHING_ONLY)
    if misplaced:
        raise UsageError(
            f"option(s) {', '.join(misplaced)} apply to matching instances only; an offer_set "
            f"instance takes {', '.join(sorted(OPTIONS))}"
        )
    unknown = set(options) - OPTIONS
    if unknown:
        raise UsageError(
            f"unknown option(s) for offer_set: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(OPTIONS))}"
        )
    n_runs = _integer("n_runs", options.get("n_runs", 10_000), 0, MAX_RUNS)
    if n_runs == 1:
        raise UsageError("n_runs must be 0 (no simulation) or at least 2 (for a standard error)")
    raw_rules = options.get("rules", RULES)
    if isinstance(raw_rules, str):
        raise UsageError(f"rules must be a sequence of rule names, got the string {raw_rules!r}")
    rules = tuple(raw_rules)
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise UsageError(
            f"unknown rule(s) {', '.join(map(str, bad))}; choose from {', '.join(RULES)}"
        )
    confidence = options.get("confidence", 0.95)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        raise UsageError(f"confidence must be a number in (0, 1), got {confidence!r}")
    verify_states = _integer("verify_states", options.get("verify_states", 200), 1, 10**9)
    seed = resolve_seed(inst, seed)
    check_size(inst, n_rules=len(rules), n_runs=n_runs)
    if method == "enumerate":
        work = inst.n_states * math.prod(c + 1 for c in inst.capacities)
        if work > MAX_ENUMERATION_WORK:
            raise UsageError(
                f"method 'enumerate' would evaluate {work:,} (state, offer) pairs per period; "
                "use method 'dp' (exact, no enumeration) for instances this large"
            )

    start = time.perf_counter()
    facts = METHODS[method]
    with Progress(f"{method} over {inst.n_states:,} states x {inst.horizon} periods"):
        solution: DPSolution = facts.load()(inst, **facts.fixed)
    seconds = time.perf_counter() - start

    start = time.perf_counter()
    with Progress(f"rules ({len(rules)}) and {n_runs:,} simulated horizons each"):
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
        bar = Progress("certificates")
        reference = None
        work = inst.n_states * math.prod(c + 1 for c in inst.capacities)
        if method == "dp" and work <= VERIFY_ENUMERATION_WORK:
            exact = METHODS["enumerate"]
            reference = exact.load()(inst, **exact.fixed)
        report = check_offer_set(
            inst,
            solution,
            rule_values={name: r.values for name, r in evaluated.items()},
            reference=reference,
            max_states=verify_states,
        )
        bar.close()
    verdict = VerificationOutcome.not_run
    failure = None
    if report is not None:
        verdict = VerificationOutcome.passed if report.ok else VerificationOutcome.failed
        if not report.ok:
            failure = (
                f"the {method} solution for {inst.name!r} failed its certificates:\n"
                + report.describe()
            )
            if not record:
                raise VerificationError(failure, report=report)
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
        verification_outcome=verdict,
        failure=failure,
    )
    return result
