"""The failure policy and the status a result carries (docs/failures.md).

A solve either raises at the first failure (``on_failure="raise"``, the default) or records it
(``on_failure="record"``) and returns a result that says what failed: the outcome of every solver
stage as our two enums (:class:`~slotopt.formulations.solver.StopReason`,
:class:`~slotopt.formulations.solver.SolutionStatus`), the verification outcome
(:class:`VerificationOutcome`), and the message the raised error would have carried. User
mistakes (an unknown method, a negative time limit, ...) are never recorded: they raise
:class:`~slotopt.errors.UsageError` either way.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from slotopt.errors import UsageError
from slotopt.formulations.solver import SolutionStatus, StopReason

__all__ = [
    "OnFailure",
    "StageOutcome",
    "VerificationOutcome",
    "on_failure_option",
]

OnFailure = Literal["raise", "record"]


class VerificationOutcome(enum.Enum):
    """What the certificates said: not asked for, all hold, or at least one failed."""

    not_run = "not_run"
    passed = "passed"
    failed = "failed"


@dataclass(frozen=True)
class StageOutcome:
    """How one step of a solve ended.

    Attributes
    ----------
    stage : str
        ``"method"`` or ``"second_stage"``.
    name : str
        The method or second stage (``"lp"``, ``"min-rank"``).
    stop : StopReason
        Why the step stopped (``optimal`` for an exact combinatorial method that ran to the end).
    solution : SolutionStatus
        What solution the step left (``optimal`` only for a proven optimum).
    message : str
        Why it failed, in the words of the error a raising run would have given ("" when ok).
    """

    stage: str
    name: str
    stop: StopReason
    solution: SolutionStatus
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.solution is SolutionStatus.optimal and self.stop is StopReason.optimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stop": self.stop.value,
            "solution": self.solution.value,
            "message": self.message,
        }


def exact(stage: str, name: str) -> StageOutcome:
    """The outcome of a combinatorial step that always runs to its exact answer."""
    return StageOutcome(stage, name, StopReason.optimal, SolutionStatus.optimal)


def on_failure_option(options: dict[str, Any]) -> OnFailure:
    """Pop ``on_failure`` (and its deprecated alias ``raise_on_failure``) from ``options``.

    Raises
    ------
    UsageError
        ``on_failure`` is neither "raise" nor "record", or both spellings are given.
    """
    policy = options.pop("on_failure", None)
    if "raise_on_failure" in options:
        legacy = options.pop("raise_on_failure")
        warnings.warn(
            "raise_on_failure is deprecated; pass on_failure='raise' or on_failure='record'",
            DeprecationWarning,
            stacklevel=4,
        )
        if policy is not None:
            raise UsageError("pass on_failure only (raise_on_failure is its deprecated alias)")
        policy = "raise" if legacy else "record"
    if policy is None:
        return "raise"
    if policy not in ("raise", "record"):
        raise UsageError(f"on_failure must be 'raise' or 'record', got {policy!r}")
    return policy
