"""pgm: the shared graph representation, tracing of Pyro programs, drawing and data."""

from .datasets import bars_and_stripes, load_digits, load_mnist
from .draw import draw, group_label
from .graph import KINDS, Edge, Graph, Plate, VariableGroup
from .trace import from_pyro, site_kind

__all__ = [
    "KINDS",
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
]
