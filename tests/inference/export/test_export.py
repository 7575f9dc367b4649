"""ArviZ export: Gibbs and tempering chains of energy models, Pyro MCMC runs, guide samples.

Tolerances: R-hat of well-mixed chains below 1.05 and of chains stuck in two modes above
1.1; the ESS of N exactly independent draws is ≈ N with a sampling standard deviation of
about 0.06 N at N = 2000 (measured over 300 replicas of 4 × 500 iid draws:
mean 1968-1981, sd 108-121), tested within 4 sd (failure rate below 1e-4 each).
"""

from __future__ import annotations

import math

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.infer import MCMC, NUTS

from inference import ChainRecord, guide_samples, make_generator, sample_chains, tempering, to_inference_data
from inference.export import import_arviz
from models.energy import RBM
from tests.oracles import random_rbm

az = import_arviz()


def _two_mode_rbm(weight=3.0):
    """A 4 × 4 RBM with W = weight and biases −2·weight: E(all 0) = E(all 1) = 0, every
    other state at least weight higher: single units flicker, but a Gibbs chain keeps its mode
    (in 500 sweeps no chain of 4 was seen to leave it)."""
    rbm = RBM(4, 4, seed=0)
    with torch.no_grad():
        rbm.W.fill_(weight)
        rbm.b.fill_(-2 * weight)
        rbm.c.fill_(-2 * weight)
    return rbm


def test_gibbs_chains_have_dims_coords_and_shapes(one_thread):
    rbm = random_rbm(6, 4, seed=0, scale=0.5, dtype=torch.float32)
    record = sample_chains(rbm, 3, 40, generator=make_generator(0), burn_in=5, thin=2, units={"v": [0, 2], "h": [1]})
    assert isinstance(record, ChainRecord) and record.sampler == "gibbs"
    idata = to_inference_data(record)
    post = idata.posterior
    assert dict(post.sizes) == {"chain": 3, "draw": 40, "v_unit": 2, "h_unit": 1}
    assert post["energy"].dims == ("chain", "draw") and post["free_energy"].dims == ("chain", "draw")
    assert post["v"].dims == ("chain", "draw", "v_unit")
    assert post["v_unit"].values.tolist() == [0, 2] and post["beta"].values.tolist() == [1.0] * 3
    v, h = post["v"].values, post["h"].values
    assert set(np.unique(v)) <= {0.0, 1.0} and set(np.unique(h)) <= {0.0, 1.0}
    # the recorded energies are the energies of the recorded states: check F(v) ≤ E(v, h) on every draw
    assert (post["free_energy"].values <= post["energy"].values + 1e-5).all()
    summary = az.summary(idata, var_names=["energy", "free_energy"])
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(summary.columns) and "free_energy" in summary.index


def test_tempering_chains_carry_their_beta(one_thread):
    rbm = random_rbm(5, 3, seed=1, dtype=torch.float32)
    betas = tempering.ladder(3, 0.25)
    record = sample_chains(rbm, 2, 30, generator=make_generator(0), betas=betas, replicas="all")
    post = to_inference_data(record).posterior
    assert post.sizes["chain"] == 6 and record.sampler == "tempering"
    assert np.allclose(post["beta"].values, betas.repeat_interleave(2).numpy())
    assert record.swap_rates.shape == (2,) and ((record.swap_rates >= 0) & (record.swap_rates <= 1)).all()
    target = post.where(post.beta == 1, drop=True)
    assert target.sizes["chain"] == 2
    only = sample_chains(rbm, 2, 30, generator=make_generator(0), betas=betas)
    assert to_inference_data(only).posterior["beta"].values.tolist() == [1.0, 1.0]


def test_rhat_is_one_on_mixed_chains_and_large_on_stuck_ones(one_thread):
    mixed = sample_chains(random_rbm(6, 4, seed=0, scale=0.5, dtype=torch.float32), 4, 400,
                          generator=make_generator(1), burn_in=20)
    rhat = az.rhat(to_inference_data(mixed))
    assert float(rhat["energy"]) < 1.05 and float(rhat["v"].max()) < 1.05
    rbm = _two_mode_rbm()
    start = torch.tensor([0.0, 1.0, 0.0, 1.0])[:, None].expand(4, 4).clone()
    stuck = sample_chains(rbm, 4, 500, generator=make_generator(1), values={"v": start, "h": start})
    with np.errstate(invalid="ignore", divide="ignore"):  # a unit may never flip in one half-chain
        rhat = az.rhat(to_inference_data(stuck))
    assert float(rhat["v"].min()) > 1.1
    assert float(rhat["energy"]) < 1.1  # both modes have E = 0: energy cannot tell


