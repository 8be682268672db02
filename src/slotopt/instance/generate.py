"""A seeded generator of realistic matching instances: a prefecture's (or a vaccination hub's)
week of appointment requests.

The model follows Arnosti's proposal (footnote 2): applicants fill in two checklists, the sites
they can reach and the times they are free, and every slot at a ticked site inside a ticked
time window is acceptable. Because people tick the same few windows ("Tuesday morning at the
main office"), many applicants share one acceptable set, which is the structure type-based
algorithms exploit; windows of varying length and start, one or two sites and one to several
days keep the number of distinct sets realistic rather than tiny.

Everything is vectorised numpy drawn from one ``np.random.Generator(PCG64(seed))`` in a fixed
order, so the same arguments give the same tables bit-for-bit on any machine, from a few hundred
applicants to a million. The full model, with every distribution and parameter, is documented
in :func:`generate_prefecture` and in ``docs/generator.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from slotopt.instance.matching import MatchingInstance, matching_from_frames

__all__ = [
    "DEFAULT_OPENING_HOURS",
    "expected_pairs_per_applicant",
    "generate_hub",
    "generate_prefecture",
    "instance_statistics",
]

DEFAULT_OPENING_HOURS: tuple[tuple[str, str], ...] = (("08:30", "12:30"), ("13:30", "16:30"))
"""Counters open 08:30-12:30 and 13:30-16:30: 28 slots of 15 minutes a day."""

_DEFAULT_EXTRA_DAYS = 0.6  # windows per applicant = 1 + Poisson(0.6), capped at `days`
_DEFAULT_EXTRA_BLOCKS = 0.8  # blocks per window = 1 + Poisson(0.8), capped at the period
_MAX_OPEN_SHARE = 0.9  # at most 90% of a site's counters are free for the batch, on average


@dataclass(frozen=True)
class _Calendar:
    """The slot grid of one site for the week: ``days`` x ``periods`` x blocks x slots."""

    days: int
    slot_minutes: int
    block_slots: int
    period_start: np.ndarray  # (K,) minutes after midnight
    period_blocks: np.ndarray  # (K,) blocks per period
    period_offset: np.ndarray  # (K,) index of the period's first slot within a day

    @property
    def slots_per_day(self) -> int:
        return int(self.period_blocks.sum()) * self.block_slots

    @property
    def slots_per_site(self) -> int:
        return self.days * self.slots_per_day


def _minutes(hhmm: str) -> int:
    try:
        hh, mm = hhmm.split(":")
        value = int(hh) * 60 + int(mm)
    except ValueError:
        raise ValueError(f"opening hour {hhmm!r}: expected 'HH:MM'") from None
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"opening hour {hhmm!r}: expected a time of day")
    return value


def _calendar(
    days: int, slot_minutes: int, block_minutes: int, opening_hours: Sequence[tuple[str, str]]
) -> _Calendar:
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if slot_minutes < 1 or block_minutes < slot_minutes or block_minutes % slot_minutes:
        raise ValueError(
            f"block_minutes ({block_minutes}) must be a positive multiple of "
            f"slot_minutes ({slot_minutes})"
        )
    if not opening_hours:
        raise ValueError("opening_hours must list at least one (open, close) period")
    starts, blocks = [], []
    previous_end = -1
    for open_, close in opening_hours:
        a, b = _minutes(open_), _minutes(close)
        if b <= a or a < previous_end:
            raise ValueError(
                f"opening period {open_}-{close}: periods must be increasing and non-overlapping"
            )
        if (b - a) % block_minutes:
            raise ValueError(
                f"opening period {open_}-{close} lasts {b - a} minutes, not a multiple of "
                f"block_minutes ({block_minutes})"
            )
        starts.append(a)
        blocks.append((b - a) // block_minutes)
        previous_end = b
    block_slots = block_minutes // slot_minutes
    period_blocks = np.asarray(blocks, dtype=np.int64)
    offset = np.zeros(len(blocks), dtype=np.int64)
    np.cumsum(period_blocks[:-1] * block_slots, out=offset[1:])
    return _Calendar(
        days=days,
        slot_minutes=slot_minutes,
        block_slots=block_slots,
        period_start=np.asarray(starts, dtype=np.int64),
        period_blocks=period_blocks,
        period_offset=offset,
    )


def _mean_capped_one_plus_poisson(lam: float, cap: np.ndarray) -> np.ndarray:
    """``E[min(1 + X, cap)]`` for ``X ~ Poisson(lam)``, elementwise over ``cap`` (>= 1)."""
    out = np.ones(len(cap), dtype=np.float64)
    for j, c in enumerate(cap.tolist()):
        # E[min(1+X, c)] = 1 + sum_{k=1}^{c-1} P(X >= k)
        out[j] += float(stats.poisson.sf(np.arange(0, c - 1), lam).sum()) if c > 1 else 0.0
    return out


def expected_pairs_per_applicant(
    *,
    extra_days: float,
    extra_blocks: float,
    days: int,
    block_slots: int,
    period_blocks: np.ndarray,
    period_weights: np.ndarray,
    second_site_share: float,
    n_sites: int,
) -> float:
    """Mean acceptable pairs per applicant under the model (before a truncated last site).

    ``E[sites] * E[windows] * block_slots * E[blocks per window]``: the three draws are
    independent, windows fall on distinct days (no overlap) and never cross a period's end.
    """
    sites = 1.0 + (second_site_share if n_sites > 1 else 0.0)
    windows = float(_mean_capped_one_plus_poisson(extra_days, np.array([days]))[0])
    per_window = _mean_capped_one_plus_poisson(extra_blocks, period_blocks)
    blocks = float(np.dot(period_weights, per_window))
    return sites * windows * block_slots * blocks


def _solve_extra(target: float, **model: Any) -> float:
    """The common Poisson mean of extra days and extra blocks that gives ``target`` pairs."""
    low = expected_pairs_per_applicant(extra_days=0.0, extra_blocks=0.0, **model)
    high = expected_pairs_per_applicant(extra_days=1e3, extra_blocks=1e3, **model)
    if not low <= target <= high:
        raise ValueError(
            f"pairs_per_applicant={target} is outside what this calendar allows "
            f"({low:.2f} to {high:.2f}); change block_minutes, days or second_site_share"
        )
    a, b = 0.0, 1e3
    for _ in range(100):
        mid = 0.5 * (a + b)
        if expected_pairs_per_applicant(extra_days=mid, extra_blocks=mid, **model) < target:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def _open_grid(sites: int, cal: _Calendar, n_slots: int) -> np.ndarray:
    """Which cells of the ``sites x days x slots_per_day`` grid are open, as a flat bool mask.

    ``n_slots`` below the full grid closes the surplus at the ends of days, spread round-robin
    over (day, site) from the last day and the last site backwards: sites close a slot or two
    early on some days rather than one site losing whole days, so windows shrink rather than
    vanish (at most ``ceil(slots_per_day / sites)`` slots close per site and day).
    """
    spd = cal.slots_per_day
    grid = np.ones((sites, cal.days, spd), dtype=bool)
    excess = sites * cal.days * spd - n_slots
    k = np.arange(excess)
    site_days = sites * cal.days
    within = k % site_days
    site, day, late = sites - 1 - within % sites, cal.days - 1 - within // sites, k // site_days
    grid[site, day, spd - 1 - late] = False
    return grid.reshape(-1)


def _ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + zero-padded 1-based numbers, as an object array (shared by every ``take``)."""
    width = len(str(n))
    return np.array([f"{prefix}{k:0{width}d}" for k in range(1, n + 1)], dtype=object)


