"""slotopt: fair allocation of scarce appointment slots and offer-set control for booking pages.

>>> import slotopt
>>> result = slotopt.solve("instances/arnosti-footnote4")      # doctest: +SKIP
>>> result.n_matched                                            # doctest: +SKIP
2
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
from slotopt.run.solve import solve

__all__ = [
    "InfeasibleError",
    "InstanceError",
    "MatchingInstance",
    "SlotoptError",
    "SolverError",
    "UsageError",
    "VerificationError",
    "__version__",
    "load_instance",
    "solve",
    "write_instance",
]
