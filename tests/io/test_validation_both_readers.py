"""tests/matching/test_validation.py collected here too, so that the conftest of this folder
runs every validation message through both CSV readers."""

from __future__ import annotations

from tests.matching.test_validation import *  # noqa: F403