def _pairs_frame(
    app_ids: np.ndarray,
    slot_ids: np.ndarray,
    pair_app: np.ndarray,
    slot: np.ndarray,
    rank: np.ndarray,
) -> pd.DataFrame:
    """The acceptable table from integer-coded pairs."""
    # dtype="string" up front: inferring it from 10M objects costs seconds
    return pd.DataFrame(
        {
            "applicant_id": pd.array(app_ids[pair_app], dtype="string"),
            "slot_id": pd.array(slot_ids[slot], dtype="string"),
            "rank": rank,
        }
    )


def generate_prefecture(
    n_applicants: int,
    *,
    seed: int,
    n_sites: int | None = None,
    n_slots: int | None = None,
    days: int = 5,
    slot_minutes: int = 15,
    block_minutes: int = 60,
    opening_hours: Sequence[tuple[str, str]] = DEFAULT_OPENING_HOURS,
    period_weights: Sequence[float] | None = None,
    pairs_per_applicant: float | None = None,
    second_site_share: float = 0.3,
    supply_ratio: float = 0.7,
    tier_shares: Sequence[float] = (0.1, 0.3, 0.6),
    identity: bool = True,
    week_start: str = "2025-03-03",
    name: str | None = None,
) -> MatchingInstance:
    """Generate a seeded, realistic week of appointment requests at a few sites.

    The generative model (every draw from one ``Generator(PCG64(seed))``, in this order):

    1. **Calendar.** ``n_sites`` sites, each open ``days`` working days from ``week_start``
       (weekends skipped) during ``opening_hours`` (default 08:30-12:30 and 13:30-16:30), cut
       into slots of ``slot_minutes`` (15). Periods are cut into availability *blocks* of
       ``block_minutes`` (60): the unit an applicant ticks on the form. Slot ids read
       ``S<site>-D<day>-<HHMM>``; ``slots.csv`` also has ``location``, ``start``, ``end`` (ISO
       local times) and ``slot_type`` (``morning`` or ``afternoon``).
    2. **Sites.** Demand popularity ``w ~ Dirichlet(4, ..., 4)`` over sites (a bigger main
       office, smaller branches). Capacity share ``c_s ∝ w_s * Gamma(8, 1/8)``: staff follows
       demand, but not exactly, so some sites are more oversubscribed than others.
    3. **Capacity.** Site ``s`` gets ``supply_ratio * n_applicants * c_s`` appointments in
       expectation: ``k_s = max(1, ceil(target / (0.9 * n_slots_s)))`` counters, each free for
       this batch independently with probability ``p_s = target / (k_s * n_slots_s) <= 0.9``,
       so a slot's capacity is ``Binomial(k_s, p_s)`` (0 when fully booked). With
       ``supply_ratio < 1`` demand exceeds supply.
    4. **Applicants.** Priority tier 1, 2 or 3 (1 = served first, e.g. a residence permit about
       to expire) with probabilities ``tier_shares`` (default 10/30/60%): large ties, broken by
       ``solve``'s seeded lottery. A home site ``~ w``; with probability ``second_site_share``
       (0.3) also a neighbouring site (sites lie on a line: site ``h-1`` or ``h+1``, equally
       likely where both exist).
    5. **Windows.** ``1 + Poisson(λ_d)`` distinct days (capped at ``days``), drawn without
       replacement, uniformly, in order of preference (Gumbel top-k); on each, one window: a
       period with probability ``period_weights`` (default proportional to its length), a
       length of ``1 + Poisson(λ_b)`` blocks capped at the period's length, and a start block
       uniform among those where the window fits. Defaults ``λ_d = 0.6``, ``λ_b = 0.8``; when
       ``pairs_per_applicant`` is given, ``λ_d = λ_b = λ`` is solved for so that the expected
       number of acceptable pairs per applicant equals it.
    6. **Acceptable pairs and ranks.** Every slot of every window at each ticked site. Ranks
       (1 = best) order a random utility ``u = -d - 0.5 * second + 0.3 * G`` where ``d`` is the
       day's place in the applicant's preference order (0 = favourite), ``second`` is 1 at the
       neighbouring site and ``G`` is standard Gumbel noise per pair.
    7. **Identity.** With ``identity=True`` an ``identity`` column of distinct pseudonymous
       person ids ``P<number>`` in random order (one request per person, as after the batch
       system's de-duplication).

    Parameters
    ----------
    n_applicants
        Number of applicants (>= 1); ``applicant_id`` reads ``A<number>``, zero-padded.
    seed
        Seed of the PCG64 stream; also stored as the instance's lottery ``seed``.
    n_sites
        Number of sites (default 3). Give either this or ``n_slots``.
    n_slots
        Exact number of slots. The number of sites becomes ``ceil(n_slots / slots per site)``
        and the surplus of that grid is closed at the ends of days, one slot per (site, day)
        at a time from the last day and site backwards (sites close early on some days).
        Pairs at closed times are dropped; with several sites every window keeps slots.
    days
        Working days in the horizon (default 5, a week).
    slot_minutes, block_minutes
        Slot length, and the length of an availability block (a multiple of the slot length;
        each opening period must be a multiple of it).
    opening_hours
        ``(open, close)`` periods of a day, ``"HH:MM"`` strings, increasing.
    period_weights
        Probability that a window falls in each period (default: proportional to length).
    pairs_per_applicant
        Target mean number of acceptable pairs per applicant (e.g. 9); None keeps the default
        ``λ`` values (about 14 pairs with the default calendar).
    second_site_share
        Share of applicants who can also reach a neighbouring site.
    supply_ratio
        Expected total appointments divided by ``n_applicants`` (0.7: 30% of applicants
        cannot be served at all).
    tier_shares
        Probabilities of priority 1, 2, 3, ... (one entry per tier; they must sum to 1).
    identity
        Add the ``identity`` column.
    week_start
        The first day (``YYYY-MM-DD``); a weekend date rolls forward to Monday.
    name
        Instance name (default ``prefecture-<n>-seed<seed>``).

    Returns
    -------
    MatchingInstance
        Validated through :func:`matching_from_frames`; ``meta["generator"]`` records the
        function and every parameter, so the instance can be regenerated.

    Raises
    ------
    ValueError
        A parameter is out of range (the message says which and what is allowed).

    Examples
    --------
    >>> from slotopt.instance.generate import generate_prefecture
    >>> inst = generate_prefecture(300, seed=7)
    >>> inst.n_slots, inst.n_applicants
    (420, 300)
    >>> inst.total_capacity < inst.n_applicants
    True
    """
    if isinstance(n_applicants, bool) or not isinstance(n_applicants, int) or n_applicants < 1:
        raise ValueError(f"n_applicants must be an integer >= 1, got {n_applicants!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if n_sites is not None and n_slots is not None:
        raise ValueError("give n_sites or n_slots, not both (n_slots decides the number of sites)")
    cal = _calendar(days, slot_minutes, block_minutes, opening_hours)
    per_site = cal.slots_per_site
    if n_slots is not None:
        if n_slots < 1:
            raise ValueError(f"n_slots must be >= 1, got {n_slots}")
        sites = -(-n_slots // per_site)
        total_slots = n_slots
    else:
        sites = 3 if n_sites is None else n_sites
        if sites < 1:
            raise ValueError(f"n_sites must be >= 1, got {sites}")
        total_slots = sites * per_site
    n_periods = len(cal.period_blocks)
    if period_weights is None:
        pweights = cal.period_blocks / cal.period_blocks.sum()
    else:
        pweights = np.asarray(period_weights, dtype=np.float64)
        if pweights.shape != (n_periods,) or (pweights < 0).any() or pweights.sum() <= 0:
            raise ValueError(
                f"period_weights must be {n_periods} non-negative numbers, got {period_weights!r}"
            )
        pweights = pweights / pweights.sum()
    tiers = np.asarray(tier_shares, dtype=np.float64)
    if tiers.ndim != 1 or len(tiers) == 0 or (tiers < 0).any() or abs(tiers.sum() - 1) > 1e-9:
        raise ValueError(f"tier_shares must be probabilities summing to 1, got {tier_shares!r}")
    if not 0.0 <= second_site_share <= 1.0:
        raise ValueError(f"second_site_share must be in [0, 1], got {second_site_share}")
    if not supply_ratio > 0.0:
        raise ValueError(f"supply_ratio must be > 0, got {supply_ratio}")
    model = dict(
        days=days,
        block_slots=cal.block_slots,
        period_blocks=cal.period_blocks,
        period_weights=pweights,
        second_site_share=second_site_share,
        n_sites=sites,
    )
    if pairs_per_applicant is None:
        extra_days, extra_blocks = _DEFAULT_EXTRA_DAYS, _DEFAULT_EXTRA_BLOCKS
    else:
        # closed cells (n_slots below the grid) drop their pairs: aim higher by that share
        open_share = total_slots / (sites * per_site)
        extra_days = extra_blocks = _solve_extra(float(pairs_per_applicant) / open_share, **model)
    first_day = np.busday_offset(np.datetime64(week_start, "D"), 0, roll="forward")

    rng = np.random.Generator(np.random.PCG64(seed))
    n = n_applicants

    # 2-3. sites and capacity
    popularity = rng.dirichlet(np.full(sites, 4.0))
    staffing = popularity * rng.gamma(8.0, 1.0 / 8.0, size=sites)
    staffing /= staffing.sum()
    grid_open = _open_grid(sites, cal, total_slots)
    slots_at = grid_open.reshape(sites, per_site).sum(axis=1)
    target = supply_ratio * n * staffing
    counters = np.maximum(1, np.ceil(target / (_MAX_OPEN_SHARE * slots_at))).astype(np.int64)
    p_free = np.minimum(target / (counters * slots_at), 1.0)
    slot_site = np.repeat(np.arange(sites), slots_at)
    slot_of_cell = np.cumsum(grid_open) - 1  # grid cell -> slot index (where open)
    capacity = rng.binomial(counters[slot_site], p_free[slot_site]).astype(np.int64)

    # 4. applicants
    priority = (1 + rng.choice(len(tiers), size=n, p=tiers)).astype(np.int64)
    home = rng.choice(sites, size=n, p=popularity).astype(np.int32)
    has_second = rng.random(n) < (second_site_share if sites > 1 else 0.0)
    step = np.where(rng.random(n) < 0.5, -1, 1).astype(np.int32)
    second = home + step
    second = np.where(second < 0, 1, np.where(second >= sites, sites - 2, second)).astype(np.int32)

    # 5. windows: distinct days in preference order (Gumbel top-k over uniform weights)
    n_days = np.minimum(1 + rng.poisson(extra_days, size=n), days)
    day_order = np.argsort(-rng.gumbel(size=(n, days)), axis=1, kind="stable").astype(np.int32)
    chosen = np.arange(days, dtype=np.int32)[None, :] < n_days[:, None]
    win_app = np.repeat(np.arange(n, dtype=np.int32), n_days)
    win_day = day_order[chosen]
    win_pref = np.broadcast_to(np.arange(days, dtype=np.int32), (n, days))[chosen]
    del day_order, chosen
    n_win = len(win_app)
    win_period = rng.choice(n_periods, size=n_win, p=pweights)
    period_cap = cal.period_blocks[win_period]
    win_blocks = np.minimum(1 + rng.poisson(extra_blocks, size=n_win), period_cap)
    start_block = (rng.random(n_win) * (period_cap - win_blocks + 1)).astype(np.int64)
    win_first = cal.period_offset[win_period] + start_block * cal.block_slots
    win_len = win_blocks * cal.block_slots
    del win_period, period_cap, win_blocks, start_block

    # 6. expand each window to its slots at each ticked site (home first), keeping pairs
    # grouped by applicant so ranking is a cheap sort inside small groups
    win_sites = 1 + has_second[win_app].astype(np.int64)
    per_win = win_len * win_sites
    entry = np.repeat(np.arange(n_win, dtype=np.int32), per_win)
    offset = np.arange(len(entry), dtype=np.int64)
    offset -= np.repeat(np.cumsum(per_win) - per_win, per_win)
    length = win_len[entry]
    is_second = offset >= length
    day_slot = win_day[entry].astype(np.int64) * cal.slots_per_day + win_first[entry]
    day_slot += np.where(is_second, offset - length, offset)
    del offset, length, win_sites, per_win, win_first, win_len, win_day
    pair_app = win_app[entry]
    pair_pref = win_pref[entry]
    del entry, win_app, win_pref
    pair_site = np.where(is_second, second[pair_app], home[pair_app])
    cell = pair_site.astype(np.int64) * per_site + day_slot
    del pair_site, day_slot
    utility = -pair_pref - 0.5 * is_second + 0.3 * rng.gumbel(size=len(cell))
    del pair_pref, is_second
    keep = grid_open[cell]  # no pairs at a closed (site, time)
    if not keep.all():
        pair_app, cell, utility = pair_app[keep], cell[keep], utility[keep]
    slot = slot_of_cell[cell]
    del keep, cell
    # Rank = order of decreasing utility inside each applicant. One stable argsort of
    # (applicant, utility quantised to 32 bits): exact IEEE arithmetic, ties (never in
    # practice) keep generation order, so the result is the same on every machine.
    lo, hi = float(utility.min(initial=0.0)), float(utility.max(initial=0.0))
    scaled = (hi - utility) / max(hi - lo, 1e-300) * float(2**32 - 1)
    key = (pair_app.astype(np.int64) << 32) | scaled.astype(np.int64)
    del scaled, utility
    order = np.argsort(key, kind="stable")
    del key
    slot = slot[order]
    del order
    per_app = np.bincount(pair_app, minlength=n)
    first = np.cumsum(per_app) - per_app
    rank = np.arange(len(pair_app), dtype=np.int64) - first[pair_app] + 1

    # 7. tables
    app_ids = _ids("A", n)
    site_names = _ids("S", sites)
    in_day = np.arange(cal.slots_per_day)
    period_of = np.repeat(np.arange(n_periods), cal.period_blocks * cal.block_slots)
    minute = cal.period_start[period_of] + (in_day - cal.period_offset[period_of]) * slot_minutes
    hhmm = [f"{m // 60:02d}{m % 60:02d}" for m in minute.tolist()]
    day_dates = np.busday_offset(first_day, np.arange(days), roll="forward")
    slot_labels: list[str] = []
    starts_iso: list[str] = []
    ends_iso: list[str] = []
    types: list[str] = []
    for d, date in enumerate(np.datetime_as_string(day_dates).tolist()):
        for t, label in enumerate(hhmm):
            m = int(minute[t])
            e = m + slot_minutes
            slot_labels.append(f"D{d + 1}-{label}")
            starts_iso.append(f"{date}T{m // 60:02d}:{m % 60:02d}")
            ends_iso.append(f"{date}T{e // 60:02d}:{e % 60:02d}")
            types.append("morning" if cal.period_start[period_of[t]] < 12 * 60 else "afternoon")
    slot_ids = np.array(
        [f"{site}-{label}" for site in site_names.tolist() for label in slot_labels],
        dtype=object,
    )[grid_open]
    slots_df = pd.DataFrame(
        {
            "slot_id": pd.array(slot_ids, dtype="string"),
            "capacity": capacity,
            "location": pd.array(site_names[slot_site], dtype="string"),
            "start": np.tile(np.array(starts_iso, dtype=object), sites)[grid_open],
            "end": np.tile(np.array(ends_iso, dtype=object), sites)[grid_open],
            "slot_type": np.tile(np.array(types, dtype=object), sites)[grid_open],
        }
    )
    applicants_cols: dict[str, Any] = {
        "applicant_id": pd.array(app_ids, dtype="string"),
        "priority": priority,
    }
    if identity:
        applicants_cols["identity"] = pd.array(_ids("P", n)[rng.permutation(n)], dtype="string")
    applicants_df = pd.DataFrame(applicants_cols)
    acceptable_df = _pairs_frame(app_ids, slot_ids, pair_app, slot, rank)
    del pair_app, slot, rank

    params: dict[str, Any] = {
        "n_applicants": n,
        "seed": seed,
        "n_sites": sites,
        "n_slots": total_slots,
        "days": days,
        "slot_minutes": slot_minutes,
        "block_minutes": block_minutes,
        "opening_hours": [list(p) for p in opening_hours],
        "period_weights": [round(float(w), 6) for w in pweights],
        "pairs_per_applicant": pairs_per_applicant,
        "extra_days_mean": round(float(extra_days), 6),
        "extra_blocks_mean": round(float(extra_blocks), 6),
        "second_site_share": second_site_share,
        "supply_ratio": supply_ratio,
        "tier_shares": [float(t) for t in tiers],
        "identity": identity,
        "week_start": str(first_day),
    }
    meta = {"generator": {"function": f"{__name__}.generate_prefecture", "parameters": params}}
    return matching_from_frames(
        slots_df,
        applicants_df,
        acceptable_df,
        name=name or f"prefecture-{n}-seed{seed}",
        seed=seed,
        meta=meta,
    )


_HUB_DAY_START = "08:00"


def _hub_capacity(rng: np.random.Generator, n_slots: int, mean: float, top: int) -> np.ndarray:
    """Slot capacities between 1 and ``top`` with about ``mean`` on average.

    A share of slots is fully staffed (``top``) and the rest, partly booked already, uniform on
    ``1..top``; when ``mean`` is below the uniform's mean, every slot is uniform on ``1..u``.
    """
    uniform_mean = (top + 1) / 2
    if mean >= uniform_mean:
        share_partial = min(1.0, (top - mean) / (top - uniform_mean)) if top > 1 else 0.0
        partial = rng.random(n_slots) < share_partial
        draws = rng.integers(1, top + 1, size=n_slots)
        return np.where(partial, draws, top).astype(np.int64)
    upper = max(1, min(top, round(2 * mean - 1)))
    return rng.integers(1, upper + 1, size=n_slots).astype(np.int64)


def generate_hub(
    n_applicants: int,
    *,
    seed: int,
    n_sites: int | None = None,
    days: int = 5,
    windows_per_day: int = 40,
    window_minutes: int = 15,
    mean_block: float = 5.5,
    site_count_shares: Sequence[float] = (0.3, 0.4, 0.3),
    demand_ratio: float = 3.0,
    max_capacity: int = 40,
    tier_shares: Sequence[float] = (0.1, 0.3, 0.6),
    week_start: str = "2025-03-03",
    name: str | None = None,
) -> MatchingInstance:
    """Generate a seeded week at a vaccination hub network: many sites, long blocks of windows.

    The shape that stresses augmenting-path searches: few slots per applicant type, each type
    accepting a long run of consecutive windows at up to three nearby sites, so acceptable sets
    overlap heavily. With a million applicants (the defaults give 50 sites and 10,000 slots) it
    has about 11 million acceptable pairs and about 350,000 distinct acceptable sets. Every
    draw comes from one ``Generator(PCG64(seed))``, in this order:

    1. **Calendar.** ``n_sites`` sites on a ring, each with ``days`` working days from
       ``week_start`` of ``windows_per_day`` windows of ``window_minutes`` from 08:00
       (default 40 x 15 minutes: 08:00-18:00). Slot ids read ``H<site>-D<day>-<HHMM>``.
    2. **Sites.** Popularity ``w ~ Dirichlet(2, ..., 2)``.
    3. **Capacity.** Target mean ``m = n_applicants / (demand_ratio * slots)`` (demand about
       three times supply). When ``m >= (max_capacity + 1) / 2`` each slot is independently
       partly booked already (capacity uniform on ``1..max_capacity``) with probability
       ``(max_capacity - m) / (max_capacity - (max_capacity + 1) / 2)`` and fully staffed
       (``max_capacity``) otherwise; for smaller ``m`` (small instances) every capacity is
       uniform on ``1..round(2m - 1)``.
    4. **Applicants.** Priority tier ``1 + Categorical(tier_shares)``. A home site ``~ w`` and
       ``1 + Categorical(site_count_shares)`` sites in all: the home site plus the first of the
       nearby sites ``h-2, h-1, h+1, h+2`` in a random order weighted ``1, 2, 2, 1`` (Gumbel
       top-k), wrapping around the ring (duplicates on a small ring are dropped).
    5. **Block.** One day, uniform; a block of ``min(1 + Poisson(mean_block - 1),
       windows_per_day)`` consecutive windows, starting uniformly where it fits. Every window
       of the block at every chosen site is acceptable.
    6. **Ranks.** Home site first, then the nearby sites in their drawn order; earlier windows
       first within a site.

    Parameters
    ----------
    n_applicants
        Number of applicants (>= 1); ``applicant_id`` reads ``A<number>``, zero-padded.
    seed
        Seed of the PCG64 stream; also the instance's lottery ``seed``.
    n_sites
        Number of sites (default ``max(1, round(n_applicants / 20_000))``: 10,000 slots per
        million applicants).
    days, windows_per_day, window_minutes
        The calendar of each site.
    mean_block
        Mean number of windows in an applicant's block (>= 1).
    site_count_shares
        Probabilities of accepting 1, 2, 3 sites.
    demand_ratio
        Applicants per appointment, in expectation (> 0).
    max_capacity
        Largest capacity of a slot (>= 1).
    tier_shares
        Probabilities of priority 1, 2, 3, ... (summing to 1).
    week_start
        First day (``YYYY-MM-DD``); weekend dates roll forward to Monday.
    name
        Instance name (default ``hub-<n>-seed<seed>``).

    Returns
    -------
    MatchingInstance
        Validated through :func:`matching_from_frames`; ``meta["generator"]`` records every
        parameter.

    Raises
    ------
    ValueError
        A parameter is out of range.

    Examples
    --------
    >>> from slotopt.instance.generate import generate_hub
    >>> inst = generate_hub(3_000, seed=7)
    >>> inst.n_slots, inst.n_applicants
    (200, 3000)
    >>> bool(inst.capacity.min() >= 1 and inst.capacity.max() <= 40)
    True
    """
    if isinstance(n_applicants, bool) or not isinstance(n_applicants, int) or n_applicants < 1:
        raise ValueError(f"n_applicants must be an integer >= 1, got {n_applicants!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    sites = max(1, round(n_applicants / 20_000)) if n_sites is None else n_sites
    for label, value in (
        ("n_sites", sites),
        ("days", days),
        ("windows_per_day", windows_per_day),
        ("window_minutes", window_minutes),
        ("max_capacity", max_capacity),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
    start_minute = _minutes(_HUB_DAY_START)
    if start_minute + windows_per_day * window_minutes > 24 * 60:
        raise ValueError(
            f"{windows_per_day} windows of {window_minutes} minutes from {_HUB_DAY_START} "
            "do not fit in a day"
        )
    if not mean_block >= 1.0:
        raise ValueError(f"mean_block must be >= 1, got {mean_block}")
    if not demand_ratio > 0.0:
        raise ValueError(f"demand_ratio must be > 0, got {demand_ratio}")
    counts = np.asarray(site_count_shares, dtype=np.float64)
    if counts.shape != (3,) or (counts < 0).any() or abs(counts.sum() - 1) > 1e-9:
        raise ValueError(
            f"site_count_shares must be 3 probabilities summing to 1, got {site_count_shares!r}"
        )
    tiers = np.asarray(tier_shares, dtype=np.float64)
    if tiers.ndim != 1 or len(tiers) == 0 or (tiers < 0).any() or abs(tiers.sum() - 1) > 1e-9:
        raise ValueError(f"tier_shares must be probabilities summing to 1, got {tier_shares!r}")
    first_day = np.busday_offset(np.datetime64(week_start, "D"), 0, roll="forward")
    per_site = days * windows_per_day
    n_slots = sites * per_site

    rng = np.random.Generator(np.random.PCG64(seed))
    n = n_applicants

    # 2-3. sites and capacity
    popularity = rng.dirichlet(np.full(sites, 2.0))
    capacity = _hub_capacity(rng, n_slots, n / (demand_ratio * n_slots), max_capacity)

    # 4. applicants and their sites (columns: home, then nearby sites in drawn order; -1 unused)
    priority = (1 + rng.choice(len(tiers), size=n, p=tiers)).astype(np.int64)
    home = rng.choice(sites, size=n, p=popularity).astype(np.int64)
    n_chosen = 1 + rng.choice(3, size=n, p=counts)
    offsets = np.array([-2, -1, 1, 2], dtype=np.int64)
    near_key = np.log(np.array([1.0, 2.0, 2.0, 1.0])) + rng.gumbel(size=(n, 4))
    near = (home[:, None] + offsets[np.argsort(-near_key, axis=1, kind="stable")[:, :2]]) % sites
    del near_key
    site_cols = np.full((n, 3), -1, dtype=np.int64)
    site_cols[:, 0] = home
    site_cols[:, 1] = np.where((n_chosen >= 2) & (near[:, 0] != home), near[:, 0], -1)
    site_cols[:, 2] = np.where(
        (n_chosen >= 3) & (near[:, 1] != home) & (near[:, 1] != near[:, 0]), near[:, 1], -1
    )
    del near, n_chosen

    # 5. one block of consecutive windows on one day
    day = rng.integers(0, days, size=n)
    block = np.minimum(1 + rng.poisson(mean_block - 1.0, size=n), windows_per_day)
    start = (rng.random(n) * (windows_per_day - block + 1)).astype(np.int64)
    first_window = day * windows_per_day + start

    # 6. pairs in rank order: site column by column, windows in time order
    valid = site_cols >= 0
    runs_app = np.repeat(np.arange(n, dtype=np.int64), valid.sum(axis=1))
    runs_site = site_cols[valid]  # row-major: an applicant's sites stay in column order
    del site_cols, valid
    run_len = block[runs_app]
    pair_run = np.repeat(np.arange(len(runs_app), dtype=np.int64), run_len)
    within = np.arange(len(pair_run), dtype=np.int64) - np.repeat(
        np.cumsum(run_len) - run_len, run_len
    )
    pair_app = runs_app[pair_run]
    slot = runs_site[pair_run] * per_site + first_window[pair_app] + within
    del pair_run, within, runs_site, run_len
    per_app = np.bincount(pair_app, minlength=n)
    rank = np.arange(len(pair_app), dtype=np.int64) - (np.cumsum(per_app) - per_app)[pair_app] + 1

    # tables
    app_ids = _ids("A", n)
    site_names = _ids("H", sites)
    minute = start_minute + np.arange(windows_per_day) * window_minutes
    dates = np.datetime_as_string(
        np.busday_offset(first_day, np.arange(days), roll="forward")
    ).tolist()
    labels, starts_iso, ends_iso = [], [], []
    for d, date in enumerate(dates):
        for m in minute.tolist():
            e = m + window_minutes
            labels.append(f"D{d + 1}-{m // 60:02d}{m % 60:02d}")
            starts_iso.append(f"{date}T{m // 60:02d}:{m % 60:02d}")
            ends_iso.append(f"{date}T{e // 60:02d}:{e % 60:02d}")
    slot_ids = np.array(
        [f"{s}-{label}" for s in site_names.tolist() for label in labels], dtype=object
    )
    slots_df = pd.DataFrame(
        {
            "slot_id": pd.array(slot_ids, dtype="string"),
            "capacity": capacity,
            "location": pd.array(np.repeat(site_names, per_site), dtype="string"),
            "start": np.tile(np.array(starts_iso, dtype=object), sites),
            "end": np.tile(np.array(ends_iso, dtype=object), sites),
        }
    )
    applicants_df = pd.DataFrame(
        {"applicant_id": pd.array(app_ids, dtype="string"), "priority": priority}
    )
    acceptable_df = _pairs_frame(app_ids, slot_ids, pair_app, slot, rank)
    del pair_app, slot, rank
    params: dict[str, Any] = {
        "n_applicants": n,
        "seed": seed,
        "n_sites": sites,
        "days": days,
        "windows_per_day": windows_per_day,
        "window_minutes": window_minutes,
        "mean_block": mean_block,
        "site_count_shares": [float(c) for c in counts],
        "demand_ratio": demand_ratio,
        "max_capacity": max_capacity,
        "tier_shares": [float(t) for t in tiers],
        "week_start": str(first_day),
    }
    meta = {"generator": {"function": f"{__name__}.generate_hub", "parameters": params}}
    return matching_from_frames(
        slots_df,
        applicants_df,
        acceptable_df,
        name=name or f"hub-{n}-seed{seed}",
        seed=seed,
        meta=meta,
    )


def instance_statistics(inst: MatchingInstance) -> dict[str, Any]:
    """Size figures of a matching instance (printed by ``slotopt generate``)."""
    cap = inst.capacity
    return {
        "applicants": inst.n_applicants,
        "slots": inst.n_slots,
        "acceptable_pairs": len(inst.acc_slot),
        "appointments": inst.total_capacity,
        "demand_per_appointment": round(inst.n_applicants / max(inst.total_capacity, 1), 2),
        "capacity_min": int(cap.min()) if len(cap) else 0,
        "capacity_max": int(cap.max()) if len(cap) else 0,
        "distinct_acceptable_sets": inst.types.n_types,
    }
