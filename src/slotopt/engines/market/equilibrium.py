"""The equilibrium of Box 1 (Hakimov, Heller, Kübler & Kurino 2021, in the IPP brief): a scalper
facing ``m`` slots and ``n`` applicants with values ``v_i``, under first-come-first-served (FCFS)
and under batch allocation, side by side.

Conventions (docs/market.md has the derivations):

* **Tie rule.** An applicant indifferent between buying from the scalper and not buying buys:
  at price ``p`` the buyers are ``{i : v_i >= p}``. With the strict rule ``v_i > p`` of the brief
  the scalper's best price does not exist (revenue rises towards ``v_(k)`` and drops at it); the
  indifferent-buys convention gives the limit of those prices and makes the maximum attained.
* **Candidate prices.** ``R(p) = p * min(m, #{v_i >= p})`` is increasing in ``p`` between two
  consecutive distinct values (the count is constant on each half-open interval
  ``(v_(j+1), v_(j)]``), so a revenue-maximising price is one of the distinct values. Among
  equally good prices the lowest is taken (it serves the most applicants).
* **Rationing.** When more applicants buy than the scalper has slots, higher values are served
  first. At ``p*`` this never matters for welfare: if ``#{v >= p*} > m`` then fewer than ``m``
  values lie strictly above ``p*`` (else the next distinct value would earn more), so only
  applicants with ``v_i = p*`` (surplus 0) are rationed.
* **Entry.** The scalper enters iff his best revenue covers the cost, ``R* >= c``, and is
  positive (a scalper with nothing to sell stays out even when ``c = 0``).
* **Batch, expected values.** Lottery odds are expected values of a uniform lottery: each of
  ``T`` requests for ``m`` slots wins with probability ``q = min(1, m / T)``. Applicants take
  ``q`` as given (a large market). Fake identities are free for bots; the flooding regime is the
  limit of a flood that grows without bound.

Everything here is pure numpy; nothing is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from slotopt.errors import UsageError

__all__ = [
    "Equilibrium",
    "Regime",
    "SystemOutcome",
    "batch_equilibrium",
    "best_price",
    "equilibrium",
    "fcfs_equilibrium",
    "revenue_at",
]


class Regime(StrEnum):
    """How the scalper operates in an outcome."""

    NO_ENTRY = "no-entry"
    BOOKS_ALL = "books-all"  # FCFS: bots book every slot, then swap in clients' names
    OWN_REQUESTS = "own-requests"  # batch: one request per client, no fakes
    FLOOD = "flood"  # batch: fake identities flood the lottery; a share pass the check


@dataclass(frozen=True)
class SystemOutcome:
    """One allocation system's equilibrium (expected values; see the module docstring).

    Attributes
    ----------
    system : str
        ``"fcfs"`` or ``"batch"``.
    scalper_enters : bool
    regime : Regime
    price : float or None
        The scalper's price; None when he does not enter.
    clients : float
        Applicants who go to the scalper (``n_d`` of Box 1).
    scalper_slots : float
        Slots the scalper holds (booked by bots, or won by his requests).
    applicants_served : float
        Applicants who end with an appointment (through the scalper or directly).
    applicant_surplus : float
        Sum over applicants of value of the appointment obtained, minus the price paid and the
        cost of applying directly.
    scalper_revenue, scalper_profit : float
        Price times clients served; revenue minus the entry cost (0 when he stays out).
    slots_wasted : float
        Slots that no applicant uses.
    """

    system: str
    scalper_enters: bool
    regime: Regime
    price: float | None
    clients: float
    scalper_slots: float
    applicants_served: float
    applicant_surplus: float
    scalper_revenue: float
    scalper_profit: float
    slots_wasted: float

    def as_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "scalper_enters": self.scalper_enters,
            "regime": self.regime.value,
            "price": self.price,
            "clients": self.clients,
            "scalper_slots": self.scalper_slots,
            "applicants_served": self.applicants_served,
            "applicant_surplus": self.applicant_surplus,
            "scalper_revenue": self.scalper_revenue,
            "scalper_profit": self.scalper_profit,
            "slots_wasted": self.slots_wasted,
        }


@dataclass(frozen=True)
class Equilibrium:
    """Both systems' outcomes for one market."""

    fcfs: SystemOutcome
    batch: SystemOutcome


