"""The ``slotopt`` command line. ``main(argv) -> int`` so tests call it directly.

Exit codes: 0 success; 1 failure (a failed verification, a solver failure, an unusable
installation); 2 usage or input error: one line on stderr naming the file, row and column or the
argument, and nothing written; 130 interrupted (Ctrl-C, also while the libraries load); 141 when
standard output is closed early (``slotopt ... | head -1``): what a shell reports for a program
stopped by SIGPIPE, so ``set -o pipefail`` scripts see the same as for any other tool, and no
traceback or "Exception ignored" noise on stderr.

Each sub-command lives in ``slotopt.run.commands.<name>`` with ``add_parser(subparsers)``, whose
parser sets ``run(args) -> int``; :func:`command_modules` lists them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol

from slotopt._atomic import OutputExistsError
from slotopt._version import __version__
from slotopt.errors import InstanceError, SlotoptError, UsageError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class CommandMissingError(SlotoptError):
    """A sub-command's module cannot be found (a broken installation)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the whole usage block first)."""

    command_names: tuple[str, ...] = ()
    """The sub-commands' names (set by :func:`build_parser`)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Command(Protocol):
    """A sub-command module: ``add_parser`` adds its parser, which sets ``run(args) -> int``."""

    def add_parser(self, sub: argparse._SubParsersAction) -> None: ...


def command_modules() -> tuple[Command, ...]:
    """Every sub-command's module, in the order ``slotopt --help`` lists them.

    Imported here rather than at the top of this module so that a module missing from a broken
    installation is one error line, not a traceback; each command imports its heavy
    dependencies inside ``run`` so that this stays quick.

    Raises
    ------
    CommandMissingError
        A command's module is missing, named in the message.
    """
    try:
        import slotopt.run.commands.audit as audit
        import slotopt.run.commands.batch_run as batch_run
        import slotopt.run.commands.estimate as estimate
        import slotopt.run.commands.explain as explain
        import slotopt.run.commands.export as export
        import slotopt.run.commands.generate as generate
        import slotopt.run.commands.receipt as receipt
        import slotopt.run.commands.simulate as simulate
        import slotopt.run.commands.solve as solve
        import slotopt.run.commands.solve_all as solve_all
        import slotopt.run.commands.study as study
        import slotopt.run.commands.verify as verify
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("slotopt.run.commands."):
            raise
        raise CommandMissingError(
            f"the module {exc.name} of a command is missing; "
            "the installation is incomplete (reinstall slotopt)"
        ) from None
    return (
        solve,
        explain,
        generate,
        verify,
        export,
        study,
        estimate,
        batch_run,
        simulate,
        audit,
        receipt,
        solve_all,
    )


def build_parser() -> _Parser:
    """The parser with every command of :func:`command_modules`.

    Raises
    ------
    CommandMissingError
        A command's module is missing (a broken installation), named in the message.
    """
    parser = _Parser(
        prog="slotopt",
        description="Fair allocation of scarce appointment slots and offer-set control.",
    )
    parser.add_argument("--version", action="version", version=f"slotopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.add_parser(sub)
    parser.command_names = tuple(sub.choices)
    return parser


def command_names() -> tuple[str, ...]:
    """The sub-commands' names as a user types them (``batch-run``, ``solve-all``, ...)."""
    return build_parser().command_names


HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"


def no_numpy_hugepages() -> None:
    """Stop numpy asking the kernel for transparent huge pages, unless the user chose already.

    numpy marks every large array ``madvise(MADV_HUGEPAGE)``. Where the kernel then compacts
    memory to find a huge page on each fault (``/sys/kernel/mm/transparent_hugepage/defrag`` =
    ``madvise``, a common default), a million-applicant ``slotopt solve`` spent more time in the
    kernel than in slotopt: 12-13 s against 6.6-7.2 s without (docs/performance.md). Setting
    ``NUMPY_MADVISE_HUGEPAGE`` also reaches the worker processes, whose numpy reads it when it
    starts. Only the command line does this; a program importing slotopt keeps its own setting.
    """
    if HUGEPAGE_ENV in os.environ:
        return
    os.environ[HUGEPAGE_ENV] = "0"
    # numpy already started in this process; its private switch (numpy 2: _core, 1.x: core)
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            switch = getattr(importlib.import_module(name), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if switch is not None:
            switch(False)
            return


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (see the module docstring)."""
    prog = "slotopt"
    no_numpy_hugepages()
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away: stop quietly. Point stdout at /dev/null so that Python's final
        # flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
    except CommandMissingError as exc:
        print(f"slotopt: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        print(
            f"slotopt: error: no command given; choose one of {', '.join(parser.command_names)} "
            "(see slotopt --help)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    label = f"slotopt {args.command}"
    try:
        return int(args.run(args))
    except (InstanceError, UsageError, OutputExistsError) as exc:
        print(f"{label}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except SlotoptError as exc:
        print(f"{label}: failed: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except MemoryError:
        print(f"{label}: failed: out of memory", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        raise
    except OSError as exc:  # the disk, not a bug: say which file and why, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{label}: failed: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE


def _one_line(exc: BaseException) -> str:
    """The message on one line (a verification report keeps its details in summary.json)."""
    text = str(exc).strip()
    return (
        " ".join(part.strip() for part in text.splitlines() if part.strip()) or type(exc).__name__
    )


if __name__ == "__main__":
    sys.exit(main())
