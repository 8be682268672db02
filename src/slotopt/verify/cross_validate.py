"""Cross-validation: solve one matching instance with several methods and compare them.

Every method gets the same priority order (the same seed), each result goes through the
independent certificates of :func:`slotopt.verify.matching.check_matching` (feasible, maximum,
respects priorities), and the matched sets are compared with the first method's. Theorem 1 and
Corollary 1 of Arnosti (2021) say they must agree: Algorithm 1's matched set is the unique
priority-respecting maximum one, and the weighted LP and the lexicographic sequences select it
too (docs/mip.md). Any difference is a bug somewhere, so :func:`cross_validate` reports it
rather than picking a winner.

The harness runs methods itself (this layer may not import ``slotopt.run``), from the registry
both share, :mod:`slotopt.methods`.

References
----------
N. Arnosti (2021), "A Better Way to Schedule Vaccinations", Theorem 1 and Corollary 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.engines.matching.structure import total_rank
from slotopt.errors import UsageError
from slotopt.instance.matching import MatchingInstance
from slotopt.methods import MATCHING_METHODS, SECOND_STAGES, SOLVER_OPTIONS, resolve_seed, unpack
from slotopt.verify.matching import check_matching

__all__ = [
    "DEFAULT_METHODS",
    "cross_validate",
    "disagreements",
]

DEFAULT_METHODS: tuple[str, ...] = ("greedy", "naive", "lp", "lexicographic")


def cross_validate(
    inst: MatchingInstance,
    methods: Sequence[str] = DEFAULT_METHODS,
    *,
    seed: int | None = None,
    second_stage: str | None = None,
    levels: str | None = None,
    naive_max_applicants: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Solve ``inst`` with each method and compare results and certificates.

    Parameters
    ----------
    inst
        A validated matching instance.
    methods
        Method names (see :data:`slotopt.methods.MATCHING_METHODS`); the first one that runs
        is the reference.
    seed
        Lottery seed shared by all methods (default: the instance's, else a fresh one; the one
        used is in ``df.attrs["seed"]``).
    second_stage
        ``None``, ``"min-rank"`` or ``"rank-maximal"``: run it on every method's matched set;
        its optimum must then agree across methods too.
    levels
        Passed to ``"lexicographic"``; default ``"positions"`` up to
        ``MATCHING_METHODS["lexicographic"].impractical_above`` applicants, ``"tiers"`` above.
    naive_max_applicants
        Skip ``"naive"`` above this size (the table says so); None: the registry's limit.
    progress
        Called as ``progress(done, total)`` before each method and after the last (methods done
        of methods asked for); it may print, this function does not.
    **options
        ``time_limit``, ``mip_gap``, ``threads`` for the MIP methods and the second stage.

    Returns
    -------
    DataFrame
        One row per method: ``method``, ``status`` (``ok``, ``skipped: ...``, ``error: ...``),
        ``n_matched``, ``same_matched_set`` (vs the reference; None for it and for skipped
        rows), ``certificates_ok``, ``feasible``, ``maximum``, ``respects_priorities``,
        ``total_rank`` (of the final assignment; None without ranks), ``second_stage_objective``
        (None without a second stage), ``seconds`` (method + second stage), ``note``.
        ``df.attrs`` holds ``seed`` and ``agree`` (True when nothing disagrees or failed).

    Raises
    ------
    UsageError
        An unknown method, second stage or option (a ``ValueError``).
    """
    unknown = [m for m in methods if m not in MATCHING_METHODS]
    if unknown:
        raise UsageError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(MATCHING_METHODS)}"
        )
    if second_stage is not None and second_stage not in SECOND_STAGES:
        raise UsageError(
            f"unknown second stage {second_stage!r}; choose from {', '.join(SECOND_STAGES)}"
        )
    bad = set(options) - SOLVER_OPTIONS
    if bad:
        allowed = ", ".join(sorted(SOLVER_OPTIONS))
        raise UsageError(f"unknown option(s) {', '.join(sorted(bad))}; allowed: {allowed}")
    seed = resolve_seed(inst, seed)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    position = positions_from_order(order)
    rows: list[dict[str, Any]] = []
    reference: np.ndarray | None = None
    stage_fn = None if second_stage is None else SECOND_STAGES[second_stage].load()
    for k, method in enumerate(methods):
        if progress is not None:
            progress(k, len(methods))
        row: dict[str, Any] = {
            "method": method,
            "status": "ok",
            "n_matched": None,
            "same_matched_set": None,
            "certificates_ok": None,
            "feasible": None,
            "maximum": None,
            "respects_priorities": None,
            "total_rank": None,
            "second_stage_objective": None,
            "seconds": None,
            "note": "",
        }
        facts = MATCHING_METHODS[method]
        kwargs: dict[str, Any] = {}
        if facts.needs_highs:
            kwargs.update(options)
        if "levels" in facts.options:
            kwargs["levels"] = levels or "positions"
            if levels is None and facts.impractical(inst.n_applicants, kwargs):
                kwargs.update(facts.practical_with)
                row["note"] = (
                    f"levels={kwargs['levels']} ({facts.measured} above "
                    f"{facts.impractical_above:,} {facts.size})"
                )
        limit = facts.impractical_above
        if method == "naive" and naive_max_applicants is not None:
            limit = naive_max_applicants
        if not facts.practical_with and limit is not None and inst.n_applicants > limit:
            row["status"] = (
                f"skipped: {inst.n_applicants:,} applicants > {limit:,} ({facts.measured})"
            )
            rows.append(row)
            continue
        start = time.perf_counter()
        try:
            slot_of, info = unpack(facts.load()(inst, order, **kwargs))
            if stage_fn is not None:
                slot_of, stage_info = unpack(stage_fn(inst, slot_of >= 0, **options))
                row["second_stage_objective"] = stage_info.get("objective")
        except Exception as exc:  # one failing method must not hide the others' results
            row["status"] = f"error: {type(exc).__name__}: {exc}"
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            continue
        row["seconds"] = time.perf_counter() - start
        if info.get("status") not in (None, "optimal"):
            row["status"] = f"error: solver status {info.get('status')}"
        report = check_matching(inst, slot_of, position)
        matched = slot_of >= 0
        row.update(
            n_matched=int(matched.sum()),
            certificates_ok=report.ok,
            feasible=report.feasible,
            maximum=report.maximum,
            respects_priorities=report.respects_priorities,
            total_rank=total_rank(inst, slot_of),
        )
        if reference is None:
            reference = matched
        else:
            row["same_matched_set"] = bool(np.array_equal(matched, reference))
        rows.append(row)
    if progress is not None:
        progress(len(methods), len(methods))
    df = pd.DataFrame(rows)
    df.attrs["seed"] = int(seed)
    df.attrs["second_stage"] = second_stage
    df.attrs["agree"] = not disagreements(df)
    return df


def disagreements(df: pd.DataFrame) -> list[str]:
    """Plain sentences for every disagreement or failure in a :func:`cross_validate` table."""
    out: list[str] = []
    ran = df[df["status"] == "ok"]
    for row in df.itertuples():
        if str(row.status).startswith("error"):
            out.append(f"{row.method}: {row.status}")
    for row in ran.itertuples():
        if row.certificates_ok is False:
            failed = [
                name
                for name in ("feasible", "maximum", "respects_priorities")
                if getattr(row, name) is False
            ]
            out.append(f"{row.method}: certificate(s) failed: {', '.join(failed)}")
        if row.same_matched_set is False:
            out.append(f"{row.method}: matched set differs from {ran.iloc[0]['method']}'s")
    objectives = ran["second_stage_objective"].dropna()
    if len(objectives) and (objectives - objectives.iloc[0]).abs().max() > 1e-6:
        out.append(
            "second-stage optima differ across methods: "
            + ", ".join(
                f"{m}={v:g}"
                for m, v in zip(ran["method"], ran["second_stage_objective"], strict=True)
                if v is not None and not pd.isna(v)
            )
        )
    return out
