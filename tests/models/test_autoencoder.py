"""The autoencoder models: the loss is −log P(x | h) of the Pyro program, the penalties
against autograd and finite differences, the corruption processes, the stack."""

import math

import pyro
import pyro.poutine as poutine
import pytest
import torch

from models import Autoencoder, StackedAutoencoder
from models.autoencoders import Corruption

pytestmark = pytest.mark.usefixtures("one_thread")


def _x(n=5, d=6, seed=0):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("kw", [{}, {"tied": True}, {"activation": "relu"},
                                {"likelihood": "gaussian"}, {"likelihood": "gaussian", "sigma": 0.3},
                                {"noise": "masking", "noise_level": 0.3}, {"noise": "salt_pepper", "noise_level": 0.2},
                                {"noise": "gaussian", "noise_level": 0.1}])
def test_the_loss_is_minus_log_p_of_the_pyro_program(kw):
    model = Autoencoder(6, 3, seed=0, **kw).double()
    with torch.no_grad():
        model.c.normal_(generator=torch.Generator().manual_seed(1))
    x = _x() if model.likelihood == "bernoulli" else _x() * 4 - 2
    trace = poutine.trace(model.model).get_trace(x)
    trace.compute_log_prob()
    h = trace.nodes["h"]["value"]
    expected = trace.nodes["v"]["log_prob"]
    torch.testing.assert_close(model.log_prob(x, h), expected)
    if model.corruption is None:
        torch.testing.assert_close(h, model.encode(x))
    else:  # the program's h is the code of its own corrupted input
        torch.testing.assert_close(h, model.encode(trace.nodes["x_tilde"]["value"]))


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_closed_form_contraction_is_the_jacobian_s_norm(activation):
    model = Autoencoder(7, 4, activation=activation, seed=3).double()
    with torch.no_grad():
        model.b.normal_(generator=torch.Generator().manual_seed(2))
    x = _x(6, 7) * 2 - 0.5
    jac = torch.func.vmap(torch.func.jacrev(lambda v: model.encode(v[None])[0]))(x)  # (n, hidden, visible)
    torch.testing.assert_close(model.contraction_norm(x), jac.square().sum((1, 2)))


def test_the_sparsity_penalty_and_its_gradient():
    model = Autoencoder(4, 3, sparsity=0.1, sparsity_weight=2.0, seed=0).double()
    rho_hat = torch.tensor([0.05, 0.3, 0.7], dtype=torch.float64, requires_grad=True)
    rho = 0.1
    expected = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r)) for r in (0.05, 0.3, 0.7))
    assert model.sparsity_penalty(rho_hat).item() == pytest.approx(expected, rel=1e-12)
    assert torch.autograd.gradcheck(model.sparsity_penalty, (rho_hat,))
    x = _x(8, 4)
    with torch.no_grad():
        h = model.encode(x)
        assert float(model.penalty(x, h)) == pytest.approx(2.0 * float(model.sparsity_penalty(h.mean(0))))
    assert torch.autograd.gradcheck(lambda w: Autoencoder(4, 3, sparsity=0.1, sparsity_weight=2.0, seed=0).double()
                                    .sparsity_penalty(torch.sigmoid(x @ w).mean(0)),
                                    (torch.randn(4, 3, dtype=torch.float64, requires_grad=True),))


def test_l1_and_contraction_enter_the_penalty():
    model = Autoencoder(5, 3, l1=0.5, contraction=0.2, seed=0).double()
    x = _x(4, 5)
    h = model.encode(x)
    expected = 0.5 * h.abs().sum(-1).mean() + 0.2 * model.contraction_norm(x).mean()
    torch.testing.assert_close(model.penalty(x, h), expected)


@pytest.mark.parametrize("kind, level", [("masking", 0.3), ("salt_pepper", 0.4)])
def test_corruption_rates(kind, level):
    x = torch.ones(200, 50) * 0.5
    xt = Corruption.make(kind, level).sample(x, torch.Generator().manual_seed(0))
    changed = (xt != x).double().mean().item()
    se = math.sqrt(level * (1 - level) / x.numel())
    assert abs(changed - level) < 5 * se
    if kind == "salt_pepper":
        ones = (xt == 1).double().sum() / (xt != x).double().sum()
        assert abs(float(ones) - 0.5) < 5 * math.sqrt(0.25 / float((xt != x).sum()))


def test_gaussian_corruption_is_additive():
    x = torch.zeros(400, 50)
    xt = Corruption.make("gaussian", 0.3).sample(x, torch.Generator().manual_seed(0))
    assert abs(float(xt.std()) - 0.3) < 5 * 0.3 / math.sqrt(2 * x.numel())


@pytest.mark.parametrize("kw, error, match", [
    ({"noise": "masking", "noise_level": 1.0}, ValueError, "noise_level"),
    ({"noise": "blur", "noise_level": 0.1}, ValueError, "noise"),
    ({"noise_level": 0.1}, ValueError, "needs a noise kind"),
    ({"noise": "gaussian", "noise_level": -0.1}, ValueError, "noise_level"),
    ({"sparsity": 1.0, "sparsity_weight": 1.0}, ValueError, "sparsity"),
    ({"sparsity": 0.1, "activation": "relu", "sparsity_weight": 1.0}, ValueError, "l1 penalty"),
    ({"sparsity_weight": 1.0}, ValueError, "needs a target"),
    ({"contraction": -1.0}, ValueError, "contraction"),
    ({"sigma": 0.5}, ValueError, "Gaussian likelihood"),
    ({"activation": "tanh"}, ValueError, "activation"),
    ({"tied": 1}, TypeError, "tied"),
])
def test_bad_hyperparameters_are_refused(kw, error, match):
    with pytest.raises(error, match=match):
        Autoencoder(6, 3, **kw)


def test_bad_data_is_refused():
    model = Autoencoder(6, 3)
    with pytest.raises(ValueError, match="6 columns"):
        model.reconstruct(torch.rand(2, 5))
    with pytest.raises(ValueError, match="NaN"):
        model.reconstruct(torch.full((2, 6), float("nan")))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.reconstruct(torch.full((2, 6), 2.0))


def test_the_stack_encodes_up_and_decodes_down():
    stack = StackedAutoencoder([6, 4, 3], seed=0, tied=True).double()
    x = _x(5, 6)
    codes = stack.codes(x)
    torch.testing.assert_close(codes[1], stack.layers[1].encode(stack.layers[0].encode(x)))
    r = stack.decode(codes[-1])
    torch.testing.assert_close(r, stack.layers[0].decode(stack.layers[1].decode(codes[-1])))
    trace = poutine.trace(stack.model).get_trace(x)
    trace.compute_log_prob()
    torch.testing.assert_close(stack.log_prob(x, codes[-1]), trace.nodes["v"]["log_prob"])
    assert stack.graph.parents("v") == {"r1"} and stack.graph.parents("h2") == {"h1"}
    assert stack.config() == {"sizes": [6, 4, 3], "likelihood": "bernoulli", "seed": 0, "tied": True}
    with pytest.raises(TypeError, match="n_hidden is set per layer"):
        StackedAutoencoder([6, 4], n_hidden=3)
