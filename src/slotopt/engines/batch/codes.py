"""Positions of string keys among unique ids, fast when the rows come grouped.

A batch's acceptable-slot table names each request by id, usually grouped by request and in the
order of the request table (that is how :func:`~slotopt.engines.batch.requests_to_frames`, the
registry and the instance loader write it). Hashing two million strings to find their requests
costs seconds; walking the runs of equal keys and comparing them with the ids costs a few
comparisons per row. :func:`locate` takes that route when it applies and falls back to a hash
lookup otherwise, with the same answer either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dense_codes", "lex_order", "locate", "object_array"]


def object_array(values: object) -> np.ndarray:
    """``values`` (a Series, array or list of ids) as a 1-d numpy object array."""
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def locate(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``ids`` (unique), -1 where a key is not an id.

    Parameters
    ----------
    keys : ndarray of shape (P,), object
    ids : ndarray of shape (R,), object
        Unique values.

    Returns
    -------
    ndarray of shape (P,), int64

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.array(["a", "b", "c"], dtype=object)
    >>> locate(np.array(["a", "a", "c", "x", "b"], dtype=object), ids).tolist()
    [0, 0, 2, -1, 1]
    """
    keys = np.asarray(keys, dtype=object)
    ids = np.asarray(ids, dtype=object)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(ids) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    # Runs of equal keys: a grouped table has one run per request that has rows.
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    runs = keys[starts]
    at = _in_order(runs, ids)
    if at is None:
        # Not grouped in id order: hash the distinct keys once.
        codes, uniques = pd.factorize(runs)
        at = pd.Index(ids).get_indexer(np.asarray(uniques, dtype=object)).astype(np.int64)[codes]
    return np.repeat(at, np.diff(np.append(starts, len(keys))))


def _in_order(runs: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """Positions of ``runs`` in ``ids`` when ``runs`` is a subsequence of ``ids`` (the ids
    without rows skipped), else None."""
    if len(runs) == len(ids):
        return np.arange(len(ids), dtype=np.int64) if bool((runs == ids).all()) else None
    if len(runs) > len(ids):
        return None
    out: list[int] = []
    pos, n = 0, len(ids)
    id_list = ids.tolist()
    for key in runs.tolist():
        while pos < n and id_list[pos] != key:
            pos += 1
        if pos == n:
            return None
        out.append(pos)
        pos += 1
    return np.array(out, dtype=np.int64)


def lex_order(*keys: np.ndarray) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key sorts first) for integer keys.

    When the keys' value ranges multiply to less than 2**62 they are packed into one int64 and
    sorted stably: a table already grouped by its first key then sorts in near-linear time,
    where ``lexsort`` always pays for every key.
    """
    n = len(keys[0])
    if n < 2:
        return np.arange(n, dtype=np.int64)
    packed = np.zeros(n, dtype=np.int64)
    span = 1
    for k in reversed(keys):
        values, dense = dense_codes(np.asarray(k, dtype=np.int64))
        size = len(values)
        span *= size
        if span >= 2**62:
            return np.lexsort(keys).astype(np.int64)
        packed = packed * size + dense.reshape(-1)
    return np.argsort(packed, kind="stable").astype(np.int64)


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(uniques, inverse)`` of integer ``values``: ``uniques[inverse] == values``, ``uniques``
    increasing. A compact range is offset, not hashed; sparse values are sorted (numpy's
    hash-based ``unique`` is slow on millions of rows)."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return values.copy(), np.zeros(0, dtype=np.int64)
    low, high = int(values.min()), int(values.max())
    if high - low < max(len(values), 1024):
        present = np.zeros(high - low + 1, dtype=bool)
        present[values - low] = True
        uniques = np.flatnonzero(present) + low
        code = np.cumsum(present) - 1
        return uniques.astype(np.int64), code[values - low].astype(np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse
