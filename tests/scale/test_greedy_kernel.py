"""The array greedy (compiled and pure Python) selects exactly Algorithm 1's applicants: the
same set as the naive max-flow oracle, the brute-force Hall oracle and the previous
type-network greedy, on random instances and on hub-shaped ones (repeated sets, long blocks);
and it makes exactly the schedule (and witnesses) of the kernel before its shortcuts."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotopt.engines.matching import greedy, kernel
from slotopt.engines.matching.naive import naive_matching
from slotopt.engines.matching.order import positions_from_order, priority_order
from slotopt.instance.generate import generate_hub
from slotopt.verify.matching import check_feasible, check_matching
from tests.matching.strategies import brute_force_algorithm1, matching_instances
from tests.scale.plain_kernel import plain_greedy, plain_replay
from tests.scale.reference import network_greedy
from tests.scale.strategies import block_instances

SEEDS = st.integers(0, 2**31 - 1)
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed (slotopt[fast])")


def _check(inst, seed, *, compiled: bool | None) -> np.ndarray:  # type: ignore[no-untyped-def]
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    slot_of = greedy.greedy_matching(inst, order, compiled=compiled)
    assert not check_feasible(inst, slot_of)
    assert np.array_equal(slot_of >= 0, naive_matching(inst, order) >= 0)
    assert np.array_equal(slot_of >= 0, network_greedy(inst, order))
    return slot_of


@given(matching_instances(), SEEDS)
def test_python_kernel_equals_brute_force(inst, seed) -> None:  # type: ignore[no-untyped-def]
    slot_of = _check(inst, seed, compiled=False)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    assert set(np.flatnonzero(slot_of >= 0).tolist()) == brute_force_algorithm1(inst, order)


@given(block_instances(), SEEDS)
def test_python_kernel_on_repeated_blocks(inst, seed) -> None:  # type: ignore[no-untyped-def]
    _check(inst, seed, compiled=False)


@needs_numba
@given(block_instances(), SEEDS)
def test_compiled_kernel_same_schedule_as_python(inst, seed) -> None:  # type: ignore[no-untyped-def]
    compiled = _check(inst, seed, compiled=True)
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    assert np.array_equal(compiled, greedy.greedy_matching(inst, order, compiled=False))


@needs_numba
@given(matching_instances(max_applicants=9, max_slots=5), SEEDS)
def test_compiled_kernel_on_random_instances(inst, seed) -> None:  # type: ignore[no-untyped-def]
    _check(inst, seed, compiled=True)


def test_generated_hub_week_both_kernels_agree_and_certify() -> None:
    inst = generate_hub(4_000, seed=3)
    order = priority_order(inst.priority, inst.applicant_ids, 11)
    python = greedy.greedy_matching(inst, order, compiled=False)
    assert np.array_equal(python >= 0, network_greedy(inst, order))
    report = check_matching(inst, python, positions_from_order(order))
    assert report.ok, report.describe()
    if HAVE_NUMBA:
        assert np.array_equal(python, greedy.greedy_matching(inst, order, compiled=True))


def test_disable_env_forces_the_python_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kernel.DISABLE_ENV, "1")
    assert kernel.compiled_kernel() is None
    assert kernel.fallback_reason() == f"{kernel.DISABLE_ENV} is set"
    inst = generate_hub(300, seed=1)
    order = priority_order(inst.priority, inst.applicant_ids, 5)
    with pytest.raises(RuntimeError, match="not available"):
        greedy.greedy_matching(inst, order, compiled=True)
    auto = greedy.greedy_matching(inst, order)  # falls back silently
    assert np.array_equal(auto >= 0, network_greedy(inst, order))


def test_missing_numba_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "numba" or name.startswith("numba."):
            raise ImportError("No module named 'numba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numba)
    monkeypatch.setattr(greedy, "COMPILE_ABOVE", 0)
    monkeypatch.setattr(kernel, "_COMPILED", None)
    monkeypatch.setattr(kernel, "_COMPILE_ERROR", None)
    assert kernel.compiled_kernel() is None
    assert "numba" in (kernel.fallback_reason() or "")
    inst = generate_hub(300, seed=2)
    order = priority_order(inst.priority, inst.applicant_ids, 5)
    assert np.array_equal(greedy.greedy_matching(inst, order) >= 0, network_greedy(inst, order))


def test_a_compiled_kernel_that_fails_when_called_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**buffers):  # type: ignore[no-untyped-def]
        buffers["free"][:] = 0  # half-done work must not leak into the fallback
        raise RuntimeError("LLVM failed")

    monkeypatch.setattr(kernel, "_COMPILED", broken)
    monkeypatch.setattr(kernel, "_COMPILE_ERROR", None)
    monkeypatch.setattr(greedy, "COMPILE_ABOVE", 0)
    inst = generate_hub(300, seed=4)
    order = priority_order(inst.priority, inst.applicant_ids, 5)
    slot_of = greedy.greedy_matching(inst, order)
    assert np.array_equal(slot_of >= 0, network_greedy(inst, order))
    assert kernel.fallback_reason() == "RuntimeError: LLVM failed"
    assert kernel.compiled_kernel() is None


def _same_schedule_as_the_plain_kernel(inst, seed, compiled: bool) -> None:  # type: ignore[no-untyped-def]
    order = priority_order(inst.priority, inst.applicant_ids, seed)
    slot_of = greedy.greedy_matching(inst, order, compiled=compiled)
    assert np.array_equal(slot_of, plain_greedy(inst, order))
    # the replay (the certificates' witnesses) too: components, refs, rooms, moves
    replay = greedy.replay_schedule(inst, slot_of, order, compiled=compiled)
    plain = plain_replay(inst, slot_of, order)
    n_comp = plain["n_comp"]
    assert len(replay.components) == n_comp
    bounds = plain["comp_indptr"][: n_comp + 1]
    ref_bounds = plain["ref_indptr"][: n_comp + 1]
    for c in range(n_comp):
        assert replay.components[c] == tuple(plain["comp_slots"][bounds[c] : bounds[c + 1]])
        assert replay.refs[c] == tuple(plain["refs"][ref_bounds[c] : ref_bounds[c + 1]])
    assert np.array_equal(replay.component_of[order], plain["comp_of"])
    assert np.array_equal(replay.room[order], plain["found_slot"])
    assert np.array_equal(replay.moves[order], plain["found_moves"])


@given(block_instances(), SEEDS)
def test_schedule_is_the_plain_kernels_bit_for_bit(inst, seed) -> None:  # type: ignore[no-untyped-def]
    _same_schedule_as_the_plain_kernel(inst, seed, compiled=False)


@needs_numba
@given(matching_instances(max_applicants=12, max_slots=6), SEEDS)
def test_compiled_schedule_is_the_plain_kernels_bit_for_bit(inst, seed) -> None:  # type: ignore[no-untyped-def]
    _same_schedule_as_the_plain_kernel(inst, seed, compiled=True)


def test_hub_week_schedule_is_the_plain_kernels_bit_for_bit() -> None:
    # 4,000 applicants: thousands of searches, failed ones with refs, slots past bit 63
    inst = generate_hub(4_000, seed=5)
    assert inst.n_slots > 64
    _same_schedule_as_the_plain_kernel(inst, 3, compiled=HAVE_NUMBA)
