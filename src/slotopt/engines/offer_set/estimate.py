"""Maximum-likelihood estimation of the quality-inference effect β (and slot-type weights).

The data are choice situations (:class:`slotopt.instance.choices.ChoiceTable`): in situation
``i`` a customer sees alternatives ``j`` (providers), alternative ``j`` shows ``sigma_ij`` slots,
and picks one option or, when an outside option exists, nothing. Two models:

``"provider"`` (Eq. 1, Sect. 3.4 — the model the paper fits to its survey)
    the alternative is the provider; its utility is ``w_j - beta f(sigma_ij) + eps`` with
    ``w_j`` = 0 (the paper's ``asc = 0``) unless a slot type / known weight is given;
``"per_slot"`` (Eq. 5 of Appendix D; Eq. 2b for one provider)
    every shown slot is an option: row ``r`` (``o_r`` slots of type ``n`` at provider ``j``) has
    attraction ``o_r exp(w_n - beta f(sigma_ij))``.

The outside option, where available, has utility ``w0 = 0`` (the paper's normalisation). Both
models are conditional logits that are *linear* in the parameters ``theta = (beta, w...)``:

    v_r = offset_r + x_r . theta,   x_r = (-f(sigma_r), 1[type(r) = n] ...),
    offset_r = log o_r (per_slot) + known weight_r,

so the log-likelihood ``sum_i [v_{i,chosen} - log sum_{r in i} e^{v_r}]`` is concave. Its
gradient is ``sum_i (x_chosen - xbar_i)`` and its Hessian is
``-sum_i sum_r p_r (x_r - xbar_i)(x_r - xbar_i)^T`` with ``xbar_i = sum_r p_r x_r``. The Hessian
does not depend on the choices, so the observed information equals the expected one. Standard
errors are the square roots of the diagonal of its inverse.

Identification: β needs situations whose options differ in ``f(sigma)``. Slot-type weights are
measured against ``w0 = 0`` when some situation has an outside option, otherwise against the
first slot type (whose weight is then fixed at 0); a weight is fitted only when the information
matrix with it is non-singular (``fit_weights=None``).

References
----------
Kaluza, Voigt, Haase & Dietze (2024), Sect. 3.4 (Eq. 1; estimates β̂ = 0.6007 overall and per
treatment), Appendix C (Tables 7 and 8), Appendix D (Eq. 5). Train (2009), *Discrete Choice
Methods with Simulation*, Ch. 3.7 (logit log-likelihood, its derivatives and concavity).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from slotopt.engines.offer_set.choice import LinearRamp, MenuEffect
from slotopt.errors import InstanceError
from slotopt.instance.choices import ROW, ChoiceTable

__all__ = ["ChoiceFit", "ChoiceLikelihood", "fit_choice_model", "two_option_beta"]

Model = Literal["provider", "per_slot"]
MODELS: tuple[str, ...] = ("provider", "per_slot")

# A fitted utility difference beyond this within one situation means fitted probabilities of
# 0 or 1 (e^-25 ~ 1e-11): the data are separated and no finite maximum exists.
_SEPARATION = 25.0


@dataclass(frozen=True)
class ChoiceLikelihood:
    """The conditional-logit log-likelihood of a choice table, with analytic derivatives.

    Attributes
    ----------
    names : tuple of str
        Parameter names, ``("beta", "w[type]", ...)``.
    offset : ndarray of shape (K,)
        Fixed part of each option's utility (``log o``, known weights; 0 for outside options).
    design : ndarray of shape (K, P)
        ``x_k`` of each option; ``P = len(names)``.
    group : ndarray of shape (K,), int64
        Situation index of each option (non-decreasing).
    chosen : ndarray of shape (K,), bool
        Exactly one chosen option per situation (the outside option when nothing was chosen).
    """

    names: tuple[str, ...]
    offset: np.ndarray
    design: np.ndarray
    group: np.ndarray
    chosen: np.ndarray
    starts: np.ndarray = field(repr=False)

    @property
    def n_parameters(self) -> int:
        return len(self.names)

    def _probabilities(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self.offset + self.design @ theta
        top = np.maximum.reduceat(v, self.starts)
        e = np.exp(v - top[self.group])
        total = np.add.reduceat(e, self.starts)
        return v, top + np.log(total), e / total[self.group]

    def value(self, theta: np.ndarray) -> float:
        """Log-likelihood at ``theta``."""
        v, lse = self._probabilities(np.asarray(theta, dtype=np.float64))[:2]
        return float(v[self.chosen].sum() - lse.sum())

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """Score vector, shape (P,)."""
        p = self._probabilities(np.asarray(theta, dtype=np.float64))[2]
        return self.design[self.chosen].sum(axis=0) - p @ self.design

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Hessian of the log-likelihood, shape (P, P) (negative semi-definite)."""
        p = self._probabilities(np.asarray(theta, dtype=np.float64))[2]
        xbar = np.add.reduceat(p[:, None] * self.design, self.starts, axis=0)
        centred = self.design - xbar[self.group]
        return -(centred * p[:, None]).T @ centred

    def spread(self, theta: np.ndarray) -> float:
        """Largest difference of fitted utilities within a situation (separation check)."""
        v = self.offset + self.design @ np.asarray(theta, dtype=np.float64)
        top = np.maximum.reduceat(v, self.starts)
        low = np.minimum.reduceat(v, self.starts)
        return float((top - low).max())


