"""The common part of directed models: a Pyro program ``model(x)`` with a recognition
network ``guide(x)``, both over a batch of visible vectors ``x``."""

from __future__ import annotations

import torch
from pyro.nn import PyroModule

import pgm

from ..parameters import ParameterInfo
from pgm.checks import check_units, validation_disabled

__all__ = ["DirectedModel"]


class DirectedModel(ParameterInfo, PyroModule):
    r"""Base class of directed generative models written as Pyro programs.

    A subclass defines

    - ``model(x)``: the generative program p(x, h) = p(h) p(x | h), a ``pyro.plate("data")``
      over the rows of ``x`` (shape ``(batch, n_visible)``) and the visible site ``"v"``
      observed with ``obs=x``;
    - ``guide(x)``: the recognition program q(h | x) over the same latent sites, inside
      the same plate;
    - ``config()``: the constructor's keyword arguments (JSON-able), from which the
      model is rebuilt.

    Every site's value is a tensor of shape ``(batch, units)`` (``to_event(1)``), so the
    log-densities of a trace are per-example, shape ``(batch,)``. Learned tensors are
    parameters of plain ``torch.nn`` submodules: they live in the module's
    ``state_dict``, not in Pyro's global parameter store, so two models never share them.

    Attributes
    ----------
    graph : pgm.Graph
        Traced from ``model`` with :func:`pgm.from_pyro`.
    visible_name : str
        ``"v"``.
    visible_kind : str
        ``"bernoulli"`` or ``"gaussian"``: what data the model accepts.
    """

    visible_name = "v"
    visible_kind = "bernoulli"

    def _trace_graph(self, n_visible: int) -> pgm.Graph:
        with torch.no_grad(), validation_disabled():  # no values to check (and none on the meta device)
            x = torch.zeros(1, n_visible, dtype=self.dtype, device=self.device)
            return pgm.from_pyro(self.model, x)

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (a float tensor ``(batch, n_visible)``; binary for Bernoulli
        visible units, finite for Gaussian ones) and moved to the model's dtype and device.

        Raises
        ------
        TypeError, ValueError
            Naming ``name``, what was expected and what was received.
        """
        return check_units(x, name, self.n_visible, binary=self.visible_kind == "bernoulli",
                           dtype=self.dtype, device=self.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
