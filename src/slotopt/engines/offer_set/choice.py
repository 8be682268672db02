"""MNL choice with the quality-inference (menu-size) effect of Kaluza et al. (2024), Eq. 2b.

A customer who sees the offer vector ``o = (o_1, ..., o_N)`` (``o_n`` free slots of type ``n``
shown) requests a slot of type ``n`` with probability

    P_n(o) = o_n e^{w_n} / (sum_m o_m e^{w_m} + e^{w0 + beta * f(sigma)}),   sigma = sum_n o_n,

and books nothing with the remaining probability ``P_0(o)``. ``f`` is the *menu-size effect*: the
paper's linear ramp ``((sigma - a) / (b - a))^+`` by default; a piecewise-linear curve and an
inverse-U "scarcity then quality" shape are the alternatives. Moving the effect from every slot's
utility (Eq. 2a) into the no-choice weight (Eq. 2b) is exact: dividing numerator and denominator of
Eq. 2a by ``e^{-beta f(sigma)}`` gives Eq. 2b, so both equations define the same probabilities.

Everything here is vectorised over arrays of offer vectors (last axis = slot type) and is pure
numpy. Attraction weights are computed with a common shift (the largest exponent) so that large
weights do not overflow; probabilities are invariant to that shift.

References
----------
Kaluza, I., Voigt, G., Haase, K., Dietze, A. (2024). Control of online-appointment systems when the
booking status signals quality of service. Schmalenbach J. Bus. Res. 76, 397-432.
Sect. 4, Eq. 2a/2b; Sect. 3.4, Eq. 1 and footnote 5 (the inverse-U shape of Kaluza et al. 2023).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from slotopt.instance.offer_set import default_lower_bound

if TYPE_CHECKING:
    from slotopt.instance.offer_set import OfferSetInstance

__all__ = [
    "ChoiceModel",
    "InverseU",
    "LinearRamp",
    "MenuEffect",
    "PiecewiseLinear",
    "default_lower_bound",
    "menu_effect",
]

FloatArray = NDArray[np.float64]


@runtime_checkable
class MenuEffect(Protocol):
    """A menu-size effect ``f(sigma)``: larger values make *not* booking more likely.

    Implementations are frozen dataclasses with a ``shape`` name, ``__call__`` mapping an array of
    offer-set sizes to an array of the same shape, and ``to_spec()`` giving the ``menu_effect``
    object of ``instance.json``.
    """

    shape: ClassVar[str]

    def __call__(self, sigma: ArrayLike) -> FloatArray: ...

    def to_spec(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LinearRamp:
    """The paper's ramp ``f(sigma) = ((sigma - a) / (b - a))^+`` (Eq. 1, 2b).

    Parameters
    ----------
    lower
        ``a``: offer sets of at most ``a`` slots carry no quality penalty.
    upper
        ``b`` (> ``a``): the size at which the penalty reaches ``beta`` (``f = 1``).
    cap
        When True, ``f`` is held at 1 for ``sigma > b``. The paper writes only the positive part
        ``(.)^+`` and never reaches ``sigma > b`` (it uses ``b = kappa``), so the default False
        extends the line beyond ``b``, which is the literal reading of the formula.

    Examples
    --------
    >>> LinearRamp(1, 3)([0, 1, 2, 3]).tolist()
    [0.0, 0.0, 0.5, 1.0]
    """

    lower: float
    upper: float
    cap: bool = False
    shape: ClassVar[str] = "linear"

    def __call__(self, sigma: ArrayLike) -> FloatArray:
        s = np.asarray(sigma, dtype=np.float64)
        f = np.maximum((s - self.lower) / (self.upper - self.lower), 0.0)
        if self.cap:
            f = np.minimum(f, 1.0)
        return f

    def to_spec(self) -> dict[str, Any]:
        return {"shape": self.shape, "cap": self.cap}


@dataclass(frozen=True)
class PiecewiseLinear:
    """``f`` interpolated linearly between breakpoints ``(sigma_i, f_i)``, constant outside them.

    Use it for the non-linear effects of Kaluza et al. (2023) (Sect. 7 b of the 2024 paper).

    Parameters
    ----------
    sigmas
        Strictly increasing offer-set sizes.
    values
        ``f`` at those sizes (same length, finite).

    Examples
    --------
    >>> PiecewiseLinear((2, 8, 32), (0.0, 1.0, 1.5))([0, 5, 8, 20, 40]).tolist()
    [0.0, 0.5, 1.0, 1.25, 1.5]
    """

    sigmas: tuple[float, ...]
    values: tuple[float, ...]
    shape: ClassVar[str] = "piecewise"

    def __call__(self, sigma: ArrayLike) -> FloatArray:
        s = np.asarray(sigma, dtype=np.float64)
        return np.asarray(
            np.interp(s, np.asarray(self.sigmas, float), np.asarray(self.values, float)),
            dtype=np.float64,
        )

    def to_spec(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "points": [[float(x), float(y)] for x, y in zip(self.sigmas, self.values, strict=True)],
        }


@dataclass(frozen=True)
class InverseU:
    """Scarcity then quality: utility rises up to ``peak`` slots, then falls (footnote 5).

    The provider's utility is inverse-U shaped in the number of shown slots (Kaluza et al. 2023):
    too few slots signal a stressed provider (scarcity), too many an unpopular one (quality). As a
    no-choice penalty that is a V:

        f(sigma) = scarcity * (peak - sigma) / peak      for sigma < peak,
        f(sigma) = (sigma - peak) / (upper - peak)        for sigma >= peak.

    With ``scarcity = 0`` it is the paper's ramp with ``a = peak, b = upper``.

    Parameters
    ----------
    peak
        The most attractive offer-set size (> 0).
    upper
        Size at which the quality penalty reaches 1 (> ``peak``).
    scarcity
        Penalty of showing nothing relative to the quality penalty at ``upper`` (>= 0).

    Examples
    --------
    >>> InverseU(peak=2, upper=4, scarcity=0.5)([1, 2, 3, 4]).tolist()
    [0.25, 0.0, 0.5, 1.0]
    """

    peak: float
    upper: float
    scarcity: float = 1.0
    shape: ClassVar[str] = "inverse_u"

    def __call__(self, sigma: ArrayLike) -> FloatArray:
        s = np.asarray(sigma, dtype=np.float64)
        below = self.scarcity * (self.peak - s) / self.peak
        above = (s - self.peak) / (self.upper - self.peak)
        return np.where(s < self.peak, below, above)

    def to_spec(self) -> dict[str, Any]:
        return {"shape": self.shape, "peak": self.peak, "scarcity": self.scarcity}


def menu_effect(spec: Mapping[str, Any], lower: float, upper: float) -> MenuEffect:
    """Build ``f`` from an instance's ``menu_effect`` data and its bounds a, b.

    ``{"shape": "linear", "cap": bool}`` gives ``LinearRamp(a, b, cap)`` (also for an empty spec);
    ``{"shape": "piecewise", "points": [[sigma, f], ...]}`` a :class:`PiecewiseLinear` (a and b
    unused); ``{"shape": "inverse_u", "peak": p, "scarcity": c}`` an ``InverseU(p, b, c)``.

    Raises
    ------
    ValueError
        Unknown shape (instances are validated on loading, so only hand-built specs can fail).
    """
    shape = spec.get("shape", "linear")
    if shape == "linear":
        return LinearRamp(float(lower), float(upper), cap=bool(spec.get("cap", False)))
    if shape == "piecewise":
        pts = spec["points"]
        return PiecewiseLinear(tuple(float(p[0]) for p in pts), tuple(float(p[1]) for p in pts))
    if shape == "inverse_u":
        return InverseU(
            peak=float(spec.get("peak", lower)),
            upper=float(upper),
            scarcity=float(spec.get("scarcity", 1.0)),
        )
    raise ValueError(f"unknown menu-effect shape {shape!r}; expected linear, piecewise, inverse_u")


@dataclass(frozen=True)
class ChoiceModel:
    """Eq. 2b: MNL over slot types with a no-choice weight that grows with the offer-set size.

    Parameters
    ----------
    weights
        ``w_n`` per slot type (mean utility of one slot of that type); shape ``(N,)``.
    beta
        Strength of the quality-inference effect (``beta = 0``: plain MNL).
    effect
        The menu-size effect ``f``; ``LinearRamp(a, b)`` is the paper's.
    w0
        Mean utility of not booking (the paper normalises it to 0).

    Examples
    --------
    Appendix G's Table 9 lists no-choice probabilities for ``s = (2, 1)``; one reading that
    reproduces them is ``w = (5, 1)``, ``beta = 0.5`` and ``f(sigma) = sigma / 3``:

    >>> m = ChoiceModel((5.0, 1.0), beta=0.5, effect=LinearRamp(0, 3))
    >>> p0 = m.no_choice_probability([[2, 1], [2, 0], [1, 1], [1, 0], [0, 1]])
    >>> [round(100 * float(p), 2) for p in p0]
    [0.55, 0.47, 0.91, 0.79, 30.29]
    """

    weights: tuple[float, ...]
    beta: float
    effect: MenuEffect
    w0: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))

    @classmethod
    def from_instance(cls, inst: OfferSetInstance) -> ChoiceModel:
        """The Eq. 2b model of a validated offer-set instance."""
        effect = menu_effect(inst.menu_effect, inst.lower_bound, inst.upper_bound)
        return cls(inst.weights, beta=inst.beta, effect=effect, w0=inst.w0)

    @property
    def n_types(self) -> int:
        return len(self.weights)

    @property
    def shift(self) -> float:
        """Common exponent subtracted from every attraction so that ``exp`` cannot overflow."""
        return float(max(max(self.weights, default=0.0), self.w0))

    def attractions(self) -> FloatArray:
        """``e^{w_n - shift}``, shape ``(N,)``."""
        return np.exp(np.asarray(self.weights, dtype=np.float64) - self.shift)

    def no_choice_weight(self, sigma: ArrayLike) -> FloatArray:
        """``e^{w0 + beta f(sigma) - shift}`` for an array of offer-set sizes (same shape)."""
        f = self.effect(sigma)
        return np.exp(self.w0 + self.beta * f - self.shift)

    def _parts(self, offers: ArrayLike) -> tuple[FloatArray, FloatArray]:
        o = np.asarray(offers, dtype=np.float64)
        if o.shape[-1:] != (self.n_types,):
            raise ValueError(
                f"offers must have {self.n_types} entries on the last axis, got shape {o.shape}"
            )
        num = o * self.attractions()
        den = num.sum(axis=-1) + self.no_choice_weight(o.sum(axis=-1))
        return num, den

    def probabilities(self, offers: ArrayLike) -> FloatArray:
        """``P_n(o)`` for every offer vector: shape ``(..., N)`` like ``offers``."""
        num, den = self._parts(offers)
        return num / den[..., None]

    def no_choice_probability(self, offers: ArrayLike) -> FloatArray:
        """``P_0(o) = 1 - sum_n P_n(o)``, shape ``offers.shape[:-1]``; 1 when nothing is offered."""
        num, den = self._parts(offers)
        return (den - num.sum(axis=-1)) / den

    def log_probabilities(self, offers: ArrayLike) -> FloatArray:
        """``log P_n(o)`` for ``n = 0..N`` (column 0 = no choice), shape ``(..., N + 1)``.

        Computed in log space (log-sum-exp), so it is accurate for any weights; ``-inf`` where a
        type is not offered. Intended for likelihoods (β estimation).
        """
        o = np.asarray(offers, dtype=np.float64)
        sigma = o.sum(axis=-1)
        with np.errstate(divide="ignore"):
            log_o = np.log(o)
        util = np.concatenate(
            [
                (self.w0 + self.beta * self.effect(sigma))[..., None],
                log_o + np.asarray(self.weights, dtype=np.float64),
            ],
            axis=-1,
        )
        top = util.max(axis=-1, keepdims=True)
        lse = top + np.log(np.exp(util - top).sum(axis=-1, keepdims=True))
        return util - lse
