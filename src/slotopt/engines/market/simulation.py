"""The agent-based scalper market: many rounds of FCFS or batch allocation with bots, identity
checks, cancellations, applicants who learn whom to trust and a scalper who learns to enter.

One *run* is one system (``"fcfs"`` or ``"batch"``) at one demand level over ``rounds`` rounds,
for one seed. Each round (vectorised over applicants):

1. The scalper enters with probability ``eps + (1 - 2 eps) / (1 + exp(-A / tau))``, ``A`` his
   running profit (:class:`slotopt.instance.market.Learning`), and posts his price ``p`` (the
   config's, or with ``"auto"`` the best price given the applicants' beliefs,
   :func:`posted_price`).
2. Fresh values ``v_i`` are drawn. If he is active, applicant ``i`` goes to him iff
   ``b_c (v_i - p) >= b_d (1 - phi) v_i - kappa`` (beliefs ``b_c``: success through him, ``b_d``:
   success on one's own while he is active); the others apply themselves, each request getting
   through with probability ``1 - phi`` at cost ``kappa``.
3. Allocation.
   *FCFS*: ``m`` slots go online at time 0; humans arrive uniformly over the window; the bots'
   first poll comes within ``bot_poll_ms`` and books every slot still free under fake
   identities. He swaps clients' names in by cancel-and-rebook: each freed slot is online for
   one bot poll, and a searching human grabs it first with probability
   ``1 - exp(-S * poll / retry)`` (``S`` humans still searching, each retrying every
   ``human_retry_seconds``). Slots he cannot sell stay booked under fake names: wasted.
   *Batch*: every request (own requests, clients' requests under their real identities, and
   ``fakes_per_slot * capacity`` fake identities when he floods) goes into one uniform lottery,
   drawn by :func:`slotopt.engines.batch.draw` (mechanism ``"uniform"``). A slot won under a fake
   identity passes the identity check with probability ``pi`` and then goes to a client who lost;
   otherwise it is wasted.
4. Cancellations: every appointment held by an applicant is cancelled with probability
   ``cancel_rate``. FCFS: the slot is back online at once, re-booked by the bots (and sold to a
   waiting client) unless a searching human grabs it first. Batch: it goes into the next round's
   batch.
5. He earns ``p`` per client served and pays ``c``; ``A``, ``b_c`` and ``b_d`` move towards what
   the round showed.

Randomness: a run of situation ``s`` and seed index ``k`` uses
``np.random.SeedSequence(seed, spawn_key=(s, k))`` (= ``SeedSequence(seed).spawn(...)[s]`` then
``.spawn(...)[k]``'s key path), split with ``.spawn(2)`` into the behaviour stream (a ``PCG64``
generator) and the lottery seed (the first 63 bits of ``generate_state``) that every batch draw
of the run uses with context ``"round-<t>"``. Same seed and config, same run, bit for bit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slotopt.engines.batch import BatchRequests, BatchSlots, draw
from slotopt.engines.batch.identity import deduplicate
from slotopt.instance.market import MarketInstance

__all__ = [
    "COLUMNS",
    "SYSTEMS",
    "RunStreams",
    "Situation",
    "chooses_scalper",
    "expected_served",
    "posted_price",
    "run_streams",
    "simulate_run",
]

SYSTEMS = ("fcfs", "batch")
COLUMNS = (
    "round",
    "entered",
    "price",
    "clients",
    "clients_served",
    "capacity",
    "scalper_slots",
    "scalper_share",
    "scalper_profit",
    "flooded",
    "fake_requests",
    "duplicates_dropped",
    "direct_requests",
    "direct_served",
    "served",
    "paid_share",
    "applicant_welfare",
    "slots_wasted",
    "cancelled",
    "entry_probability",
)


@dataclass(frozen=True)
class Situation:
    """One of the experiment's situations: a system at a demand level."""

    system: str
    applicants: int
    label: str
    index: int  # the first spawn-key entry of its runs

    @property
    def key(self) -> str:
        return f"{self.system}/{self.label}"


@dataclass(frozen=True)
class RunStreams:
    """The two random sources of one run."""

    rng: np.random.Generator
    lottery_seed: int


