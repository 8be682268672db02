"""Instances shaped like the hub week, small enough for the naive oracle: few slots on a line of
windows, long blocks of consecutive windows, and many applicants sharing each acceptable set."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from slotopt.instance import MatchingInstance, matching_from_frames


@st.composite
def block_instances(
    draw: st.DrawFn, max_applicants: int = 40, max_sites: int = 3, max_windows: int = 6
) -> MatchingInstance:
    """Slots = sites x windows; each of a few *patterns* (site set x window interval) is shared
    by several applicants, drawn with repetition, so types repeat and intervals overlap."""
    n_sites = draw(st.integers(1, max_sites))
    n_win = draw(st.integers(1, max_windows))
    caps = draw(st.lists(st.integers(0, 3), min_size=n_sites * n_win, max_size=n_sites * n_win))
    interval = st.tuples(st.integers(0, n_win - 1), st.integers(1, n_win))
    sites = st.sets(st.integers(0, n_sites - 1), min_size=1, max_size=n_sites)
    patterns = draw(st.lists(st.tuples(sites, interval), min_size=1, max_size=5))
    n_a = draw(st.integers(1, max_applicants))
    pick = draw(st.lists(st.integers(0, len(patterns) - 1), min_size=n_a, max_size=n_a))
    prio = draw(st.lists(st.integers(1, 3), min_size=n_a, max_size=n_a))
    rows = []
    for i, k in enumerate(pick):
        chosen, (start, length) = patterns[k]
        for s in sorted(chosen):
            for w in range(start, min(start + length, n_win)):
                rows.append((f"a{i}", f"s{s}-{w}"))
    acceptable = pd.DataFrame(rows, columns=["applicant_id", "slot_id"], dtype="string")
    return matching_from_frames(
        pd.DataFrame(
            {
                "slot_id": [f"s{s}-{w}" for s in range(n_sites) for w in range(n_win)],
                "capacity": caps,
            }
        ),
        pd.DataFrame({"applicant_id": [f"a{i}" for i in range(n_a)], "priority": prio}),
        acceptable,
        name="blocks",
    )
