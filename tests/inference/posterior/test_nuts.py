"""NUTS on a VAE latent against the exact posterior by quadrature (a 1-D latent)."""

from __future__ import annotations

import math

import pytest
import torch

from inference import mcmc_posterior
from inference.export import import_arviz
from models import VAE, SigmoidBeliefNet

az = import_arviz()


def _quadrature(vae, x):
    """Exact posterior mean, variance and log p(x) of each row of x, on a grid of z."""
    z = torch.linspace(-8, 8, 4001)[:, None, None]                        # (G, 1, 1)
    log_joint = (torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
                 + vae._visible(z.expand(-1, x.shape[0], 1)).log_prob(x).sum(-1)).double()
    dz = 16 / 4000
    log_p = torch.logsumexp(log_joint, 0) + math.log(dz)
    w = (log_joint - torch.logsumexp(log_joint, 0)).exp()
    mean = (w * z[:, :, 0].double()).sum(0)
    var = (w * z[:, :, 0].double() ** 2).sum(0) - mean ** 2
    return mean, var, log_p


def test_nuts_posterior_of_a_tiny_vae_matches_quadrature(one_thread):
    vae = VAE(6, 5, 1, seed=0)
    with torch.no_grad():
        for p in vae.decoder.parameters():
            p.mul_(3.0)  # a decoder that says something about z
    x = (torch.rand(2, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    post = mcmc_posterior(vae, x, num_samples=150, warmup_steps=50, n_importance=2000)
    assert all(torch.equal(before[k], v) for k, v in vae.state_dict().items())
    mean, var, log_p = _quadrature(vae, x)
    z = post.mcmc.get_samples()["z"][:, :, 0].double()                      # (S, batch)
    nuts_idata, guide_idata = post.to_inference_data()
    ess = torch.as_tensor(az.ess(nuts_idata)["z"].values[:, 0])
    assert z.shape == (150, 2) and guide_idata.posterior["z"].shape == (1, 150, 2, 1)
    # 4 Monte Carlo standard errors (ESS-based); variance s.e. ≈ var·sqrt(2/ESS) for a near-Gaussian posterior
    assert ((z.mean(0) - mean).abs() < 4 * (var / ess).sqrt()).all()
    assert ((z.var(0) / var - 1).abs() < 4 * (2 / ess).sqrt() + 0.05).all()
    # the importance estimate is a stochastic lower bound, close to the exact log p(x); the ELBO lies below
    assert ((post.log_likelihood - log_p).abs() < 0.05).all()
    assert (post.elbo <= log_p + 0.05).all() and (post.gap > -0.05).all()


def test_discrete_latents_are_refused_naming_the_site():
    sbn = SigmoidBeliefNet([6, 3], seed=0)
    with pytest.raises(ValueError, match="'h1'"):
        mcmc_posterior(sbn, torch.zeros(2, 6))
    with pytest.raises(TypeError, match="model"):
        mcmc_posterior("vae", torch.zeros(2, 6))
    with pytest.raises(ValueError, match="num_samples"):
        mcmc_posterior(VAE(6, 5, 1, seed=0), torch.zeros(2, 6), num_samples=1)
