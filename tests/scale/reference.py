"""The greedy as it was before the array kernel (type network of Python lists and dicts), kept
as a second oracle: the new kernel must select exactly the same applicants."""

from __future__ import annotations

import numpy as np

from slotopt.engines.matching.network import TypeNetwork
from slotopt.instance.matching import MatchingInstance


def network_greedy(inst: MatchingInstance, order: np.ndarray) -> np.ndarray:
    """Algorithm 1 on :class:`TypeNetwork`; returns the boolean matched mask."""
    types = inst.types
    net = TypeNetwork(types, inst.capacity)
    matched = np.zeros(inst.n_applicants, dtype=bool)
    for i in order.tolist():
        t = int(types.type_of[i])
        if net.is_dead(t):
            continue
        moves = net.search(t)
        if moves is not None:
            net.augment(moves)
            matched[i] = True
    return matched