def run_streams(seed: int, situation_index: int, seed_index: int) -> RunStreams:
    """The documented streams of one run (module docstring)."""
    behaviour, lottery = np.random.SeedSequence(
        int(seed), spawn_key=(situation_index, seed_index)
    ).spawn(2)
    state = lottery.generate_state(1, np.uint64)
    return RunStreams(
        np.random.Generator(np.random.PCG64(behaviour)), int(state[0] >> np.uint64(1))
    )


def expected_served(
    inst: MarketInstance, system: str, clients: np.ndarray, applicants: int, capacity: int
) -> np.ndarray:
    """Clients the scalper expects to serve with ``clients`` clients (array), given his best
    flooding response in batch (:func:`_should_flood`'s formulas) or booking everything in FCFS."""
    k = np.asarray(clients, dtype=np.float64)
    if system == "fcfs":
        return np.minimum(k, float(capacity))
    direct = (1.0 - inst.direct_failure) * (applicants - k)
    q0 = np.minimum(1.0, capacity / np.maximum(direct + k, 1.0))
    served = k * q0
    if inst.flooding == "never" or (inst.flooding == "profitable" and inst.fake_pass == 0):
        return served
    fakes = round(inst.fakes_per_slot * capacity)
    qf = np.minimum(1.0, capacity / np.maximum(direct + k + fakes, 1.0))
    flood = k * qf + np.minimum(inst.fake_pass * fakes * qf, k * (1.0 - qf))
    return flood if inst.flooding == "always" else np.maximum(served, flood)


def posted_price(
    reference: np.ndarray,
    served: np.ndarray,
    belief_client: float,
    belief_direct: float,
    *,
    direct_failure: float = 0.0,
    direct_cost: float = 0.0,
) -> float:
    """The ``"auto"`` price: the scalper's expected-revenue-maximising price given what the
    applicants currently believe.

    With beliefs ``b_c`` (success through him) and ``b_d`` (success on one's own while he is
    active), applicant ``v`` comes iff ``b_c (v - p) >= b_d (1 - phi) v - kappa``, i.e. iff
    ``v >= (b_c p - kappa) / a`` with ``a = b_c - b_d (1 - phi)``. With the reference values
    ``u`` (descending) as the market he expects, the highest price that brings the top ``k`` is
    ``p_k = (a u_k + kappa) / b_c``; it earns ``p_k * served[k-1]`` (``served``: clients he
    expects to serve with ``k`` clients, :func:`expected_served`). He posts the best ``p_k``
    (the lowest among ties). If nobody would come at any positive price (``a <= 0`` and
    ``kappa = 0``) he posts the price that would be best were applicants to believe him
    (``b_c = 1, b_d = 0``), and learns that nobody comes.
    """
    u = np.sort(np.asarray(reference, dtype=np.float64))[::-1]
    a = belief_client - belief_direct * (1.0 - direct_failure)
    if belief_client <= 0 or (a <= 0 and direct_cost <= 0):
        a, belief_client, direct_cost = 1.0, 1.0, 0.0
    prices = (max(a, 0.0) * u + direct_cost) / belief_client
    revenue = prices * np.asarray(served, dtype=np.float64)
    best = np.flatnonzero(revenue == revenue.max())
    return float(prices[best].min())


def chooses_scalper(
    values: np.ndarray,
    price: float,
    belief_client: float,
    belief_direct: float,
    direct_failure: float,
    direct_cost: float,
) -> np.ndarray:
    """Who goes to an active scalper: ``b_c (v - p) >= b_d (1 - phi) v - kappa`` (indifferent
    applicants go, the model's tie rule)."""
    own = belief_direct * (1.0 - direct_failure) * values - direct_cost
    return belief_client * (values - price) >= own


def _draw_values(inst: MarketInstance, n: int, rng: np.random.Generator) -> np.ndarray:
    fixed = inst.value_list
    if fixed is not None:
        return fixed.copy()
    _, low, high = inst.values
    return low + (high - low) * rng.random(n)


