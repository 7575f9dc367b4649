"""pgm: the shared graph representation, tracing of Pyro programs, drawing and data."""

from . import datasets, plots, sequences
from .datasets import bars_and_stripes, load_digits, load_mnist
from .draw import draw, group_label
from .image_patches import PatchTransform, load_patches
from .graph import (BERNOULLI_KINDS, COUNT_KINDS, KINDS, ONEHOT_KINDS, REAL_KINDS, SPIN_KINDS, Edge, Graph, Plate,
                    VariableGroup)
from .plots import (ais_diagnostics, filter_grid, image_grid, plot_curves, recall_strip, reconstruction_grid,
                    swap_acceptance, training_curves)
from .trace import from_pyro, site_kind
from .sequences import bouncing_balls, digit_row_sequences  # noqa: E402

__all__ = [
    "KINDS",
    "BERNOULLI_KINDS",
    "SPIN_KINDS",
    "REAL_KINDS",
    "COUNT_KINDS",
    "ONEHOT_KINDS",
    "Edge",
    "Graph",
    "Plate",
    "VariableGroup",
    "from_pyro",
    "site_kind",
    "draw",
    "group_label",
    "load_digits",
    "bars_and_stripes",
    "load_mnist",
    "load_patches",
    "PatchTransform",
    "datasets",
    "plots",
    "image_grid",
    "plot_curves",
    "filter_grid",
    "reconstruction_grid",
    "training_curves",
    "ais_diagnostics",
    "swap_acceptance",
    "recall_strip",
    "sequences",
    "bouncing_balls",
    "digit_row_sequences",
]
