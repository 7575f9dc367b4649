"""Tests of inference.pictures: reconstructions against the models' own conditionals, and
the pictures drawn from models and samplers."""

import matplotlib
import pytest
import torch

from inference import plot_ais, plot_filters, plot_reconstructions, plot_swap_rates, reconstruct
from inference.evaluation.reconstruction import mean_field_reconstruction
from inference.mcmc import tempering
from models import DBN, VAE, SigmoidBeliefNet
from models.energy import DBM, RBM, ClassRBM, Hopfield
from tests.oracles import random_rbm

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


def _binary(n, width, seed=0):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def test_rbm_reconstruction_is_the_mean_field_pass():
    rbm = random_rbm(4, 3, seed=0, dtype=torch.float32)
    v = _binary(5, 4)
    expected = torch.sigmoid(rbm.b + torch.sigmoid(rbm.c + v @ rbm.W) @ rbm.W.t())
    torch.testing.assert_close(reconstruct(rbm, v), expected)


def test_directed_reconstructions_go_up_the_recognition_net_and_down_the_generative_one():
    x = _binary(3, 6)
    vae = VAE(6, 5, 2, seed=0)
    torch.testing.assert_close(reconstruct(vae, x), vae.decode(vae.encode(x)[0]))
    sbn = SigmoidBeliefNet([6, 3, 2], seed=0)
    h1 = torch.sigmoid(sbn.recognition.layers[0](x))
    h2 = torch.sigmoid(sbn.recognition.layers[1](h1))
    down = torch.sigmoid(sbn.generative.layers[0](torch.sigmoid(sbn.generative.layers[1](h2))))
    torch.testing.assert_close(reconstruct(sbn, x), down)
    dbn = DBN([6, 4, 3], seed=0)
    h = torch.sigmoid(dbn.recognition[0](x))
    torch.testing.assert_close(reconstruct(dbn, x), torch.sigmoid(dbn.generative[0](h)))


def test_plot_reconstructions_draws_the_pixels_of_a_labelled_model(tmp_path):
    model = ClassRBM(4, 3, 2, seed=0)
    x = torch.cat([_binary(3, 4), torch.eye(2)[[0, 1, 0]]], 1)
    fig = plot_reconstructions(model, x, path=tmp_path / "r.png")
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (2 * 3 + 1, 3 * 3 + 1)  # 2x2 pixels, no label columns
    r = mean_field_reconstruction(model, x)[:, :4]
    assert torch.allclose(torch.as_tensor(canvas[4:6, 1:3].filled(0)), r[0].reshape(2, 2).double(), atol=1e-6)
    assert "squared error" in fig.axes[0].get_title()
    assert (tmp_path / "r.png").read_bytes()[:8] == PNG


def test_plot_filters_of_a_dbm_shows_its_first_layer():
    dbm = DBM([9, 4, 2], seed=0)
    fig = plot_filters(dbm)
    assert len(fig.axes) == 2 and "4 units" in fig.axes[0].get_title()
    lo, hi = fig.axes[0].get_images()[0].get_clim()
    assert hi == pytest.approx(float(dbm.weights[0].detach().abs().max()))
    with pytest.raises(TypeError, match="model must have weights"):
        plot_filters(Hopfield(9))


def test_plot_ais_returns_the_trace_it_draws(tmp_path):
    rbm = RBM(4, 3, seed=0)
    fig, tr = plot_ais(rbm, n_chains=10, betas=torch.linspace(0, 1, 21), base="uniform", checkpoints=5,
                       path=tmp_path / "a.png")
    assert len(fig.axes) == 2 and tr.log_w.shape == (5, 10)
    assert f"{tr.estimate.log_z:.3f}" in fig._suptitle.get_text()
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_plot_swap_rates_reads_the_ladder_and_the_counts():
    rbm = random_rbm(4, 3, seed=0, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    state = tempering.run(rbm, tempering.init(rbm, 5, tempering.ladder(3, 0.5), gen), 10, gen)
    fig = plot_swap_rates(state)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == pytest.approx((state.accepted / state.proposed).tolist())
    with pytest.raises(TypeError, match="state"):
        plot_swap_rates(state._asdict())
