"""The denoising autoencoder's Markov chain against its exact stationary distribution."""

import itertools

import pytest
import torch
from scipy import stats

from inference.autoencoders import dae_chain
from models import Autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")
ALPHA = 1e-4  # failure rate of the χ² test


def _tiny(p=0.3, seed=0):
    model = Autoencoder(2, 2, noise="masking", noise_level=p, seed=seed).double()
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        for t in (model.W, model.b, model.W_dec, model.c):
            t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float64) * 2)
    return model


def _transition(model, p):
    """T[x, x'] = Σ_m C(m) P(x' | f(x ⊙ m)) over the 4 states and 4 keep-masks, by hand."""
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)), dtype=torch.float64)
    T = torch.zeros(4, 4, dtype=torch.float64)
    for i, x in enumerate(states):
        for keep in states:
            c = torch.prod(torch.where(keep > 0, 1 - p, p))
            probs = torch.sigmoid(model.decoder_output(model.encode((x * keep)[None])))[0]
            for j, xn in enumerate(states):
                T[i, j] += c * torch.prod(torch.where(xn > 0, probs, 1 - probs))
    return states, T


def test_the_chain_samples_its_exact_stationary_distribution():
    p = 0.3
    model = _tiny(p)
    with torch.no_grad():
        states, T = _transition(model, p)
    torch.testing.assert_close(T.sum(1), torch.ones(4, dtype=torch.float64))
    evals, evecs = torch.linalg.eig(T.t())
    pi = evecs[:, evals.real.argmax()].real
    pi = pi / pi.sum()
    gen = torch.Generator().manual_seed(0)
    n = 20000
    state = dae_chain.run(model, dae_chain.init(model, n, gen), 30, gen)
    index = (state.x[:, 0] * 2 + state.x[:, 1]).long()
    counts = torch.bincount(index, minlength=4).double()
    chi2, pvalue = stats.chisquare(counts.numpy(), (pi * n).numpy())
    assert pvalue > ALPHA, (counts / n, pi)
    assert state.steps == 30 and state.mean.shape == (n, 2)


def test_clamped_units_keep_their_values_and_the_others_move():
    model = Autoencoder(6, 4, noise="masking", noise_level=0.5, seed=0)
    gen = torch.Generator().manual_seed(0)
    values = torch.zeros(3, 6)
    values[:, :3] = 1.0
    observed = torch.zeros(3, 6, dtype=torch.bool)
    observed[:, :3] = True
    state = dae_chain.init(model, 3, gen, observed=observed, values=values)
    state, frames = dae_chain.run(model, state, 20, gen, observed=observed, values=values, record_every=5)
    assert torch.equal(state.x[:, :3], values[:, :3]) and frames.shape == (4, 3, 6)
    assert torch.equal(frames[:, :, :3], values[:, :3].expand(4, 3, 3))


def test_a_chain_needs_a_corruption_and_checked_clamps():
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="needs a corruption"):
        dae_chain.init(Autoencoder(6, 3), 2, gen)
    model = Autoencoder(6, 3, noise="gaussian", noise_level=0.1)
    with pytest.raises(ValueError, match="observed and values go together"):
        dae_chain.init(model, 2, gen, observed=torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="observed must be a bool tensor of shape"):
        dae_chain.init(model, 2, gen, observed=torch.ones(2, 5, dtype=torch.bool), values=torch.zeros(2, 6))
    with pytest.raises(ValueError, match="x0 must have n=2 rows"):
        dae_chain.init(model, 2, gen, x0=torch.zeros(3, 6))
    with pytest.raises(TypeError, match="models.Autoencoder"):
        dae_chain.init(torch.nn.Linear(2, 2), 2, gen)


def test_recorded_chains_convert_for_arviz():
    az = pytest.importorskip("arviz")
    from inference import to_inference_data

    model = _tiny()
    record = dae_chain.record(model, 3, 40, torch.Generator().manual_seed(0), burn_in=5, thin=2,
                              classify=lambda x: x[:, 0].long(), n_classes=2, units=2)
    assert record.variables["recon_error"].shape == (3, 40) and record.sampler == "dae"
    assert torch.equal(record.variables["class"].sum(-1), torch.ones(3, 40, dtype=torch.float64))
    torch.testing.assert_close(record.variables["class"][..., 1], record.variables["v"][..., 0])
    idata = to_inference_data(record)
    assert set(idata.posterior.data_vars) == {"recon_error", "class", "v"}
    assert float(az.rhat(idata, var_names=["recon_error"])["recon_error"]) < 1.2  # a 4-state chain mixes fast
    with pytest.raises(ValueError, match="classes outside"):
        dae_chain.record(model, 2, 3, torch.Generator(), classify=lambda x: torch.full((2,), 5), n_classes=2)
