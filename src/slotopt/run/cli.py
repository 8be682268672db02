"""The ``slotopt`` command line. ``main(argv) -> int`` so tests call it directly.

Exit codes: 0 success, 1 failure (a failed verification, a solver failure), 2 usage or input
error (one line on stderr naming file/row/column; nothing written).
Each sub-command lives in ``slotopt.run.commands.<name>`` with ``add_parser(subparsers)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from slotopt._atomic import OutputExistsError
from slotopt._version import __version__
from slotopt.errors import InstanceError, SlotoptError, UsageError

COMMANDS: tuple[str, ...] = (
    "solve",
    "explain",
    "generate",
    "verify",
    "export",
    "study",
    "estimate",
    "solve_all",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slotopt",
        description="Fair allocation of scarce appointment slots and offer-set control.",
    )
    parser.add_argument("--version", action="version", version=f"slotopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"slotopt.run.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"slotopt.run.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except (InstanceError, UsageError, OutputExistsError) as exc:
        print(f"slotopt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except SlotoptError as exc:
        print(f"slotopt {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"slotopt {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
