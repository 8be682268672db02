"""Verification: certificates and cross-validation, independent of the producing method."""
