"""``slotopt export INSTANCE_DIR --model NAME --format lp|mps --out FILE``: write a matching model
for another solver, so any LP/MIP solver can cross-validate ours.

The file is written by Pyomo's own LP / MPS writers with readable names (``assign(t_g)``,
``slot_capacity(g)``, ...) to a temporary file beside ``FILE`` and renamed into place; an
existing ``FILE`` is replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from slotopt._atomic import OutputExistsError
from slotopt.errors import InstanceError
from slotopt.instance import MatchingInstance, load_instance

MODELS = ("feasibility", "max-appointments", "weighted-lp", "lexicographic-tiers", "second-stage")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a matching model as an LP or MPS file for another solver",
        description="Build one of slotopt's matching models (models/*.md) for an instance and "
        "write it as a CPLEX-LP or free-MPS file.",
    )
    p.add_argument("instance", type=Path, help="matching instance folder")
    p.add_argument(
        "--model",
        required=True,
        help=f"one of {', '.join(MODELS)} (underscores work too). feasibility asks whether "
        "every applicant (or those in --must-match) can be served; weighted-lp and "
        "lexicographic-tiers use the lottery order of --seed; second-stage fixes the "
        "greedy's matched set under --seed",
    )
    p.add_argument("--format", required=True, choices=["lp", "mps"], help="file format")
    p.add_argument("--out", required=True, type=Path, help="file to write")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="lottery seed for the priority order (default: instance.json's seed)",
    )
    p.add_argument(
        "--must-match",
        type=Path,
        default=None,
        help="feasibility only: CSV with an applicant_id column (default: everyone)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(run=run)


def _seed(inst: MatchingInstance, seed: int | None, model: str) -> int:
    from slotopt.methods import resolve_seed  # the one seed rule; export never draws one

    return resolve_seed(inst, seed, needed_for=f"the {model} model")


def _must_match(inst: MatchingInstance, path: Path | None) -> np.ndarray:
    if path is None:
        return np.ones(inst.n_applicants, dtype=bool)
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype={"applicant_id": "string"})
    except (OSError, ValueError) as exc:
        raise InstanceError(f"{path}: cannot read it as CSV ({exc})") from exc
    if "applicant_id" not in df.columns:
        raise InstanceError(f"{path}: missing column applicant_id")
    idx = inst.applicant_index.get_indexer(df["applicant_id"])
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        row = int(bad[0])
        raise InstanceError(
            f"{path.name} row {row + 1}, column applicant_id: "
            f"{df['applicant_id'].iloc[row]!r} is not an applicant of the instance"
        )
    mask = np.zeros(inst.n_applicants, dtype=bool)
    mask[idx] = True
    return mask


def build(inst: MatchingInstance, model: str, *, seed: int | None, must_match: Path | None) -> Any:
    """The Pyomo model ``slotopt export`` writes."""
    from slotopt.engines.matching.order import priority_order
    from slotopt.formulations import matching_models as mm

    if model == "feasibility":
        return mm.build_feasibility(inst, _must_match(inst, must_match))
    if model == "max-appointments":
        return mm.build_max_appointments(inst)
    order = priority_order(inst.priority, inst.applicant_ids, _seed(inst, seed, model))
    if model == "weighted-lp":
        return mm.build_weighted_lp(inst, order)
    if model == "lexicographic-tiers":
        # the final solve of the sequence; the tier objectives are in the file, deactivated
        return mm.build_lexicographic(inst, order, "tiers")
    from slotopt.engines.matching.greedy import greedy_matching

    return mm.build_second_stage(inst, greedy_matching(inst, order) >= 0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _DropConstantObjective(logging.Filter):
    """The feasibility model's objective is the constant 0 on purpose; Pyomo's MPS writer warns
    that it replaces it with a placeholder, which would only confuse the user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Constant objective detected")


@contextmanager
def _quiet_constant_objective() -> Iterator[None]:
    target = logging.getLogger("pyomo.core")
    flt = _DropConstantObjective()
    target.addFilter(flt)
    try:
        yield
    finally:
        target.removeFilter(flt)


def run(args: argparse.Namespace) -> int:
    model = args.model.replace("_", "-")
    if model not in MODELS:
        raise InstanceError(f"--model: expected one of {', '.join(MODELS)}, got {args.model!r}")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out}: already exists; choose another --out or pass --force")
    if args.must_match is not None and model != "feasibility":
        raise InstanceError("--must-match: only the feasibility model takes a required set")
    inst = load_instance(args.instance)
    if not isinstance(inst, MatchingInstance):
        raise InstanceError(f"{args.instance}: export works on matching instances only")
    pyomo_model = build(inst, model, seed=args.seed, must_match=args.must_match)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.tmp-", suffix=f".{args.format}", dir=out.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with _quiet_constant_objective():
            # the format follows the suffix (.lp: Pyomo's LP writer, .mps: its MPS writer)
            pyomo_model.write(tmp, io_options={"symbolic_solver_labels": True})
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {out} ({model} model of {inst.name!r}, {args.format.upper()})")
    return 0
