"""Bad input to the ArviZ export and the latent posteriors."""

from __future__ import annotations

import pytest
import torch

from models import VAE, SigmoidBeliefNet
from tests.oracles import random_rbm
from tests.bad_inputs.common import (assert_refused, _binary)


# -- ArviZ export ----------------------------------------------------------------------------

def _export_rows():
    from inference import mcmc_posterior, sample_chains, to_inference_data

    g = torch.Generator().manual_seed(0)
    gibbs_rows = [
        ("sample_chains: n_chains 0", lambda m: sample_chains(m, 0, 5, generator=g), ValueError, "n_chains"),
        ("sample_chains: n_draws 0", lambda m: sample_chains(m, 2, 0, generator=g), ValueError, "n_draws"),
        ("sample_chains: thin 0", lambda m: sample_chains(m, 2, 5, generator=g, thin=0), ValueError, "thin"),
        ("sample_chains: burn_in -1", lambda m: sample_chains(m, 2, 5, generator=g, burn_in=-1), ValueError,
         "burn_in"),
        ("sample_chains: no generator", lambda m: sample_chains(m, 2, 5, generator=None), TypeError, "generator"),
        ("sample_chains: unknown group", lambda m: sample_chains(m, 2, 5, generator=g, units={"x": [0]}), ValueError,
         "units"),
        ("sample_chains: unit 9 of 6", lambda m: sample_chains(m, 2, 5, generator=g, units={"v": [9]}), ValueError,
         "units['v']"),
        ("sample_chains: unit 0.5", lambda m: sample_chains(m, 2, 5, generator=g, units={"v": [0.5]}), TypeError,
         "units['v']"),
        ("sample_chains: betas not decreasing", lambda m: sample_chains(m, 2, 5, generator=g, betas=[1.0, 1.0]),
         ValueError, "betas"),
        ("sample_chains: replicas 'some'", lambda m: sample_chains(m, 2, 5, generator=g, betas=[1.0, 0.5],
                                                                   replicas="some"), ValueError, "replicas"),
        ("to_inference_data: an int", lambda m: to_inference_data(42), TypeError, "source"),
        ("to_inference_data: 5 draws in 2 chains", lambda m: to_inference_data({"z": torch.zeros(5, 2)}, n_chains=2),
         ValueError, "n_chains"),
    ]
    vae_rows = [
        ("mcmc_posterior: an SBN", lambda m: mcmc_posterior(SigmoidBeliefNet([6, 3], seed=0), _binary(2)),
         ValueError, "'h1'"),
        ("mcmc_posterior: num_samples 1", lambda m: mcmc_posterior(m, _binary(2), num_samples=1), ValueError,
         "num_samples"),
        ("mcmc_posterior: grey data", lambda m: mcmc_posterior(m, _binary(2) / 2), ValueError, "x"),
    ]
    return ([pytest.param(lambda: random_rbm(6, 4, seed=0, dtype=torch.float32), *r[1:], id=r[0]) for r in gibbs_rows]
            + [pytest.param(lambda: VAE(6, 5, 2, seed=0), *r[1:], id=r[0]) for r in vae_rows])


@pytest.mark.parametrize("build, call, error, match", _export_rows())
def test_bad_export_input_is_refused_cleanly(build, call, error, match):
    model = build()
    assert_refused(lambda: call(model), error, match, model)