def _menu_effect(
    table: ChoiceTable,
    effect: MenuEffect | Callable[[np.ndarray], np.ndarray] | None,
    lower: float | None,
    upper: float | None,
) -> tuple[Callable[[np.ndarray], np.ndarray], float | None, float | None]:
    if effect is not None:
        if lower is not None or upper is not None:
            raise ValueError("give either effect or lower_bound/upper_bound, not both")
        return effect, None, None
    sigma = table.menu_size()
    positive = sigma[sigma > 0]
    if len(positive) == 0:
        raise InstanceError(f"{table.file}: no alternative shows any slot, so β has no data")
    a = float(positive.min()) if lower is None else float(lower)
    b = float(sigma.max()) if upper is None else float(upper)
    if not (math.isfinite(a) and math.isfinite(b) and b > a):
        raise InstanceError(
            f"{table.file}: the menu-size ramp needs lower bound a < upper bound b, got a = {a:g}, "
            f"b = {b:g} (pass lower_bound/upper_bound, or data with at least two menu sizes)"
        )
    return LinearRamp(a, b), a, b


def build_likelihood(
    table: ChoiceTable,
    *,
    model: Model = "provider",
    effect: Callable[[np.ndarray], np.ndarray],
    fit_weights: bool = True,
) -> ChoiceLikelihood:
    """Assemble options, offsets and design of ``table`` under ``model``.

    Options that show no slots are unavailable and left out; each situation with an outside
    option gets one more option of utility 0.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    rows = table.rows
    if model == "provider":
        repeated = pd.Series(table.alternative).duplicated(keep="first").to_numpy(dtype=bool)
        for i in np.flatnonzero(repeated)[:1]:
            raise InstanceError(
                f"{table.file} row {rows[ROW].iloc[i]}, column alternative: alternative "
                f"{rows['alternative'].iloc[i]!r} of situation "
                f"{table.situation_ids[table.situation[i]]!r} has several rows; the provider "
                "model (Eq. 1) takes one row per alternative (use model='per_slot' for rows by "
                "slot type)"
            )
    sigma = table.menu_size().astype(np.float64)
    f = np.asarray(effect(sigma), dtype=np.float64)
    if f.shape != sigma.shape or not np.isfinite(f).all():
        raise ValueError("the menu-size effect must map sizes to finite values of the same shape")
    avail = table.shown > 0
    offset = np.zeros(table.n_rows)
    if model == "per_slot":
        offset[avail] = np.log(table.shown[avail])
    if table.weight is not None:
        offset += table.weight
    columns = [-f]
    names = ["beta"]
    if fit_weights and table.slot_type is not None and table.weight is None:
        reference = None if table.outside.any() else 0
        for t in range(len(table.type_names)):
            if t != reference:
                columns.append((table.slot_type == t).astype(np.float64))
                names.append(f"w[{table.type_names[t]}]")
    design = np.column_stack(columns)

    sit = table.situation[avail]
    off = offset[avail]
    des = design[avail]
    cho = table.chosen[avail]
    n_out = int(table.outside.sum())
    if n_out:
        out_sit = np.flatnonzero(table.outside)
        picked = np.zeros(table.n_situations, dtype=bool)
        picked[table.situation[table.chosen]] = True
        sit = np.concatenate([sit, out_sit])
        off = np.concatenate([off, np.zeros(n_out)])
        des = np.vstack([des, np.zeros((n_out, des.shape[1]))])
        cho = np.concatenate([cho, ~picked[out_sit]])
    order = np.argsort(sit, kind="stable")
    sit, off, des, cho = sit[order], off[order], des[order], cho[order]
    present = np.unique(sit)
    if len(present) != table.n_situations:
        # possible only for a forced choice among options that all show nothing — the reader
        # rejects a forced choice without a chosen row, and a chosen row must show slots.
        raise InstanceError(f"{table.file}: a situation has no option showing any slot")
    starts = np.r_[0, np.flatnonzero(np.diff(sit)) + 1]
    return ChoiceLikelihood(
        names=tuple(names), offset=off, design=des, group=sit, chosen=cho, starts=starts
    )


@dataclass(frozen=True)
class ChoiceFit:
    """Result of :func:`fit_choice_model`.

    Every field is always present; ``weights``/``weight_se`` are None when no slot-type weight
    was fitted, ``lower_bound``/``upper_bound`` None when a custom effect was given.

    Attributes
    ----------
    beta, beta_se
        The estimate of β and its standard error (observed information).
    parameters : DataFrame
        One row per parameter: ``parameter, estimate, std_error, z, p_value`` (two-sided Wald).
    covariance : ndarray of shape (P, P)
        Inverse observed information.
    log_likelihood, null_log_likelihood
        At the estimate and at ``theta = 0`` (no menu-size effect, all weights 0).
    """

    model: str
    beta: float
    beta_se: float
    weights: dict[str, float] | None
    weight_se: dict[str, float] | None
    parameters: pd.DataFrame
    covariance: np.ndarray
    log_likelihood: float
    null_log_likelihood: float
    n_situations: int
    n_options: int
    n_no_choice: int
    lower_bound: float | None
    upper_bound: float | None
    iterations: int
    converged: bool
    gradient_norm: float
    file: str = "choices.csv"

    @property
    def z(self) -> float:
        """``beta / beta_se``; the paper prints ``t-ratio`` with the sign of ``-beta`` (R's
        coefficient of the size variable)."""
        return self.beta / self.beta_se

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "file": self.file,
            "beta": self.beta,
            "beta_se": self.beta_se,
            "z": self.z,
            "weights": self.weights,
            "weight_se": self.weight_se,
            "log_likelihood": self.log_likelihood,
            "null_log_likelihood": self.null_log_likelihood,
            "n_situations": self.n_situations,
            "n_options": self.n_options,
            "n_no_choice": self.n_no_choice,
            "lower_bound": self.lower_bound,
            "upper_bound": self.upper_bound,
            "iterations": self.iterations,
            "converged": self.converged,
            "gradient_norm": self.gradient_norm,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"parameters": self.parameters}


def fit_choice_model(
    table: ChoiceTable,
    *,
    model: Model = "provider",
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    effect: MenuEffect | Callable[[np.ndarray], np.ndarray] | None = None,
    fit_weights: bool | None = None,
) -> ChoiceFit:
    """Fit β (and slot-type weights when identified) by maximum likelihood.

    Parameters
    ----------
    table
        Validated choice situations (:func:`slotopt.instance.choices.load_choices`).
    model
        ``"provider"`` (Eq. 1, the survey model; default) or ``"per_slot"`` (Eq. 5 / 2b).
    lower_bound, upper_bound
        ``a`` and ``b`` of the linear ramp ``f(sigma) = ((sigma - a)/(b - a))^+``. Defaults: the
        smallest positive and the largest menu size in the data (the survey's ``a = 2, b = 32``,
        Sect. 3.4). β is measured on this scale: use the fitted β only with the same ``a, b``.
    effect
        Another menu-size effect ``f`` (e.g. ``PiecewiseLinear``) instead of the ramp.
    fit_weights
        None: fit slot-type weights when the table has ``slot_type`` (and no known ``weight``)
        and they are identified; True: require them; False: keep them at 0.

    Returns
    -------
    ChoiceFit

    Raises
    ------
    InstanceError
        β (or a required weight) is not identified by the data, or the data are separated so
        that no finite maximum-likelihood estimate exists.

    Examples
    --------
    Sect. 3.4, treatment T3: 53 of 71 respondents chose 8 slots over 32 (Table 2: 75 %).

    >>> from slotopt.instance.choices import choices_from_frame
    >>> rows = [(f"r{i}", alt, n, int((alt == "A") == (i < 53)))
    ...         for i in range(71) for alt, n in (("A", 8), ("B", 32))]
    >>> t = choices_from_frame(pd.DataFrame(rows, columns=["situation_id", "alternative",
    ...                                                    "shown", "chosen"]))
    >>> fit = fit_choice_model(t, lower_bound=2, upper_bound=32)
    >>> round(fit.beta, 2), round(fit.beta_se, 3)
    (1.35, 0.341)

    References
    ----------
    Kaluza et al. (2024), Sect. 3.4, Eq. 1 and Appendix D, Eq. 5.
    """
    f, a, b = _menu_effect(table, effect, lower_bound, upper_bound)
    want = fit_weights is not False and table.slot_type is not None and table.weight is None
    if fit_weights and not want:
        raise InstanceError(
            f"{table.file}: fit_weights=True needs a slot_type column and no known weight column"
        )
    lik = build_likelihood(table, model=model, effect=f, fit_weights=want)
    zero = np.zeros(lik.n_parameters)
    info = -lik.hessian(zero)
    if want and not _nonsingular(info):
        if fit_weights:
            raise InstanceError(
                f"{table.file}: the slot-type weights are not identified by these data (each "
                "weight needs choices between types, or against an outside option); fit with "
                "fit_weights=False"
            )
        lik = build_likelihood(table, model=model, effect=f, fit_weights=False)
        zero = np.zeros(lik.n_parameters)
        info = -lik.hessian(zero)
        want = False
    if not _nonsingular(info):
        raise InstanceError(
            f"{table.file}: β is not identified: within every situation all options have the "
            "same menu-size effect f(sigma) (situations need alternatives of different sizes, "
            "or a no-choice option and menu sizes that differ across situations)"
        )
    res = optimize.minimize(
        lambda th: -lik.value(th),
        zero,
        jac=lambda th: -lik.gradient(th),
        hess=lambda th: -lik.hessian(th),
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": 200},
    )
    theta = np.asarray(res.x, dtype=np.float64)
    if lik.spread(theta) > _SEPARATION or not np.isfinite(theta).all():
        raise InstanceError(
            f"{table.file}: no finite maximum-likelihood estimate: the choices are (quasi-)"
            "separated by menu size (e.g. every respondent chose the smaller menu), so the "
            "likelihood keeps rising as |β| grows; collect situations with both outcomes"
        )
    grad = lik.gradient(theta)
    cov = np.linalg.inv(-lik.hessian(theta))
    se = np.sqrt(np.diag(cov))
    zval = theta / se
    params = pd.DataFrame(
        {
            "parameter": list(lik.names),
            "estimate": theta,
            "std_error": se,
            "z": zval,
            "p_value": 2.0 * stats.norm.sf(np.abs(zval)),
        }
    )
    weights = weight_se = None
    if want:
        names = [n[2:-1] for n in lik.names[1:]]
        weights = dict(zip(names, theta[1:].tolist(), strict=True))
        weight_se = dict(zip(names, se[1:].tolist(), strict=True))
        if not table.outside.any():
            weights = {table.type_names[0]: 0.0} | weights
    scale = max(1.0, float(np.abs(theta).max()))
    return ChoiceFit(
        model=model,
        beta=float(theta[0]),
        beta_se=float(se[0]),
        weights=weights,
        weight_se=weight_se,
        parameters=params,
        covariance=cov,
        log_likelihood=lik.value(theta),
        null_log_likelihood=lik.value(np.zeros_like(theta)),
        n_situations=table.n_situations,
        n_options=len(lik.offset),
        n_no_choice=table.n_no_choice,
        lower_bound=a,
        upper_bound=b,
        iterations=int(res.nit),
        converged=bool(np.abs(grad).max() <= 1e-6 * scale * table.n_situations),
        gradient_norm=float(np.abs(grad).max()),
        file=table.file,
    )


def _nonsingular(info: np.ndarray) -> bool:
    eig = np.linalg.eigvalsh(info)
    return bool(eig.min() > 1e-9 * max(1.0, float(eig.max())))


def two_option_beta(
    chose_smaller: int, n: int, f_small: float, f_large: float
) -> tuple[float, float]:
    """Closed-form MLE and standard error for one repeated two-alternative comparison.

    With two alternatives, utility ``-beta f(sigma)`` and no weights, ``P(smaller) =
    1 / (1 + e^{-beta (f_large - f_small)})``; setting it to the observed share ``q = y/n``
    gives ``beta = logit(q) / (f_large - f_small)`` and the information ``n d^2 q (1 - q)``.

    Examples
    --------
    Sect. 3.4, T2 (2 vs 32 slots, Table 2: 57 % of 84 chose 2, i.e. 48):

    >>> [round(x, 4) for x in two_option_beta(48, 84, 0.0, 1.0)]
    [0.2877, 0.2205]
    """
    if not 0 < chose_smaller < n:
        raise ValueError("the closed form needs both outcomes observed (0 < chose_smaller < n)")
    d = f_large - f_small
    if d == 0:
        raise ValueError("the two menus must differ in f")
    q = chose_smaller / n
    return math.log(q / (1.0 - q)) / d, 1.0 / (abs(d) * math.sqrt(n * q * (1.0 - q)))
