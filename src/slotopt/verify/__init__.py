"""Verification: certificates and cross-validation, independent of the solver that produced a result."""
