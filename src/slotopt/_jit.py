"""The one switch and the one way every layer compiles its loops with numba.

numba is optional (``slotopt[fast]``): each compiled loop has a numpy or pure-Python twin that
gives the same arrays, and the tests compare the two. :func:`compiled` compiles a group of
plain-Python loops once per process (machine code cached on disk by numba) and returns None,
for good, when numba is missing or cannot compile them, or when :data:`DISABLE_ENV` is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Set (to anything non-empty) to run every loop without numba, e.g. to compare the two paths.
DISABLE_ENV = "SLOTOPT_DISABLE_NUMBA"

_GROUPS: dict[str, tuple[Callable[..., Any], ...] | None] = {}


def disabled() -> bool:
    """Whether :data:`DISABLE_ENV` is set."""
    return bool(os.environ.get(DISABLE_ENV))


def compiled(name: str, *loops: Callable[..., Any]) -> tuple[Callable[..., Any], ...] | None:
    """``loops`` compiled with ``numba.njit(cache=True, nogil=True)`` (lazily: each on its
    first call), kept under ``name``; None without numba, after :func:`mark_unusable` or with
    :data:`DISABLE_ENV` set."""
    if disabled():
        return None
    if name not in _GROUPS:
        try:
            import numba

            jit = numba.njit(cache=True, nogil=True)
            _GROUPS[name] = tuple(jit(f) for f in loops)
        except Exception:  # any import or setup failure means: the uncompiled twins
            _GROUPS[name] = None
    return _GROUPS[name]


def mark_unusable(name: str) -> None:
    """The group's compiled loops failed when called: use their twins from now on."""
    _GROUPS[name] = None
