"""Identity normalisation and de-duplication: what counts as the same person, what is reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slotopt.engines.batch.identity import deduplicate, identity_key_hash, normalise


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("José Ñúñez", "JOSE NUNEZ"),  # accents and case
        ("ＡＢ１２３４５", "AB12345"),  # NFKC full-width forms
        ("  ab \t 123\u00a0456 ", "AB 123 456"),  # white space collapsed, NBSP is white space
        ("Straße", "STRASSE"),  # case folding, not just lower()
        ("ﬁ123", "FI123"),  # compatibility ligature
        ("A\u0301B", "ÁB"),  # combining accent vs precomposed
    ],
)
def test_same_after_normalising(a, b):
    assert normalise(a) == normalise(b)
    assert identity_key_hash(a, "1990-01-02") == identity_key_hash(b, "1990-01-02")


@pytest.mark.parametrize(
    ("a", "b"),
    [("AB123", "AB 123"), ("AB-123", "AB123"), ("AB123", "AB124"), ("O0", "00")],
)
def test_different_people(a, b):
    assert identity_key_hash(a, "1990-01-02") != identity_key_hash(b, "1990-01-02")


def test_date_of_birth_is_part_of_the_key():
    assert identity_key_hash("X1", "1990-01-02") != identity_key_hash("X1", "1990-02-01")
    # the separator keeps ("X1", "2...") apart from ("X12", "...")
    assert identity_key_hash("X1", "21990-01-02") != identity_key_hash("X12", "1990-01-02")


def _frame(rows):
    return pd.DataFrame(
        [
            {
                "request_id": rid,
                "registered_at": at,
                "identity_key_hash": identity_key_hash(doc, "2000-05-06"),
                "row": k + 1,
            }
            for k, (rid, at, doc) in enumerate(rows)
        ]
    )


def test_dedup_rule_by_hand():
    # r3 and r2 registered at 40, before r9 (50): of the two the smaller id r2 is kept and both
    # others are reported as merged into it, with their file rows; s1 is another person.
    rows = [("r9", 50, "Ｐ１２３"), ("r3", 40, "p123"), ("r2", 40, "P123"), ("s1", 10, "Q7")]
    kept, merges = deduplicate(_frame(rows))
    assert sorted(kept["request_id"]) == ["r2", "s1"]
    assert merges["kept_request_id"].tolist() == ["r2", "r2"]
    assert merges["dropped_request_id"].tolist() == ["r3", "r9"]
    assert merges["kept_row"].tolist() == [3, 3]
    assert merges["dropped_row"].tolist() == [2, 1]


def test_dedup_is_independent_of_row_order():
    rng = np.random.default_rng(3)
    docs = ["A1", "a 1", "A 1", "Ａ1", "B2", "b2", "C3"]
    rows = [(f"q{k}", int(rng.integers(0, 3)), docs[k % len(docs)]) for k in range(30)]
    frame = _frame(rows)
    kept, merges = deduplicate(frame)
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(len(frame))
        k2, m2 = deduplicate(frame.iloc[perm])
        assert sorted(k2["request_id"]) == sorted(kept["request_id"])
        pd.testing.assert_frame_equal(m2, merges)
    # every request is either kept or named exactly once as dropped: nothing silently lost
    assert len(kept) + len(merges) == len(frame)
    assert set(merges["dropped_request_id"]).isdisjoint(kept["request_id"])
