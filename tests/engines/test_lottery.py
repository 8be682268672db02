"""The lottery module: documented digests recomputed by hand, order properties, weighted draws."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from slotopt.engines import _sha256, lottery
from slotopt.engines.matching.order import lottery_digest, priority_order


def test_uncontexted_digest_is_the_published_matching_digest() -> None:
    # The formula of docs/matching.md, written out independently of the module.
    for seed, aid in [(0, "A1"), (2025, "A208"), (7, "Zoë")]:
        want = hashlib.sha256(b"slotopt-lottery-v1\0" + str(seed).encode() + b"\0" + aid.encode())
        assert lottery.digest(seed, aid) == want.digest()
        assert lottery_digest(seed, aid) == want.digest()


def test_contexted_digest_follows_the_documented_message() -> None:
    msg = b"slotopt-draw-v1\0" + b"42\0" + b"batch-3\0" + b"R17"
    assert lottery.digest(42, "R17", context="batch-3") == hashlib.sha256(msg).digest()
    assert lottery.lottery_number(42, "R17", "batch-3") == int(hashlib.sha256(msg).hexdigest(), 16)
    # a context changes the draw; the same context twice does not
    assert lottery.digest(42, "R17", context="batch-4") != lottery.digest(42, "R17", "batch-3")


def test_uniform_order_sorts_by_the_256_bit_number() -> None:
    ids = [f"R{i}" for i in range(200)]
    order = lottery.uniform_order(5, ids, context="b")
    numbers = [lottery.lottery_number(5, ids[i], "b") for i in order]
    assert numbers == sorted(numbers)


def test_priority_order_matches_sorting_by_priority_then_number() -> None:
    ids = np.array([f"A{i}" for i in range(60)])
    prio = np.array([i % 3 for i in range(60)])
    order = priority_order(prio, ids, 11)
    by_hand = sorted(range(60), key=lambda i: (prio[i], lottery.lottery_number(11, ids[i])))
    assert order.tolist() == by_hand


def test_removing_a_participant_keeps_the_relative_order_of_the_rest() -> None:
    ids = [f"R{i}" for i in range(50)]
    full = [ids[i] for i in lottery.uniform_order(9, ids, context="batch-1")]
    rest = ids[:20] + ids[21:]
    less = [rest[i] for i in lottery.uniform_order(9, rest, context="batch-1")]
    assert [a for a in full if a != "R20"] == less


def test_weighted_key_is_the_smallest_ticket() -> None:
    ids = ["a", "b", "c"]
    weights = np.array([1, 3, 2])
    order = lottery.weighted_order(3, ids, weights, context="w")
    keys = [
        min(lottery.lottery_number(3, f"{a}#{j}", "w") for j in range(w))
        for a, w in zip(ids, weights, strict=True)
    ]
    assert order.tolist() == sorted(range(3), key=keys.__getitem__)


def test_weighted_first_draw_is_proportional_to_weight() -> None:
    # Two participants with 1 and 3 tickets: P(second first) = 3/4. Over 4,000 seeded draws the
    # binomial standard deviation is 27.4; the band is 6 of them, so this does not flake.
    wins = sum(
        int(lottery.weighted_order(s, ["x", "y"], np.array([1, 3]), context="t")[0] == 1)
        for s in range(4000)
    )
    assert abs(wins - 3000) < 6 * 27.4


@pytest.mark.parametrize("bad", [np.array([0, 1]), np.array([1.5, 1.0]), np.array([1, 2**21])])
def test_weights_must_be_positive_integer_ticket_counts(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="weights are integers"):
        lottery.weighted_order(0, ["a", "b"], bad)


def test_negative_seed_and_nul_context_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        lottery.digest(-1, "a")
    with pytest.raises(ValueError, match="NUL"):
        lottery.digest(1, "a", context="x\0y")


# -- the fast paths: the same digests and orders as the plain formulas ---------------------------

HAVE_COMPILED = _sha256.compiled_digests() is not None


def _by_hashlib(seed: int, ids: list[str], context: str | None = None) -> np.ndarray:
    prefix = lottery._prefix(seed, context)
    raw = b"".join(hashlib.sha256(prefix + a.encode()).digest() for a in ids)
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 4).astype(np.uint64)


@pytest.mark.skipif(not HAVE_COMPILED, reason="no compiled digests here (numba, Linux libcrypto)")
@pytest.mark.parametrize("context", [None, "batch-7"])
def test_compiled_digests_are_hashlibs(
    monkeypatch: pytest.MonkeyPatch, context: str | None
) -> None:
    monkeypatch.setattr(lottery, "COMPILED_ABOVE", 1)
    ids = [f"A{i}" for i in range(300)] + ["", "Zoë", "試験-" * 30, "x" * 200, 17]  # type: ignore[list-item]
    want = _by_hashlib(5, [str(a) for a in ids], context)
    assert np.array_equal(lottery.digest_words(5, ids, context), want)
    ascii_only = [f"R{i:05d}" for i in range(1000)]
    assert np.array_equal(
        lottery.digest_words(0, ascii_only, context), _by_hashlib(0, ascii_only, context)
    )


def test_without_the_compiled_loop_digests_come_from_hashlib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lottery, "COMPILED_ABOVE", 1)
    monkeypatch.setattr(_sha256, "compiled_digests", lambda: None)
    ids = [f"A{i}" for i in range(50)] + ["Zoë"]
    assert np.array_equal(lottery.digest_words(3, ids), _by_hashlib(3, ids))


def test_a_wiring_that_gets_a_digest_wrong_is_refused() -> None:
    def zeros(prefix, data, offsets, out, ctx):  # type: ignore[no-untyped-def]
        pass  # leaves every digest all-zero

    def one_off(prefix, data, offsets, out, ctx):  # type: ignore[no-untyped-def]
        for k in range(len(offsets) - 1):
            msg = bytes(prefix) + bytes(data[offsets[k] : offsets[k + 1]])
            out[k] = np.frombuffer(hashlib.sha256(msg).digest(), dtype=np.uint8)
        out[-1, 0] ^= 1  # one bit of the last digest

    def right(prefix, data, offsets, out, ctx):  # type: ignore[no-untyped-def]
        one_off(prefix, data, offsets, out, ctx)
        out[-1, 0] ^= 1

    assert not _sha256._self_test(zeros)
    assert not _sha256._self_test(one_off)
    assert _sha256._self_test(right)


def _lexsorted(words: np.ndarray, priority: np.ndarray | None) -> np.ndarray:
    keys = tuple(words[:, j] for j in (3, 2, 1, 0)) + (() if priority is None else (priority,))
    return np.lexsort(keys)


@pytest.mark.parametrize("spread", [3, 2**20])
@pytest.mark.parametrize("ties", [False, True])
def test_fast_order_is_the_full_lexicographic_order(spread: int, ties: bool) -> None:
    rng = np.random.default_rng(spread + ties)
    n = 3000
    words = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
    if ties:  # equal first words (and some equal digests) inside and across priority levels
        words[:, 0] = rng.integers(0, 40, size=n).astype(np.uint64)
        words[100:110] = words[200]
    priority = rng.integers(-spread, spread, size=n)
    for prio in (priority, None, priority.astype(float)):
        first = () if prio is None else (prio,)
        got = lottery._order_by_words(words, first)
        assert np.array_equal(got, _lexsorted(words, prio))


def test_uniform_order_at_scale_matches_sorting_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lottery, "COMPILED_ABOVE", 1)  # the compiled path where there is one
    ids = [f"A{i}" for i in range(2000)]
    prio = np.array([i % 4 for i in range(2000)])
    by_hand = sorted(range(2000), key=lambda i: (prio[i], lottery.lottery_number(2, ids[i])))
    assert lottery.uniform_order(2, ids, priority=prio).tolist() == by_hand
