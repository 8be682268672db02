"""Engines: pure computations over validated instances (no printing, no file I/O, no Pyomo)."""
