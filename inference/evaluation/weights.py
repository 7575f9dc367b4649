r"""Per-example importance log-weights of a directed model with its guide as proposal.

.. math::

    \log w_k = \log p(x, h_k) - \log q(h_k \mid x), \qquad h_k \sim q(\cdot \mid x),

computed from Pyro traces: the guide is traced on ``K`` stacked copies of the batch and
the model is replayed on its samples, so the K particles are one batched pass.
"""

from __future__ import annotations

import contextlib

import torch
from pyro import poutine
from pyro.poutine.util import site_is_subsample

__all__ = ["log_weights", "trace_pair", "site_log_prob", "latent_sites", "seeded"]


def site_log_prob(trace) -> torch.Tensor:
    """Σ over the trace's sample sites of their log-densities, per example: shape (rows,).

    Every site of a directed model is ``(rows, units)`` with ``to_event(1)``, so each
    ``log_prob`` has shape ``(rows,)``.
    """
    total = 0.0
    for site in latent_sites(trace).values():
        total = total + site["fn"].log_prob(site["value"])
    for site in trace.nodes.values():
        if site["type"] == "sample" and site["is_observed"] and not site_is_subsample(site):
            total = total + site["fn"].log_prob(site["value"])
    return total


def latent_sites(trace) -> dict:
    """The trace's unobserved sample sites (plates' subsample sites excluded), by name."""
    return {name: site for name, site in trace.nodes.items()
            if site["type"] == "sample" and not site["is_observed"] and not site_is_subsample(site)}


def trace_pair(model, x: torch.Tensor, detach_samples: bool = False):
    """(guide trace, model trace replayed on it) for the batch ``x``; with
    ``detach_samples`` the guide's sample values are detached first."""
    guide_trace = poutine.trace(model.guide).get_trace(x)
    if detach_samples:
        for site in latent_sites(guide_trace).values():
            site["value"] = site["value"].detach()
    model_trace = poutine.trace(poutine.replay(model.model, trace=guide_trace)).get_trace(x)
    return guide_trace, model_trace


def log_weights(model, x: torch.Tensor, n_samples: int, return_parts: bool = False, detach_samples: bool = False):
    r"""log w_k = log p(x, h_k) − log q(h_k | x) for ``n_samples`` = K draws per example.

    Parameters
    ----------
    model : DirectedModel
        Has ``model(x)`` and ``guide(x)``.
    x : Tensor, shape (batch, n_visible)
        Checked data (the model checks it again unless validation is off).
    n_samples : int
        K.

    Returns
    -------
    Tensor, shape (K, batch)
        In the model's dtype, differentiable (reparameterised latents carry gradients).
        With ``return_parts=True``: ``(log_w, log_p, log_q, guide_trace)``, log p and
        log q of shape (K, batch) as well. With ``detach_samples=True`` the guide's
        samples carry no gradient (the score-function form: log p and log q still
        depend on the parameters).
    """
    k, b = n_samples, x.shape[0]
    stacked = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
    guide_trace, model_trace = trace_pair(model, stacked, detach_samples)
    log_p = site_log_prob(model_trace).reshape(k, b)
    log_q = site_log_prob(guide_trace).reshape(k, b)
    if return_parts:
        return log_p - log_q, log_p, log_q, guide_trace
    return log_p - log_q


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device):
    """Pyro samples from torch's global generator: inside the block it is seeded with
    ``seed`` (nothing is done for ``None``), and its state is restored afterwards."""
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
