"""Exact backward induction for offer-set control (Kaluza et al. 2024, Sect. 4), at realistic sizes.

Model and period numbering
--------------------------
Time counts backwards: the decision periods are ``t = tau, ..., 1`` and ``t = 0`` is the workday.
In period ``t`` the provider sees the booking state ``s = (s_1, ..., s_N)`` (free slots per type)
and shows ``o <= s``; with probability ``alpha_t`` one customer arrives and books a slot of type
``n`` with probability ``P_n(o)`` (Eq. 2b, :mod:`slotopt.engines.offer_set.choice`), paying ``r``.
The printed Eq. 3 is garbled; the recursion used here is the standard one it abbreviates::

    V_0(s) = 0
    V_t(s) = max_{0 <= o <= s} [ alpha_t sum_n P_n(o) (r + V_{t-1}(s - e_n))
                                 + (1 - alpha_t sum_n P_n(o)) V_{t-1}(s) ]
           = V_{t-1}(s) + alpha_t max_o sum_n P_n(o) D_n(s),
    D_n(s) = r + V_{t-1}(s - e_n) - V_{t-1}(s)        (the gain of booking one type-n slot)

and the optimal expected revenue is ``V_tau(kappa_1, ..., kappa_N)``.

The action search (no enumeration)
----------------------------------
The inner problem is ``max_o R(o)`` with ``R(o) = sum_n o_n v_n D_n / (sum_n o_n v_n + c(sigma))``,
``v_n = e^{w_n}`` and ``c(sigma) = e^{w0 + beta f(sigma)}``: the no-choice weight depends on the
offer only through its size. Filling units by the largest ``v_n D_n`` is *not* optimal (units also
enter the denominator). Dinkelbach's lemma gives the structure instead: ``lambda* = max R`` is the
root of ``F(lambda) = max_o [sum_n o_n v_n (D_n - lambda) - lambda c(sigma)]``, and for a fixed
``lambda`` and size ``sigma`` that maximisation over identical units is a sort -- fill ``sigma``
units in decreasing order of ``v_n (D_n - lambda)``. So every state is solved by

1. ``lambda = 0`` (showing nothing achieves it);
2. order the N types by ``v_n (D_n - lambda)``; the greedy fills of that order for *all* sizes
   ``sigma = 0..sum s`` come from two prefix sums over the units; ``lambda' = `` their best ratio;
3. stop when ``lambda' <= lambda`` (up to the tie tolerance), else ``lambda = lambda'`` and repeat.

At the stop no greedy fill of the order at ``lambda`` beats ``lambda``, so ``F(lambda) <= 0`` and
``lambda = lambda*``; each pass is at least a Dinkelbach step, so it ends after finitely many
(typically 2-3) passes. A pass costs ``O(N log N + sum s)`` per state instead of the
``prod(s_n + 1)`` offer vectors, and all states of a period are processed together in numpy.
The orders that can occur are those between the ``<= N(N-1)/2`` crossings
``lambda_ij = (v_i D_i - v_j D_j) / (v_i - v_j)`` of the unit lines (the parametric view of the
same argument, as for cardinality-constrained MNL assortment).

Ties
----
Among offers whose value is within ``TIE_RTOL`` (relative to the largest ``|D_n|``) of the best,
the policy takes the smallest ``sigma``, then the lexicographically smallest ``o`` (fewest slots
of type 1, then type 2, ...). The sort reaches the latter by ordering units of equal value
(within the tolerance) with the higher type index first. Both searches apply this rule; they can
differ only where unit values tie within about 1e-12 without being equal, and the values agree.

Array conventions
-----------------
States are the mixed-radix (C-order) enumeration of ``prod(kappa_n + 1)`` vectors, the last type
varying fastest; state ``S - 1`` is ``kappa`` (everything free). ``values`` has shape
``(tau + 1, S)`` with ``values[t] = V_t`` (``values[0] = 0``); ``policy`` has shape ``(tau, S, N)``
with ``policy[t - 1]`` the offer vectors of period ``t``.

The batch axis
--------------
:func:`backward_induction_batch` and :func:`evaluate_policies` solve or evaluate ``B`` problems
that share a choice model and a state space at once (many arrival-rate vectors, or many
policies; :func:`evaluate_choices` also takes members of different choice models), QuantEcon
style: ``alpha`` of shape ``(B, tau)`` (``alpha[b, t - 1]`` is member
``b``'s arrival probability in period ``t``), ``values`` of shape ``(B, tau + 1, S)``, ``policy``
of shape ``(B, tau, S, N)``, or ``(B, S, N)`` for stationary policies. All ``B x S`` states of a
period go through one call of the offer search, which is what makes a factorial study cheap.
:func:`backward_induction` and :func:`evaluate_policy` are the ``B = 1`` case of these (same
arithmetic, so the same numbers to the last bit).

References
----------
Kaluza, Voigt, Haase, Dietze (2024), Sect. 4, Eq. 2b and 3. Dinkelbach, W. (1967), On nonlinear
fractional programming, Management Science 13(7), 492-498. Rusmevichientong, Shen, Shmoys (2010),
Dynamic assortment optimization with a multinomial logit choice model and capacity constraint,
Operations Research 58(6) (the same parametric argument for cardinality-constrained MNL).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from slotopt.engines.offer_set.choice import ChoiceModel

if TYPE_CHECKING:
    from slotopt.instance.offer_set import OfferSetInstance

__all__ = [
    "TIE_RTOL",
    "DPBatch",
    "DPSolution",
    "StateSpace",
    "backward_induction",
    "backward_induction_batch",
    "best_offers",
    "best_offers_enumerate",
    "evaluate_choices",
    "evaluate_policies",
    "evaluate_policy",
    "per_unit_gains",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TIE_RTOL = 1e-12
# Elements of the (states, orders, sizes, types) work array per chunk: bounds memory (~100 MB).
_CHUNK_ELEMENTS = 4_000_000
_MAX_ITERATIONS = 200
# Refuse instances whose values + policy arrays would not fit a workstation's memory.
MAX_BYTES = 16 * 2**30


@dataclass(frozen=True, eq=False)
class StateSpace:
    """All booking states ``0 <= s <= kappa`` in mixed-radix order.

    Attributes
    ----------
    capacities : tuple of int
        ``kappa_n``.
    states : ndarray of shape (S, N), int64
        ``states[i]`` is the state with index ``i``; the last type varies fastest.
    strides : ndarray of shape (N,), int64
        ``index(s) = states-index = sum_n s_n * strides[n]``.
    down : ndarray of shape (S, N), int64
        Index of ``s - e_n``, or -1 where ``s_n = 0``.
    """

    capacities: tuple[int, ...]
    states: IntArray
    strides: IntArray
    down: IntArray

    @classmethod
    def of(cls, capacities: ArrayLike) -> StateSpace:
        caps = tuple(int(c) for c in np.asarray(capacities).ravel())
        dims = tuple(c + 1 for c in caps)
        states = np.indices(dims, dtype=np.int64).reshape(len(dims), -1).T.copy()
        strides = np.ones(len(dims), dtype=np.int64)
        for n in range(len(dims) - 2, -1, -1):
            strides[n] = strides[n + 1] * dims[n + 1]
        idx = np.arange(len(states), dtype=np.int64)
        down = np.where(states > 0, idx[:, None] - strides[None, :], -1)
        return cls(caps, states, strides, down)

    @property
    def n_states(self) -> int:
        return int(self.states.shape[0])

    @property
    def n_types(self) -> int:
        return len(self.capacities)

    @property
    def full(self) -> int:
        """Index of the state ``kappa`` (nothing booked yet)."""
        return self.n_states - 1

    def index(self, s: ArrayLike) -> int:
        """Index of one state vector ``s``."""
        return int(np.dot(np.asarray(s, dtype=np.int64), self.strides))


@dataclass(frozen=True, eq=False)
class DPSolution:
    """Values and optimal policy of one instance (see the module docstring for conventions).

    Attributes
    ----------
    values : ndarray of shape (tau + 1, S)
        ``values[t, i] = V_t(states[i])``.
    policy : ndarray of shape (tau, S, N), int64
        ``policy[t - 1, i]`` is the offer vector in period ``t`` and state ``states[i]``.
    space : StateSpace
    method : str
        ``"sort"`` (parametric sweep) or ``"enumerate"`` (every offer vector).
    """

    values: FloatArray
    policy: IntArray
    space: StateSpace
    method: str

    @property
    def horizon(self) -> int:
        return int(self.policy.shape[0])

    @property
    def optimal_value(self) -> float:
        """``V_tau(kappa)``: the optimal expected revenue from the empty schedule."""
        return float(self.values[-1, self.space.full])

    def offer(self, t: int, s: ArrayLike) -> tuple[int, ...]:
        """The optimal offer vector in period ``t`` (``tau >= t >= 1``) and state ``s``."""
        if not 1 <= t <= self.horizon:
            raise ValueError(f"period t must be in 1..{self.horizon}, got {t}")
        return tuple(int(x) for x in self.policy[t - 1, self.space.index(s)])


@dataclass(frozen=True, eq=False)
class DPBatch:
    """Values and optimal policies of ``B`` problems sharing a choice model and a state space.

    Attributes
    ----------
    values : ndarray of shape (B, tau + 1, S)
        ``values[b, t, i] = V_t(states[i])`` of member ``b``.
    policy : ndarray of shape (B, tau, S, N), int64
        ``policy[b, t - 1, i]`` is member ``b``'s offer vector in period ``t`` and state ``i``.
    space : StateSpace
    method : str
        ``"sort"`` or ``"enumerate"``.
    """

    values: FloatArray
    policy: IntArray
    space: StateSpace
    method: str

    def solution(self, b: int) -> DPSolution:
        """Member ``b`` as a :class:`DPSolution` (views, no copy)."""
        return DPSolution(
            values=self.values[b], policy=self.policy[b], space=self.space, method=self.method
        )


def per_unit_gains(v_next: FloatArray, space: StateSpace, revenue: float) -> FloatArray:
    """``D_n(s) = r + V(s - e_n) - V(s)``; 0 where ``s_n = 0`` (never offered).

    ``v_next`` has shape ``(..., S)`` (any leading batch axes); the result ``(..., S, N)``.
    """
    down = space.down
    gains = revenue + v_next[..., np.maximum(down, 0)] - v_next[..., :, None]
    return np.where(down >= 0, gains, 0.0)


def _tie_tolerance(gains: FloatArray, states: IntArray) -> FloatArray:
    scale = np.where(states > 0, np.abs(gains), 0.0).max(axis=-1, initial=0.0)
    return TIE_RTOL * scale


def _type_orders(
    v: FloatArray, gains: FloatArray, avail: NDArray[np.bool_], lam: FloatArray, tol: FloatArray
) -> IntArray:
    """Types by decreasing unit value ``v_n (D_n - lambda)``, shape ``(S, N)``.

    ``v`` is ``(N,)`` (one choice model) or ``(S, N)`` (one per state). Values within ``tol`` of
    each other count as equal and put the higher type index first (so the greedy fill is the
    lexicographically smallest among equals); unavailable types go last.
    """
    n = v.shape[-1]
    key = (v if v.ndim == 2 else v[None, :]) * (gains - lam[:, None])
    step = np.where(tol > 0, tol, 1.0)[:, None]
    # An unavailable type's key may overflow when the available gains are tiny (a subnormal
    # tolerance); it is replaced by -inf, so the overflow is harmless.
    with np.errstate(over="ignore"):
        key = np.where(avail, np.floor(key / step + 0.5), -np.inf)
    rev = np.argsort(-key[:, ::-1], axis=1, kind="stable")
    return (n - 1 - rev).astype(np.int64)


def _fill_ratios(
    v: FloatArray, v0: FloatArray, gains: FloatArray, states: IntArray, orders: IntArray, q: int
) -> FloatArray:
    """Ratio ``sum o v D / (sum o v + v0(sigma))`` of the greedy fill of every size, ``(S, q+1)``.

    ``v`` is ``(N,)`` or ``(S, N)`` and ``v0`` ``(q+1,)`` or ``(S, q+1)`` (one choice model, or
    one per state). Every state lists its units best first (in ``orders``), padded to ``q`` units
    with a dummy type worth nothing; prefix sums over the units then give the numerator and
    denominator of the greedy fill of every size sigma at once. Sizes above the free capacity get
    ``-inf``.
    """
    n_states = states.shape[0]
    per_state = v.ndim == 2
    caps = np.take_along_axis(states, orders, axis=1)
    total = caps.sum(axis=1)
    reps = np.concatenate([caps, (q - total)[:, None]], axis=1).ravel()
    num = np.zeros((n_states, q + 1))
    den = np.zeros((n_states, q + 1))
    zero = np.zeros((n_states, 1))
    vg = np.take_along_axis((v if per_state else v[None, :]) * gains, orders, axis=1)
    units = np.repeat(np.concatenate([vg, zero], axis=1).ravel(), reps)
    np.cumsum(units.reshape(n_states, q), axis=1, out=num[:, 1:])
    v_sorted = np.take_along_axis(v, orders, axis=1) if per_state else v[orders]
    units = np.repeat(np.concatenate([v_sorted, zero], axis=1).ravel(), reps)
    np.cumsum(units.reshape(n_states, q), axis=1, out=den[:, 1:])
    den += v0 if per_state else v0[None, :]
    ratio = num / den
    ratio[np.arange(q + 1)[None, :] > total[:, None]] = -np.inf
    return ratio


def _best_in_chunk(
    v: FloatArray, v0: FloatArray, states: IntArray, gains: FloatArray, start: IntArray | None
) -> tuple[IntArray, FloatArray]:
    """Dinkelbach's iteration on every state at once (see the module docstring).

    ``v`` (attractions) is ``(N,)`` or ``(S, N)``; ``v0`` (no-choice weights by offer size) is
    ``(Q+1,)`` or ``(S, Q+1)`` with ``Q`` at least the largest number of free slots.
    """
    n_states, n = states.shape
    per_state = v.ndim == 2
    avail = states > 0
    q = int(states.sum(axis=1).max(initial=0))
    v0 = v0[..., : q + 1]
    tol = _tie_tolerance(gains, states)
    lam = np.zeros(n_states)  # o = 0 achieves 0: a feasible start
    if start is not None:  # a feasible hint (last period's offer) usually starts at the optimum
        sizes = start.sum(axis=1)
        ws = start * (v if per_state else v[None, :])
        no_choice = v0[np.arange(n_states), sizes] if per_state else v0[sizes]
        hint = (ws * gains).sum(axis=1) / (ws.sum(axis=1) + no_choice)
        lam = np.maximum(lam, hint)
    orders = np.zeros((n_states, n), dtype=np.int64)
    ratio = np.zeros((n_states, q + 1))
    active = np.arange(n_states)
    for _ in range(_MAX_ITERATIONS):
        st, g = states[active], gains[active]
        va, v0a = (v[active], v0[active]) if per_state else (v, v0)
        od = _type_orders(va, g, avail[active], lam[active], tol[active])
        r = _fill_ratios(va, v0a, g, st, od, q)
        orders[active], ratio[active] = od, r
        new = r.max(axis=1)
        better = new > lam[active] + tol[active]
        lam[active] = np.maximum(lam[active], new)
        active = active[better]
        if active.size == 0:
            break
    else:  # pragma: no cover - Dinkelbach terminates finitely; this guards float pathologies
        raise RuntimeError("offer search did not converge; please report this instance")
    return _select(states, orders, ratio, lam, tol)


def _select(
    states: IntArray, orders: IntArray, ratio: FloatArray, lam: FloatArray, tol: FloatArray
) -> tuple[IntArray, FloatArray]:
    # Smallest size whose greedy fill (in the order at lambda*) is optimal within tolerance.
    size = np.argmax(ratio >= (lam - tol)[:, None], axis=1)
    caps = np.take_along_axis(states, orders, axis=1)
    before = np.cumsum(caps, axis=1) - caps
    sorted_o = np.clip(size[:, None] - before, 0, caps)
    o = np.empty_like(sorted_o)
    np.put_along_axis(o, orders, sorted_o, axis=1)
    return o.astype(np.int64), ratio[np.arange(len(states)), size]


def _chunks(n_states: int, per_state: int) -> list[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(per_state, 1))
    return [slice(i, min(i + step, n_states)) for i in range(0, n_states, step)]


def _search(
    v: FloatArray, v0: FloatArray, states: IntArray, gains: FloatArray, start: IntArray | None
) -> tuple[IntArray, FloatArray]:
    """:func:`best_offers` on validated arrays, in memory-bounded chunks of states."""
    per_state = (int(states.sum(axis=1).max(initial=0)) + 1) * 8
    offers = np.zeros_like(states)
    value = np.zeros(len(states))
    for sl in _chunks(len(states), per_state):
        offers[sl], value[sl] = _best_in_chunk(
            v[sl] if v.ndim == 2 else v,
            v0[sl] if v0.ndim == 2 else v0,
            states[sl],
            gains[sl],
            None if start is None else start[sl],
        )
    return offers, value


def best_offers(
    model: ChoiceModel, states: ArrayLike, gains: ArrayLike, *, start: ArrayLike | None = None
) -> tuple[IntArray, FloatArray]:
    """Solve ``max_{o <= s} sum_n P_n(o) D_n`` for many states at once, without enumeration.

    Parameters
    ----------
    model
        The choice model (Eq. 2b).
    states
        Free slots per type, shape ``(S, N)``.
    gains
        ``D_n`` per state and type, shape ``(S, N)`` (ignored where ``s_n = 0``).
    start
        Optional feasible offers ``(S, N)`` (``0 <= o <= s``) to start the iteration from, e.g.
        the previous period's policy; only the speed depends on it, never the answer.

    Returns
    -------
    offers : ndarray of shape (S, N), int64
        An optimal offer vector per state (ties: smallest sigma, then lexicographically smallest).
    value : ndarray of shape (S,)
        ``sum_n P_n(o) D_n`` at that offer (0 when nothing can be offered).

    Examples
    --------
    Offering the low-weight, high-gain unit beats the high-weight unit (a plain sort by
    ``v_n D_n`` would pick the other one):

    >>> from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
    >>> m = ChoiceModel((np.log(100.0), 0.0), beta=0.0, effect=LinearRamp(1, 2))
    >>> o, val = best_offers(m, [[1, 1]], [[1.0, 3.0]])
    >>> o.tolist(), round(float(val[0]), 4)
    ([[0, 1]], 1.5)
    """
    s = np.asarray(states, dtype=np.int64)
    g = np.asarray(gains, dtype=np.float64)
    if s.shape != g.shape:
        raise ValueError(f"states {s.shape} and gains {g.shape} must have the same shape")
    hint = None if start is None else np.asarray(start, dtype=np.int64)
    if hint is not None and (hint.shape != s.shape or (hint < 0).any() or (hint > s).any()):
        raise ValueError("start must be feasible offers (0 <= o <= s) of the same shape as states")
    q = int(s.sum(axis=1).max(initial=0))
    return _search(model.attractions(), model.no_choice_weight(np.arange(q + 1)), s, g, hint)


def all_offer_vectors(capacities: ArrayLike) -> IntArray:
    """Every ``0 <= o <= kappa`` sorted by size, then lexicographically: shape ``(M, N)``."""
    caps = [int(c) for c in np.asarray(capacities).ravel()]
    grid = np.array(list(itertools.product(*(range(c + 1) for c in caps))), dtype=np.int64)
    grid = grid.reshape(-1, len(caps))
    order = np.lexsort(tuple(grid[:, j] for j in range(len(caps) - 1, -1, -1)) + (grid.sum(1),))
    return grid[order]


def best_offers_enumerate(
    model: ChoiceModel, states: ArrayLike, gains: ArrayLike
) -> tuple[IntArray, FloatArray]:
    """Reference for :func:`best_offers`: evaluates every offer vector ``o <= s``.

    Same signature, return values and tie rule; cost ``prod(max s_n + 1)`` per state.
    """
    s = np.asarray(states, dtype=np.int64)
    g = np.asarray(gains, dtype=np.float64)
    vectors = all_offer_vectors(s.max(axis=0, initial=0))
    v = model.attractions()
    sizes = vectors.sum(axis=1)
    den = vectors @ v + model.no_choice_weight(sizes)
    weighted = (vectors * v).T  # (N, M)
    offers = np.zeros_like(s)
    value = np.zeros(len(s))
    tol_all = _tie_tolerance(g, s)
    for sl in _chunks(len(s), len(vectors) * max(s.shape[1], 1)):
        num = g[sl] @ weighted
        feasible = (vectors[None, :, :] <= s[sl, None, :]).all(axis=2)
        val = np.where(feasible, num / den[None, :], -np.inf)
        best = val.max(axis=1)
        pick = np.argmax(val >= (best - tol_all[sl])[:, None], axis=1)
        offers[sl] = vectors[pick]
        value[sl] = val[np.arange(len(pick)), pick]
    return offers, value


def _check_size(n_bytes: int, what: str) -> None:
    if n_bytes > MAX_BYTES:
        raise ValueError(
            f"{what}; the value function and policy would need {n_bytes / 2**30:.1f} GiB (limit "
            f"{MAX_BYTES / 2**30:.0f} GiB). Merge slot types or shorten the horizon."
        )


def _alpha_matrix(alpha: ArrayLike, horizon: int | None) -> FloatArray:
    """``alpha`` as shape ``(B, tau)``: a ``(B,)`` array is constant over ``horizon`` periods."""
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim == 1 and horizon is not None:
        a = np.broadcast_to(a[:, None], (len(a), horizon))
    if a.ndim != 2 or (horizon is not None and a.shape[1] != horizon):
        want = "(B, tau)" if horizon is None else f"(B,) or (B, {horizon})"
        raise ValueError(f"alpha must have shape {want}, got {a.shape}")
    if not ((a >= 0) & (a <= 1)).all():  # NaN fails both comparisons
        raise ValueError("arrival probabilities alpha must be in [0, 1]")
    return a


def backward_induction_batch(
    model: ChoiceModel | Sequence[ChoiceModel],
    space: StateSpace,
    alpha: ArrayLike,
    *,
    revenue: float = 1.0,
    horizon: int | None = None,
    method: Literal["sort", "enumerate"] = "sort",
) -> DPBatch:
    """Solve ``B`` offer-set MDPs over one state space at once.

    Members differ in their arrival probabilities and, optionally, their choice models; all
    ``B x S`` states of a period go through one offer search.

    Parameters
    ----------
    model
        The choice model every member shares (Eq. 2b), or a sequence of ``B`` models, one per
        member (over the same slot types).
    space
        The state space of the capacities every member shares.
    alpha : array of shape (B, tau), or (B,) with ``horizon``
        ``alpha[b, t - 1]``: member ``b``'s arrival probability in period ``t``; a ``(B,)`` array
        is constant over ``horizon`` periods.
    revenue
        ``r``, the revenue of a booking.
    horizon
        ``tau`` when ``alpha`` has shape ``(B,)`` (checked against ``alpha`` otherwise).
    method
        ``"sort"`` (the parametric sweep, default) or ``"enumerate"`` (every offer vector).

    Returns
    -------
    DPBatch
        ``values`` of shape ``(B, tau + 1, S)`` and ``policy`` of shape ``(B, tau, S, N)``;
        member ``b`` equals :func:`backward_induction` of its own instance.

    Raises
    ------
    ValueError
        Unknown method, ``alpha`` of the wrong shape or outside [0, 1], a number of models
        other than 1 or ``B``, or arrays above ``MAX_BYTES``.

    Examples
    --------
    One slot, one period: the customer books with probability 1/2 when shown the slot, so the
    value is half the arrival probability.

    >>> from slotopt.engines.offer_set.choice import ChoiceModel, LinearRamp
    >>> m = ChoiceModel((0.0,), beta=2.0, effect=LinearRamp(1, 2))
    >>> batch = backward_induction_batch(m, StateSpace.of([1]), [0.2, 1.0], horizon=1)
    >>> batch.values.shape, batch.values[:, -1, -1].tolist()
    ((2, 2, 2), [0.1, 0.5])
    """
    if method not in ("sort", "enumerate"):
        raise ValueError(f"unknown DP method {method!r}; expected 'sort' or 'enumerate'")
    a = _alpha_matrix(alpha, horizon)
    n_b, tau = a.shape
    n_s, n = space.n_states, space.n_types
    needed = 8 * n_b * (tau + 1) * n_s * (1 + n)
    _check_size(needed, f"{n_b} problems with {n_s:,} booking states over {tau} periods")
    models = [model] if isinstance(model, ChoiceModel) else list(model)
    if len(models) not in (1, n_b) or any(m.n_types != n for m in models):
        raise ValueError(
            f"give one choice model or one per member ({n_b}), each over {n} slot types; got "
            f"{len(models)}"
        )
    q = int(sum(space.capacities))
    if len(models) == 1:
        v, v0 = models[0].attractions(), models[0].no_choice_weight(np.arange(q + 1))
    else:  # one row per state of every member: (B * S, N) and (B * S, q + 1)
        v = np.repeat(np.stack([m.attractions() for m in models]), n_s, axis=0)
        sizes = np.arange(q + 1)
        v0 = np.repeat(np.stack([m.no_choice_weight(sizes) for m in models]), n_s, axis=0)
    # Period-major work arrays (one contiguous (B, S) slab per period); the result is a view.
    states = np.tile(space.states, (n_b, 1))  # (B * S, N), member-major like values[t]
    rates = np.ascontiguousarray(a.T)  # (tau, B)
    values = np.zeros((tau + 1, n_b, n_s))
    policy = np.zeros((tau, n_b, n_s, n), dtype=np.int64)
    for t in range(1, tau + 1):
        gains = per_unit_gains(values[t - 1], space, revenue).reshape(n_b * n_s, n)
        if method == "sort":
            hint = policy[t - 2].reshape(n_b * n_s, n) if t > 1 else None
            offers, gain = _search(v, v0, states, gains, hint)
        elif len(models) == 1:
            offers, gain = best_offers_enumerate(models[0], states, gains)
        else:  # the reference search, member by member
            parts = [
                best_offers_enumerate(m, space.states, gains[b * n_s : (b + 1) * n_s])
                for b, m in enumerate(models)
            ]
            offers = np.concatenate([o for o, _ in parts])
            gain = np.concatenate([g for _, g in parts])
        values[t] = values[t - 1] + rates[t - 1][:, None] * gain.reshape(n_b, n_s)
        policy[t - 1] = offers.reshape(n_b, n_s, n)
    return DPBatch(
        values=np.moveaxis(values, 0, 1),
        policy=np.moveaxis(policy, 0, 1),
        space=space,
        method=method,
    )


def backward_induction(
    inst: OfferSetInstance, *, method: Literal["sort", "enumerate"] = "sort"
) -> DPSolution:
    """Solve the offer-set MDP exactly by backward induction.

    Parameters
    ----------
    inst
        A validated offer-set instance.
    method
        ``"sort"`` (the parametric sweep, default) or ``"enumerate"`` (every offer vector; the
        reference, only for small instances).

    Returns
    -------
    DPSolution
        ``values`` of shape ``(tau + 1, S)`` and ``policy`` of shape ``(tau, S, N)``: member 0 of
        :func:`backward_induction_batch`.

    Raises
    ------
    ValueError
        Unknown method, or a state space whose arrays would exceed ``MAX_BYTES`` (16 GiB).

    Examples
    --------
    One slot, one period, alpha = 1: the customer books with probability e^w / (e^w + 1).

    >>> from slotopt.instance.offer_set import offer_set_from_dict
    >>> inst = offer_set_from_dict({"slot_types": [{"name": "x", "capacity": 1, "weight": 0.0}],
    ...     "horizon": 1, "arrival_rate": 1.0, "beta": 2.0, "lower_bound": 1, "upper_bound": 2})
    >>> backward_induction(inst).optimal_value
    0.5
    """
    if method not in ("sort", "enumerate"):
        raise ValueError(f"unknown DP method {method!r}; expected 'sort' or 'enumerate'")
    n_states, n_types = inst.n_states, inst.n_types
    _check_size(
        8 * (inst.horizon + 1) * n_states * (1 + n_types),
        f"{inst.name!r} has {n_states:,} booking states over {inst.horizon} periods",
    )
    batch = backward_induction_batch(
        ChoiceModel.from_instance(inst),
        StateSpace.of(inst.capacities),
        inst.alpha()[None, :],
        revenue=inst.revenue,
        method=method,
    )
    return batch.solution(0)


def _horizon_of(shape: tuple[int, ...], alpha: ArrayLike, horizon: int | None) -> int:
    """``tau`` from a ``(B, tau, S, N)`` shape, a ``(B, tau)`` alpha or the argument."""
    if len(shape) == 4:
        return shape[1] if horizon is None else horizon
    if horizon is None and np.ndim(alpha) == 2:
        return int(np.shape(alpha)[1])
    if horizon is None:
        raise ValueError("give horizon when neither the policies nor alpha have a time axis")
    return horizon


def evaluate_choices(
    space: StateSpace,
    probabilities: ArrayLike,
    alpha: ArrayLike,
    *,
    revenue: float = 1.0,
    horizon: int | None = None,
) -> FloatArray:
    """Exact expected revenue of ``B`` policies given by their choice probabilities.

    Policy evaluation needs only ``P_n(o(s))``, the chance that a visitor books a type-``n``
    slot in state ``s`` under the policy's offer, so members may come from different choice
    models (e.g. one policy under many betas): compute each member's probabilities with its
    own :meth:`ChoiceModel.probabilities` and evaluate them all in one recursion.

    Parameters
    ----------
    space
        The state space every member shares.
    probabilities : array of shape (B, tau, S, N), or (B, S, N) for stationary policies
        ``probabilities[b, t - 1, i, n]``: member ``b``'s booking probability of type ``n`` in
        period ``t`` and state ``i``; non-negative, summing to at most 1 over ``n``.
    alpha : array of shape (B, tau), or (B,) constant over the horizon
        Member ``b``'s arrival probabilities, as for :func:`backward_induction_batch`.
    revenue
        ``r``.
    horizon
        ``tau``; needed only when neither ``probabilities`` nor ``alpha`` has a time axis.

    Returns
    -------
    ndarray of shape (B, tau + 1, S)
        ``V^pi_t(s)`` of each member; ``[:, -1, space.full]`` are the expected revenues.

    Raises
    ------
    ValueError
        A shape does not fit the space, or probabilities outside [0, 1] or summing above 1.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    n_s, n = space.n_states, space.n_types
    horizon = _horizon_of(probs.shape, alpha, horizon)
    if (
        probs.ndim not in (3, 4)
        or probs.shape[-2:] != (n_s, n)
        or (probs.ndim == 4 and probs.shape[1] != horizon)
    ):
        raise ValueError(
            f"probabilities must have shape (B, {n_s}, {n}) or (B, {horizon}, {n_s}, {n}), "
            f"got {probs.shape}"
        )
    if not (probs >= 0).all() or not (probs.sum(axis=-1) <= 1 + 1e-12).all():
        raise ValueError("choice probabilities must be >= 0 and sum to at most 1 per state")
    a = _alpha_matrix(alpha, horizon)
    n_b = probs.shape[0]
    if a.shape[0] != n_b:
        raise ValueError(f"the policies have {n_b} members but alpha has {a.shape[0]}")
    by_period = None if probs.ndim == 3 else np.moveaxis(probs, 1, 0)  # (tau, B, S, N) view
    rates = np.ascontiguousarray(a.T)  # (tau, B)
    values = np.zeros((horizon + 1, n_b, n_s))  # period-major; the result is a view
    for t in range(1, horizon + 1):
        p = probs if by_period is None else by_period[t - 1]
        gains = per_unit_gains(values[t - 1], space, revenue)
        values[t] = values[t - 1] + rates[t - 1][:, None] * (p * gains).sum(axis=-1)
    return np.moveaxis(values, 0, 1)


