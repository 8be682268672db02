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
The design runs in groups of one system size and one preferred weight (:func:`_run_group`:
13 betas x 3 arrival probabilities x 2 horizons). With a constant arrival probability ``V_t``
does not depend on the horizon, so one backward induction over ``max tau`` periods answers both
horizons (``values[:, tau]``). The 39 (beta, alpha) problems of a group share the state space,
so they are the batch axis of one
:func:`~slotopt.engines.offer_set.dp.backward_induction_batch` call (one choice model per
member): one offer search per period for the whole group. Rule policies are time-invariant, and
policy evaluation needs only the choice probabilities, so every rule of every model at every
alpha is one :func:`~slotopt.engines.offer_set.dp.evaluate_choices` call, and so is Sect.
6.3.3's sensitivity (every beta_e-optimal policy under every beta_a's choice model).

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
from slotopt.engines.offer_set.dp import StateSpace, backward_induction_batch, evaluate_choices
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
    spec = rows.iloc[0].to_dict()
    kappa, w_h = int(spec["kappa"]), float(spec["w_h"])
    space = StateSpace.of(CAPACITIES[kappa])
    row_alpha, row_beta = rows["alpha"].to_numpy(), rows["beta"].to_numpy()
    row_tau_hat, row_tau = rows["tau_hat"].to_numpy(), rows["horizon"].to_numpy()
    alphas = np.asarray(pd.unique(row_alpha), dtype=np.float64)  # in design order
    betas = np.asarray(pd.unique(row_beta), dtype=np.float64)
    tau_hats = pd.unique(row_tau_hat)
    tau_of = {int(th): int(t) for th, t in zip(row_tau_hat, row_tau, strict=True)}
    tau_max = int(row_tau.max())
    n_a, n_b, n_r = len(alphas), len(betas), len(RULES)
    full = space.full
    models: list[ChoiceModel] = []
    rule_probs = []
    revenue = 1.0
    for beta in betas:
        inst = offer_set_from_dict(
            instance_spec({**spec, "horizon": tau_max, "beta": beta, "tau_hat": 0})
        )
        model = ChoiceModel.from_instance(inst)
        stationary = np.stack([rule_policy(inst, r, space=space) for r in RULES])
        rule_probs.append(model.probabilities(stationary))  # (R, S, N)
        models.append(model)
        revenue = inst.revenue  # r = 1 in every instance of the design

    # The optimum of every (beta, alpha): one backward induction, members beta-major.
    dp = backward_induction_batch(
        [m for m in models for _ in alphas],
        space,
        np.tile(alphas, n_b),
        revenue=revenue,
        horizon=tau_max,
    )
    optimal = dp.values[:, :, full].reshape(n_b, n_a, tau_max + 1)  # V_t(kappa)
    # Every rule of every model at every alpha: one evaluation, members (beta, alpha, rule).
    probs = np.broadcast_to(
        np.stack(rule_probs)[:, None], (n_b, n_a, n_r, space.n_states, space.n_types)
    )
    rv = evaluate_choices(
        space,
        probs.reshape(n_b * n_a * n_r, space.n_states, space.n_types),
        np.broadcast_to(alphas[None, :, None], (n_b, n_a, n_r)).ravel(),
        revenue=revenue,
        horizon=tau_max,
    )
    rules = rv[:, :, full].reshape(n_b, n_a, n_r, tau_max + 1)

    ia = pd.Index(alphas).get_indexer(row_alpha)  # each row's position in the batch axes
    ib = pd.Index(betas).get_indexer(row_beta)
    out = pd.DataFrame(
        {
            "instance": rows["instance"].to_numpy(),
            "optimal": optimal[ib, ia, row_tau],
            **{rule: rules[ib, ia, j, row_tau] for j, rule in enumerate(RULES)},
        }
    )
    if not sensitivity:
        return GroupResult(out)

    # Every beta_e-optimal policy under every beta_a: one evaluation, members
    # (beta_a, beta_e, alpha), each with beta_a's choice probabilities of beta_e's offers.
    stacked = dp.policy.reshape(n_b, n_a, tau_max, space.n_states, space.n_types)
    under_probs = np.stack([model.probabilities(stacked) for model in models])
    v = evaluate_choices(
        space,
        under_probs.reshape(n_b * n_b * n_a, tau_max, space.n_states, space.n_types),
        np.tile(alphas, n_b * n_b),
        revenue=revenue,
    )
    under = v[:, :, full].reshape(n_b, n_b, n_a, tau_max + 1)  # [beta_a, beta_e, alpha, t]
    frames = [
        sensitivity_frame(
            kappa,
            int(th),
            w_h,
            betas,
            alphas,
            under[..., tau_of[int(th)]],
            optimal[..., tau_of[int(th)]],
            rules[:, :, 0, tau_of[int(th)]],
        )
        for th in tau_hats
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
