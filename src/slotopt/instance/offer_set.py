"""The ``kind: "offer_set"`` instance: slot types, horizon, arrivals and the choice parameters.

Everything lives in ``instance.json``::

    {"kind": "offer_set", "name": "paper-g",
     "slot_types": [{"name": "morning", "capacity": 2, "weight": 2.0},
                    {"name": "forenoon", "capacity": 1, "weight": 1.0}],
     "horizon": 9, "arrival_rate": 0.5, "beta": 0.5,
     "w0": 0, "lower_bound": 1, "upper_bound": 3, "revenue": 1,
     "menu_effect": {"shape": "linear", "cap": false}}

``w0`` (default 0), ``lower_bound`` a (default ``max(0.25 * kappa, 1)``, Sect. 6.1 of Kaluza et
al. 2024), ``upper_bound`` b (default ``kappa``, so that ``f = 1`` when every slot is shown, as in
the survey's Eq. 1; ``a + 1`` for a single slot, where ``a = b = 1`` would be invalid),
``revenue`` r (default 1), ``menu_effect`` (default the linear ramp) and ``seed`` (for
simulations) are optional. ``arrival_rate`` is one number or a list of ``horizon``
numbers in calendar order: the first entry is period ``t = horizon`` (time counts backwards).
Unknown keys are kept (``meta``) and written back, never an error.

:func:`offer_set_from_dict` is the single validator: loading a folder, the study and the tests all
go through it and every problem is collected into one :class:`slotopt.InstanceError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slotopt.instance._tables import INT_MAX, RANGE_TEXT, Problems
from slotopt.instance.provenance import HasProvenance, Provenance

__all__ = [
    "OfferSetInstance",
    "SlotType",
    "default_lower_bound",
    "load_offer_set",
    "offer_set_from_dict",
]

FILE = "instance.json"
KNOWN_KEYS = {
    "kind",
    "name",
    "slot_types",
    "horizon",
    "arrival_rate",
    "beta",
    "w0",
    "lower_bound",
    "upper_bound",
    "revenue",
    "menu_effect",
    "seed",
}
SHAPES = ("linear", "piecewise", "inverse_u")


def default_lower_bound(total_capacity: int) -> float:
    """The paper's lower bound ``a = max(0.25 * kappa, 1)`` (Sect. 6.1).

    Examples
    --------
    >>> default_lower_bound(3), default_lower_bound(32)
    (1.0, 8.0)
    """
    return float(max(0.25 * total_capacity, 1.0))


@dataclass(frozen=True)
class SlotType:
    """One slot type: ``capacity`` slots (kappa_n) of mean utility ``weight`` (w_n)."""

    name: str
    capacity: int
    weight: float


@dataclass(frozen=True, eq=False)
class OfferSetInstance(HasProvenance):
    """A validated offer-set control instance (Kaluza et al. 2024, Sect. 4).

    Build it with :func:`offer_set_from_dict` or :func:`slotopt.load_instance`; never mutate it.
    To vary a parameter, validate again: ``offer_set_from_dict({**inst.to_spec(), "beta": 3})``.

    Attributes
    ----------
    slot_types : tuple of SlotType
        In the paper's order (type 1 = most preferred is conventional, not required).
    horizon : int
        tau, the number of decision periods ``t = tau, ..., 1``.
    arrival_rate : float or tuple of float
        As given in ``instance.json`` (a tuple is in calendar order, period ``tau`` first).
    beta, w0, lower_bound, upper_bound, revenue : float
        beta, w0, a, b and r of Eq. 2b and Eq. 3.
    menu_effect : dict
        The menu-size effect f as normalised data: ``{"shape": "linear", "cap": False}``,
        ``{"shape": "piecewise", "points": [[sigma, f], ...]}`` or
        ``{"shape": "inverse_u", "peak": p, "scarcity": c}``. The engines turn it into a
        function (:func:`slotopt.engines.offer_set.choice.menu_effect`); the instance layer
        only validates data.
    """

    name: str
    slot_types: tuple[SlotType, ...]
    horizon: int
    arrival_rate: float | tuple[float, ...]
    beta: float
    w0: float
    lower_bound: float
    upper_bound: float
    revenue: float
    menu_effect: Mapping[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    kind = "offer_set"

    def __repr__(self) -> str:  # one line
        return (
            f"OfferSetInstance({self.name!r}: {self.n_types} slot types, {self.total_capacity} "
            f"slots, horizon {self.horizon}, beta {self.beta:g})"
        )

    @property
    def n_types(self) -> int:
        return len(self.slot_types)

    @property
    def capacities(self) -> tuple[int, ...]:
        """kappa_n per type."""
        return tuple(t.capacity for t in self.slot_types)

    @property
    def weights(self) -> tuple[float, ...]:
        """w_n per type."""
        return tuple(t.weight for t in self.slot_types)

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.slot_types)

    @property
    def total_capacity(self) -> int:
        """kappa = sum of kappa_n."""
        return sum(self.capacities)

    @property
    def n_states(self) -> int:
        """Number of booking states ``prod(kappa_n + 1)``."""
        return math.prod(c + 1 for c in self.capacities)

    def alpha(self) -> np.ndarray:
        """Arrival probabilities indexed by period: shape ``(tau,)``, ``alpha()[t - 1] = alpha_t``.

        (The instance lists them in calendar order, period tau first; this reverses that.)
        """
        if isinstance(self.arrival_rate, tuple):
            return np.asarray(self.arrival_rate[::-1], dtype=np.float64)
        return np.full(self.horizon, float(self.arrival_rate), dtype=np.float64)

    def to_spec(self) -> dict[str, Any]:
        """The ``instance.json`` object (round-trips through :func:`offer_set_from_dict`)."""
        spec: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "slot_types": [
                {"name": t.name, "capacity": t.capacity, "weight": t.weight}
                for t in self.slot_types
            ],
            "horizon": self.horizon,
            "arrival_rate": (
                list(self.arrival_rate)
                if isinstance(self.arrival_rate, tuple)
                else self.arrival_rate
            ),
            "beta": self.beta,
            "w0": self.w0,
            "lower_bound": self.lower_bound,
            "upper_bound": self.upper_bound,
            "revenue": self.revenue,
            "menu_effect": dict(self.menu_effect),
        }
        if self.seed is not None:
            spec["seed"] = self.seed
        spec.update(self.meta)
        return spec


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _number(
    spec: Mapping[str, Any],
    key: str,
    problems: Problems,
    *,
    default: float | None = None,
    where: str | None = None,
    check: tuple[Any, str] | None = None,
    required: bool = True,
) -> float | None:
    """A finite number at ``spec[key]`` (or ``default`` when absent); records problems.

    With ``required=False`` a missing key without a default is silently None (used when the
    default could not be computed because another key was invalid, already reported).
    """
    label = where or f"{FILE}, key {key}"
    if key not in spec or spec[key] is None:
        if default is None and required:
            problems.add(label, "missing (required)")
        return default
    value = spec[key]
    if not _is_number(value) or not math.isfinite(float(value)):
        problems.add(label, f"expected a finite number, got {value!r}")
        return None
    x = float(value)
    if check is not None and not check[0](x):
        problems.add(label, f"expected {check[1]}, got {value!r}")
        return None
    return x


def _integer(value: object) -> bool:
    """A JSON integer in the supported range: ``2`` is one, ``2.0`` and ``true`` are not (a float
    cannot hold every integer exactly, so none is taken for one)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return False
    return -INT_MAX <= int(value) <= INT_MAX


def _range(value: object) -> str:
    """Why a JSON value that looks like an integer is still not one we take."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_MAX:
        return f" (outside the supported range {RANGE_TEXT})"
    if isinstance(value, float):
        return " (a JSON float; write integers without a decimal point or exponent)"
    return ""


def _slot_types(spec: Mapping[str, Any], problems: Problems) -> list[SlotType] | None:
    raw = spec.get("slot_types")
    key = f"{FILE}, key slot_types"
    if raw is None:
        problems.add(key, "missing (required): a list of {name, capacity, weight} objects")
        return None
    if not isinstance(raw, list) or not raw:
        problems.add(key, f"expected a non-empty list of {{name, capacity, weight}}, got {raw!r}")
        return None
    out: list[SlotType] = []
    ok = True
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            problems.add(where, f"expected an object {{name, capacity, weight}}, got {item!r}")
            ok = False
            continue
        name = item.get("name", f"type{i + 1}")
        if not isinstance(name, str) or not name.strip():
            problems.add(f"{where}.name", f"expected a non-empty string, got {name!r}")
            ok = False
        elif name in seen:
            problems.add(f"{where}.name", f"duplicate slot type name {name!r}")
            ok = False
        else:
            seen.add(name)
        cap = item.get("capacity")
        if cap is None:
            problems.add(f"{where}.capacity", "missing (required): a non-negative integer")
            ok = False
        elif not _integer(cap) or float(cap) < 0:
            problems.add(
                f"{where}.capacity", f"expected a non-negative integer, got {cap!r}{_range(cap)}"
            )
            ok = False
        weight = item.get("weight")
        if weight is None:
            problems.add(f"{where}.weight", "missing (required): a finite number")
            ok = False
        elif not _is_number(weight) or not math.isfinite(float(weight)):
            problems.add(f"{where}.weight", f"expected a finite number, got {weight!r}")
            ok = False
        if ok:
            out.append(SlotType(str(name), int(cap), float(weight)))  # type: ignore[arg-type]
    if ok and sum(t.capacity for t in out) < 1:
        problems.add(key, "total capacity is 0: at least one slot is needed")
        ok = False
    return out if ok else None


def _arrival(spec: Mapping[str, Any], horizon: int | None, problems: Problems) -> Any:
    key = f"{FILE}, key arrival_rate"
    raw = spec.get("arrival_rate")
    what = "a probability in (0, 1]"
    if raw is None:
        problems.add(key, f"missing (required): {what} or a list of one per period")
        return None

    def good(x: object) -> bool:
        return _is_number(x) and math.isfinite(float(x)) and 0.0 < float(x) <= 1.0  # type: ignore[arg-type]

    if isinstance(raw, list):
        bad = [i for i, x in enumerate(raw) if not good(x)]
        for i in bad[:20]:
            problems.add(f"{key}[{i}]", f"expected {what}, got {raw[i]!r}")
        if horizon is not None and len(raw) != horizon:
            problems.add(
                key,
                f"expected {horizon} values (one per period, period {horizon} first), "
                f"got {len(raw)}",
            )
            return None
        return None if bad else tuple(float(x) for x in raw)
    if not good(raw):
        problems.add(key, f"expected {what} (or a list of one per period), got {raw!r}")
        return None
    return float(raw)


def _effect(spec: Mapping[str, Any], b: float, problems: Problems) -> dict[str, Any] | None:
    raw = spec.get("menu_effect")
    key = f"{FILE}, key menu_effect"
    if raw is None:
        return {"shape": "linear", "cap": False}
    if not isinstance(raw, dict):
        problems.add(key, f"expected an object with a 'shape', got {raw!r}")
        return None
    shape = raw.get("shape", "linear")
    if shape not in SHAPES:
        known = ", ".join(repr(s) for s in SHAPES)
        problems.add(f"{key}.shape", f"expected one of {known}, got {shape!r}")
        return None
    if shape == "linear":
        cap = raw.get("cap", False)
        if not isinstance(cap, bool):
            problems.add(f"{key}.cap", f"expected true or false, got {cap!r}")
            return None
        return {"shape": "linear", "cap": cap}
    if shape == "piecewise":
        pts = raw.get("points")
        if (
            not isinstance(pts, list)
            or len(pts) < 2
            or not all(
                isinstance(p, list | tuple)
                and len(p) == 2
                and all(_is_number(v) and math.isfinite(float(v)) for v in p)
                for p in pts
            )
        ):
            problems.add(
                f"{key}.points",
                f"expected at least two [sigma, f] pairs of finite numbers, got {pts!r}",
            )
            return None
        xs = tuple(float(p[0]) for p in pts)
        if any(x1 <= x0 for x0, x1 in zip(xs, xs[1:], strict=False)):
            problems.add(f"{key}.points", f"sigma values must increase strictly, got {list(xs)}")
            return None
        return {
            "shape": "piecewise",
            "points": [[x, float(p[1])] for x, p in zip(xs, pts, strict=True)],
        }
    peak = _number(raw, "peak", problems, where=f"{key}.peak")
    scarcity = _number(
        raw,
        "scarcity",
        problems,
        default=1.0,
        where=f"{key}.scarcity",
        check=(lambda x: x >= 0, "a number >= 0"),
    )
    if peak is None or scarcity is None:
        return None
    if not 0 < peak < b:
        problems.add(f"{key}.peak", f"expected 0 < peak < upper_bound ({b:g}), got {peak:g}")
        return None
    return {"shape": "inverse_u", "peak": peak, "scarcity": scarcity}


def offer_set_from_dict(
    spec: Mapping[str, Any],
    *,
    source: Path | None = None,
    input_sha256: Mapping[str, str] | None = None,
    default_name: str = "offer-set",
) -> OfferSetInstance:
    """Validate an ``instance.json`` object of kind ``offer_set`` and build the instance.

    Parameters
    ----------
    spec
        The JSON object (``kind`` may be omitted; if present it must be ``"offer_set"``).
    source, input_sha256
        Where it was read from, recorded in results.
    default_name
        Name used when ``spec`` has none.

    Returns
    -------
    OfferSetInstance

    Raises
    ------
    InstanceError
        Listing every problem, each naming ``instance.json`` and the key, e.g.
        ``instance.json, key slot_types[2].capacity: expected a non-negative integer, got -1``.

    Examples
    --------
    >>> inst = offer_set_from_dict({
    ...     "slot_types": [{"name": "h", "capacity": 2, "weight": 2}, {"name": "l", "capacity": 1,
    ...                    "weight": 1}],
    ...     "horizon": 9, "arrival_rate": 0.5, "beta": 0.5})
    >>> inst.total_capacity, inst.lower_bound, inst.upper_bound
    (3, 1.0, 3.0)
    """
    problems = Problems()
    kind = spec.get("kind", "offer_set")
    if kind != "offer_set":
        problems.add(f"{FILE}, key kind", f"expected 'offer_set', got {kind!r}")
    name = spec.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{FILE}, key name", f"expected a non-empty string, got {name!r}")
        name = default_name
    types = _slot_types(spec, problems)

    horizon: int | None = None
    raw_h = spec.get("horizon")
    if raw_h is None:
        problems.add(f"{FILE}, key horizon", "missing (required): the number of periods tau >= 1")
    elif not _integer(raw_h) or float(raw_h) < 1:
        problems.add(
            f"{FILE}, key horizon", f"expected an integer >= 1, got {raw_h!r}{_range(raw_h)}"
        )
    else:
        horizon = int(raw_h)
    arrival = _arrival(spec, horizon, problems)
    beta = _number(spec, "beta", problems)
    w0 = _number(spec, "w0", problems, default=0.0)
    revenue = _number(spec, "revenue", problems, default=1.0, check=(lambda x: x > 0, "r > 0"))

    kappa = sum(t.capacity for t in types) if types else None
    a = _number(
        spec,
        "lower_bound",
        problems,
        default=default_lower_bound(kappa) if kappa else None,
        check=(lambda x: x >= 0, "a number >= 0"),
        required=False,
    )
    # b = kappa; a single slot (kappa = 1 = a) would give a = b, and f cannot bite there: a + 1.
    b_default = None
    if kappa:
        b_default = float(kappa) if kappa > 1 else (a if a is not None else 1.0) + 1.0
    b = _number(spec, "upper_bound", problems, default=b_default, required=False)
    effect: dict[str, Any] | None = None
    if a is not None and b is not None:
        if a >= b:
            problems.add(
                f"{FILE}, key lower_bound",
                f"the lower bound a = {a:g} must be below the upper bound b = {b:g}",
            )
        else:
            effect = _effect(spec, b, problems)

    seed = spec.get("seed")
    if seed is not None and (not _integer(seed) or float(seed) < 0):
        problems.add(
            f"{FILE}, key seed", f"expected a non-negative integer, got {seed!r}{_range(seed)}"
        )
    problems.raise_if_any()
    return OfferSetInstance(
        name=str(name),
        slot_types=tuple(types or ()),
        horizon=int(horizon or 0),
        arrival_rate=arrival,
        beta=float(beta or 0.0),
        w0=float(w0 or 0.0),
        lower_bound=float(a or 0.0),
        upper_bound=float(b or 0.0),
        revenue=float(revenue or 0.0),
        menu_effect=effect or {},
        provenance=Provenance(
            seed=None if seed is None else int(seed),
            source=source,
            input_sha256=dict(input_sha256 or {}),
            meta={k: v for k, v in spec.items() if k not in KNOWN_KEYS},
        ),
    )


def load_offer_set(folder: Path, spec: dict[str, Any], json_sha: str) -> OfferSetInstance:
    """Loader registered in :data:`slotopt.instance.KINDS` for ``kind: "offer_set"``."""
    return offer_set_from_dict(
        spec,
        source=folder,
        input_sha256={FILE: json_sha},
        default_name=folder.name,
    )
