"""Variational inference for energy models: factorial mean-field posteriors."""

from .mean_field import MeanField, mean_field

__all__ = ["MeanField", "mean_field"]
