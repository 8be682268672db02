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
from slotopt.engines.batch.codes import dense_codes, locate
from slotopt.engines.batch.gcpause import without_gc
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
    a_ids = pub.requests["request_id"].astype(str).tolist()
    b_ids = reg["request_id"].astype(str).tolist()
    if len(set(a_ids)) == len(a_ids) and len(set(b_ids)) == len(b_ids):
        return _unique_list_differences(pub, reg, a_ids, b_ids)
    return _list_differences_by_label(pub, reg)


def _unique_list_differences(
    pub: PublishedDraw, reg: pd.DataFrame, a_ids: list[str], b_ids: list[str]
) -> list[Difference]:
    """:func:`_list_differences_by_label` for unique request ids on both sides, with arrays.

    The differences come in the same order: by request id, and for one request presence, then
    the columns in order, then acceptable slots by slot id.
    """
    in_b = locate(np.asarray(a_ids, dtype=object), np.asarray(b_ids, dtype=object))
    in_a = np.zeros(len(b_ids), dtype=bool)
    in_a[in_b[in_b >= 0]] = True
    diffs: list[Difference] = []
    for k in np.flatnonzero(~in_a).tolist():
        rid = b_ids[k]
        diffs.append(Difference(rid, "presence", "not in the draw", "registered", "registrations"))
    for k in np.flatnonzero(in_b < 0).tolist():
        rid = a_ids[k]
        diffs.append(
            Difference(rid, "presence", "in the draw", "never registered", "registrations")
        )
    common_a = np.flatnonzero(in_b >= 0)
    common_b = in_b[common_a]
    for col in ["priority_tier", "carry_over", "registered_at"]:
        x = pub.requests[col].to_numpy()[common_a].astype(np.int64)
        y = reg[col].to_numpy()[common_b].astype(np.int64)
        for k in np.flatnonzero(x != y).tolist():
            diffs.append(
                Difference(a_ids[int(common_a[k])], col, int(x[k]), int(y[k]), "registered")
            )
    if pub.registered_slots is not None:
        slots = _slot_differences(pub.request_slots, pub.registered_slots, a_ids, in_b)
        if slots is None:
            return _list_differences_by_label(pub, reg)
        diffs.extend(slots)
    diffs.sort(key=lambda d: str(d.request_id))
    return diffs


