"""Commit-and-reveal: the documented formulas recomputed by hand, and what a reveal must match."""

from __future__ import annotations

import hashlib

import pytest

from slotopt.engines import commitment as c


def test_commitment_is_the_documented_hash() -> None:
    secret = bytes(range(32))
    want = hashlib.sha256(b"slotopt-commit-v1\0" + secret).hexdigest()
    assert c.commitment(secret) == want
    assert c.reveal_matches(want.upper() + "\n", secret)


def test_a_different_secret_does_not_match_the_commitment() -> None:
    published = c.commitment(b"a" * 32)
    assert not c.reveal_matches(published, b"b" * 32)


def test_draw_seed_mixes_public_randomness_as_documented() -> None:
    secret, public = b"s" * 32, b"17 25 31 42 44"
    want = hashlib.sha256(b"slotopt-seed-v1\0" + secret + b"\0" + public).digest()
    assert c.draw_seed(secret, public) == int.from_bytes(want, "big")
    assert c.draw_seed(secret) != c.draw_seed(secret, public)


def test_replay_secrets_are_reproducible_and_differ_per_batch() -> None:
    msg = b"slotopt-batch-secret-v1\0" + b"2025\0" + b"week-1"
    assert c.replay_secret(2025, "week-1") == hashlib.sha256(msg).digest()
    assert c.replay_secret(2025, "week-1") != c.replay_secret(2025, "week-2")
    with pytest.raises(ValueError, match="non-negative"):
        c.replay_secret(-3, "week-1")


def test_fresh_secrets_are_32_bytes_and_differ() -> None:
    a, b = c.fresh_secret(), c.fresh_secret()
    assert len(a) == 32 and a != b
