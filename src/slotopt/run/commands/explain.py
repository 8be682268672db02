"""``slotopt explain RESULT_DIR APPLICANT_ID``: why an applicant got (or did not get) a slot."""

from __future__ import annotations

import argparse
from pathlib import Path

from slotopt.errors import InstanceError
from slotopt.instance import MatchingInstance, load_instance
from slotopt.run.folders import recorded_instance


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain one applicant's outcome in a matching result",
        description="Print why an applicant got their slot or none, with the set of slots that "
        "proves no schedule could serve them without turning away someone of higher priority.",
    )
    p.add_argument("result", type=Path, help="result folder written by 'slotopt solve'")
    p.add_argument("applicant_id", help="the applicant's id")
    p.add_argument(
        "--instance",
        type=Path,
        default=None,
        help="instance folder (default: the one recorded in summary.json)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slotopt.instance._tables import not_a_file, read_json, sha256_of
    from slotopt.instance.results import read_matching_result
    from slotopt.run.matching_result import MatchingResult  # the verify layer: scipy's graphs

    if not Path(args.result).is_dir():
        why = not_a_file(Path(args.result))
        what = "no such result folder" if why in (None, "file not found") else why
        if why is None:
            what = "is a file; expected a result folder written by 'slotopt solve'"
        raise InstanceError(f"{args.result}: {what}")
    summary = read_json(Path(args.result) / "summary.json")
    folder = args.instance or recorded_instance(summary, args.result)
    inst = load_instance(folder)
    if not isinstance(inst, MatchingInstance):
        raise InstanceError(f"{folder}: explain works on matching instances only")
    recorded = summary.get("input_sha256") or {}
    changed = [
        name
        for name, digest in recorded.items()
        if (Path(inst.source or folder) / name).is_file()
        and sha256_of(Path(inst.source or folder) / name) != digest
    ]
    if changed:
        raise InstanceError(
            f"{', '.join(changed)}: changed since the result was computed (SHA-256 differs); "
            "re-run 'slotopt solve' first"
        )
    summary, slot_of, position = read_matching_result(args.result, inst)
    result = MatchingResult(
        instance=inst,
        slot_of=slot_of,
        position=position,
        method=str(summary.get("method", "unknown")),
        seed=int(summary.get("seed") or 0),
        seconds=0.0,
    )
    try:
        explanation = result.explain(args.applicant_id)
    except KeyError as exc:
        raise InstanceError(f"applicant_id: {exc.args[0]}") from None
    print(explanation.text)
    if explanation.witness_slots:
        shown = ", ".join(explanation.witness_slots[:30])
        more = len(explanation.witness_slots) - 30
        print(
            f"witness slots ({len(explanation.witness_slots)}): {shown}"
            + (f", ... {more} more" if more > 0 else "")
        )
    return 0
