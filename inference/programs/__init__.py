"""Energy models inside Pyro programs: an energy model's visible marginal as a Pyro
distribution (the prior of a deep belief net's penultimate layer)."""

from .energy_distribution import EnergyDistribution

__all__ = ["EnergyDistribution"]
