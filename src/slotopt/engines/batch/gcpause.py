"""Pause Python's cyclic garbage collector while a batch's million rows are built.

Parsing a million stored JSON lists or fetching a million SQLite rows creates millions of
container objects that live until the step ends; each time their count grows, the collector
walks all of them again, which tripled the time of such steps. None of these objects form
cycles, so nothing is lost by pausing it: it is switched back on (if it was on) when the step
ends, however it ends.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused", "without_gc"]

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off inside the block, and back as it was after it."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def without_gc(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn`` with the collector paused (:func:`gc_paused`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with gc_paused():
            return fn(*args, **kwargs)

    return wrapper
