"""RFC 3797's own fully worked example (section 6), reproduced digest by digest."""

from __future__ import annotations

import hashlib
import math
from itertools import combinations

import pytest

from slotopt.engines.rfc3797 import (
    MAX_POOL,
    entropy_bits,
    key_string,
    public_randomness,
    select,
    select_ids,
    selection_digest,
)

# RFC 3797 section 6: the 25 eligible volunteers, numbered in their published order.
POOL = [
    "John",
    "Mary",
    "Bashful",
    "Dopey",
    "Sleepy",
    "Grouchy",
    "Doc",
    "Sneazy",
    "Handsome",
    "Cassandra",
    "Pollyanna",
    "Pendragon",
    "Pandora",
    "Faith",
    "Hope",
    "Charity",
    "Lee",
    "Longsuffering",
    "Chastity",
    "Smith",
    "Pride",
    "Sloth",
    "Envy",
    "Anger",
    "Kasczynski",
]

# RFC 3797 section 6: "Source 1: 9319 / Source 2: 2, 5, 12, 8, 10 / Source 3: 9, 18, 26, 34, 41, 45"
SOURCES = [9319, [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]]
KEY = "9319./2.5.8.10.12./9.18.26.34.41.45./"

# RFC 3797 section 6, the table "index / hex value of MD5 / div / selected", all 16 rows.
RFC_TABLE = [
    (1, "990DD0A5692A029A98B5E01AA28F3459", 25, 17),
    (2, "3691E55CB63FCC37914430B2F70B5EC6", 24, 7),
    (3, "FE814EDF564C190AC1D25753979990FA", 23, 2),
    (4, "1863CCACEB568C31D7DDBDF1D4E91387", 22, 16),
    (5, "F4AB33DF4889F0AF29C513905BE1D758", 21, 25),
    (6, "13EAEB529F61ACFB9A29D0BA3A60DE4A", 20, 23),
    (7, "992DB77C382CA2BDB9727001F3CDCCD9", 19, 8),
    (8, "63AB4258ECA922976811C7F55C383CE7", 18, 24),
    (9, "DFBC5AC97CED01B3A6E348E3CC63F40D", 17, 19),
    (10, "31CB111C4A4EBE9287CEAE16FE51B909", 16, 13),
    (11, "07FA46C122F164C215BBC72793B189A3", 15, 22),
    (12, "AC52F8D75CCBE2E61AFEB3387637D501", 14, 5),
    (13, "53306F73E14FC0B2FBF434218D25948E", 13, 18),
    (14, "B5D1403501A81F9A47318BE7893B347C", 12, 9),
    (15, "85B10B356AA06663EF1B1B407765100A", 11, 1),
    (16, "3269E6CE559ABD57E2BA6AAB495EB9BD", 10, 4),
]
# RFC 3797 section 6: the ten voting members selected, in order.
RFC_SELECTED = [
    "Lee",
    "Doc",
    "Mary",
    "Charity",
    "Kasczynski",
    "Envy",
    "Sneazy",
    "Anger",
    "Chastity",
    "Pandora",
]


def test_key_string_of_the_rfc_example() -> None:
    assert key_string(SOURCES) == KEY
    assert public_randomness(SOURCES) == KEY.encode()


def test_rfc_section6_table_reproduces_row_by_row() -> None:
    rows = select(len(POOL), 16, SOURCES)
    assert [(s.index, s.digest_hex, s.remaining, s.selected) for s in rows] == RFC_TABLE


def test_rfc_section6_selected_members() -> None:
    assert select_ids(POOL, 10, SOURCES) == RFC_SELECTED
    assert select_ids(POOL, 10, KEY) == RFC_SELECTED  # a formed key string is accepted as is


def test_digest_brackets_the_key_with_a_big_endian_two_byte_index() -> None:
    # Index 258 = 0x0102 exercises both bytes: the high byte comes first on both sides.
    want = hashlib.md5(b"\x01\x02" + KEY.encode() + b"\x01\x02").digest()
    assert selection_digest(KEY, 258) == want
    swapped = hashlib.md5(b"\x02\x01" + KEY.encode() + b"\x02\x01").digest()
    assert selection_digest(KEY, 258) != swapped


def test_source_order_matters_but_order_inside_a_source_does_not() -> None:
    assert key_string([[10, 8, 12, 5, 2]]) == key_string([[2, 5, 8, 10, 12]]) == "2.5.8.10.12./"
    assert key_string([1, 2]) == "1./2./" != key_string([2, 1])
    assert key_string([["007", "10"]]) == "7.10./"  # numerically sorted, leading zeros dropped
    assert key_string([0]) == "0./"


@pytest.mark.parametrize("bad", [[], [[]], [[-1]], [["1.5"]], [[True]], [["x"]], [[3.0]]], ids=str)
def test_bad_sources_are_refused(bad: list) -> None:
    with pytest.raises(ValueError):
        key_string(bad)


def test_pool_and_count_limits() -> None:
    with pytest.raises(ValueError):
        select(MAX_POOL + 1, 1, SOURCES)
    with pytest.raises(ValueError):
        select(3, 4, SOURCES)
    with pytest.raises(ValueError):
        selection_digest(KEY, MAX_POOL + 1)
    assert select(3, 0, SOURCES) == []


def test_a_full_selection_is_a_permutation_and_prefixes_are_stable() -> None:
    full = [s.selected for s in select(40, 40, SOURCES)]
    assert sorted(full) == list(range(1, 41))
    assert [s.selected for s in select(40, 7, SOURCES)] == full[:7]


def test_entropy_bits_against_enumeration() -> None:
    for p in range(1, 9):
        for n in range(p + 1):
            count = sum(1 for _ in combinations(range(p), n))
            assert entropy_bits(p, n) == pytest.approx(math.log2(count), abs=1e-9)
