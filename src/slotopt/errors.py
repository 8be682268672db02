"""One exception family for everything slotopt raises on purpose.

``InstanceError`` is a ``ValueError`` so that code catching the builtin still works; its message
names the file, the 1-based data row and the column, and says what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "InfeasibleError",
    "InstanceError",
    "OutputError",
    "OutputExistsError",
    "SlotoptError",
    "SolverError",
    "UsageError",
    "VerificationError",
]


class SlotoptError(Exception):
    """Base class of every error slotopt raises deliberately."""


class InstanceError(SlotoptError, ValueError):
    """Bad input: a file, row or column of an instance is not what the format requires.

    Parameters
    ----------
    problems
        One message per violation, each already naming file, row and column. Only the
        first ``MAX_REPORTED`` are kept in the message; ``problems`` holds them all.
    """

    MAX_REPORTED = 20

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        shown = list(self.problems[: self.MAX_REPORTED])
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problem(s)")
        super().__init__("; ".join(shown))


class UsageError(SlotoptError, ValueError):
    """A bad argument to a slotopt function or command (unknown method, option or value); the
    message lists what is accepted. The CLI exits 2 on it, like on bad input."""


class SolverError(SlotoptError, RuntimeError):
    """The optimisation solver is missing, failed, or stopped without a usable solution."""


class InfeasibleError(SlotoptError):
    """A model that must be feasible was proven infeasible (the message says which model)."""


class VerificationError(SlotoptError):
    """A result failed one of its certificates; ``report`` lists every violation."""

    def __init__(self, message: str, report: object | None = None) -> None:
        self.report = report
        super().__init__(message)


class OutputExistsError(SlotoptError, FileExistsError):
    """The output exists and ``force`` was not given, or another run is writing it; nothing was
    written. The CLI exits 2 on it."""


class OutputError(UsageError):
    """The output location cannot be used: replacing it is refused (slotopt did not write it, it
    is an input or the current directory), or the disk is read-only or full. Nothing was
    written; the CLI exits 2 on it."""
