"""slotopt: fair allocation of scarce appointment slots and offer-set control for booking pages.

>>> import slotopt
>>> result = slotopt.solve("instances/arnosti-footnote4", verify=True)   # doctest: +SKIP
>>> result.n_matched                                                     # doctest: +SKIP
2

See README.md and docs/ for the instance formats, the methods and the command line.
"""

from slotopt._version import __version__
from slotopt.errors import (
    InfeasibleError,
    InstanceError,
    SlotoptError,
    SolverError,
    UsageError,
    VerificationError,
)
from slotopt.instance import MatchingInstance, load_instance, write_instance
from slotopt.instance.offer_set import OfferSetInstance, offer_set_from_dict
from slotopt.run.solve import solve
from slotopt.run.solve_all import solve_all

__all__ = [
    "InfeasibleError",
    "InstanceError",
    "MatchingInstance",
    "OfferSetInstance",
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
