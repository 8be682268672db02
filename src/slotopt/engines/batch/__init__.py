"""The batch allocation system's pure parts: one batch's draw, and identity de-duplication.

Nothing here reads files, prints or imports Pyomo. :func:`draw` takes one batch's
:class:`BatchRequests` and :class:`BatchSlots` (built from tables with
:func:`requests_from_frames`) and returns a :class:`DrawResult`; the rolling run over periods is
:func:`slotopt.batch.run`.
"""

from slotopt.engines.batch.mechanisms import MECHANISMS, WEIGHT_RULES, draw, tickets
from slotopt.engines.batch.types import (
    BatchRequests,
    BatchSlots,
    DrawResult,
    requests_from_frames,
    requests_to_frames,
)

__all__ = [
    "MECHANISMS",
    "WEIGHT_RULES",
    "BatchRequests",
    "BatchSlots",
    "DrawResult",
    "draw",
    "requests_from_frames",
    "requests_to_frames",
    "tickets",
]
