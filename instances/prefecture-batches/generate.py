"""Write the ``prefecture-batches`` instance: eight weekly batches at a prefecture's two offices,
with cancellations, no-shows, duplicate registrations and a scalper flooding fake identities.

Run from the repository root (it rewrites the five tables and instance.json, not the README)::

    python instances/prefecture-batches/generate.py instances/prefecture-batches

Every random choice comes from ``numpy.random.default_rng(SEED)`` (PCG64), so the same command
writes the same bytes on any machine. The model, per week ``w = 1..8``:

* slots: offices ``nord`` (1-3 counters) and ``sud`` (1-2) × types ``first-permit`` and
  ``renewal`` × five weekdays, about 35 appointments a week, each usable by the draw of its
  week and the next two (``usable_until``);
* direct applicants: a Poisson(30) number of new people a week, each trying for 2-5 weeks (one
  registration a week at a uniform time in the window) for one type at one or both offices; 8%
  of registrations are made twice with the document number typed differently (case, white
  space, full-width digits), which de-duplication merges. If drawn, 90% confirm within a day and
  10% too late; then 6% cancel, 4% do not show up and 3% have their appointment cancelled by
  the prefecture;
* the scalper: each week 3 new paying clients (real identities, registered every week until
  served) and 30 fake identities, all registered by his bots in the first minute of the window.
  A fake identity never confirms: nobody by that name will come. (On a first-come-first-served
  page, which books at once, such a booking is what the scalper renames for a paying client.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2021
WEEKS = 8
WEEK = 7 * 86400
START = 1767571200  # Monday 5 January 2026, 00:00 UTC
OFFICES = ("nord", "sud")
TYPES = ("first-permit", "renewal")
ARRIVALS = 30  # new direct applicants a week (Poisson mean)
CLIENTS = 3  # new paying clients of the scalper a week
FAKES = 30  # fake identities the scalper registers a week
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _dob(rng: np.random.Generator) -> str:
    day = np.datetime64("1960-01-01") + int(rng.integers(0, 44 * 365))
    return str(day)


def _doc(rng: np.random.Generator, prefix: str) -> str:
    return f"{prefix}{int(rng.integers(10**7, 10**8))}"


def _variant(doc: str, rng: np.random.Generator) -> str:
    """The same document number as a person might type it again."""
    k = int(rng.integers(0, 3))
    if k == 0:
        return doc.lower()
    if k == 1:
        return f"  {doc}\t"  # white space around it
    return doc.translate(FULL_WIDTH)


def _behaviour(rng: np.random.Generator, rid: str) -> list[tuple[str, str, int | None]]:
    """What a direct applicant does if drawn: confirm in time or late, then maybe cancel, not
    show up, or have the prefecture cancel."""
    out: list[tuple[str, str, int | None]] = []
    late = rng.random() >= 0.9
    out.append(
        (rid, "confirm", int(rng.integers(3, 5) * 86400 if late else rng.integers(600, 86400)))
    )
    v = rng.random()
    if v < 0.06:
        out.append((rid, "cancel", int(rng.integers(2 * 86400, 6 * 86400))))
    elif v < 0.10:
        out.append((rid, "no_show", None))
    elif v < 0.13:
        out.append((rid, "provider_cancel", int(rng.integers(86400, 5 * 86400))))
    return out


def build() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    periods = pd.DataFrame(
        {
            "period_id": [f"2026-W{w:02d}" for w in range(1, WEEKS + 1)],
            "opens_at": [START + (w - 1) * WEEK for w in range(1, WEEKS + 1)],
            "closes_at": [START + w * WEEK for w in range(1, WEEKS + 1)],
        }
    )
    slots: list[tuple[object, ...]] = []
    requests: list[tuple[object, ...]] = []
    kinds: list[tuple[object, ...]] = []
    events: list[tuple[str, str, int | None]] = []

    def add(rid: str, at: int, person: dict[str, object]) -> None:
        requests.append((rid, at, person["doc"], person["dob"], person["group"]))
        for rank, office in enumerate(person["offices"], start=1):  # type: ignore[arg-type]
            kinds.append((rid, office, person["kind"], rank))

    people: list[dict[str, object]] = []
    for w in range(1, WEEKS + 1):
        pid = f"2026-W{w:02d}"
        opens = START + (w - 1) * WEEK
        for office in OFFICES:
            for kind in TYPES:
                for day in range(5):
                    cap = int(rng.integers(1, 4)) if office == "nord" else int(rng.integers(1, 3))
                    # held the week after the draw, so usable by the next two draws at most
                    until = f"2026-W{min(w + 2, WEEKS):02d}"
                    slots.append(
                        (f"{office}-{kind}-w{w}-d{day + 1}", pid, cap, office, kind, until)
                    )
        # new people this week: direct applicants, and the scalper's paying clients
        for k in range(int(rng.poisson(ARRIVALS))):
            people.append(
                {
                    "id": f"d{w}-{k:03d}",
                    "doc": _doc(rng, "P"),
                    "dob": _dob(rng),
                    "group": "direct",
                    "kind": TYPES[int(rng.random() < 0.5)],
                    "offices": list(rng.permutation(OFFICES)[: int(rng.integers(1, 3))]),
                    "weeks": int(rng.integers(2, 6)),  # how many weeks they keep trying
                    "first": w,
                }
            )
        for k in range(CLIENTS):
            people.append(
                {
                    "id": f"s{w}-client-{k}",
                    "doc": _doc(rng, "P"),
                    "dob": _dob(rng),
                    "group": "scalper-client",
                    "kind": TYPES[k % 2],
                    "offices": list(OFFICES),
                    "weeks": WEEKS,
                    "first": w,
                }
            )
        # this week's registrations: people register at a random time; the scalper's bots
        # register his clients and his fake identities in the first minute
        bot = opens + 1
        for person in people:
            first, weeks = int(person["first"]), int(person["weeks"])  # type: ignore[call-overload]
            if not first <= w < first + weeks:
                continue
            rid = f"{person['id']}-w{w}"
            if person["group"] == "direct":
                at = opens + int(rng.integers(60, WEEK - 1))
                add(rid, at, person)
                events.extend(_behaviour(rng, rid))
                if rng.random() < 0.08:  # registers twice, typing the number differently
                    again = dict(person, doc=_variant(str(person["doc"]), rng))
                    add(
                        f"{rid}-again",
                        min(at + int(rng.integers(60, 86400)), opens + WEEK - 1),
                        again,
                    )
            else:
                add(rid, bot, person)
                bot += 1
                events.append((rid, "confirm", 300))
        for k in range(FAKES):
            rid = f"s{w}-fake-{k:02d}"
            fake = {
                "doc": _doc(rng, "X"),
                "dob": _dob(rng),
                "group": "scalper-fake",
                "kind": TYPES[k % 2],
                "offices": list(OFFICES),
            }
            add(rid, bot, fake)
            bot += 1
            # no confirmation: nobody by that name will ever come (on a first-come-first-served
            # page, which books at once, the scalper renames the booking for a paying client)
    return {
        "periods": periods,
        "slots": pd.DataFrame(
            slots, columns=["slot_id", "period_id", "capacity", "site", "slot_type", "usable_until"]
        ),
        "requests": pd.DataFrame(
            requests,
            columns=["request_id", "registered_at", "document_number", "date_of_birth", "group"],
        ),
        "request_slots": pd.DataFrame(kinds, columns=["request_id", "site", "slot_type", "rank"]),
        "events": pd.DataFrame(events, columns=["request_id", "event", "after"]).astype(
            {"after": "Int64"}
        ),
    }


SPEC = {
    "kind": "batch",
    "name": "prefecture-batches",
    "seed": SEED,
    "mechanism": "uniform",
    "carry_over": False,
    "confirmation_window": 2 * 86400,
    "unconfirmed": "next_batch",
    "no_show_bar": 2,
    "provider_cancel_priority": True,
    "generated_by": "python instances/prefecture-batches/generate.py instances/prefecture-batches",
}


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.json").write_text(json.dumps(SPEC, indent=2) + "\n")
    for name, df in build().items():
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder


if __name__ == "__main__":
    out = write(Path(sys.argv[1] if len(sys.argv) > 1 else "instances/prefecture-batches"))
    assert (out / "requests.csv").stat().st_size > 0
    print(f"wrote {out}")
