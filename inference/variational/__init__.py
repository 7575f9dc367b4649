"""Variational inference in energy models: factorial mean-field posteriors, and in-painting
missing visible units with them."""

from .inpaint import Inpainting, inpaint
from .mean_field import MeanField, mean_field

__all__ = ["Inpainting", "MeanField", "inpaint", "mean_field"]
