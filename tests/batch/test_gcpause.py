"""The collector is paused inside bulk steps and left as it was afterwards, even on errors."""

from __future__ import annotations

import gc

import pytest

from slotopt.engines.batch.gcpause import gc_paused, without_gc


@without_gc
def collector_state(fail: bool = False) -> bool:
    if fail:
        raise ValueError("boom")
    return gc.isenabled()


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    assert collector_state() is False
    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"):
        collector_state(fail=True)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
