"""Offer-set user mistakes are UsageErrors, found before anything is allocated; a failed
certificate is recorded with on_failure="record"."""

from __future__ import annotations

import tracemalloc

import pytest

import slotopt
from slotopt.errors import UsageError, VerificationError
from slotopt.instance.offer_set import offer_set_from_dict
from slotopt.run import solve_offer_set as module
from slotopt.run.outcome import VerificationOutcome
from slotopt.verify.offer_set import OfferSetReport

SPEC = {
    "slot_types": [
        {"name": "h", "capacity": 2, "weight": 2.0},
        {"name": "l", "capacity": 1, "weight": 1.0},
    ],
    "horizon": 4,
    "arrival_rate": 0.5,
    "beta": 0.5,
}


@pytest.mark.parametrize(
    "options",
    [
        {"second_stage": "min-rank"},
        {"method": "greedy"},
        {"time_limit": 5},
        {"threads": 1},
        {"n_runs": -1},
        {"n_runs": 1},
        {"n_runs": True},
        {"n_runs": 2.5},
        {"n_runs": 10**12},
        {"rules": "r_low"},
        {"rules": ("r_nothing",)},
        {"confidence": 1.5},
        {"verify_states": 0},
        {"on_failure": "later"},
        {"seed": -3},
    ],
)
def test_offer_set_mistakes_are_usage_errors(options: dict[str, object]) -> None:
    inst = offer_set_from_dict(SPEC)
    with pytest.raises(UsageError):
        slotopt.solve(inst, **options)


def test_a_state_space_too_large_is_refused_before_allocating() -> None:
    # 12 types of 30 slots: 31**12 (about 7.9e17) states
    spec = dict(SPEC)
    spec["slot_types"] = [{"name": f"t{i}", "capacity": 30, "weight": 1.0} for i in range(12)]
    inst = offer_set_from_dict(spec)
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match="booking states"):
            slotopt.solve(inst, n_runs=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_rules_and_simulations_count_towards_the_memory_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inst = offer_set_from_dict(SPEC)
    one = 8 * (inst.horizon + 1) * inst.n_states * (1 + inst.n_types)
    # room for the DP alone, not for the DP and four rules
    monkeypatch.setattr(module, "MAX_BYTES", 2 * one)
    assert slotopt.solve(inst, n_runs=0, rules=()).ok
    with pytest.raises(UsageError, match="4 rule"):
        slotopt.solve(inst, n_runs=0)


def test_a_failed_certificate_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = offer_set_from_dict(SPEC)
    real = module.check_offer_set

    def failing(*args: object, **kwargs: object) -> OfferSetReport:
        report = real(*args, **kwargs)  # type: ignore[arg-type]
        return OfferSetReport(
            **{**report.__dict__, "monotone": False, "violations": ("forged violation",)}
        )

    monkeypatch.setattr(module, "check_offer_set", failing)
    result = slotopt.solve(inst, n_runs=0, verify=True, on_failure="record")
    assert result.verification_outcome is VerificationOutcome.failed and not result.ok
    assert "forged violation" in (result.failure or "")
    assert result.summary()["ok"] is False
    assert "verification: FAILED" in result.report()
    with pytest.raises(VerificationError, match="forged violation"):
        slotopt.solve(inst, n_runs=0, verify=True)
    ok = slotopt.solve(inst, n_runs=0)
    assert ok.ok and ok.verification_outcome is VerificationOutcome.not_run
