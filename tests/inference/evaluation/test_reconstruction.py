"""Reconstruction error: one mean-field pass, checked by hand on RBMs, a Gaussian RBM and a
three-layer chain (no statistics: every value is deterministic)."""

import doctest
import math

import pytest
import torch

import inference.evaluation.reconstruction
from inference.evaluation import reconstruction_error
from inference.evaluation.reconstruction import mean_field_reconstruction
from models.energy import RBM, GaussianRBM
from tests.inference.evaluation.toy_models import Chain, OddKind, SpinRBM
from tests.oracles import random_rbm

pytestmark = pytest.mark.usefixtures("one_thread")


def test_reconstruction_error_by_hand():
    model = RBM(2, 1)
    with torch.no_grad():
        model.W.copy_(torch.tensor([[1.0], [-1.0]]))
        model.b.copy_(torch.tensor([0.0, 1.0]))
        model.c.copy_(torch.tensor([0.5]))
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # v = (1, 0): h = σ(0.5 + 1) ; r = (σ(0 + h), σ(1 - h))
    h = sig(1.5)
    err_10 = (1 - sig(h)) ** 2 + (0 - sig(1 - h)) ** 2
    # v = (0, 1): h = σ(0.5 - 1)
    h = sig(-0.5)
    err_01 = (0 - sig(h)) ** 2 + (1 - sig(1 - h)) ** 2
    data = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert reconstruction_error(model, data) == pytest.approx((err_10 + err_01) / 2, abs=1e-6)
    assert reconstruction_error(model, data[:1]) == pytest.approx(err_10, abs=1e-6)


def test_rbm_reconstruction_is_the_closed_form():
    model = random_rbm(7, 5, seed=3)
    v = torch.rand(11, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = torch.sigmoid(model.b + torch.sigmoid(model.c + v @ model.W) @ model.W.t())
    assert torch.allclose(mean_field_reconstruction(model, v), r, atol=1e-14, rtol=0)
    expected = (v - r).square().sum(1).mean().item()
    assert reconstruction_error(model, v) == pytest.approx(expected, rel=1e-12)


def test_gaussian_rbm_reconstruction_on_real_data():
    """r(v) = b̃ + σ̃ ⊙ W σ(c̃ + (v/σ̃)ᵀW), on the data's scale."""
    data = 3 * torch.randn(50, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 5
    model = GaussianRBM.from_data(data, 3, weight_std=0.5, seed=0).double()
    with torch.no_grad():
        model.b.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        model.log_sigma.copy_(torch.tensor([-0.1, 0.0, -0.3, -0.2]))
        sigma, mean_v, hid = model.sigma, model.visible_bias, model.hidden_bias
        h = torch.sigmoid(hid + (data / sigma) @ model.W)
        r = mean_v + sigma * (h @ model.W.t())
    expected = (data - r).square().sum(1).mean().item()
    assert reconstruction_error(model, data) == pytest.approx(expected, rel=1e-12)
    # with W = 0 the reconstruction is the data mean: the error is the total variance (ddof 0)
    flat = GaussianRBM.from_data(data, 3, weight_std=0.0).double()
    assert reconstruction_error(flat, data) == pytest.approx(data.var(0, unbiased=False).sum().item(), rel=1e-9)


def test_a_chain_visits_the_blocks_ending_with_the_visible_one():
    """v – h1 – h2, blocks [[v, h2], [h1]]: h1 given (v, h2 = 0), h2 given h1, v given h1."""
    model = Chain(4, 3, 2, seed=0)
    assert model.graph.gibbs_blocks() == [["v", "h2"], ["h1"]]
    v = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)
    with torch.no_grad():
        h1 = torch.sigmoid(model.b1 + v @ model.W1)
        r = torch.sigmoid(model.a + h1 @ model.W1.t())
    assert torch.allclose(mean_field_reconstruction(model, v), r, atol=1e-14, rtol=0)
    assert reconstruction_error(model, v) == pytest.approx((v - r).square().sum(1).mean().item(), rel=1e-12)


def test_spin_units_reconstruct_to_tanh():
    model = SpinRBM(3, 2, seed=4)
    s = torch.tensor([[1.0, -1.0, 1.0], [0.5, 0.0, -1.0]], dtype=torch.float64)  # mean-field values allowed
    with torch.no_grad():
        r = torch.tanh(model.b + torch.sigmoid(model.c + s @ model.W) @ model.W.t())
    assert reconstruction_error(model, s) == pytest.approx((s - r).square().sum(1).mean().item(), rel=1e-12)
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        reconstruction_error(model, torch.full((1, 3), 2.0))


def test_data_checks_follow_the_visible_kind():
    rbm = random_rbm(6, 4, seed=11, dtype=torch.float32)
    assert reconstruction_error(rbm, torch.full((3, 6), 0.25)) > 0  # grey levels
    with pytest.raises(ValueError, match=r"data must lie in \[0, 1\]"):
        reconstruction_error(rbm, torch.full((3, 6), 1.5))
    assert reconstruction_error(GaussianRBM(2, 1), torch.tensor([[40.0, -7.0]])) > 0
    with pytest.raises(ValueError, match="data contains NaN"):
        reconstruction_error(GaussianRBM(2, 1), torch.tensor([[math.nan, 0.0]]))
    with pytest.raises(ValueError, match="data has no rows"):
        reconstruction_error(rbm, torch.zeros(0, 6))
    with pytest.raises(TypeError, match="EnergyModel"):
        reconstruction_error(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="kind 'categorical'"):
        reconstruction_error(OddKind(), torch.zeros(1, 3))


def test_docstring_examples():
    result = doctest.testmod(inference.evaluation.reconstruction)
    assert result.attempted > 0 and result.failed == 0