def evaluate_policies(
    model: ChoiceModel,
    space: StateSpace,
    policy: ArrayLike,
    alpha: ArrayLike,
    *,
    revenue: float = 1.0,
    horizon: int | None = None,
) -> FloatArray:
    """Exact expected revenue of ``B`` (Markov) policies at once, by the backward recursion.

    Parameters
    ----------
    model, space
        The choice model and state space every member shares.
    policy : int array of shape (B, tau, S, N), or (B, S, N) for stationary policies
        ``policy[b, t - 1]`` is member ``b``'s offer vectors in period ``t``.
    alpha : array of shape (B, tau), or (B,) constant over the horizon
        Member ``b``'s arrival probabilities, as for :func:`backward_induction_batch`.
    revenue
        ``r``.
    horizon
        ``tau``; needed only when neither ``policy`` nor ``alpha`` has a time axis.

    Returns
    -------
    ndarray of shape (B, tau + 1, S)
        ``V^pi_t(s)`` of each member; ``[:, -1, space.full]`` are the expected revenues
        (:func:`evaluate_choices` of the policies' choice probabilities under ``model``).

    Raises
    ------
    ValueError
        A shape does not fit the space, or a policy offers a slot that is not free.
    """
    pol = np.asarray(policy, dtype=np.int64)
    n_s, n = space.n_states, space.n_types
    horizon = _horizon_of(pol.shape, alpha, horizon)
    if pol.shape not in ((pol.shape[0], n_s, n), (pol.shape[0], horizon, n_s, n)):
        raise ValueError(
            f"policy must have shape (B, {n_s}, {n}) or (B, {horizon}, {n_s}, {n}), got {pol.shape}"
        )
    if (pol < 0).any() or (pol > space.states).any():
        raise ValueError("policy offers slots that are not free (need 0 <= o <= s)")
    return evaluate_choices(
        space, model.probabilities(pol), alpha, revenue=revenue, horizon=horizon
    )


