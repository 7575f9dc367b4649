"""Log Z of a tiny conv RBM: AIS (marginal path, h summed out by probabilistic max-pooling)
against exact enumeration, and the Gibbs chain's stationary law against the exact marginal."""

import pytest
import torch

from inference import ais_log_partition, exact_log_partition
from inference.mcmc import gibbs, make_generator
from inference.partition.path import annealing_form
from tests.models.test_conv_rbm import random_conv_rbm
from tests.oracles import all_binary_states, chi_square_gof, state_index


def test_ais_brackets_exact_log_z():
    """Exact log Z inside the ±3 se bracket of 100 chains; failure rate ≈ 0.27%."""
    model = random_conv_rbm(4, 2, 3, 2, seed=7, dtype=torch.float32)
    assert annealing_form(model) == "marginal" and model.graph.gibbs_blocks() == [["v"], ["h"]]
    exact = exact_log_partition(model).log_z
    est = ais_log_partition(model, n_chains=100, betas=torch.linspace(0, 1, 200), base="uniform", seed=1,
                            progress=False)
    assert est.lower <= exact <= est.upper, (est, exact)


@torch.no_grad()
def test_block_gibbs_samples_the_exact_visible_marginal():
    """2000 independent chains after 30 sweeps against p(v) ∝ e^{−F(v)} over the 512 images
    of 3×3 pixels: chi-square p-value above 1e-3 (failure rate 0.1% plus the tiny bias left
    after 30 sweeps)."""
    model = random_conv_rbm(3, 2, 2, 2, seed=8, scale=0.7, dtype=torch.float32)
    gen = make_generator(0)
    state = gibbs.run(model, gibbs.init(model, 2000, gen), 30, gen)
    h = state.values["h"].reshape(2000, 2, 4)
    assert bool((h.sum(-1) <= 1).all())
    V = all_binary_states(9)
    probs = torch.softmax(-model.double().free_energy(V), 0)
    counts = torch.bincount(state_index(state.values["v"].double()), minlength=512)
    _, _, p_value = chi_square_gof(counts.numpy(), probs.numpy())
    assert p_value > 1e-3, p_value
