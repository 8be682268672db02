"""The numerical study of Kaluza, Voigt, Haase & Dietze (2024), Sect. 6, as one reproducible run.

Every instance of the factorial design (:mod:`slotopt.run.studies.kaluza_design`: Table 4's
system sizes, two horizons, three preferred weights, three arrival probabilities, a beta grid,
under a :class:`~slotopt.run.studies.kaluza_design.Reading` of the paper) is solved exactly by
the offer-set DP and every decision rule of Sect. 6.3.1 is evaluated exactly (policy evaluation;
no simulation, so the study needs no seed). Sect. 6.3.3's sensitivity analysis evaluates the
optimal policy for an *estimated* ``beta_e`` under every *actual* ``beta_a``. The outcome is a
:class:`~slotopt.run.studies.kaluza_results.KaluzaStudy` (tables, figures, summary, folder), and
:mod:`slotopt.run.studies.kaluza_paper` puts every published number beside ours. The study is
built on :mod:`slotopt.run.studies.scaffold` (design table, runs by group, result folder).

Work sharing
------------
The design runs in groups of one system size and one preferred weight (:func:`_run_group`).
With a constant arrival probability ``V_t`` does not depend on the horizon, so one backward
induction over ``max tau`` periods answers both horizons of a system size (``values[:, tau]``).
Instances that share a choice model (same ``kappa, w_h, beta``) differ only in ``alpha``: they
are the batch axis of one :func:`~slotopt.engines.offer_set.dp.backward_induction_batch` call,
whose states go through one offer-search call per period. Rule policies are time-invariant, so
all rules and arrival probabilities of a model are one
:func:`~slotopt.engines.offer_set.dp.evaluate_policies` call, and so are all beta_e-optimal
policies under one beta_a.

References
----------
Kaluza, I., Voigt, G., Haase, K., Dietze, A. (2024). Control of online-appointment systems when the
booking status signals quality of service. Schmalenbach J. Bus. Res. 76, 397-432. Sect. 6.1
(design, Table 4), 6.2 (Table 5, Fig. 3), 6.3 (rules, Fig. 4), 6.3.3 (sensitivity, Figs. 6-7),
Appendix G (the 183 instances where R_myopic is suboptimal).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from slotopt.engines.offer_set.choice import ChoiceModel
from slotopt.engines.offer_set.dp import StateSpace, backward_induction_batch, evaluate_policies
from slotopt.engines.offer_set.rules import RULES, rule_policy
from slotopt.instance.offer_set import offer_set_from_dict
from slotopt.run.studies.kaluza_design import (
    ALPHAS,
    CAPACITIES,
    HIGH_WEIGHTS,
    HORIZON_FACTORS,
    READINGS,
    Reading,
    design,
    instance_spec,
)
from slotopt.run.studies.kaluza_results import (
    MYOPIC_RTOL,
    KaluzaStudy,
    instance_table,
    sensitivity_frame,
)
from slotopt.run.studies.scaffold import GroupResult, run_design

# The study's public face: its design, readings, result type and entry point.
__all__ = [
    "ALPHAS",
    "CAPACITIES",
    "HIGH_WEIGHTS",
    "HORIZON_FACTORS",
    "MYOPIC_RTOL",
    "READINGS",
    "KaluzaStudy",
    "Reading",
    "design",
    "instance_spec",
    "run_kaluza_study",
]

FloatArray = NDArray[np.float64]


def _run_group(rows: pd.DataFrame, sensitivity: bool) -> GroupResult:
    """Solve and evaluate every design row of one (kappa, w_h): see "Work sharing" above."""
    first = rows.iloc[0]
    kappa, w_h = int(first["kappa"]), float(first["w_h"])
    space = StateSpace.of(CAPACITIES[kappa])
    alphas = np.asarray(pd.unique(rows["alpha"]), dtype=np.float64)
    betas = np.asarray(pd.unique(rows["beta"]), dtype=np.float64)
    horizons = rows.drop_duplicates("tau_hat")[["tau_hat", "horizon"]].to_numpy()
    tau_max = int(horizons[:, 1].max())
    n_a, n_r = len(alphas), len(RULES)
    full = space.full
    optimal = np.zeros((len(betas), n_a, tau_max + 1))  # V_t(kappa) per beta, alpha, t
    rules = np.zeros((len(betas), n_a, n_r, tau_max + 1))
    policies = []
    insts = []
    for ib, beta in enumerate(betas):
        inst = offer_set_from_dict(
            instance_spec({**first.to_dict(), "horizon": tau_max, "beta": beta, "tau_hat": 0})
        )
        model = ChoiceModel.from_instance(inst)
        dp = backward_induction_batch(model, space, alphas, revenue=inst.revenue, horizon=tau_max)
        optimal[ib] = dp.values[:, :, full]
        stationary = np.stack([rule_policy(inst, r, space=space) for r in RULES])
        rv = evaluate_policies(
            model,
            space,
            np.tile(stationary, (n_a, 1, 1)),  # member a * R + r: rule r at alphas[a]
            np.repeat(alphas, n_r),
            revenue=inst.revenue,
            horizon=tau_max,
        )
        rules[ib] = rv[:, :, full].reshape(n_a, n_r, tau_max + 1)
        policies.append(dp.policy)
        insts.append(inst)

    ia = pd.Index(alphas).get_indexer(rows["alpha"])
    ib = pd.Index(betas).get_indexer(rows["beta"])
    tau = rows["horizon"].to_numpy()
    out = pd.DataFrame({"instance": rows["instance"].to_numpy()})
    out["optimal"] = optimal[ib, ia, tau]
    for j, rule in enumerate(RULES):
        out[rule] = rules[ib, ia, j, tau]
    if not sensitivity:
        return GroupResult(out)

    # Every beta_e-optimal policy under every beta_a: one evaluation per beta_a, batch (e, a).
    n_b = len(betas)
    stacked = np.stack(policies).reshape(n_b * n_a, tau_max, space.n_states, space.n_types)
    under = np.zeros((n_b, n_b, n_a, tau_max + 1))  # [beta_a, beta_e, alpha, t]
    for i_act, inst in enumerate(insts):
        v = evaluate_policies(
            ChoiceModel.from_instance(inst),
            space,
            stacked,
            np.tile(alphas, n_b),
            revenue=inst.revenue,
        )
        under[i_act] = v[:, :, full].reshape(n_b, n_a, tau_max + 1)
    frames = [
        sensitivity_frame(
            kappa,
            int(tau_hat),
            w_h,
            betas,
            alphas,
            under[..., h],
            optimal[..., h],
            rules[:, :, 0, h],
        )
        for tau_hat, h in horizons
    ]
    return GroupResult(out, {"sensitivity": pd.concat(frames, ignore_index=True)})


def run_kaluza_study(
    reading: Reading | str | None = None,
    *,
    kappas: Iterable[int] | None = None,
    high_weights: Iterable[float] | None = None,
    alphas: Iterable[float] | None = None,
    betas: Iterable[float] | None = None,
    sensitivity: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> KaluzaStudy:
    """Run the full factorial study of Sect. 6 (or a sub-design) under one reading.

    Parameters
    ----------
    reading
        A :class:`Reading`, its text (``"a=sect6.3.1,periods=tau-hat"``) or a preset name of
        :data:`READINGS`; None is the default reading.
    kappas, high_weights, alphas, betas
        Restrict factors to a sub-design (None keeps the paper's levels).
    sensitivity
        Also run Sect. 6.3.3 (every beta_e policy under every beta_a of the grid).
    progress
        Called as ``progress(done, total)`` after each (kappa, w_h) group (a progress-bar hook).

    Returns
    -------
    KaluzaStudy

    Raises
    ------
    UsageError
        An unknown reading or an invalid sub-design.

    Examples
    --------
    >>> st = run_kaluza_study(kappas=[3], high_weights=[1.0], alphas=[0.5], betas=[0, 3])
    >>> len(st.instances), bool((st.instances["gap_pct_r_myopic"].abs() < 1e-9).all())
    (4, True)
    """
    rd = Reading.parse(reading)
    started = time.perf_counter()
    table = design(rd, kappas=kappas, high_weights=high_weights, alphas=alphas, betas=betas)
    runs = run_design(
        table,
        lambda rows: _run_group(rows, sensitivity),
        by=["kappa", "w_h"],
        id_column="instance",
        progress=progress,
    )
    return KaluzaStudy(
        reading=rd,
        instances=instance_table(runs.results),
        sensitivity=runs.tables.get("sensitivity"),
        seconds=time.perf_counter() - started,
    )