def test_ess_of_independent_gibbs_draws_is_the_number_of_draws(one_thread):
    """With W = 0, one sweep draws v and h afresh from their (independent) marginals, so the
    4 × 500 recorded states are exactly independent."""
    rbm = random_rbm(5, 3, seed=2, dtype=torch.float32)
    with torch.no_grad():
        rbm.W.zero_()
    record = sample_chains(rbm, 4, 500, generator=make_generator(3))
    ess = az.ess(to_inference_data(record))
    n, sd = 2000, 130.0
    for name in ("energy", "free_energy"):
        assert abs(float(ess[name]) - n) < 4 * sd, (name, float(ess[name]))


def test_pyro_mcmc_of_a_user_program_converts_with_the_right_posterior(one_thread):
    """μ ~ N(0, 1), y_i ~ N(μ, 1): the posterior is N(Σy / (n + 1), 1 / (n + 1))."""
    y = torch.randn(10, generator=torch.Generator().manual_seed(0)) + 1.5

    def program(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
        with pyro.plate("obs", y.shape[0]):
            pyro.sample("y", dist.Normal(mu, 1.0), obs=y)

    mcmc = MCMC(NUTS(program), num_samples=200, warmup_steps=80, disable_progbar=True)
    mcmc.run(y)
    idata = to_inference_data(mcmc)
    post = idata.posterior
    assert dict(post["mu"].sizes) == {"chain": 1, "draw": 200}
    assert "diverging" in idata.sample_stats
    exact_mean, exact_sd = float(y.sum()) / 11, 1 / math.sqrt(11)
    ess = float(az.ess(idata)["mu"])
    assert abs(float(post["mu"].mean()) - exact_mean) < 4 * exact_sd / math.sqrt(ess)
    assert abs(float(post["mu"].std()) / exact_sd - 1) < 4 / math.sqrt(2 * ess) + 0.05


def test_guide_samples_convert_as_chains_of_draws():
    x = torch.zeros(3, 2)

    def guide(x):
        with pyro.plate("data", x.shape[0]):
            pyro.sample("z", dist.Normal(torch.tensor([0.0, 5.0, -5.0]), 1.0))

    samples = guide_samples(guide, x, num_samples=400)
    assert samples["z"].shape == (400, 3)
    idata = to_inference_data(samples, n_chains=4)
    z = idata.posterior["z"]
    assert dict(z.sizes) == {"chain": 4, "draw": 100, "z_dim_0": 3}
    # draw s of the S draws sits at chain s // 100, draw s % 100
    assert np.array_equal(z.values.reshape(400, 3), samples["z"].numpy())
    assert np.all(np.abs(z.mean(("chain", "draw")).values - [0.0, 5.0, -5.0]) < 4 / math.sqrt(400))
    assert "guide" in to_inference_data(samples, group="guide").groups()


def test_trace_plot_draws_the_chains(one_thread):
    import matplotlib.pyplot as plt

    record = sample_chains(random_rbm(4, 3, seed=0, dtype=torch.float32), 2, 50, generator=make_generator(0),
                           units={"v": [0, 1]})
    axes = az.plot_trace(to_inference_data(record), var_names=["energy", "free_energy"])
    assert axes.shape == (2, 2) and axes[0, 1].lines
    plt.close("all")


def test_plot_chain_trace_returns_a_figure_and_saves_it(tmp_path, one_thread):
    import matplotlib.pyplot as plt

    from inference.export import plot_chain_trace

    record = sample_chains(random_rbm(4, 3, seed=0, dtype=torch.float32), 2, 50, generator=make_generator(0))
    fig = plot_chain_trace(record, path=tmp_path / "trace.png")
    assert (tmp_path / "trace.png").stat().st_size > 0 and "gibbs" in fig._suptitle.get_text()
    plt.close("all")


def test_chains_of_a_classification_rbm_record_the_free_energy_of_pixels_and_label(one_thread):
    """A model whose data rows are several groups side by side (pixels and a one-hot label):
    the recorded free energy is F of the joined row, as for any energy model."""
    from models import ClassRBM

    crbm = ClassRBM(6, 4, 3, weight_std=0.5, seed=0)
    record = sample_chains(crbm, 2, 5, generator=make_generator(0), units={"y": [0, 1, 2]})
    f, e = record.variables["free_energy"], record.variables["energy"]
    assert f.shape == (2, 5) and bool(torch.isfinite(f).all()) and bool((f <= e + 1e-5).all())
    assert bool((record.variables["y"].sum(-1) == 1).all())
