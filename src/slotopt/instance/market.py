"""The ``kind: "market"`` config: one scalper market (IPP brief, Box 1) to simulate.

A JSON file (``instances/market-high-demand.json``)::

    {"kind": "market", "name": "high-demand",
     "slots": 50, "applicants": 100,
     "values": {"distribution": "uniform", "low": 10, "high": 100},
     "entry_cost": 1000, "rounds": 200, "seeds": 20, "seed": 1}

Every other key is optional (defaults in :data:`DEFAULTS`, meanings in docs/market.md):
``price`` (a number, or ``"auto"``: the scalper's FCFS-optimal price), ``demand_label``,
``compare_applicants`` / ``compare_label`` (a second demand level run alongside, for the
four-situation figure), ``window_seconds``, ``bot_poll_ms``, ``human_retry_seconds``,
``cancel_rate``, ``direct_cost``, ``direct_failure``, ``fake_pass``, ``fakes_per_slot``,
``flooding`` (``"profitable"``, ``"always"``, ``"never"``), ``duplicates_per_client`` (extra
requests the scalper files under each client's identity), ``deduplicate`` (whether the batch
platform keeps one request per identity, default true), ``learning`` (an object: ``rate``,
``temperature``, ``exploration``, ``initial_profit``, ``belief_rate``,
``initial_direct_belief``) and ``sweep`` (an object: ``applicants``, ``fake_pass`` (lists),
``rounds``, ``seeds``). ``values`` may instead be a list of ``applicants`` positive numbers.

Unknown keys are an error (a misspelt parameter would otherwise silently keep its default).
:func:`market_from_dict` is the single validator; every problem is collected into one
:class:`slotopt.InstanceError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from slotopt.instance._tables import Problems, read_json, sha256_of
from slotopt.instance.provenance import HasProvenance, Provenance

__all__ = [
    "DEFAULTS",
    "FLOODING",
    "Learning",
    "MarketInstance",
    "Sweep",
    "load_market",
    "load_market_folder",
    "market_from_dict",
]

FLOODING = ("profitable", "always", "never")

#: Defaults of the optional keys (all our choices, docs/market.md "Assumptions").
DEFAULTS: dict[str, Any] = {
    "price": "auto",
    "demand_label": None,
    "compare_applicants": None,
    "compare_label": None,
    "window_seconds": 3600.0,
    "bot_poll_ms": 5.0,
    "human_retry_seconds": 60.0,
    "cancel_rate": 0.05,
    "direct_cost": 0.0,
    "direct_failure": 0.0,
    "fake_pass": 0.0,
    "fakes_per_slot": 10.0,
    "flooding": "profitable",
    "duplicates_per_client": 0,
    "deduplicate": True,
    "seed": 0,
}
LEARNING_DEFAULTS: dict[str, Any] = {
    "rate": 0.2,
    "temperature": None,  # entry_cost / 10 (1 when entry_cost is 0)
    "exploration": 0.02,
    "initial_profit": 0.0,
    "belief_rate": 0.5,
    "initial_direct_belief": 0.0,
}
REQUIRED = ("slots", "applicants", "values", "entry_cost", "rounds", "seeds")
KNOWN = {"kind", "name", *REQUIRED, *DEFAULTS, "learning", "sweep"}


@dataclass(frozen=True)
class Learning:
    """How the scalper and the applicants learn (docs/market.md, "Learning rules").

    Attributes
    ----------
    rate : float
        alpha in (0, 1]: the scalper's running profit ``A <- A + alpha (profit - A)`` after
        each round he entered.
    temperature : float
        tau > 0: he enters with probability ``eps + (1 - 2 eps) / (1 + exp(-A / tau))``.
    exploration : float
        eps in [0, 0.5): the entry probability's floor (and 1 - eps its ceiling).
    initial_profit : float
        ``A`` before the first round.
    belief_rate : float
        lambda in (0, 1]: applicants' beliefs about success through the scalper and directly
        (while he is active) move by ``lambda`` towards each round's observed rates.
    initial_direct_belief : float
        Applicants' belief, before any round, that applying directly succeeds while the scalper
        is active (0: "the bots take everything", what FCFS teaches).
    """

    rate: float
    temperature: float
    exploration: float
    initial_profit: float
    belief_rate: float
    initial_direct_belief: float


@dataclass(frozen=True)
class Sweep:
    """A grid over demand (applicants) and identity-check strength (``fake_pass``), batch only."""

    applicants: tuple[int, ...]
    fake_pass: tuple[float, ...]
    rounds: int
    seeds: int


@dataclass(frozen=True, eq=False)
class MarketInstance(HasProvenance):
    """A validated market config. Build it with :func:`market_from_dict` or :func:`load_market`.

    ``values`` is ``("uniform", low, high)`` or a tuple of ``applicants`` numbers; the other
    attributes are the config's keys (module docstring; docs/market.md).
    """

    name: str
    slots: int
    applicants: int
    values: tuple[Any, ...]
    entry_cost: float
    rounds: int
    seeds: int
    price: float | None
    demand_label: str
    compare_applicants: int | None
    compare_label: str
    window_seconds: float
    bot_poll_ms: float
    human_retry_seconds: float
    cancel_rate: float
    direct_cost: float
    direct_failure: float
    fake_pass: float
    fakes_per_slot: float
    flooding: str
    duplicates_per_client: int
    deduplicate: bool
    learning: Learning
    sweep: Sweep | None
    provenance: Provenance = field(default_factory=Provenance)

    kind = "market"

    @property
    def seed(self) -> int:
        """The simulation's master seed (``instance.json``'s ``seed``, default 0)."""
        return int(self.provenance.seed or 0)

    @property
    def value_list(self) -> np.ndarray | None:
        """The fixed values when ``values`` is a list, else None."""
        if self.values and self.values[0] == "uniform":
            return None
        return np.asarray(self.values, dtype=np.float64)

    def reference_values(self, applicants: int | None = None) -> np.ndarray:
        """Deterministic values for the equilibrium model: the list, or the ``n``-quantiles
        ``low + (high - low) (i - 1/2) / n`` of the uniform distribution."""
        n = self.applicants if applicants is None else int(applicants)
        fixed = self.value_list
        if fixed is not None:
            return fixed
        _, low, high = self.values
        return low + (high - low) * (np.arange(n) + 0.5) / n

    def with_(self, **changes: Any) -> MarketInstance:
        """A copy with some attributes changed (already-validated values only)."""
        return replace(self, **changes)

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": "market", "name": self.name}
        spec.update(
            slots=self.slots,
            applicants=self.applicants,
            values=(
                list(self.values)
                if self.value_list is not None
                else {"distribution": "uniform", "low": self.values[1], "high": self.values[2]}
            ),
            entry_cost=self.entry_cost,
            rounds=self.rounds,
            seeds=self.seeds,
            seed=self.seed,
            price="auto" if self.price is None else self.price,
        )
        for key in DEFAULTS:
            if key not in spec:
                spec[key] = getattr(self, key)
        spec["learning"] = dict(self.learning.__dict__)
        if self.sweep is not None:
            spec["sweep"] = {
                "applicants": list(self.sweep.applicants),
                "fake_pass": list(self.sweep.fake_pass),
                "rounds": self.sweep.rounds,
                "seeds": self.sweep.seeds,
            }
        return spec


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(float(x))


def _is_int(x: object) -> bool:
    return _is_number(x) and float(x) == int(float(x))  # type: ignore[arg-type]


class _Reader:
    """Reads keys of one JSON object, recording located problems."""

    def __init__(self, spec: Mapping[str, Any], file: str, problems: Problems, prefix: str = ""):
        self.spec, self.file, self.problems, self.prefix = spec, file, problems, prefix

    def where(self, key: str) -> str:
        return f"{self.file}, key {self.prefix}{key}"

    def get(self, key: str, default: Any) -> Any:
        value = self.spec.get(key)
        return default if value is None else value

    def number(
        self, key: str, default: Any, check: Callable[[float], bool], expected: str
    ) -> float:
        value = self.get(key, default)
        if value is None:
            self.problems.add(self.where(key), f"missing (required): {expected}")
            return float("nan")
        if not _is_number(value) or not check(float(value)):
            self.problems.add(self.where(key), f"expected {expected}, got {value!r}")
            return float("nan")
        return float(value)

    def integer(self, key: str, default: Any, low: int, expected: str) -> int:
        value = self.get(key, default)
        if value is None:
            self.problems.add(self.where(key), f"missing (required): {expected}")
            return low
        if not _is_int(value) or int(value) < low:
            self.problems.add(self.where(key), f"expected {expected}, got {value!r}")
            return low
        return int(value)

    def unknown(self, known: set[str]) -> None:
        for key in sorted(set(self.spec) - known):
            self.problems.add(
                self.where(key), f"unknown key (accepted: {', '.join(sorted(known))})"
            )


def _flag(r: _Reader, key: str, default: bool) -> bool:
    value = r.get(key, default)
    if not isinstance(value, bool):
        r.problems.add(r.where(key), f"expected true or false, got {value!r}")
        return default
    return value


def _values(r: _Reader, applicants: int) -> tuple[Any, ...]:
    raw = r.spec.get("values")
    where = r.where("values")
    if raw is None:
        r.problems.add(where, "missing (required): a list of values or a distribution object")
        return ("uniform", 1.0, 2.0)
    if isinstance(raw, list):
        bad = [i for i, x in enumerate(raw) if not _is_number(x) or float(x) <= 0]
        for i in bad[:20]:
            r.problems.add(f"{where}[{i}]", f"expected a positive number, got {raw[i]!r}")
        if len(raw) != applicants:
            r.problems.add(
                where, f"expected {applicants} values (one per applicant), got {len(raw)}"
            )
        return tuple(float(x) for x in raw) if not bad and raw else ("uniform", 1.0, 2.0)
    if not isinstance(raw, dict):
        r.problems.add(where, f"expected a list or an object, got {raw!r}")
        return ("uniform", 1.0, 2.0)
    sub = _Reader(raw, r.file, r.problems, prefix="values.")
    sub.unknown({"distribution", "low", "high"})
    if raw.get("distribution") != "uniform":
        r.problems.add(
            sub.where("distribution"), f"expected 'uniform', got {raw.get('distribution')!r}"
        )
    low = sub.number("low", None, lambda x: x > 0, "a positive number")
    high = sub.number("high", None, lambda x: x > 0, "a positive number")
    if low == low and high == high and not low < high:  # both valid numbers
        r.problems.add(sub.where("high"), f"expected a number above low = {low:g}, got {high:g}")
    return ("uniform", low, high)


def _learning(r: _Reader, entry_cost: float) -> Learning:
    raw = r.spec.get("learning")
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        r.problems.add(r.where("learning"), f"expected an object, got {raw!r}")
        raw = {}
    sub = _Reader(raw, r.file, r.problems, prefix="learning.")
    sub.unknown(set(LEARNING_DEFAULTS))
    d = LEARNING_DEFAULTS
    unit = "a number in (0, 1]"
    default_tau = entry_cost / 10 if entry_cost == entry_cost and entry_cost > 0 else 1.0
    return Learning(
        rate=sub.number("rate", d["rate"], lambda x: 0 < x <= 1, unit),
        temperature=sub.number("temperature", default_tau, lambda x: x > 0, "a positive number"),
        exploration=sub.number(
            "exploration", d["exploration"], lambda x: 0 <= x < 0.5, "a number in [0, 0.5)"
        ),
        initial_profit=sub.number(
            "initial_profit", d["initial_profit"], lambda x: True, "a number"
        ),
        belief_rate=sub.number("belief_rate", d["belief_rate"], lambda x: 0 < x <= 1, unit),
        initial_direct_belief=sub.number(
            "initial_direct_belief",
            d["initial_direct_belief"],
            lambda x: 0 <= x <= 1,
            "a probability in [0, 1]",
        ),
    )


def _sweep(r: _Reader) -> Sweep | None:
    raw = r.spec.get("sweep")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        r.problems.add(r.where("sweep"), f"expected an object, got {raw!r}")
        return None
    sub = _Reader(raw, r.file, r.problems, prefix="sweep.")
    sub.unknown({"applicants", "fake_pass", "rounds", "seeds"})
    grids: dict[str, tuple[Any, ...]] = {}
    for key, ok, expected in (
        ("applicants", lambda x: _is_int(x) and x >= 1, "integers >= 1"),
        ("fake_pass", lambda x: _is_number(x) and 0 <= x <= 1, "probabilities in [0, 1]"),
    ):
        grid = raw.get(key)
        if not isinstance(grid, list) or not grid or not all(ok(x) for x in grid):
            r.problems.add(sub.where(key), f"expected a non-empty list of {expected}, got {grid!r}")
            grids[key] = ()
        else:
            grids[key] = tuple(grid)
    return Sweep(
        applicants=tuple(int(x) for x in grids["applicants"]),
        fake_pass=tuple(float(x) for x in grids["fake_pass"]),
        rounds=sub.integer("rounds", 100, 1, "an integer >= 1"),
        seeds=sub.integer("seeds", 10, 2, "an integer >= 2 (confidence intervals)"),
    )


def market_from_dict(
    spec: Mapping[str, Any],
    *,
    file: str = "instance.json",
    source: Path | None = None,
    input_sha256: Mapping[str, str] | None = None,
) -> MarketInstance:
    """Validate a market config and build the instance.

    Raises
    ------
    InstanceError
        Listing every problem, each naming the file and the key, e.g.
        ``market.json, key fake_pass: expected a probability in [0, 1], got 1.5``.

    Examples
    --------
    >>> inst = market_from_dict({"slots": 5, "applicants": 10, "entry_cost": 10, "rounds": 3,
    ...     "seeds": 2, "values": {"distribution": "uniform", "low": 1, "high": 10}})
    >>> inst.reference_values().round(2).tolist()[:3]
    [1.45, 2.35, 3.25]
    """
    problems = Problems()
    r = _Reader(spec, file, problems)
    r.unknown(KNOWN)
    kind = spec.get("kind", "market")
    if kind != "market":
        problems.add(r.where("kind"), f"expected 'market', got {kind!r}")
    name = spec.get("name", Path(file).stem)
    if not isinstance(name, str) or not name.strip():
        problems.add(r.where("name"), f"expected a non-empty string, got {name!r}")
        name = Path(file).stem
    slots = r.integer("slots", None, 1, "an integer >= 1 (m, slots per round)")
    applicants = r.integer("applicants", None, 1, "an integer >= 1 (n, applicants per round)")
    values = _values(r, applicants)
    entry_cost = r.number("entry_cost", None, lambda x: x >= 0, "a number >= 0 (c)")
    price_raw = r.get("price", "auto")
    price: float | None = None
    if price_raw != "auto":
        price = r.number("price", None, lambda x: x > 0, "'auto' or a positive number")
    compare = spec.get("compare_applicants")
    if compare is not None:
        compare = r.integer("compare_applicants", None, 1, "an integer >= 1")
        if not isinstance(spec.get("values"), dict):
            problems.add(
                r.where("compare_applicants"),
                "needs a values distribution (a list has one value per applicant of 'applicants')",
            )
    labels = {}
    for key, default in (("demand_label", "this market"), ("compare_label", "compared")):
        label = r.get(key, default)
        if not isinstance(label, str) or not label.strip():
            problems.add(r.where(key), f"expected a non-empty string, got {label!r}")
            label = default
        labels[key] = label
    flooding = r.get("flooding", DEFAULTS["flooding"])
    if flooding not in FLOODING:
        problems.add(
            r.where("flooding"), f"expected one of {', '.join(FLOODING)}, got {flooding!r}"
        )
    d = DEFAULTS
    prob = "a probability in [0, 1]"
    inst = MarketInstance(
        name=str(name),
        slots=slots,
        applicants=applicants,
        values=values,
        entry_cost=entry_cost,
        rounds=r.integer("rounds", None, 1, "an integer >= 1"),
        seeds=r.integer("seeds", None, 2, "an integer >= 2 (confidence intervals over seeds)"),
        price=price,
        demand_label=labels["demand_label"],
        compare_applicants=compare,
        compare_label=labels["compare_label"],
        window_seconds=r.number("window_seconds", d["window_seconds"], lambda x: x > 0, "> 0"),
        bot_poll_ms=r.number("bot_poll_ms", d["bot_poll_ms"], lambda x: x > 0, "> 0"),
        human_retry_seconds=r.number(
            "human_retry_seconds", d["human_retry_seconds"], lambda x: x > 0, "> 0"
        ),
        cancel_rate=r.number("cancel_rate", d["cancel_rate"], lambda x: 0 <= x < 1, "in [0, 1)"),
        direct_cost=r.number("direct_cost", d["direct_cost"], lambda x: x >= 0, "a number >= 0"),
        direct_failure=r.number(
            "direct_failure", d["direct_failure"], lambda x: 0 <= x < 1, "a probability in [0, 1)"
        ),
        fake_pass=r.number("fake_pass", d["fake_pass"], lambda x: 0 <= x <= 1, prob),
        fakes_per_slot=r.number(
            "fakes_per_slot", d["fakes_per_slot"], lambda x: 0 <= x <= 1000, "a number in [0, 1000]"
        ),
        flooding=str(flooding),
        duplicates_per_client=r.integer(
            "duplicates_per_client", d["duplicates_per_client"], 0, "an integer >= 0"
        ),
        deduplicate=_flag(r, "deduplicate", d["deduplicate"]),
        learning=_learning(r, entry_cost),
        sweep=_sweep(r),
        provenance=Provenance(
            seed=r.integer("seed", d["seed"], 0, "a non-negative integer"),
            source=source,
            input_sha256=dict(input_sha256 or {}),
        ),
    )
    problems.raise_if_any()
    return inst


def load_market(path: str | Path) -> MarketInstance:
    """Read and validate a market config file (JSON); errors name the file and the key."""
    path = Path(path)
    if path.is_dir():
        path = path / "instance.json"
    spec = read_json(path)
    return market_from_dict(
        spec, file=path.name, source=path, input_sha256={path.name: sha256_of(path)}
    )


def load_market_folder(folder: Path, spec: dict[str, Any], json_sha: str) -> MarketInstance:
    """Loader for :data:`slotopt.instance.KINDS` (a folder whose instance.json is a market)."""
    return market_from_dict(spec, source=folder, input_sha256={"instance.json": json_sha})
