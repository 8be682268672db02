"""The scalper market (IPP brief, Box 1): the equilibrium model and the agent-based simulation."""

from slotopt.engines.market.equilibrium import (
    Equilibrium,
    Regime,
    SystemOutcome,
    batch_equilibrium,
    best_price,
    equilibrium,
    fcfs_equilibrium,
    revenue_at,
)
from slotopt.engines.market.experiment import MarketSimulation, simulate_market

__all__ = [
    "Equilibrium",
    "MarketSimulation",
    "Regime",
    "SystemOutcome",
    "batch_equilibrium",
    "best_price",
    "equilibrium",
    "fcfs_equilibrium",
    "revenue_at",
    "simulate_market",
]
