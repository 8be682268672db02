"""Small matching cases with answers derived by hand (each cites its derivation)."""

from __future__ import annotations

import pandas as pd

from slotopt.instance import MatchingInstance, matching_from_frames


def build(
    slots: dict[str, int],
    applicants: dict[str, int],
    acceptable: list[tuple[str, str]],
    ranks: list[int] | None = None,
    name: str = "case",
) -> MatchingInstance:
    acc = pd.DataFrame(acceptable, columns=["applicant_id", "slot_id"], dtype="string")
    if ranks is not None:
        acc["rank"] = ranks
    return matching_from_frames(
        pd.DataFrame({"slot_id": list(slots), "capacity": list(slots.values())}),
        pd.DataFrame({"applicant_id": list(applicants), "priority": list(applicants.values())}),
        acc,
        name=name,
    )


def footnote4() -> MatchingInstance:
    """Arnosti (2021), footnote 4: A (highest priority) is available all day and prefers the
    morning; B is available only in the morning. Algorithm 1 commits A, then B (A can move to
    the afternoon), so both are served with B in the morning; a serial dictatorship gives A the
    morning and leaves B out."""
    return build(
        {"morning": 1, "afternoon": 1},
        {"A": 1, "B": 2},
        [("A", "morning"), ("A", "afternoon"), ("B", "morning")],
        ranks=[1, 2, 1],
        name="footnote4",
    )


def chain() -> MatchingInstance:
    """a1 (priority 1) accepts s1, s2; a2 (2) accepts s1; a3 (3) accepts s2; capacities 1.
    By hand: a1 committed; a2 committed (a1 -> s2, a2 -> s1); a3 would need s2, but a1 must then
    take s1, which a2 needs: rejected. Matched {a1, a2}; maximum is 2 (two slots). The witness
    for a3 is {s1, s2}: both full, a1 and a2 accept nothing else, both outrank a3."""
    return build(
        {"s1": 1, "s2": 1},
        {"a1": 1, "a2": 2, "a3": 3},
        [("a1", "s1"), ("a1", "s2"), ("a2", "s1"), ("a3", "s2")],
        name="chain",
    )


def skip_inflexible() -> MatchingInstance:
    """x (1) accepts only s1; y (2) accepts only s1; z (3) accepts s1 and s2; capacities 1.
    By hand: x committed, y rejected (s1 is x's only slot), z committed in s2. Matched {x, z};
    y's witness is {s1}: full with x, who accepts nothing else and outranks y."""
    return build(
        {"s1": 1, "s2": 1},
        {"x": 1, "y": 2, "z": 3},
        [("x", "s1"), ("y", "s1"), ("z", "s1"), ("z", "s2")],
        name="skip",
    )


# The keys every matching summary.json carries (docs/instance-format.md, result folders).
SUMMARY_KEYS = {
    "kind",
    "name",
    "method",
    "seed",
    "n_applicants",
    "n_slots",
    "total_capacity",
    "n_matched",
    "seconds",
    "verified",
    "input_sha256",
    "slotopt_version",
}
