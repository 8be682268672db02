"""Numerical studies that reproduce a paper's experiments end to end.

``kaluza`` -- the full factorial design of Kaluza, Voigt, Haase & Dietze (2024), Sect. 6
(``slotopt study kaluza``).
"""

from __future__ import annotations

from slotopt.run.studies.kaluza import READINGS, KaluzaStudy, Reading, run_kaluza_study

__all__ = ["READINGS", "KaluzaStudy", "Reading", "run_kaluza_study"]
