"""One request per identity per batch: normalised identity keys and a reported de-duplication.

Two requests are *the same person* when their normalised document number and their normalised
date of birth are both equal (the US H-1B registration keys on the passport the same way). A
field is normalised by, in order:

1. Unicode NFKC (full-width ``ＡＢ１２`` becomes ``AB12``, ligatures and compatibility forms fold);
2. accents stripped: NFKD, then every combining mark (category ``Mn``) removed (``É`` -> ``E``);
3. case folded (``str.casefold``: ``ß`` -> ``ss``);
4. white space collapsed: every run of Unicode white space becomes one space, and leading and
   trailing white space is removed (``"ab  12"`` equals ``"AB 12"`` but not ``"AB12"``: a space
   inside a document number is kept as one).

Punctuation is kept (``"AB-12"`` is not ``"AB12"``). The key is
``normalised(document_number) + "\\x1f" + normalised(date_of_birth)`` and its published form is
the hex SHA-256 of the key's UTF-8 bytes (:func:`identity_key_hash`).

Of several requests of one identity in one batch, the one kept is the earliest registered, then
the one with the smallest request id (code point order); this depends on the requests' content
only, never on their row order. Every merge is reported (:func:`deduplicate`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["KEY_SEPARATOR", "deduplicate", "identity_key", "identity_key_hash", "normalise"]

KEY_SEPARATOR = "\x1f"
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """One identity field in its normal form (module docstring).

    >>> normalise("  Ｘ１２３\u00a0 456 ")
    'x123 456'
    >>> normalise("José") == normalise("JOSE")
    True
    """
    # Step 2's NFKD also folds compatibility forms, so NFKC changes nothing it would not; it is
    # kept so the code reads as the definition above.
    s = unicodedata.normalize("NFKC", str(text))
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if unicodedata.category(c) != "Mn")
    s = s.casefold()
    return _SPACE.sub(" ", s).strip()


def identity_key(document_number: str, date_of_birth: str) -> str:
    """The normalised key of one person: document number and date of birth."""
    return normalise(document_number) + KEY_SEPARATOR + normalise(date_of_birth)


def identity_key_hash(document_number: str, date_of_birth: str) -> str:
    """Hex SHA-256 of :func:`identity_key` (what a registry stores and a receipt shows)."""
    return hashlib.sha256(identity_key(document_number, date_of_birth).encode()).hexdigest()


def deduplicate(requests: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one request per identity; report every request merged away.

    Parameters
    ----------
    requests
        Columns ``request_id``, ``registered_at`` (integer), ``identity_key_hash``; optionally
        ``row`` (the 1-based row in the source file, for the report). Request ids are unique.

    Returns
    -------
    kept : DataFrame
        The requests kept, in the input's row order (same columns).
    merges : DataFrame
        One row per request dropped: ``identity_key_hash``, ``kept_request_id``, ``kept_row``,
        ``dropped_request_id``, ``dropped_row`` (rows NA when no ``row`` column was given),
        sorted by kept request id then dropped request id.

    Examples
    --------
    >>> df = pd.DataFrame({"request_id": ["r2", "r1", "r3"], "registered_at": [5, 5, 1],
    ...                    "identity_key_hash": [identity_key_hash("AB 1", "1990-01-02"),
    ...                                          identity_key_hash("ab  1", "1990-01-02"),
    ...                                          identity_key_hash("AB1", "1990-01-02")]})
    >>> kept, merges = deduplicate(df)
    >>> kept["request_id"].tolist(), merges["dropped_request_id"].tolist()
    (['r1', 'r3'], ['r2'])
    """
    df = requests.reset_index(drop=True)
    ids = df["request_id"].astype(str).to_numpy(dtype=object)
    at = df["registered_at"].to_numpy(dtype=np.int64)
    key = df["identity_key_hash"].astype(str).to_numpy(dtype=object)
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[np.asarray(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)] = np.arange(
        len(ids)
    )
    order = np.lexsort((id_rank, at))  # earliest registered, then smallest id
    first_of: dict[str, int] = {}
    keep = np.zeros(len(df), dtype=bool)
    rows = df["row"].to_numpy() if "row" in df.columns else None
    merges = []
    for i in order.tolist():
        k = key[i]
        if k not in first_of:
            first_of[k] = i
            keep[i] = True
            continue
        j = first_of[k]
        merges.append(
            (
                k,
                ids[j],
                None if rows is None else int(rows[j]),
                ids[i],
                None if rows is None else int(rows[i]),
            )
        )
    cols = ["identity_key_hash", "kept_request_id", "kept_row", "dropped_request_id", "dropped_row"]
    report = pd.DataFrame(merges, columns=cols)
    report = report.astype(
        {
            "identity_key_hash": "string",
            "kept_request_id": "string",
            "dropped_request_id": "string",
            "kept_row": "Int64",
            "dropped_row": "Int64",
        }
    )
    report = report.sort_values(["kept_request_id", "dropped_request_id"], kind="stable")
    return df[keep].reset_index(drop=True), report.reset_index(drop=True)
