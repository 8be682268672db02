"""slotopt: fair allocation of scarce appointment slots and offer-set control for booking pages.

>>> import slotopt
>>> result = slotopt.solve("instances/arnosti-footnote4", verify=True)   # doctest: +SKIP
>>> result.n_matched                                                     # doctest: +SKIP
2

See README.md and docs/ for the instance formats, the methods and the command line.

The public names are imported on first use (PEP 562), so ``import slotopt`` and the command
line start without loading pandas, numpy or Pyomo: a Ctrl-C while they load is then caught by
the command line, which exits 130 with one line instead of a traceback.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slotopt._version import __version__
from slotopt.errors import (
    InfeasibleError,
    InstanceError,
    OutputError,
    OutputExistsError,
    SlotoptError,
    SolverError,
    UsageError,
    VerificationError,
)

if TYPE_CHECKING:
    from slotopt.instance import MatchingInstance, load_instance, write_instance
    from slotopt.instance.batch import BatchInstance
    from slotopt.instance.offer_set import OfferSetInstance, offer_set_from_dict
    from slotopt.run.matching_result import MatchingResult
    from slotopt.run.solve import solve
    from slotopt.run.solve_all import solve_all
    from slotopt.run.solve_offer_set import OfferSetResult

# public name -> module that defines it
_LAZY = {
    "BatchInstance": "slotopt.instance.batch",
    "MatchingInstance": "slotopt.instance",
    "MatchingResult": "slotopt.run.matching_result",
    "OfferSetInstance": "slotopt.instance.offer_set",
    "OfferSetResult": "slotopt.run.solve_offer_set",
    "load_instance": "slotopt.instance",
    "offer_set_from_dict": "slotopt.instance.offer_set",
    "solve": "slotopt.run.solve",
    "solve_all": "slotopt.run.solve_all",
    "write_instance": "slotopt.instance",
}

__all__ = [
    "BatchInstance",
    "InfeasibleError",
    "InstanceError",
    "MatchingInstance",
    "MatchingResult",
    "OfferSetInstance",
    "OfferSetResult",
    "OutputError",
    "OutputExistsError",
    "SlotoptError",
    "SolverError",
    "UsageError",
    "VerificationError",
    "__version__",
    "load_instance",
    "offer_set_from_dict",
    "solve",
    "solve_all",
    "write_instance",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'slotopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