def _pick(mask: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` members of ``mask`` chosen uniformly (all when fewer)."""
    idx = np.flatnonzero(mask)
    if count >= idx.size:
        return idx
    return rng.choice(idx, size=int(count), replace=False) if count > 0 else idx[:0]


@dataclass
class _Round:
    """What one round's allocation produced (masks over applicants)."""

    holds: np.ndarray  # ends the round with an appointment
    paid: np.ndarray  # bought from the scalper
    direct: np.ndarray  # submitted a request / tried to book themselves
    scalper_slots: int
    capacity: int
    wasted: int
    cancelled: int
    carry: int
    flooded: bool
    fakes: int
    duplicates_dropped: int = 0


def _fcfs_round(
    inst: MarketInstance, active: bool, clients: np.ndarray, rng: np.random.Generator
) -> _Round:
    n, m = clients.size, inst.slots
    poll = inst.bot_poll_ms / 1000.0
    direct = ~clients & (rng.random(n) >= inst.direct_failure)
    arrival = rng.random(n) * inst.window_seconds
    holds = np.zeros(n, dtype=bool)
    paid = np.zeros(n, dtype=bool)
    order = np.flatnonzero(direct)[np.argsort(arrival[direct], kind="stable")]
    booked_by_bots = 0
    unsold = 0
    if active:
        first_poll = rng.random() * poll
        early = order[arrival[order] < first_poll][:m]
        holds[early] = True
        bots = m - early.size
        booked_by_bots = bots
        grab = _grab(inst, direct & ~holds)
        wanted = int(np.count_nonzero(clients))
        # each fake booking in turn is cancelled and re-booked under a client's name
        ok = rng.random(bots) >= grab
        if wanted and bots:
            done = np.cumsum(ok)
            used = int(np.searchsorted(done, wanted) + 1) if done[-1] >= wanted else bots
        else:
            used = 0
        sold = int(np.count_nonzero(ok[:used]))
        buyers = _pick(clients, sold, rng)
        paid[buyers] = True
        holds[buyers] = True
        grabbed = _pick(direct & ~holds, used - sold, rng)
        holds[grabbed] = True
        unsold = bots - used + (used - sold - grabbed.size)
    else:
        holds[order[:m]] = True
    # cancellations: back online at once, re-booked by the bots unless a human is quicker
    cancel = holds & (rng.random(n) < inst.cancel_rate)
    k = int(np.count_nonzero(cancel))
    holds &= ~cancel
    searching = direct & ~holds & ~cancel
    to_bots = int(rng.binomial(k, 1.0 - _grab(inst, searching))) if active else 0
    to_humans = k - to_bots
    if to_humans:
        got = _pick(searching, to_humans, rng)
        holds[got] = True
        to_humans -= got.size
    resold = 0
    if to_bots:
        got = _pick(clients & ~paid, to_bots, rng)
        paid[got] = True
        holds[got] = True
        resold = got.size
    wasted = unsold + to_humans + (to_bots - resold)
    return _Round(
        holds=holds,
        paid=paid,
        direct=direct,
        scalper_slots=booked_by_bots,
        capacity=m,
        wasted=wasted,
        cancelled=k,
        carry=0,
        flooded=False,
        fakes=0,
    )


def _grab(inst: MarketInstance, searching: np.ndarray) -> float:
    poll = inst.bot_poll_ms / 1000.0
    return float(1.0 - np.exp(-np.count_nonzero(searching) * poll / inst.human_retry_seconds))


@functools.lru_cache(maxsize=16)
def _id_block(prefix: str, size: int) -> np.ndarray:
    block = np.array([f"{prefix}{i}" for i in range(size)], dtype=object)
    block.flags.writeable = False
    return block


def _ids(prefix: str, count: int) -> np.ndarray:
    """Request ids ``prefix0 .. prefix{count-1}``: applicant ``i`` is ``a{i}`` (her identity),
    fake identities are ``fake{j}``. Built once per size (a power of two) and sliced."""
    size = 1 << max(count - 1, 0).bit_length()
    return _id_block(prefix, size)[:count]


def _should_flood(inst: MarketInstance, n_clients: int, n_direct: float, capacity: int) -> bool:
    """The scalper's best response once he knows his clients (Box 1, step 3), in expectation:
    flood iff fakes serve more clients than his clients' own requests alone."""
    if inst.flooding != "profitable":
        return inst.flooding == "always"
    if n_clients == 0 or inst.fake_pass == 0:
        return False
    fakes = round(inst.fakes_per_slot * capacity)
    q0 = min(1.0, capacity / (n_direct + n_clients))
    qf = min(1.0, capacity / (n_direct + n_clients + fakes))
    served0 = n_clients * q0
    served_f = n_clients * qf + min(inst.fake_pass * fakes * qf, n_clients * (1.0 - qf))
    return served_f > served0


def _batch_round(
    inst: MarketInstance,
    active: bool,
    clients: np.ndarray,
    carry: int,
    rng: np.random.Generator,
    lottery_seed: int,
    round_no: int,
) -> _Round:
    n = clients.size
    capacity = inst.slots + carry
    direct = ~clients & (rng.random(n) >= inst.direct_failure)
    requesters = np.flatnonzero(direct | clients)
    n_clients = int(np.count_nonzero(clients))
    flooded = active and _should_flood(
        inst, n_clients, (1.0 - inst.direct_failure) * (n - n_clients), capacity
    )
    fakes = round(inst.fakes_per_slot * capacity) if flooded else 0
    ids = np.concatenate([_ids("a", n)[requesters], _ids("fake", fakes)])
    owner = np.concatenate([requesters, np.full(fakes, -1, dtype=np.int64)])
    dropped = 0
    extra = inst.duplicates_per_client if active else 0
    if extra and n_clients:
        ids, owner, dropped = _with_duplicates(inst, ids, owner, np.flatnonzero(clients), extra)
    total = ids.size
    ones = np.ones(total, dtype=np.int64)
    requests = BatchRequests(
        request_id=ids,
        priority_tier=ones,
        carry_over=np.zeros(total, dtype=np.int64),
        registered_at=np.zeros(total, dtype=np.int64),
        acc_indptr=np.arange(total + 1, dtype=np.int64),
        acc_slot=np.zeros(total, dtype=np.int64),
        acc_rank=-ones,
    )
    slots = BatchSlots(slot_id=np.array(["slot"], dtype=object), capacity=np.array([capacity]))
    won = draw("uniform", requests, slots, seed=lottery_seed, context=f"round-{round_no}")
    won_mask = won.slot_of_request >= 0
    holds = np.zeros(n, dtype=bool)
    real = won_mask & (owner >= 0)
    holds[owner[real]] = True
    # a second slot won under the same (duplicated) identity cannot be used by anyone
    double = int(np.count_nonzero(real)) - int(np.count_nonzero(holds))
    paid = holds & clients
    fake_wins = int(np.count_nonzero(won_mask & (owner < 0)))
    passing = int(rng.binomial(fake_wins, inst.fake_pass)) if fake_wins else 0
    got = _pick(clients & ~holds, passing, rng)
    paid[got] = True
    holds[got] = True
    wasted = capacity - int(np.count_nonzero(won_mask)) + fake_wins - got.size + double
    cancel = holds & (rng.random(n) < inst.cancel_rate)
    k = int(np.count_nonzero(cancel))
    holds &= ~cancel
    return _Round(
        holds=holds,
        paid=paid,
        direct=direct,
        scalper_slots=int(np.count_nonzero(paid)) - got.size + fake_wins + double,
        capacity=capacity,
        wasted=wasted,
        cancelled=k,
        carry=k,
        flooded=flooded,
        fakes=fakes,
        duplicates_dropped=dropped,
    )


def _with_duplicates(
    inst: MarketInstance, ids: np.ndarray, owner: np.ndarray, clients: np.ndarray, extra: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Add ``extra`` requests under each client's identity (ids ``a{i}~{j}``), then, when the
    platform de-duplicates, keep one request per identity through the batch system's own
    :func:`slotopt.engines.batch.identity.deduplicate`. Simulated identities are already
    normalised, so the identity key is the applicant's id itself (fakes are each their own)."""
    dup_ids = np.array(
        [f"a{i}~{j}" for i in clients.tolist() for j in range(1, extra + 1)], dtype=object
    )
    dup_owner = np.repeat(clients, extra)
    ids = np.concatenate([ids, dup_ids])
    owner = np.concatenate([owner, dup_owner])
    if not inst.deduplicate:
        return ids, owner, 0
    key = np.where(owner >= 0, _ids("a", int(owner.max()) + 1)[np.maximum(owner, 0)], ids)
    registered = np.concatenate([np.zeros(ids.size - dup_ids.size), np.ones(dup_ids.size)])
    kept, merges = deduplicate(
        pd.DataFrame(
            {
                "request_id": ids,
                "registered_at": registered.astype(np.int64),
                "identity_key_hash": key,
            }
        )
    )
    keep = np.isin(ids, kept["request_id"].to_numpy(dtype=object))
    return ids[keep], owner[keep], len(merges)


def simulate_run(
    inst: MarketInstance,
    system: str,
    applicants: int,
    streams: RunStreams,
    *,
    rounds: int | None = None,
    price: float | None = None,
) -> dict[str, np.ndarray]:
    """One run: ``rounds`` rounds of ``system`` with ``applicants`` applicants.

    Returns
    -------
    dict of str to ndarray of shape (rounds,)
        One array per name in :data:`COLUMNS`.
    """
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
    rounds = inst.rounds if rounds is None else int(rounds)
    fixed = inst.price if price is None else float(price)
    reference = inst.reference_values(applicants)
    k_all = np.arange(1, reference.size + 1)
    served_fresh = expected_served(inst, system, k_all, applicants, inst.slots)
    rng = streams.rng
    learn = inst.learning
    eps, tau = learn.exploration, learn.temperature
    profit_avg = learn.initial_profit
    belief_client = 1.0
    belief_direct = learn.initial_direct_belief
    carry = 0
    out = {name: np.zeros(rounds, dtype=np.float64) for name in COLUMNS}
    phi, kappa, c = inst.direct_failure, inst.direct_cost, inst.entry_cost
    for t in range(rounds):
        prob = eps + (1.0 - 2.0 * eps) / (1.0 + np.exp(-np.clip(profit_avg / tau, -700, 700)))
        active = bool(rng.random() < prob)
        v = _draw_values(inst, applicants, rng)
        p = fixed
        if p is None:
            served_k = served_fresh
            if carry:
                served_k = expected_served(inst, system, k_all, applicants, inst.slots + carry)
            p = posted_price(
                reference,
                served_k,
                belief_client,
                belief_direct,
                direct_failure=phi,
                direct_cost=kappa,
            )
        if active:
            clients = chooses_scalper(v, p, belief_client, belief_direct, phi, kappa)
        else:
            clients = np.zeros(applicants, dtype=bool)
        if system == "fcfs":
            res = _fcfs_round(inst, active, clients, rng)
        else:
            res = _batch_round(inst, active, clients, carry, rng, streams.lottery_seed, t + 1)
            carry = res.carry
        n_clients = int(np.count_nonzero(clients))
        n_paid = int(np.count_nonzero(res.paid))
        n_direct = int(np.count_nonzero(res.direct))
        direct_served = int(np.count_nonzero(res.holds & res.direct))
        profit = p * n_paid - c if active else 0.0
        if active:
            profit_avg += learn.rate * (profit - profit_avg)
            lam = learn.belief_rate
            if n_clients:
                belief_client += lam * (n_paid / n_clients - belief_client)
            if n_direct:
                belief_direct += lam * (direct_served / n_direct - belief_direct)
        welfare = float(v[res.holds].sum()) - p * n_paid - kappa * n_direct
        row = out
        row["round"][t] = t + 1
        row["entered"][t] = active
        row["price"][t] = p if active else np.nan
        row["clients"][t] = n_clients
        row["clients_served"][t] = n_paid
        row["capacity"][t] = res.capacity
        row["scalper_slots"][t] = res.scalper_slots
        row["scalper_share"][t] = res.scalper_slots / res.capacity if res.capacity else 0.0
        row["scalper_profit"][t] = profit
        row["flooded"][t] = res.flooded
        row["fake_requests"][t] = res.fakes
        row["duplicates_dropped"][t] = res.duplicates_dropped
        row["direct_requests"][t] = n_direct
        row["direct_served"][t] = direct_served
        row["served"][t] = int(np.count_nonzero(res.holds))
        row["paid_share"][t] = n_paid / applicants
        row["applicant_welfare"][t] = welfare
        row["slots_wasted"][t] = res.wasted
        row["cancelled"][t] = res.cancelled
        row["entry_probability"][t] = prob
    return out
