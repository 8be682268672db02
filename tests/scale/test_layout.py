"""The compiled layout loops give exactly the arrays of the numpy versions (least-contested slot
order, types renumbered by first slot, 64-slot words), and a loop that fails when called falls
back to numpy with the same schedule."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from slotopt import _jit
from slotopt.engines.matching import greedy, kernel, layout
from slotopt.engines.matching.order import priority_order
from slotopt.instance.generate import generate_hub
from slotopt.instance.matching import ApplicantTypes
from tests.scale.plain_kernel import plain_greedy

needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed (slotopt[fast])"
)


def _random_types(seed: int) -> tuple[ApplicantTypes, np.ndarray]:
    """Types with 0 to 150 distinct sorted slots over up to 300 slots (several 64-slot words,
    lists longer than the loop's first buffer), sizes 1-5, capacities 0-3 (many ties)."""
    rng = np.random.default_rng(seed)
    n_slots = int(rng.integers(1, 300))
    n_types = int(rng.integers(0, 40))
    longest = min(n_slots, 150)
    lists = [
        np.sort(rng.choice(n_slots, size=int(rng.integers(0, longest + 1)), replace=False))
        for _ in range(n_types)
    ]
    indptr = np.zeros(n_types + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=indptr[1:])
    slots = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
    size = rng.integers(1, 6, size=n_types).astype(np.int64)
    types = ApplicantTypes(
        type_of=np.repeat(np.arange(n_types), size), indptr=indptr, slots=slots, size=size
    )
    return types, rng.integers(0, 4, size=n_slots).astype(np.int64)


@needs_numba
@pytest.mark.parametrize("seed", range(40))
def test_compiled_layout_equals_numpy_layout(seed: int) -> None:
    types, capacity = _random_types(seed)
    loops = layout.compiled_loops()
    assert loops is not None
    expected = greedy.least_contested_first(types, capacity)
    got = layout.least_contested_compiled(loops, types.indptr, types.slots, types.size, capacity)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)
    plain = greedy._Layout.build(types.indptr, expected, len(capacity), types.slots)
    fast = greedy._Layout.build(types.indptr, expected, len(capacity), types.slots, loops=loops)
    for name in greedy._Layout.__dataclass_fields__:
        a, b = getattr(plain, name), getattr(fast, name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, name
            assert np.array_equal(a, b), name
        else:
            assert a == b, name


@needs_numba
def test_compiled_layout_loops_that_fail_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args):  # type: ignore[no-untyped-def]
        raise RuntimeError("LLVM failed")

    monkeypatch.setitem(_jit._GROUPS, layout.GROUP, (broken, broken, broken))
    monkeypatch.setattr(greedy, "COMPILE_ABOVE", 0)
    inst = generate_hub(400, seed=6)
    order = priority_order(inst.priority, inst.applicant_ids, 2)
    assert np.array_equal(greedy.greedy_matching(inst, order), plain_greedy(inst, order))
    assert layout.compiled_loops() is None


def test_disable_env_turns_the_layout_loops_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kernel.DISABLE_ENV, "1")
    assert layout.compiled_loops() is None
