"""Formulations: Pyomo models (built here, solved only in ``solver``)."""
