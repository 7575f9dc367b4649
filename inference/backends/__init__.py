"""Fast paths behind one door.

A backend may take over the work of a generic algorithm when it recognises the set-up
(the model, the algorithm and, for training, the optimizer). :func:`fast_path` is the
only place that decides: it returns ``None`` (the generic algorithm runs) or an object
that runs the algorithm's steps. The generic algorithms in :mod:`inference.learning`,
:mod:`inference.mcmc` and :mod:`inference.partition` are the reference; every backend is
tested equal to them. Users choose with ``backend="auto"`` (the default: a fast path
where one applies) or ``backend="torch"`` (always the generic path).

Backends today: :mod:`inference.backends.rbm`, the binary RBM (fused torch steps,
native CPU kernels, the SGD update fused into the step, the annealing loop of AIS);
:mod:`inference.backends.vae`, the VAE's ELBO and IWAE losses without tracing its Pyro
programs (for directed models the generic path is the traced Pyro programs, also named
``backend="pyro"``).
"""

from __future__ import annotations

from . import requests

__all__ = ["fast_path", "BACKENDS", "check_backend", "requests"]

#: Values of the ``backend`` argument.
BACKENDS = ("auto", "torch")


def check_backend(backend, where: str) -> str:
    """``backend`` checked to be one of :data:`BACKENDS`."""
    if backend not in BACKENDS:
        raise ValueError(f"{where}: backend must be one of {list(BACKENDS)}, got {backend!r}")
    return backend


def fast_path(model, algorithm, optimizer=None, backend: str = "auto"):
    """A runner of ``algorithm`` on ``model`` from a backend that recognises them, or ``None``.

    Parameters
    ----------
    model : EnergyModel or DirectedModel
    algorithm : request
        What is to run, one of the requests of :mod:`inference.backends.requests`: a
        contrastive update (:class:`~.requests.ContrastiveUpdate`), AIS over the visible
        marginal (:class:`~.requests.MarginalAnnealing`), a pseudo-likelihood
        (:class:`~.requests.PseudoLikelihood`) or a directed model's training objective
        (:class:`~.requests.Objective`). Anything else gets ``None``.
    optimizer : torch.optim.Optimizer, optional
        For learning rules: the optimizer whose update the runner applies.
    backend : {"auto", "torch"}
        ``"torch"`` always returns ``None``.
    """
    check_backend(backend, "fast_path")
    if backend == "torch":
        return None
    if isinstance(algorithm, requests.Objective):
        from . import vae

        return vae.fast_path(model, algorithm)
    from . import rbm

    return rbm.fast_path(model, algorithm, optimizer)
