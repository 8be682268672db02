"""Every test under tests/io runs once per CSV reader (pyarrow's and pandas'): both must give the
same instances and the same messages (file, row, column)."""

from __future__ import annotations

import pytest

from slotopt.instance import _tables


@pytest.fixture(params=_tables.CSV_READERS, autouse=True)
def csv_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    reader = str(request.param)
    if reader == "pyarrow":
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(_tables, "CSV_READER", reader)
    return reader