def evaluate_policy(
    inst: OfferSetInstance, policy: ArrayLike, *, space: StateSpace | None = None
) -> FloatArray:
    """Exact expected revenue of any (Markov) policy, by the same backward recursion.

    Parameters
    ----------
    inst
        The instance.
    policy
        Offer vectors of shape ``(S, N)`` (the same in every period) or ``(tau, S, N)`` with
        ``policy[t - 1]`` used in period ``t``.
    space
        The state space (built from ``inst`` when omitted).

    Returns
    -------
    ndarray of shape (tau + 1, S)
        ``V^pi_t(s)``; ``[-1, space.full]`` is the policy's expected revenue (member 0 of
        :func:`evaluate_policies`).

    Raises
    ------
    ValueError
        The policy has the wrong shape or offers a slot that is not free (``o > s`` or ``o < 0``).
    """
    space = space or StateSpace.of(inst.capacities)
    pol = np.asarray(policy, dtype=np.int64)
    tau, n_s, n = inst.horizon, space.n_states, space.n_types
    if pol.shape not in ((n_s, n), (tau, n_s, n)):
        raise ValueError(
            f"policy must have shape ({n_s}, {n}) or ({tau}, {n_s}, {n}), got {pol.shape}"
        )
    values = evaluate_policies(
        ChoiceModel.from_instance(inst),
        space,
        pol[None],
        inst.alpha()[None, :],
        revenue=inst.revenue,
    )
    return values[0]
