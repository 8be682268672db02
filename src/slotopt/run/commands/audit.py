"""``slotopt audit FOLDER | --db FILE [--batch B ...]``: recompute published draws and say where
they differ.

``--db FILE`` audits a registry: its integrity first (receipt chain, request contents, published
chain heads, triggers; :func:`slotopt.registry.integrity.check_registry`), then every drawn batch
(or those named with ``--batch``) with :func:`slotopt.verify.audit.audit_draw`: commitment,
reveal, seed, the draw's request list against the registrations, the recomputed allocation, and
the registration-time test.

``FOLDER`` audits a ``slotopt batch-run`` result folder: each batch's published allocation
(``draws.csv``, the rows drawn) and its commitment, revealed secret and seed
(``commitments.csv``) against a recomputation from the instance folder the run names in
``summary.json`` (its files must still have the recorded SHA-256). Without a registry there are
no registrations to compare the request list with; the other checks are the same.

Exit 0 when everything audits clean, 1 on any mismatch, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from slotopt.errors import InstanceError, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="recompute published batch draws from their request lists and seeds",
        description="Recompute every published batch draw from its request list, commitment "
        "and revealed seed, and say exactly where it differs; test that winning does not "
        "depend on the registration day. Exit 1 on any mismatch.",
    )
    p.add_argument("folder", type=Path, nargs="?", help="a slotopt batch-run result folder")
    p.add_argument("--db", type=Path, default=None, help="a registry file to audit instead")
    p.add_argument(
        "--batch",
        action="append",
        default=None,
        metavar="B",
        help="audit only this batch (repeatable; default: every drawn batch)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=1e-3,
        help="the registration-time test fails below this p-value (default 0.001)",
    )
    p.add_argument(
        "--day-seconds",
        type=int,
        default=86_400,
        help="length of a registration day in seconds (default 86400)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slotopt.verify.audit import audit_draw

    if (args.folder is None) == (args.db is None):
        raise UsageError("give either a result FOLDER or --db FILE (one of them)")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.day_seconds <= 0:
        raise UsageError(f"--day-seconds must be positive, got {args.day_seconds}")
    ok = True
    if args.db is not None:
        from slotopt.registry import Registry
        from slotopt.registry.integrity import check_registry

        with Registry.open(args.db, create=False) as reg:
            drawn = [b for b in reg.batches() if b in reg.finished()]
            batches = _chosen(args.batch, drawn, str(args.db))
            report = check_registry(reg)
            print(
                f"registry {args.db}: {report.n_receipts:,} receipts, chain head seq "
                f"{report.head.seq} = {report.head.receipt_hash}"
            )
            if report.ok:
                print("  [ok] integrity: chain, request contents, published heads and triggers")
            else:
                ok = False
                for line in report.problems:
                    print(f"  [FAIL] integrity: {line}")
            published = [reg.published_draw(b) for b in batches]
    else:
        published = _from_folder(args.folder, args.batch)
    for pub in published:
        result = audit_draw(pub, alpha=args.alpha, day_seconds=args.day_seconds)
        print(result.text())
        ok = ok and result.ok
    print(f"{len(published)} draw(s) audited: {'all clean' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def _chosen(wanted: list[str] | None, drawn: list[str], where: str) -> list[str]:
    if not wanted:
        if not drawn:
            raise UsageError(f"{where}: no drawn batch to audit")
        return drawn
    unknown = [b for b in wanted if b not in drawn]
    if unknown:
        raise UsageError(
            f"{where}: batch {', '.join(unknown)} has no published draw; drawn batches: "
            f"{', '.join(drawn) or 'none'}"
        )
    return list(wanted)


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InstanceError(f"{path}: missing (not a slotopt batch-run result folder?)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InstanceError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def _from_folder(folder: Path, wanted: list[str] | None) -> list[Any]:
    """Published draws of a batch-run result folder, inputs recomputed from its instance."""
    from slotopt.batch import run as run_batches
    from slotopt.engines.batch import requests_to_frames
    from slotopt.instance import load_instance
    from slotopt.run.folders import recorded_instance
    from slotopt.verify.audit import PublishedDraw

    if not folder.is_dir():
        raise InstanceError(f"{folder}: no such result folder")
    summary_path = folder / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
    except FileNotFoundError:
        raise InstanceError(f"{summary_path}: missing (not a slotopt result folder)") from None
    except json.JSONDecodeError as exc:
        raise InstanceError(f"{summary_path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    for key in ("kind", "instance", "seed", "method"):
        if key not in summary:
            raise InstanceError(f"{summary_path}, key {key}: missing")
    if summary["kind"] != "batch":
        raise InstanceError(f"{summary_path}, key kind: audit needs a batch-run result folder")
    inst = load_instance(recorded_instance(summary, folder))
    recorded = summary.get("input_sha256") or {}
    changed = [f for f, h in recorded.items() if inst.input_sha256.get(f) != h]
    if changed:
        raise InstanceError(
            f"{summary['instance']}: {', '.join(sorted(changed))} changed since the run "
            "(SHA-256 differs from summary.json); the draws cannot be recomputed from it"
        )
    com = _read_csv(
        folder / "commitments.csv",
        ("period_id", "context", "commitment", "public_randomness", "secret", "lottery_seed"),
    )
    draws = _read_csv(
        folder / "draws.csv", ("period_id", "request_id", "lottery_position", "slot_id", "via")
    )
    batches = _chosen(wanted, com["period_id"].tolist(), str(folder))
    replay = run_batches(
        inst,
        seed=int(summary["seed"]),
        mechanism=str(summary["method"]),
        params=summary.get("params") or {},
    )
    out = []
    for pid in batches:
        row = com[com["period_id"] == pid].iloc[0]
        requests, slots, _ = replay.batch_draws[pid]
        req, acc, sl = requests_to_frames(requests, slots)
        mine = draws[draws["period_id"] == pid]
        drawn = mine["via"] == "draw"
        allocation = pd.DataFrame(
            {
                "request_id": mine["request_id"].to_numpy(),
                "slot_id": mine["slot_id"].where(drawn & (mine["slot_id"] != ""), None),
                "lottery_position": pd.to_numeric(mine["lottery_position"]).to_numpy(),
            }
        )
        public = str(row["public_randomness"])
        out.append(
            PublishedDraw(
                batch=pid,
                mechanism=str(summary["method"]),
                params=summary.get("params") or {},
                context=str(row["context"]),
                commitment=str(row["commitment"]) or None,
                secret=bytes.fromhex(str(row["secret"])),
                public=public.encode(),
                seed=int(row["lottery_seed"]),
                requests=req,
                request_slots=acc,
                slots=sl,
                allocation=allocation,
                source=str(folder),
            )
        )
    return out
