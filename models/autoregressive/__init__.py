"""Autoregressive models with exact likelihoods: p(x) = Π_i p(x_{o_i} | x_{o_<i}).

:class:`FVSBN` (logistic autoregressive network), :class:`NADE` (running-sum hidden
layer), :class:`MADE` (masked MLP, several mask sets), :class:`OrderAgnosticNADE` (deep, trained over
all orderings; ensembles), :class:`RNADE` (mixtures per dimension for real data), each a Pyro program with one sample site per dimension along its ordering
(:mod:`models.autoregressive.base`).
"""

from .base import AutoregressiveModel, check_ordering, draw_from, ordering_graph
from .fvsbn import FVSBN
from .deep_nade import OrderAgnosticNADE
from .made import MADE
from .nade import NADE
from .rnade import RNADE

__all__ = ["AutoregressiveModel", "FVSBN", "MADE", "NADE", "OrderAgnosticNADE", "RNADE"]