def _slot_differences(
    drawn: pd.DataFrame, registered: pd.DataFrame, a_ids: list[str], in_b: np.ndarray
) -> list[Difference] | None:
    """Acceptable slots listed on one side only, for requests in both (by request, slot);
    None when (request, slot, rank) codes would not fit one int64."""
    common = np.asarray(a_ids, dtype=object)[in_b >= 0]

    def keyed(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = locate(df["request_id"].astype(str).to_numpy(dtype=object), common)
        rk = (
            pd.array(df["rank"], dtype="Int64")
            if "rank" in df
            else pd.array([pd.NA] * len(df), dtype="Int64")
        )
        keep = r >= 0
        ranks = np.asarray(rk.to_numpy(dtype=object))[keep]
        return r[keep], df["slot_id"].astype(str).to_numpy(dtype=object)[keep], ranks

    ra, sa, ka = keyed(drawn)
    rb, sb, kb = keyed(registered)
    s_code, s_uniques = pd.factorize(np.concatenate([sa, sb]), sort=True)
    k_all = pd.array(np.concatenate([ka, kb]), dtype="Int64")
    k_code, k_uniques = pd.factorize(k_all, sort=True, use_na_sentinel=False)
    side = np.concatenate([np.zeros(len(ra), dtype=np.int64), np.ones(len(rb), dtype=np.int64)])
    r_all = np.concatenate([ra, rb]).astype(np.int64)
    if (len(common) + 1) * (len(s_uniques) + 1) * (len(k_uniques) + 1) >= 2**62:
        return None
    packed = (r_all * (len(s_uniques) + 1) + s_code) * (len(k_uniques) + 1) + k_code
    ua = dense_codes(packed[side == 0])[0]
    ub = dense_codes(packed[side == 1])[0]
    if np.array_equal(ua, ub):
        return []
    only_a = np.setdiff1d(ua, ub, assume_unique=True)
    only_b = np.setdiff1d(ub, ua, assume_unique=True)
    keys = np.concatenate([only_a, only_b])
    listed = np.concatenate([np.ones(len(only_a), dtype=bool), np.zeros(len(only_b), dtype=bool)])
    k_of = keys % (len(k_uniques) + 1)
    rest = keys // (len(k_uniques) + 1)
    s_of = rest % (len(s_uniques) + 1)
    r_of = rest // (len(s_uniques) + 1)
    order = np.lexsort((~listed, s_of, r_of))
    out = []
    names = common.tolist()
    for i in order.tolist():
        rank = k_uniques[int(k_of[i])]
        k = None if rank is pd.NA else int(rank)
        drawn_here = bool(listed[i])
        out.append(
            Difference(
                names[int(r_of[i])],
                f"acceptable slot {str(s_uniques[int(s_of[i])])!r} (rank {k})",
                "listed" if drawn_here else "not listed",
                "not listed" if drawn_here else "listed",
                "registered",
            )
        )
    return out


def _list_differences_by_label(pub: PublishedDraw, reg: pd.DataFrame) -> list[Difference]:
    """Every difference between the request lists, by pandas labels (any ids, even repeated)."""
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


@without_gc
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
    pub_ids = alloc["request_id"].tolist()
    # Request by request with arrays when ids are unique and every position is published;
    # pandas labels otherwise (same report).
    by_array = len(set(pub_ids)) == len(pub_ids) and not alloc["lottery_position"].isna().any()
    won_pub = alloc["slot_id"].notna().to_numpy(dtype=bool)
    n_alloc_pub = int(won_pub.sum())
    alloc_diffs: list[Difference] = []
    n_diff = 0
    n_alloc_re: int | None = None
    drawn_ids: list[str] | None = None
    tickets: np.ndarray | None = None
    try:
        requests, slots = requests_from_frames(pub.requests, pub.request_slots, pub.slots)
    except InstanceError as exc:
        checks.append(AuditCheck("recompute", False, f"the published inputs are invalid: {exc}"))
    else:
        result = draw(
            pub.mechanism, requests, slots, seed=seed, context=pub.context, **dict(pub.params)
        )
        drawn_ids = requests.request_id.astype(str).tolist()
        tickets = (
            result.tickets
            if result.tickets is not None
            else np.ones(requests.n_requests, dtype=np.int64)
        )
        n_alloc_re = result.n_allocated
        if by_array:
            with_none = np.concatenate([slots.slot_id, np.array([None], dtype=object)])
            slot_of = with_none[result.slot_of_request]
            if _same_by_position(alloc, pub_ids, drawn_ids, slot_of, result.lottery_position):
                alloc_diffs, n_diff = [], 0
            else:
                alloc_diffs, n_diff = _allocation_differences_by_array(
                    alloc, pub_ids, drawn_ids, slot_of, result.lottery_position, MAX_DIFFERENCES
                )
        else:
            re_df = result.allocation(requests, slots)
            re_df["request_id"] = re_df["request_id"].astype(str)
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
        req_ids = req["request_id"].astype(str).tolist()
        if by_array:
            won = _aligned(req_ids, pub_ids, won_pub, False).astype(bool)
        else:  # pandas labels (repeated published ids cannot be aligned: that raises)
            won_by_id = pd.Series(won_pub, index=pd.Index(pub_ids))
            won = won_by_id.reindex(req_ids).fillna(False).to_numpy(dtype=bool)
        if tickets is None or drawn_ids is None:
            tk = np.ones(len(req), dtype=np.int64)
        elif drawn_ids == req_ids:
            tk = np.asarray(tickets, dtype=np.int64)
        else:
            tk = _aligned(req_ids, drawn_ids, tickets, 1).astype(np.int64)
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


def _same_by_position(
    published: pd.DataFrame,
    pub_ids: list[str],
    drawn_ids: list[str],
    slot_of: np.ndarray,
    position: np.ndarray,
) -> bool:
    """Is the published allocation the recomputed one, row for row? Lottery positions are a
    permutation of 1..R on both sides when it is, so rows pair up by position without looking
    ids up; any other case is left to :func:`_allocation_differences_by_array`."""
    n = len(drawn_ids)
    pos = published["lottery_position"].to_numpy()
    if len(pub_ids) != n or not n or not np.issubdtype(pos.dtype, np.integer):
        return n == 0 and not pub_ids
    pos = pos.astype(np.int64)
    if pos.min() < 1 or pos.max() > n or np.bincount(pos, minlength=n + 1)[1:].min() != 1:
        return False
    at_position = np.empty(n, dtype=np.int64)
    at_position[np.asarray(position, dtype=np.int64) - 1] = np.arange(n)
    mine = at_position[pos - 1]  # the recomputed request at each published row's position
    slot_pub = published["slot_id"].astype(object).where(published["slot_id"].notna(), None)
    return bool(
        (np.asarray(drawn_ids, dtype=object)[mine] == np.asarray(pub_ids, dtype=object)).all()
        and (slot_of[mine] == slot_pub.to_numpy(dtype=object)).all()
    )


def _aligned(keys: list[str], ids: list[str], values: np.ndarray, missing: Any) -> np.ndarray:
    """``values`` (one per unique id of ``ids``) looked up for each key; ``missing`` if absent."""
    at = locate(np.asarray(keys, dtype=object), np.asarray(ids, dtype=object))
    out = np.asarray(values)[np.maximum(at, 0)] if len(ids) else np.zeros(len(keys))
    return np.where(at >= 0, out, missing)


def _allocation_differences_by_array(
    published: pd.DataFrame,
    pub_ids: list[str],
    drawn_ids: list[str],
    slot_of: np.ndarray,
    position: np.ndarray,
    limit: int,
) -> tuple[list[Difference], int]:
    """:func:`_allocation_differences` for unique published ids with every position published:
    the same differences in the same order (published lottery position, then request id)."""
    at = locate(np.asarray(pub_ids, dtype=object), np.asarray(drawn_ids, dtype=object))
    present = at >= 0
    slot_a = (
        published["slot_id"].astype(object).where(published["slot_id"].notna(), None).to_numpy()
    )
    pos_a = published["lottery_position"].to_numpy()
    slot_b = np.full(len(pub_ids), None, dtype=object)
    slot_b[present] = slot_of[at[present]]
    pos_b = np.zeros(len(pub_ids), dtype=np.int64)
    pos_b[present] = np.asarray(position)[at[present]]
    slot_diff = (
        present
        & (slot_a != slot_b)
        & ~(pd.isna(slot_a).astype(bool) & pd.isna(slot_b).astype(bool))
    )
    pos_diff = present & (pos_a != pos_b)
    bad = np.flatnonzero(~present | slot_diff | pos_diff)
    seen = np.zeros(len(drawn_ids), dtype=bool)
    seen[at[present]] = True
    unpublished = np.flatnonzero(~seen)  # recomputed rows nobody published
    n = len(bad) + len(unpublished)
    keyed = [(float(pos_a[k]), pub_ids[k], int(k)) for k in bad.tolist()]
    keyed += [(np.inf, drawn_ids[k], -1) for k in unpublished.tolist()]
    out = []
    for _, rid, k in sorted(keyed)[:limit]:
        if k < 0:
            out.append(Difference(rid, "allocation row", "missing", "present"))
        elif not present[k]:
            out.append(Difference(rid, "allocation row", "present", "not in the draw's inputs"))
        elif slot_diff[k]:
            out.append(Difference(rid, "slot", slot_a[k], slot_b[k]))
        else:
            out.append(Difference(rid, "lottery position", int(pos_a[k]), int(pos_b[k])))
    return out, n


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
