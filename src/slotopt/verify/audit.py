"""Audit one batch draw: recompute it from what was published; test it against registration time.

Anyone holding a draw's published record — the request list with each request's tier,
carry-over, registration time and acceptable slots, the slots with their capacities, the
mechanism and its parameters, the commitment, the revealed secret and the public randomness —
can recompute the whole draw. :func:`audit_draw` does exactly that and says where the published
allocation differs:

1. **commitment** — a commitment was published for the batch;
2. **reveal** — the revealed secret is the one committed to (:func:`reveal_matches`);
3. **seed** — the published seed is ``draw_seed(secret, public)``;
4. **request list** — the draw's request list is the registered one (when the registrations
   are at hand): nobody dropped, added or changed;
5. **recompute** — ``draw(mechanism, requests, slots, seed=..., context=..., **params)`` gives
   the published allocation and lottery positions, request by request;
6. **registration time** — winning is independent of the day of registration, the failure that
   voided the 2012 US Diversity Visa draw (over 90% of winners from the first two of thirty
   registration days). A chi-square test over registration days, within groups of equal
   declared priority tier and ticket count (the only attributes allowed to change a chance),
   with an exact test when counts are small (:func:`registration_time_test`).

The first five are proof: they pass or the draw is not the published one. The sixth is
evidence: a p-value below ``alpha`` (default 0.001) fails the audit, and says that the
published outcome is very unlikely under a lottery that ignores registration time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from slotopt.engines.batch import draw, requests_from_frames
from slotopt.engines.commitment import draw_seed, reveal_matches
from slotopt.errors import InstanceError

__all__ = [
    "AuditCheck",
    "AuditReport",
    "Difference",
    "IndependenceTest",
    "PublishedDraw",
    "audit_draw",
    "registration_time_test",
]

#: Cochran's rule: every expected count of a chi-square table at least this large.
MIN_EXPECTED = 5.0
#: Shuffles of the permutation test used when counts are too small for the chi-square.
PERMUTATIONS = 9_999
#: Differences kept in a report (all are counted).
MAX_DIFFERENCES = 1_000


@dataclass(frozen=True)
class PublishedDraw:
    """Everything published about one batch draw (what an auditor downloads).

    Attributes
    ----------
    batch, mechanism, params, context
        What was drawn, how, and the context string of the lottery digests.
    commitment
        The commitment published before the window closed (None when none was).
    secret, public
        The revealed secret and the public randomness mixed into the seed.
    seed
        The published seed (None when only the secret was published).
    requests, request_slots, slots
        The draw's exact inputs (:func:`slotopt.engines.batch.requests_from_frames` columns).
    allocation
        ``request_id``, ``slot_id`` (missing when not allocated), ``lottery_position``.
    registered, registered_slots
        The registration list (``request_id``, ``priority_tier``, ``carry_over``,
        ``registered_at``) and its acceptable slots, when at hand (the registry has them).
    source
        Where the record came from, for messages.
    """

    batch: str
    mechanism: str
    params: Mapping[str, Any]
    context: str
    commitment: str | None
    secret: bytes
    public: bytes
    seed: int | None
    requests: pd.DataFrame
    request_slots: pd.DataFrame
    slots: pd.DataFrame
    allocation: pd.DataFrame
    registered: pd.DataFrame | None = None
    registered_slots: pd.DataFrame | None = None
    source: str = ""


@dataclass(frozen=True)
class AuditCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Difference:
    """The first place where the published record and the recomputation disagree."""

    request_id: str | None
    field: str
    published: Any
    recomputed: Any
    against: str = "recomputed"

    def __str__(self) -> str:
        who = f"request {self.request_id!r}" if self.request_id is not None else "the draw"
        return (
            f"{who}: {self.field} published {self.published!r}, {self.against} {self.recomputed!r}"
        )


@dataclass(frozen=True)
class IndependenceTest:
    """Is winning independent of the registration day? (module docstring, check 6)

    Attributes
    ----------
    method
        ``"chi-square"``, ``"fisher-exact"``, ``"permutation"``, ``"not testable"`` or
        ``"not applicable"`` (first come, first served orders by registration time on purpose).
    p_value, statistic, dof
        None when no test was run; ``dof`` only for the chi-square.
    days
        One row per registration day (UTC): ``day``, ``requests``, ``allocated``, ``rate``.
    groups
        How days were merged so every expected count is at least 5, per stratum.
    note
        One sentence saying what was done.
    """

    method: str
    p_value: float | None
    statistic: float | None
    dof: int | None
    days: pd.DataFrame
    groups: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class AuditReport:
    """The outcome of :func:`audit_draw`; ``ok`` when every check passes.

    ``differences`` lists the allocation differences in published lottery order, then the
    request-list differences (at most :data:`MAX_DIFFERENCES`); ``n_differences`` counts all.
    """

    batch: str
    checks: tuple[AuditCheck, ...]
    differences: tuple[Difference, ...]
    n_differences: int
    n_requests: int
    n_allocated_published: int
    n_allocated_recomputed: int | None
    independence: IndependenceTest
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_difference(self) -> Difference | None:
        """The first allocation difference in published lottery order, else the first
        request-list difference (by request id), else None."""
        return self.differences[0] if self.differences else None

    def text(self) -> str:
        """The report as lines of text (what ``slotopt audit`` prints)."""
        lines = [f"batch {self.batch}: {'CLEAN' if self.ok else 'MISMATCH'}"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _day_label(day: int, day_seconds: int) -> str:
    return datetime.fromtimestamp(int(day) * day_seconds, UTC).strftime("%Y-%m-%d")


def _merge_days(n: np.ndarray, w: np.ndarray) -> list[tuple[int, int]]:
    """Adjacent day ranges ``[a, b)`` whose expected won and lost counts are both >= 5."""
    total_n, total_w = n.sum(), w.sum()
    p = total_w / total_n
    groups: list[tuple[int, int]] = []
    start, acc = 0, 0
    for d in range(len(n)):
        acc += int(n[d])
        if acc * p >= MIN_EXPECTED and acc * (1 - p) >= MIN_EXPECTED:
            groups.append((start, d + 1))
            start, acc = d + 1, 0
    if start < len(n):
        if groups:
            groups[-1] = (groups[-1][0], len(n))
        else:
            groups.append((start, len(n)))
    return groups


def _pearson(n: np.ndarray, w: np.ndarray) -> float:
    """Pearson's chi-square of the 2 x k table (won, lost) x days (every n > 0, 0 < sum w < sum n).

    sum over cells of (observed - expected)**2 / expected, expected = row total x column total
    / grand total (the tests compare it with ``scipy.stats.chi2_contingency``).
    """
    n = np.asarray(n, dtype=float)
    w = np.asarray(w, dtype=float)
    p = w.sum() / n.sum()
    ew, el = n * p, n * (1 - p)
    return float((((w - ew) ** 2) / ew).sum() + (((n - w - el) ** 2) / el).sum())


def registration_time_test(
    registered_at: np.ndarray,
    won: np.ndarray,
    strata: np.ndarray | None = None,
    *,
    day_seconds: int = 86_400,
    permutation_seed: int = 0,
) -> IndependenceTest:
    """Test that winning does not depend on the registration day.

    Parameters
    ----------
    registered_at : ndarray of shape (R,)
        Registration times in seconds (epoch seconds: days are UTC calendar days).
    won : ndarray of shape (R,), bool
        Whether each request was allocated a slot.
    strata : ndarray of shape (R,), optional
        A label per request; the test runs within each stratum (requests of equal declared
        tier and tickets have equal chances) and pools the statistics. None: one stratum.
    day_seconds
        Length of a "day" (86,400).
    permutation_seed
        Seed of the permutation test's ``PCG64`` stream.

    Returns
    -------
    IndependenceTest
        The rule (module docstring of :mod:`slotopt.verify.audit`): in each stratum where some
        but not all requests won, adjacent days are merged until every expected count (won
        and lost) is at least 5 (Cochran's rule); the Pearson statistics of the strata are
        summed and compared with a chi-square of the summed degrees of freedom. When no
        stratum keeps two groups after merging, counts are too small for the chi-square and an
        exact test is used instead: Fisher's exact test when the data are one 2 x 2 table,
        otherwise a permutation test (outcomes shuffled within strata, 9,999 times, seeded).
    """
    at = np.asarray(registered_at, dtype=np.int64)
    ok = np.asarray(won, dtype=bool)
    lab = (
        np.zeros(len(at), dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    )
    day = at // int(day_seconds)
    days_u, day_code = np.unique(day, return_inverse=True)
    per_day = pd.DataFrame(
        {
            "day": [_day_label(d, day_seconds) for d in days_u],
            "requests": np.bincount(day_code, minlength=len(days_u)),
            "allocated": np.bincount(day_code, weights=ok, minlength=len(days_u)).astype(np.int64),
        }
    )
    per_day["rate"] = per_day["allocated"] / per_day["requests"].where(per_day["requests"] > 0)

    stat, dof, groups = 0.0, 0, []
    informative: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per stratum: codes, n, w
    for s in np.unique(lab):
        mask = lab == s
        codes = np.unique(day_code[mask], return_inverse=True)[1]
        n = np.bincount(codes).astype(np.int64)
        w = np.bincount(codes, weights=ok[mask]).astype(np.int64)
        if len(n) < 2 or w.sum() in (0, n.sum()):
            continue
        informative.append((mask, n, w))
        merged = _merge_days(n, w)
        groups.append(f"stratum {int(s)}: {len(n)} day(s) -> {len(merged)} group(s)")
        if len(merged) >= 2:
            gn = np.array([n[a:b].sum() for a, b in merged])
            gw = np.array([w[a:b].sum() for a, b in merged])
            stat += _pearson(gn, gw)
            dof += len(merged) - 1
    if dof >= 1:
        p = float(stats.chi2.sf(stat, dof))
        return IndependenceTest(
            "chi-square",
            p,
            stat,
            dof,
            per_day,
            tuple(groups),
            f"chi-square {stat:.2f} on {dof} degree(s) of freedom over registration days "
            f"(days merged so every expected count is >= {MIN_EXPECTED:g}): p = {p:.3g}",
        )
    if not informative:
        return IndependenceTest(
            "not testable",
            None,
            None,
            None,
            per_day,
            tuple(groups),
            "nothing to test: all requests registered on one day, or all or none allocated",
        )
    if len(informative) == 1 and len(informative[0][1]) == 2:
        _, n, w = informative[0]
        table = np.array([[w[0], n[0] - w[0]], [w[1], n[1] - w[1]]])
        p = float(stats.fisher_exact(table).pvalue)
        return IndependenceTest(
            "fisher-exact",
            p,
            None,
            None,
            per_day,
            tuple(groups),
            f"too few requests for a chi-square; Fisher's exact test on two days: p = {p:.3g}",
        )
    # Small counts over several days: the exact conditional test, by seeded shuffling.
    rng = np.random.Generator(np.random.PCG64(permutation_seed))
    observed = sum(_pearson(n, w) for _, n, w in informative)
    parts = [
        (np.unique(day_code[m], return_inverse=True)[1], n, ok[m].copy()) for m, n, _ in informative
    ]
    hits = 0
    for _ in range(PERMUTATIONS):
        total = 0.0
        for codes, n, outcome in parts:
            rng.shuffle(outcome)
            total += _pearson(n, np.bincount(codes, weights=outcome, minlength=len(n)))
        hits += total >= observed - 1e-9
    p = (hits + 1) / (PERMUTATIONS + 1)
    return IndependenceTest(
        "permutation",
        p,
        observed,
        None,
        per_day,
        tuple(groups),
        f"too few requests for a chi-square; permutation test ({PERMUTATIONS:,} seeded shuffles "
        f"of the outcomes within strata): p = {p:.3g}",
    )


def _list_differences(pub: PublishedDraw) -> list[Difference]:
    """Every difference between the draw's request list and the registered one, by request."""
    reg = pub.registered
    if reg is None:
        return []
    cols = ["priority_tier", "carry_over", "registered_at"]
    a = pub.requests.set_index(pub.requests["request_id"].astype(str))
    b = reg.set_index(reg["request_id"].astype(str))
    diffs: list[Difference] = []
    for rid in sorted(set(b.index) - set(a.index)):
        diffs.append(Difference(rid, "presence", "not in the draw", "registered", "registrations"))
    for rid in sorted(set(a.index) - set(b.index)):
        diffs.append(
            Difference(rid, "presence", "in the draw", "never registered", "registrations")
        )
    common = sorted(set(a.index) & set(b.index))
    for col in cols:
        x = a.loc[common, col].astype(np.int64)
        y = b.loc[common, col].astype(np.int64)
        for rid in x.index[(x != y).to_numpy()]:
            diffs.append(Difference(rid, col, int(x[rid]), int(y[rid]), "registered"))
    if pub.registered_slots is not None:

        def pairs(df: pd.DataFrame) -> set[tuple[str, str, int | None]]:
            rk = pd.array(df["rank"], dtype="Int64") if "rank" in df else [pd.NA] * len(df)
            return {
                (str(r), str(s), None if k is pd.NA else int(k))
                for r, s, k in zip(df["request_id"], df["slot_id"], rk, strict=True)
            }

        both = set(common)
        pa = {t for t in pairs(pub.request_slots) if t[0] in both}
        pb = {t for t in pairs(pub.registered_slots) if t[0] in both}
        for r, s, k in sorted(pa ^ pb, key=lambda t: (t[0], t[1])):
            drawn = (r, s, k) in pa
            diffs.append(
                Difference(
                    r,
                    f"acceptable slot {s!r} (rank {k})",
                    "listed" if drawn else "not listed",
                    "not listed" if drawn else "listed",
                    "registered",
                )
            )
    diffs.sort(key=lambda d: str(d.request_id))
    return diffs


def audit_draw(
    pub: PublishedDraw, *, alpha: float = 1e-3, day_seconds: int = 86_400
) -> AuditReport:
    """Recompute a published draw and test it (module docstring).

    Parameters
    ----------
    pub
        The published record.
    alpha
        The registration-time test fails below this p-value.
    day_seconds
        Length of a registration "day".

    Returns
    -------
    AuditReport
        Every check with its outcome, the first difference (in published lottery order), the
        counts, and the registration-time test.
    """
    checks: list[AuditCheck] = []
    notes: list[str] = []
    if pub.commitment is None:
        checks.append(AuditCheck("commitment", False, "no commitment was published for this batch"))
    else:
        checks.append(AuditCheck("commitment", True, f"published {pub.commitment}"))
        good = reveal_matches(pub.commitment, pub.secret)
        checks.append(
            AuditCheck(
                "reveal",
                good,
                "the revealed secret is the committed one"
                if good
                else f"SHA-256 commitment of the revealed secret is not {pub.commitment}",
            )
        )
    seed = draw_seed(pub.secret, pub.public)
    if pub.seed is not None:
        checks.append(
            AuditCheck(
                "seed",
                int(pub.seed) == seed,
                f"draw_seed(secret, public) = {seed}"
                + ("" if int(pub.seed) == seed else f", published {pub.seed}"),
            )
        )
    list_diffs = _list_differences(pub)
    if pub.registered is not None:
        checks.append(
            AuditCheck(
                "request list",
                not list_diffs,
                f"the draw's {len(pub.requests):,} requests are the registered ones"
                if not list_diffs
                else f"{len(list_diffs)} difference(s) from the registrations; first: "
                f"{list_diffs[0]}",
            )
        )

    alloc = pub.allocation.copy()
    alloc["request_id"] = alloc["request_id"].astype(str)
    won_pub = alloc.set_index("request_id")["slot_id"].notna()
    n_alloc_pub = int(won_pub.sum())
    alloc_diffs: list[Difference] = []
    n_diff = 0
    n_alloc_re: int | None = None
    tickets: pd.Series | None = None
    try:
        requests, slots = requests_from_frames(pub.requests, pub.request_slots, pub.slots)
    except InstanceError as exc:
        checks.append(AuditCheck("recompute", False, f"the published inputs are invalid: {exc}"))
    else:
        result = draw(
            pub.mechanism, requests, slots, seed=seed, context=pub.context, **dict(pub.params)
        )
        re_df = result.allocation(requests, slots)
        re_df["request_id"] = re_df["request_id"].astype(str)
        tickets = pd.Series(
            result.tickets if result.tickets is not None else np.ones(requests.n_requests),
            index=pd.Index(requests.request_id.astype(str)),
        )
        n_alloc_re = result.n_allocated
        alloc_diffs, n_diff = _allocation_differences(alloc, re_df, MAX_DIFFERENCES)
        checks.append(
            AuditCheck(
                "recompute",
                n_diff == 0,
                f"{pub.mechanism} draw of {requests.n_requests:,} requests for "
                f"{int(slots.capacity.sum()):,} places recomputed: "
                + (
                    f"identical ({n_alloc_re:,} allocated)"
                    if n_diff == 0
                    else f"{n_diff:,} request(s) differ; published {n_alloc_pub:,} allocated, "
                    f"recomputed {n_alloc_re:,}; first difference: {alloc_diffs[0]}"
                ),
            )
        )

    if pub.mechanism == "fcfs":
        indep = IndependenceTest(
            "not applicable",
            None,
            None,
            None,
            pd.DataFrame(columns=["day", "requests", "allocated", "rate"]),
            (),
            "first come, first served orders by registration time by design",
        )
        checks.append(AuditCheck("registration time", True, indep.note))
    else:
        req = pub.requests.copy()
        req["request_id"] = req["request_id"].astype(str)
        won = won_pub.reindex(req["request_id"]).fillna(False).to_numpy(dtype=bool)
        tk = (
            tickets.reindex(req["request_id"]).fillna(1).to_numpy(dtype=np.int64)
            if tickets is not None
            else np.ones(len(req), dtype=np.int64)
        )
        strata = req["priority_tier"].to_numpy(dtype=np.int64) * (2**21) + tk
        indep = registration_time_test(
            req["registered_at"].to_numpy(dtype=np.int64), won, strata, day_seconds=day_seconds
        )
        passed = indep.p_value is None or indep.p_value >= alpha
        checks.append(
            AuditCheck(
                "registration time",
                passed,
                indep.note
                + ("" if passed else f" < {alpha:g}: winning depends on the registration day"),
            )
        )
    return AuditReport(
        batch=pub.batch,
        checks=tuple(checks),
        differences=tuple(alloc_diffs + list_diffs[: MAX_DIFFERENCES - len(alloc_diffs)]),
        n_differences=n_diff + len(list_diffs),
        n_requests=len(pub.requests),
        n_allocated_published=n_alloc_pub,
        n_allocated_recomputed=n_alloc_re,
        independence=indep,
        notes=tuple(notes),
    )


def _allocation_differences(
    published: pd.DataFrame, recomputed: pd.DataFrame, limit: int
) -> tuple[list[Difference], int]:
    """Request-by-request comparison, in published lottery order (the first ``limit``)."""
    a = published.set_index("request_id")[["slot_id", "lottery_position"]]
    b = recomputed.set_index("request_id")[["slot_id", "lottery_position"]]
    ids = a.index.union(b.index)
    a, b = a.reindex(ids), b.reindex(ids)
    missing_a = a["lottery_position"].isna()
    missing_b = b["lottery_position"].isna()
    slot_a = a["slot_id"].astype(object).where(a["slot_id"].notna(), None)
    slot_b = b["slot_id"].astype(object).where(b["slot_id"].notna(), None)
    slot_diff = slot_a.ne(slot_b) & ~(slot_a.isna() & slot_b.isna())
    pos_diff = a["lottery_position"].ne(b["lottery_position"])
    bad = missing_a | missing_b | slot_diff | pos_diff
    n = int(bad.sum())
    order = a["lottery_position"].where(~missing_a, np.inf)
    out = []
    for rid in order[bad.to_numpy()].sort_values(kind="stable").index[:limit]:
        rid = str(rid)
        if missing_a[rid]:
            out.append(Difference(rid, "allocation row", "missing", "present"))
        elif missing_b[rid]:
            out.append(Difference(rid, "allocation row", "present", "not in the draw's inputs"))
        elif slot_diff[rid]:
            out.append(Difference(rid, "slot", slot_a[rid], slot_b[rid]))
        else:
            pa, pb = a.at[rid, "lottery_position"], b.at[rid, "lottery_position"]
            out.append(Difference(rid, "lottery position", int(pa), int(pb)))
    return out, n
