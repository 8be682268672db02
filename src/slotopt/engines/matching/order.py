"""The final priority order: ``priority`` first, ties broken by a seeded, portable lottery.

Lottery number of an applicant = SHA-256 of ``b"slotopt-lottery-v1\\0" + str(seed) + b"\\0" +
applicant_id`` (UTF-8), read as a 256-bit big-endian integer; inside a priority level, smaller
numbers go first. This is :mod:`slotopt.engines.lottery`'s uncontexted digest: it depends only on
the seed and the id, never on file order, platform, hash randomisation or Python version, so the
same seed gives the same order everywhere, and an applicant can recompute their own lottery number
from the published seed.
"""

from __future__ import annotations

import secrets

import numpy as np

from slotopt.engines.lottery import LOTTERY_TAG, digest, uniform_order

__all__ = ["LOTTERY_TAG", "draw_seed", "lottery_digest", "positions_from_order", "priority_order"]


def draw_seed() -> int:
    """A fresh seed from the operating system's entropy, for runs that were given none."""
    return secrets.randbelow(2**31)


def lottery_digest(seed: int, applicant_id: str) -> bytes:
    """The 32-byte lottery digest of one applicant (documented above; stable across versions)."""
    return digest(seed, applicant_id)


def priority_order(priority: np.ndarray, applicant_ids: np.ndarray, seed: int) -> np.ndarray:
    """Applicant indices in final priority order (first = served first).

    Parameters
    ----------
    priority : ndarray of shape (A,)
        Integer priority, smaller first.
    applicant_ids : ndarray of shape (A,)
        String ids; they feed the lottery.
    seed
        Non-negative integer seed of the lottery.

    Returns
    -------
    ndarray of shape (A,), int64
        ``order[k]`` is the index of the applicant at position ``k + 1``.
    """
    return uniform_order(seed, applicant_ids, priority=np.asarray(priority))


def positions_from_order(order: np.ndarray) -> np.ndarray:
    """1-based position of each applicant given the order."""
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(1, len(order) + 1)
    return pos
