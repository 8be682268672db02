"""Offer-set control under MNL with the quality-inference effect (Kaluza et al. 2024)."""