def _values(values: np.ndarray | list[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or v.min() <= 0:
        raise UsageError("values: a non-empty list of positive finite numbers (v_i > 0, Box 1)")
    return np.sort(v)[::-1]


def _check(slots: float, entry_cost: float, direct_failure: float, fake_pass: float) -> None:
    if not slots > 0:
        raise UsageError(f"slots: expected a positive number, got {slots}")
    if not entry_cost >= 0:
        raise UsageError(f"entry_cost: expected c >= 0, got {entry_cost}")
    if not 0 <= direct_failure < 1:
        raise UsageError(f"direct_failure: expected 0 <= phi < 1, got {direct_failure}")
    if not 0 <= fake_pass <= 1:
        raise UsageError(f"fake_pass: expected 0 <= pi <= 1, got {fake_pass}")


def revenue_at(values: np.ndarray | list[float], capacity: float, price: float) -> float:
    """``p * min(capacity, #{v_i >= p})``: what a scalper holding ``capacity`` slots earns at
    ``price`` (indifferent applicants buy)."""
    v = np.asarray(values, dtype=np.float64)
    return float(price) * min(float(capacity), float(np.count_nonzero(v >= price)))


def best_price(values: np.ndarray | list[float], capacity: float) -> tuple[float, float]:
    """The revenue-maximising price over the distinct values and its revenue.

    Parameters
    ----------
    values : array of shape (n,)
        Positive values.
    capacity : float
        Slots the scalper can sell (``m``; ``pi * m`` in the batch flooding regime).

    Returns
    -------
    (price, revenue)
        The lowest price among the maximisers (module docstring: the distinct values suffice).

    Examples
    --------
    >>> best_price([10, 8, 3], 2)   # 10*1, 8*2, 3*2
    (8.0, 16.0)
    """
    v = _values(values)
    distinct = np.unique(v)  # ascending
    # #{v >= u} for each distinct u: values are sorted descending, so it is the insertion point
    buyers = v.size - np.searchsorted(v[::-1], distinct, side="left")
    revenue = distinct * np.minimum(float(capacity), buyers)
    k = int(np.argmax(revenue))  # first maximiser = lowest price
    return float(distinct[k]), float(revenue[k])


def _sold_surplus(v_desc: np.ndarray, capacity: float, price: float) -> tuple[float, float]:
    """Buyers served (higher values first) and their surplus when ``capacity`` (possibly
    fractional: an expected number) slots are sold at ``price``."""
    buyers = v_desc[v_desc >= price]
    served = min(float(capacity), float(buyers.size))
    whole = int(np.floor(served))
    surplus = float(np.sum(buyers[:whole] - price))
    if whole < buyers.size:
        surplus += (served - whole) * float(buyers[whole] - price)
    return served, surplus


def _direct(
    v: np.ndarray, slots: float, direct_cost: float, direct_failure: float
) -> tuple[float, float]:
    """No scalper: every applicant applies; a request gets through with ``1 - phi``; a lottery
    (batch) or arrival order (FCFS, random arrivals) serves ``min(m, T)`` of the ``T`` requests."""
    t = (1.0 - direct_failure) * v.size
    q = min(1.0, slots / t)
    served = q * t
    surplus = q * (1.0 - direct_failure) * float(v.sum()) - direct_cost * v.size
    return served, surplus


def _no_entry(system: str, v: np.ndarray, slots: float, kappa: float, phi: float) -> SystemOutcome:
    served, surplus = _direct(v, slots, kappa, phi)
    return SystemOutcome(
        system=system,
        scalper_enters=False,
        regime=Regime.NO_ENTRY,
        price=None,
        clients=0.0,
        scalper_slots=0.0,
        applicants_served=served,
        applicant_surplus=surplus,
        scalper_revenue=0.0,
        scalper_profit=0.0,
        slots_wasted=float(slots) - served,
    )


def fcfs_equilibrium(
    values: np.ndarray | list[float],
    slots: float,
    entry_cost: float,
    *,
    direct_cost: float = 0.0,
    direct_failure: float = 0.0,
) -> SystemOutcome:
    """Box 1's FCFS proposition: if ``R(p*) >= c`` the scalper enters, books all ``m`` slots and
    sells at ``p*`` to the applicants with ``v_i >= p*``; the others get nothing. Otherwise
    applicants book directly (``direct_cost`` and ``direct_failure`` apply to them)."""
    v = _values(values)
    _check(slots, entry_cost, direct_failure, 0.0)
    price, revenue = best_price(v, slots)
    if not (revenue >= entry_cost and revenue > 0):
        return _no_entry("fcfs", v, slots, direct_cost, direct_failure)
    served, surplus = _sold_surplus(v, slots, price)
    return SystemOutcome(
        system="fcfs",
        scalper_enters=True,
        regime=Regime.BOOKS_ALL,
        price=price,
        clients=float(np.count_nonzero(v >= price)),
        scalper_slots=float(slots),
        applicants_served=served,
        applicant_surplus=surplus,
        scalper_revenue=revenue,
        scalper_profit=revenue - entry_cost,
        slots_wasted=float(slots) - served,
    )


def _group_counts(v_desc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct value u (descending): u and k = #{v >= u}."""
    distinct = np.unique(v_desc)[::-1]
    k = v_desc.size - np.searchsorted(v_desc[::-1], distinct, side="left")
    return distinct, k.astype(np.float64)


def batch_equilibrium(
    values: np.ndarray | list[float],
    slots: float,
    entry_cost: float,
    *,
    direct_cost: float = 0.0,
    direct_failure: float = 0.0,
    fake_pass: float = 0.0,
) -> SystemOutcome:
    """The batch system with the three parameters where the paper's conditions plausibly live.

    Parameters
    ----------
    values, slots, entry_cost
        ``v_i``, ``m``, ``c`` of Box 1.
    direct_cost : float
        kappa >= 0, what applying directly costs an applicant (time, access, language).
    direct_failure : float
        phi in [0, 1), the probability that an applicant's own request does not get through;
        the scalper's bots never fail.
    fake_pass : float
        pi in [0, 1], the probability that a slot won under a fake identity passes the identity
        check and can be given to a client. 0 = perfect checks.

    Returns
    -------
    SystemOutcome
        The scalper-optimal outcome among the candidates below, or no entry.

    Notes
    -----
    Candidates (docs/market.md, "The batch derivation"), with ``k`` ranging over ``#{v >= u}``
    for the distinct values ``u`` (clients are always the highest values, since willingness to
    pay rises in ``v``):

    * own requests: the scalper submits one request per client. With ``T_k = k + (1-phi)(n-k)``
      requests, ``q_k = min(1, m / T_k)``; the k-th client is willing up to
      ``p_k = phi * u + kappa / q_k`` per success, so revenue is ``k (phi q_k u + kappa)``.
      With ``phi = 0`` every applicant has the same willingness, so only ``k = n`` is consistent.
      Valid only if flooding would not serve more clients: ``min(pi m, k) <= k q_k``.
    * flood (pi > 0): fakes win (in the limit) every slot and ``pi m`` of them can be passed to
      clients; applying directly then never succeeds, so the ``k`` applicants with
      ``v >= u`` buy at ``u`` and revenue is ``u min(pi m, k)``. Valid only if flooding serves
      more clients than own requests: ``min(pi m, k) > k q_k``.

    With ``kappa = phi = pi = 0`` the only candidate earns 0, so the scalper stays out for every
    ``c > 0`` (Box 1's batch proposition; the uniqueness argument is in docs/market.md).
    """
    v = _values(values)
    _check(slots, entry_cost, direct_failure, fake_pass)
    n = float(v.size)
    m = float(slots)
    phi, kappa, pi = float(direct_failure), float(direct_cost), float(fake_pass)
    ub, kb = _group_counts(v)
    qb = np.minimum(1.0, m / (kb + (1.0 - phi) * (n - kb)))
    flood_served = np.minimum(pi * m, kb)
    flood_ok = (flood_served > kb * qb) & (pi > 0)
    flood_revenue = np.where(flood_ok, ub * flood_served, -np.inf)

    # own requests; with phi = 0 all willingness is kappa / q, so only "everybody" is consistent
    u, k, q = (ub[-1:], kb[-1:], qb[-1:]) if phi == 0.0 else (ub, kb, qb)
    own_ok = np.minimum(pi * m, k) <= k * q
    own_revenue = np.where(own_ok, k * (phi * q * u + kappa), -np.inf)

    best_own = int(np.argmax(own_revenue[::-1]))  # lowest price among maximisers
    best_own = own_revenue.size - 1 - best_own
    best_flood = flood_revenue.size - 1 - int(np.argmax(flood_revenue[::-1]))
    r_own, r_flood = float(own_revenue[best_own]), float(flood_revenue[best_flood])
    revenue = max(r_own, r_flood)
    if not (revenue >= entry_cost and revenue > 0):
        return _no_entry("batch", v, m, kappa, phi)

    if r_own >= r_flood:
        kk, qq = float(k[best_own]), float(q[best_own])
        price = float(phi * u[best_own] + kappa / qq)
        clients_v = v[: int(kk)]
        others = v[int(kk) :]
        clients_served = kk * qq
        direct_served = (1.0 - phi) * others.size * qq
        surplus = qq * float(np.sum(clients_v - price)) + float(
            np.sum((1.0 - phi) * qq * others - kappa)
        )
        served = clients_served + direct_served
        return SystemOutcome(
            system="batch",
            scalper_enters=True,
            regime=Regime.OWN_REQUESTS,
            price=price,
            clients=kk,
            scalper_slots=clients_served,
            applicants_served=served,
            applicant_surplus=surplus,
            scalper_revenue=r_own,
            scalper_profit=r_own - entry_cost,
            slots_wasted=m - served,
        )
    price = float(ub[best_flood])
    served, surplus = _sold_surplus(v, pi * m, price)
    return SystemOutcome(
        system="batch",
        scalper_enters=True,
        regime=Regime.FLOOD,
        price=price,
        clients=float(kb[best_flood]),
        scalper_slots=m,
        applicants_served=served,
        applicant_surplus=surplus,
        scalper_revenue=r_flood,
        scalper_profit=r_flood - entry_cost,
        slots_wasted=m - served,
    )


def equilibrium(
    values: np.ndarray | list[float],
    slots: float,
    entry_cost: float,
    *,
    direct_cost: float = 0.0,
    direct_failure: float = 0.0,
    fake_pass: float = 0.0,
) -> Equilibrium:
    """Both systems' equilibria for one market (see :func:`fcfs_equilibrium`,
    :func:`batch_equilibrium`).

    Examples
    --------
    Box 1's two propositions on a small market: FCFS, the scalper books both slots and sells at
    the revenue-maximising price; batch with perfect identity checks, he stays out.

    >>> eq = equilibrium([10, 8, 3], slots=2, entry_cost=1)
    >>> eq.fcfs.scalper_enters, eq.fcfs.price, eq.fcfs.scalper_slots
    (True, 8.0, 2.0)
    >>> eq.batch.scalper_enters
    False
    """
    kw = {"direct_cost": direct_cost, "direct_failure": direct_failure}
    return Equilibrium(
        fcfs=fcfs_equilibrium(values, slots, entry_cost, **kw),
        batch=batch_equilibrium(values, slots, entry_cost, fake_pass=fake_pass, **kw),
    )
