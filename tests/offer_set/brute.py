"""Brute-force references for the offer-set tests: plain Python, no numpy, no slotopt imports.

Everything here is written straight from the paper's definitions (Kaluza et al. 2024, Eq. 2b and
the standard form of Eq. 3) so that the library's vectorised DP, rules and choice model are
checked against code that shares nothing with them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

State = tuple[int, ...]
Offer = tuple[int, ...]


@dataclass(frozen=True)
class Case:
    """A small instance as plain numbers; ``alpha[t - 1]`` is alpha_t (t counts backwards)."""

    caps: tuple[int, ...]
    weights: tuple[float, ...]
    beta: float
    alpha: tuple[float, ...]
    a: float
    b: float
    r: float = 1.0
    w0: float = 0.0
    f: Callable[[int], float] | None = field(default=None, compare=False)

    @property
    def horizon(self) -> int:
        return len(self.alpha)

    def effect(self, sigma: int) -> float:
        if self.f is not None:
            return self.f(sigma)
        return max((sigma - self.a) / (self.b - self.a), 0.0)

    def spec(self) -> dict[str, object]:
        """The instance.json object (arrival list in calendar order, period tau first)."""
        return {
            "slot_types": [
                {"name": f"t{i}", "capacity": c, "weight": w}
                for i, (c, w) in enumerate(zip(self.caps, self.weights, strict=True))
            ],
            "horizon": self.horizon,
            "arrival_rate": list(reversed(self.alpha)),
            "beta": self.beta,
            "w0": self.w0,
            "lower_bound": self.a,
            "upper_bound": self.b,
            "revenue": self.r,
        }


def probabilities(case: Case, o: Offer) -> tuple[list[float], float]:
    """Eq. 2b: ``([P_1..P_N], P_0)``."""
    sigma = sum(o)
    no_choice = math.exp(case.w0 + case.beta * case.effect(sigma))
    attr = [on * math.exp(w) for on, w in zip(o, case.weights, strict=True)]
    den = sum(attr) + no_choice
    return [x / den for x in attr], no_choice / den


def offers_below(s: State) -> list[Offer]:
    return [tuple(o) for o in itertools.product(*(range(x + 1) for x in s))]


def states_of(caps: Sequence[int]) -> list[State]:
    return offers_below(tuple(caps))


def minus(s: State, n: int) -> State:
    return tuple(x - (1 if i == n else 0) for i, x in enumerate(s))


def q_value(case: Case, t: int, s: State, o: Offer, v_prev: dict[State, float]) -> float:
    """Expected revenue from period t on when offering o in state s, then V_{t-1}."""
    p, p0 = probabilities(case, o)
    al = case.alpha[t - 1]
    book = sum(p[n] * (case.r + v_prev[minus(s, n)]) for n in range(len(s)) if o[n] > 0)
    return al * (book + p0 * v_prev[s]) + (1 - al) * v_prev[s]


def optimal_values(case: Case) -> list[dict[State, float]]:
    """``V[t][s]`` for t = 0..tau by enumerating every offer vector in every state."""
    states = states_of(case.caps)
    v: list[dict[State, float]] = [dict.fromkeys(states, 0.0)]
    for t in range(1, case.horizon + 1):
        v.append(
            {s: max(q_value(case, t, s, o, v[t - 1]) for o in offers_below(s)) for s in states}
        )
    return v


def policy_values(case: Case, rule: Callable[[int, State], Offer]) -> list[dict[State, float]]:
    """``V[t][s]`` of the policy ``rule(t, s) -> o``."""
    states = states_of(case.caps)
    v: list[dict[State, float]] = [dict.fromkeys(states, 0.0)]
    for t in range(1, case.horizon + 1):
        v.append({s: q_value(case, t, s, rule(t, s), v[t - 1]) for s in states})
    return v


def myopic_offer(case: Case, s: State) -> Offer:
    """The offer with the smallest P_0 (ties: smallest size, then lexicographically smallest)."""
    best = min(offers_below(s), key=lambda o: (round(probabilities(case, o)[1], 12), sum(o), o))
    return best
