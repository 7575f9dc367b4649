"""pgm: the shared graph representation, tracing of Pyro programs, drawing and data."""

from .graph import KINDS, Edge, Graph, Plate, VariableGroup

__all__ = ["KINDS", "Edge", "Graph", "Plate", "VariableGroup"]
