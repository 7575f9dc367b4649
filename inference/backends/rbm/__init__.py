"""The binary RBM's fast paths: fused torch steps, native CPU kernels, the AIS loop,
the pseudo-likelihood's unit flips.

:func:`recognise` says whether a model is a binary RBM whose energy these paths compute
exactly; :func:`fast_path` hands out the runner for an algorithm (called only through
:func:`inference.backends.fast_path`).
"""

from __future__ import annotations

import torch

from models.energy import RBM

__all__ = ["recognise", "fast_path", "DTYPES"]

_METHODS = ("energy", "conditional", "free_energy", "free_energy_hidden", "hidden_logits", "visible_logits",
            "project_parameters")
_SEEN: dict = {}


#: Parameter dtypes the fast paths compute in; half-precision models take the generic path.
DTYPES = (torch.float32, torch.float64)


def recognise(model) -> bool:
    """Whether ``model`` is a :class:`~models.energy.RBM` (or a subclass that redefines
    none of its energy, conditionals or free energies) with binary hidden units and float32
    or float64 parameters (a subclass with a constraint of its own, ``project_parameters``,
    takes the generic path, which applies it after every step)."""
    cls = type(model)
    ok = _SEEN.get(cls)
    if ok is None:
        ok = _SEEN[cls] = issubclass(cls, RBM) and all(getattr(cls, m) is getattr(RBM, m) for m in _METHODS)
    return ok and model.W.dtype in DTYPES and getattr(model, "hidden", "binary") == "binary"


def fast_path(model, algorithm, optimizer=None):
    """The runner for ``algorithm`` on a recognised RBM, or ``None``."""
    if not recognise(model):
        return None
    from .. import requests

    if isinstance(algorithm, requests.ContrastiveUpdate):
        if getattr(algorithm.estimator, "positive", None) is not None:  # a positive phase of the caller's own
            return None
        from .training import trainer

        return trainer(model, algorithm.estimator, optimizer, persistent=algorithm.persistent)
    if isinstance(algorithm, requests.MarginalAnnealing):
        from .ais import annealer

        return annealer(model, algorithm)
    if isinstance(algorithm, requests.PseudoLikelihood):
        from .pll import pll_runner

        return pll_runner(model, algorithm)
    return None
