"""``slotopt receipt show|verify``: hand out a proof-of-attempt receipt, and check one.

``slotopt receipt show --db FILE --request ID [--batch B] [--out FILE] [--force]`` writes the
receipt document of a registered request (JSON; :mod:`slotopt.registry.proof`): its link in the
receipt chain, what was registered, every batch the identity entered with the outcome, and a
one-sentence summary of the attempts. Without ``--out`` it prints the JSON.

``slotopt receipt verify RECEIPT --db FILE`` checks a receipt document against the registry:
the document's own hashes, the stored receipt and request, the whole chain, the chain head the
receipt was issued with, and every attempt it lists. Exit 0 when it holds, 1 when anything
differs (each difference named), 2 when the file is not a receipt.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from slotopt._atomic import OutputExistsError
from slotopt.errors import InstanceError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "receipt",
        help="write a proof-of-attempt receipt, or verify one against a registry",
        description="Proof of attempt: every registered request has a receipt in a hash chain. "
        "'show' writes one as JSON; 'verify' checks one against the registry.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="write the receipt document of a registered request",
        description="Write the receipt document (JSON) of a registered request: its chain link, "
        "what was registered, every batch the identity entered and the outcomes.",
    )
    show.add_argument("--db", type=Path, required=True, help="the registry file")
    show.add_argument("--request", required=True, metavar="ID", help="the request id")
    show.add_argument("--batch", default=None, help="the batch (when the id is in several)")
    show.add_argument("--out", type=Path, default=None, help="write here instead of printing")
    show.add_argument("--force", action="store_true", help="replace an existing --out file")
    show.set_defaults(run=run_show)
    verify = actions.add_parser(
        "verify",
        help="check a receipt document against a registry",
        description="Check a receipt document against the registry and its hash chain; name "
        "every difference. Exit 1 when anything differs.",
    )
    verify.add_argument("receipt", type=Path, help="the receipt document (JSON)")
    verify.add_argument("--db", type=Path, required=True, help="the registry file")
    verify.set_defaults(run=run_verify)


def run_show(args: argparse.Namespace) -> int:
    from slotopt.registry import Registry
    from slotopt.registry.proof import receipt_document

    with Registry.open(args.db, create=False) as reg:
        doc = receipt_document(reg, args.request, batch=args.batch)
    text = json.dumps(doc, indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    out: Path = args.out
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out}: already exists; choose another --out or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {out}: {doc['summary']['statement']}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from slotopt.registry import Registry
    from slotopt.registry.proof import verify_receipt

    path: Path = args.receipt
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such receipt file") from None
    except UnicodeDecodeError:
        raise InstanceError(f"{path}: not a text file") from None
    except json.JSONDecodeError as exc:
        raise InstanceError(
            f"{path}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})"
        ) from None
    with Registry.open(args.db, create=False) as reg:
        check = verify_receipt(reg, doc, source=str(path))
    rec = doc["receipt"]
    print(
        f"receipt seq {rec['seq']}: request {rec['request_id']} in batch {rec['batch']}, "
        f"registered {rec['registered_at']}"
    )
    statement = (doc.get("summary") or {}).get("statement")
    if statement:
        print(f"  {statement}")
    for note in check.notes:
        print(f"  note: {note}")
    if check.ok:
        print("  [ok] the receipt, the stored request and the chain agree")
        return 0
    for problem in check.problems:
        print(f"  [FAIL] {problem}")
    return 1
