r"""The exact posterior of a small sigmoid belief net's binary latents, where NUTS cannot run.

NUTS needs continuous sites; the latent layers h_1 … h_L of a
:class:`models.SigmoidBeliefNet` (a Helmholtz machine) are binary. With at most
``models.directed.sbn.MAX_EXACT_LATENT`` latent units, every joint state is enumerated:

.. math::

    p(h \mid x) = \frac{p(x, h)}{\sum_{h'} p(x, h')}, \qquad
    \log p(x) = \log \sum_h p(x, h), \qquad
    \mathrm{ELBO}_q(x) = \sum_h q(h \mid x) \log \frac{p(x, h)}{q(h \mid x)},

all exact, so the guide's inference gap log p(x) − ELBO = KL(q(h | x) ‖ p(h | x)) is exact
too. :func:`exact_posterior` returns exact independent draws of p(h | x) and of q(h | x) in
the layout of an MCMC run, so the same ArviZ summaries and plots apply.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch

from pgm.checks import check_int, check_model, check_seed

from ..export.pyro_runs import samples_to_inference_data

__all__ = ["ExactPosterior", "exact_posterior"]

_F64 = torch.float64


class ExactPosterior(NamedTuple):
    """What :func:`exact_posterior` returns.

    Attributes
    ----------
    samples, guide : dict[str, Tensor]
        Site ``h_l`` → exact draws of p(h | x) and of q(h | x), (num_samples, batch, n_l).
    elbo, log_likelihood, gap : Tensor, shape (batch,)
        The guide's exact ELBO, the exact log p(x), and their difference KL(q ‖ p), float64.
    marginals : dict[str, Tensor]
        Site → exact posterior marginals p(h_li = 1 | x), (batch, n_l), float64.
    """

    samples: dict
    guide: dict
    elbo: torch.Tensor
    log_likelihood: torch.Tensor
    gap: torch.Tensor
    marginals: dict

    def to_inference_data(self, n_chains: int = 2):
        """(posterior, guide draws) as two ``arviz.InferenceData``, the independent draws
        laid out as ``n_chains`` chains (dims chain, draw, ``h1_dim_0`` = example, ``h1_dim_1`` = unit)."""
        return (samples_to_inference_data(self.samples, n_chains=n_chains),
                samples_to_inference_data(self.guide, n_chains=n_chains))


def exact_posterior(model, x: torch.Tensor, num_samples: int = 1000, *, seed: int = 0) -> ExactPosterior:
    """Exact draws of p(h | x) and q(h | x) of a small sigmoid belief net, by enumeration.

    Parameters
    ----------
    model : models.SigmoidBeliefNet
        At most ``MAX_EXACT_LATENT`` latent units in all (its parameters are untouched).
    x : Tensor, shape (batch, n_visible)
        Binary data.
    num_samples : int, default 1000
        Draws of each, per example.
    seed : int, default 0
        Seed of the draws.

    Raises
    ------
    TypeError
        ``model`` is not a sigmoid belief net.
    ValueError
        Too many latent units to enumerate, or bad data.
    """
    from models.directed import SigmoidBeliefNet
    from models.directed.sbn import MAX_EXACT_LATENT

    where = "exact_posterior"
    check_model(model, SigmoidBeliefNet, where, what="a models.SigmoidBeliefNet (binary latents)")
    num_samples = check_int(num_samples, "num_samples", 1, where)
    seed = check_seed(seed, where, optional=False)
    n_latent = sum(model.sizes[1:])
    if n_latent > MAX_EXACT_LATENT:
        raise ValueError(f"{where}: the {list(model.sizes)} net has {n_latent} binary latent units, 2**{n_latent} "
                         f"joint states; enumeration takes at most {MAX_EXACT_LATENT}. Estimate log p(x) with "
                         "inference.importance_log_likelihood instead")
    x = model.check_data(x)
    with torch.no_grad():
        states, log_post = model.exact_log_posterior(x)  # layer → (S, n_l); (batch, S)
        net = copy.deepcopy(model).double()
        x64 = x.to(_F64)[:, None, :]
        both = {k: s.to(_F64)[None] for k, s in states.items()}
        log_joint = net.log_joint(x64, both)  # (batch, S)
        log_q = net.guide_log_prob(x64, both)
    log_px = torch.logsumexp(log_joint, 1)
    q = log_q.exp()
    elbo = torch.where(q > 0, q * (log_joint - log_q), torch.zeros_like(q)).sum(1)
    gen = torch.Generator(device=log_post.device).manual_seed(seed)

    def draw(probs):
        idx = torch.multinomial(probs.float(), num_samples, replacement=True, generator=gen).T  # (D, batch)
        return {k: s[idx] for k, s in states.items()}

    p = log_post.exp()
    marginals = {k: p @ s.to(_F64) for k, s in states.items()}
    return ExactPosterior(draw(p), draw(q), elbo, log_px, log_px - elbo, marginals)
