"""Gaussian RBM against brute force: enumeration over h, numerical integration over v.

Tiny models (2 visible × 3 hidden, 1 × 2) with every tensor random, including the
standardisation buffers (``random_gaussian_rbm``), so that errors in the effective
parameters or the Jacobian of the standardisation show. Oracles are float64: the hand
formula of the energy, sums over all hidden states, and the trapezoid rule over a grid of
v (``quadrature_log_integrals``, from ``energy`` alone).
"""

import json
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

import pgm
from models import GaussianRBM as ExportedGaussianRBM
from models.energy import EnergyModel, GaussianRBM
from tests.oracles import all_binary_states, quadrature_log_integrals, random_gaussian_rbm

ATOL = 1e-10
F64 = torch.float64


@pytest.fixture(params=[(2, 3), (1, 2)], ids=["2x3", "1x2"])
def grbm(request):
    n_v, n_h = request.param
    return random_gaussian_rbm(n_v, n_h, seed=10 * n_v + n_h)


def _points(model, n=9, seed=0):
    return torch.randn(n, model.n_visible, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2


def _effective(model):
    """(W, b̃, c̃, σ̃) of the energy in v, from the learned tensors and the buffers, by hand."""
    W, b, c = (t.detach().numpy() for t in (model.W, model.b, model.c))
    shift, scale = model.shift.numpy(), model.scale.numpy()
    sigma = scale * np.exp(model.log_sigma.detach().numpy())
    return W, shift + scale * b, c - (shift / sigma) @ W, sigma


def _hand_energy(model, v, h):
    W, b, c, sigma = _effective(model)
    v, h = v.numpy(), h.numpy()
    e = np.zeros(len(v))
    for s in range(len(v)):
        for i in range(len(b)):
            e[s] += (v[s, i] - b[i]) ** 2 / (2 * sigma[i] ** 2)
            for j in range(len(c)):
                e[s] -= v[s, i] / sigma[i] * W[i, j] * h[s, j]
        e[s] -= c @ h[s]
    return e


# -- energy and conditionals ------------------------------------------------------------------
def test_energy_matches_the_formula_with_effective_parameters(grbm):
    H = all_binary_states(grbm.n_hidden)
    v = _points(grbm, len(H))
    got = grbm.energy({"v": v, "h": H})
    assert got.shape == (len(H),)
    np.testing.assert_allclose(got.detach().numpy(), _hand_energy(grbm, v, H), rtol=0, atol=ATOL)
    W, b, c, sigma = _effective(grbm)
    np.testing.assert_allclose(grbm.visible_bias.detach().numpy(), b, atol=ATOL)
    np.testing.assert_allclose(grbm.hidden_bias.detach().numpy(), c, atol=ATOL)
    np.testing.assert_allclose(grbm.sigma.detach().numpy(), sigma, atol=ATOL)


def test_without_standardisation_the_parameters_are_those_of_the_formula():
    model = random_gaussian_rbm(2, 3, seed=5, standardized=False)
    assert torch.equal(model.shift, torch.zeros(2, dtype=F64)) and torch.equal(model.scale, torch.ones(2, dtype=F64))
    v, h = _points(model, 8), all_binary_states(3)
    sigma = model.log_sigma.exp()
    want = ((v - model.b) ** 2 / (2 * sigma**2)).sum(1) - h @ model.c - ((v / sigma) @ model.W * h).sum(1)
    torch.testing.assert_close(model.energy({"v": v, "h": h}), want, rtol=0, atol=ATOL)


@pytest.mark.parametrize("beta", [1.0, 0.37, 0.0])
def test_conditional_h_is_the_normalised_sum_over_hidden_states(grbm, beta):
    """p_β(h | v) ∝ exp(−β E(v, h)) over all 2^n_h states, and it factorises."""
    H = all_binary_states(grbm.n_hidden)
    v = _points(grbm, 4, seed=1)
    dist = grbm.conditional("h", {"v": v}, beta=beta)
    for k in range(len(v)):
        log_w = -beta * grbm.energy({"v": v[k:k + 1].expand(len(H), -1), "h": H}).detach()
        p = torch.softmax(log_w, 0)
        torch.testing.assert_close(dist.probs[k], p @ H, rtol=0, atol=ATOL)
        joint = grbm.conditional("h", {"v": v[k:k + 1].expand(len(H), -1)}, beta=beta).log_prob(H).sum(-1).exp()
        torch.testing.assert_close(joint, p, rtol=0, atol=ATOL)


@pytest.mark.parametrize("beta", [1.0, 0.37])
def test_conditional_v_is_the_normal_of_the_energy(grbm, beta):
    """Normal(b̃ + σ̃ ⊙ W h, σ̃/√β): log-density ratios are −β energy differences, and it is
    normalised exactly by the integral over v (quadrature)."""
    H = all_binary_states(grbm.n_hidden)
    dist = grbm.conditional("v", {"h": H}, beta=beta)
    assert isinstance(dist, Normal) and dist.batch_shape == (len(H), grbm.n_visible)
    W, b, c, sigma = _effective(grbm)
    np.testing.assert_allclose(dist.loc.detach().numpy(), b + sigma * (H.numpy() @ W.T), atol=ATOL)
    np.testing.assert_allclose(dist.scale.detach().numpy(), np.broadcast_to(sigma / math.sqrt(beta), (len(H), len(b))),
                               atol=ATOL)
    torch.testing.assert_close(grbm.visible_mean(H), dist.loc)
    x, y = _points(grbm, len(H), seed=2), _points(grbm, len(H), seed=3)
    lhs = (dist.log_prob(x) - dist.log_prob(y)).sum(-1)
    rhs = -beta * (grbm.energy({"v": x, "h": H}) - grbm.energy({"v": y, "h": H}))
    torch.testing.assert_close(lhs.detach(), rhs.detach(), rtol=0, atol=1e-9)
    # log p_β(x | h) = −β E(x, h) − log ∫ exp(−β E(v, h)) dv
    log_norm = quadrature_log_integrals(grbm, beta)
    lp = dist.log_prob(x).sum(-1).detach()
    torch.testing.assert_close(lp, -beta * grbm.energy({"v": x, "h": H}).detach() - log_norm, rtol=0, atol=1e-9)


def test_conditionals_at_beta_zero_are_uniform_and_flat(grbm):
    H = all_binary_states(grbm.n_hidden)
    assert torch.all(grbm.conditional("h", {"v": _points(grbm)}, beta=0.0).probs == 0.5)
    dist = grbm.conditional("v", {"h": H}, beta=0.0)
    assert torch.isinf(dist.scale).all()  # improper: only used together with a base distribution
    torch.testing.assert_close(dist.loc, grbm.visible_mean(H))


# -- free energies and log Z ------------------------------------------------------------------
@pytest.mark.parametrize("beta", [1.0, 0.37, 0.0])
def test_free_energy_is_minus_log_sum_over_hidden(grbm, beta):
    H = all_binary_states(grbm.n_hidden)
    v = _points(grbm, 6, seed=4)
    state = {"v": v.repeat_interleave(len(H), 0), "h": H.repeat(len(v), 1)}
    log_w = (-beta * grbm.energy(state)).reshape(len(v), len(H)).detach()
    torch.testing.assert_close(grbm.free_energy(v, beta=beta).detach(), -torch.logsumexp(log_w, 1),
                               rtol=0, atol=ATOL)
    torch.testing.assert_close(grbm.free_energy_given({"v": v}, beta).detach(), -torch.logsumexp(log_w, 1),
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("beta", [1.0, 0.37])
def test_free_energy_hidden_is_minus_log_integral_over_v(grbm, beta):
    H = all_binary_states(grbm.n_hidden)
    want = -quadrature_log_integrals(grbm, beta)
    torch.testing.assert_close(grbm.free_energy_hidden(H, beta=beta).detach(), want, rtol=0, atol=1e-9)
    torch.testing.assert_close(grbm.free_energy_given({"h": H}, beta).detach(), want, rtol=0, atol=1e-9)
    # the Σ log(σ̃ √(2π/β)) term, by hand for h = 0: F(0) = −Σ log(σ̃_i √(2π/β))
    sigma = _effective(grbm)[3]
    assert grbm.free_energy_hidden(H[:1], beta=beta).item() == pytest.approx(
        -np.log(sigma * np.sqrt(2 * np.pi / beta)).sum(), abs=ATOL)


def test_exact_log_z_by_enumerating_h_matches_integration_of_the_joint():
    """log Σ_h exp(−F(h)) = log ∫ Σ_h exp(−E(v, h)) dv (2-D trapezoid rule), and
    ∫ exp(−F(v)) dv gives the same Z (densities on the scale of v: the buffers move it)."""
    model = random_gaussian_rbm(2, 3, seed=7)
    H = all_binary_states(3)
    log_z = torch.logsumexp(-model.free_energy_hidden(H).detach(), 0)
    assert log_z.item() == pytest.approx(torch.logsumexp(quadrature_log_integrals(model), 0).item(), abs=1e-9)
    from inference.partition import exact_log_partition

    assert exact_log_partition(model).log_z == pytest.approx(log_z.item(), abs=1e-12)
    # ∫ exp(−F(v)) dv on a grid
    means, sd = model.visible_mean(H).detach(), model.sigma.detach()
    axes = [torch.linspace(float(means[:, i].min() - 10 * sd[i]), float(means[:, i].max() + 10 * sd[i]), 201,
                           dtype=F64) for i in range(2)]
    g0, g1 = torch.meshgrid(*axes, indexing="ij")
    neg_f = -model.free_energy(torch.stack([g0.reshape(-1), g1.reshape(-1)], 1)).detach().reshape(201, 201)
    top = neg_f.max()
    integral = torch.trapezoid(torch.trapezoid((neg_f - top).exp(), axes[1], dim=1), axes[0])
    assert (top + integral.log()).item() == pytest.approx(log_z.item(), abs=1e-9)
    # changing the units of v by a factor k (shift and scale with it) moves log Z by n log k
    k = 3.0
    scaled = random_gaussian_rbm(2, 3, seed=7)
    with torch.no_grad():
        scaled.shift.mul_(k)
        scaled.scale.mul_(k)
    assert torch.logsumexp(-scaled.free_energy_hidden(H).detach(), 0).item() == pytest.approx(
        log_z.item() + 2 * math.log(k), abs=1e-9)
    torch.testing.assert_close(scaled.free_energy(k * _points(model)), model.free_energy(_points(model)))


def test_free_energy_hidden_refuses_beta_zero(grbm):
    H = all_binary_states(grbm.n_hidden)
    with pytest.raises(ValueError, match="beta must be > 0"):
        grbm.free_energy_hidden(H, beta=0.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        grbm.free_energy_hidden(H, beta=torch.linspace(0, 1, len(H), dtype=F64))


def test_per_chain_beta_tensor_matches_scalar_beta(grbm):
    H = all_binary_states(grbm.n_hidden)
    betas = torch.tensor([0.0, 0.2, 0.5, 0.8, 1.0], dtype=F64)
    v = _points(grbm, 5, seed=6)
    h = H[torch.arange(5) % len(H)]
    probs = grbm.conditional("h", {"v": v}, beta=betas).probs
    cond_v = grbm.conditional("v", {"h": h}, beta=betas)
    fe = grbm.free_energy(v, beta=betas)
    feh = grbm.free_energy_hidden(h[1:], beta=betas[1:])
    for k, bk in enumerate(betas.tolist()):
        torch.testing.assert_close(probs[k], grbm.conditional("h", {"v": v[k:k + 1]}, beta=bk).probs[0])
        one = grbm.conditional("v", {"h": h[k:k + 1]}, beta=bk)
        torch.testing.assert_close(cond_v.loc[k], one.loc[0])
        torch.testing.assert_close(cond_v.scale[k], one.scale[0])
        torch.testing.assert_close(fe[k], grbm.free_energy(v[k:k + 1], beta=bk)[0])
        if k:
            torch.testing.assert_close(feh[k - 1], grbm.free_energy_hidden(h[k:k + 1], beta=bk)[0])
    torch.testing.assert_close(grbm.free_energy(v, beta=torch.tensor(0.3)), grbm.free_energy(v, beta=0.3))
    torch.testing.assert_close(grbm.free_energy_hidden(H, beta=torch.tensor([0.3])), grbm.free_energy_hidden(H, 0.3))


def test_marginal_sets_and_free_energy_given():
    model = random_gaussian_rbm(2, 3, seed=2)
    assert model.marginal_sets() == [("v",), ("h",), ("v", "h")]
    v, h = _points(model, 8), all_binary_states(3)
    torch.testing.assert_close(model.free_energy_given({"v": v, "h": h}, 0.5), 0.5 * model.energy({"v": v, "h": h}))
    with pytest.raises(ValueError, match="must hold one of the sets"):
        model.free_energy_given({"x": v})


def test_free_energy_gradient():
    """∂F(v)/∂W = −(z/σ)ᵀ σ(logits), ∂F/∂c = −σ(logits), ∂F/∂b = −(z − b)/σ² (standardised units)."""
    model = random_gaussian_rbm(2, 3, seed=4)
    v = _points(model, 5)
    model.free_energy(v).sum().backward()
    sigma = model.log_sigma.exp().detach()
    z = (v - model.shift) / model.scale
    p = torch.sigmoid(model.hidden_logits(v)).detach()
    torch.testing.assert_close(model.W.grad, -(z / sigma).t() @ p)
    torch.testing.assert_close(model.c.grad, -p.sum(0))
    torch.testing.assert_close(model.b.grad, -((z - model.b.detach()) / sigma**2).sum(0))


# -- construction, the guard, conversions ---------------------------------------------------------
def test_graph_and_exports():
    model = GaussianRBM(4, 3, seed=0)
    assert ExportedGaussianRBM is GaussianRBM and isinstance(model, EnergyModel)
    assert model.graph == pgm.Graph([pgm.VariableGroup("v", 4, "gaussian", observed=True),
                                     pgm.VariableGroup("h", 3, "bernoulli")], [pgm.Edge("v", "h")])
    assert model.visible_name == "v" and model.graph.gibbs_blocks() == [["v"], ["h"]]
    assert {n for n, _ in model.named_parameters()} == {"W", "b", "c", "log_sigma"}
    assert {n for n, _ in model.named_buffers()} == {"shift", "scale"}
    assert torch.all(model.b == 0) and torch.all(model.c == 0) and torch.all(model.log_sigma == 0)
    torch.testing.assert_close(model.W, GaussianRBM(4, 3, seed=0).W, rtol=0, atol=0)


def test_from_data_standardises_and_starts_at_the_marginals():
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(200, 3, generator=gen) * torch.tensor([0.5, 2.0, 1.0]) + torch.tensor([1.0, -3.0, 0.0])
    data[:, 2] = 4.0  # a unit that never varies gets the floor
    model = GaussianRBM.from_data(data, 5, seed=1, weight_std=0.2)
    x = data.double()
    torch.testing.assert_close(model.shift, x.mean(0).float())
    std = x.std(0)
    torch.testing.assert_close(model.scale, torch.cat([std[:2], 1e-3 * std[:2].max().reshape(1)]).float())
    torch.testing.assert_close(model.visible_bias, model.shift)
    torch.testing.assert_close(model.sigma, model.scale)
    assert (model.n_visible, model.n_hidden, model.max_sigma) == (3, 5, 1.0)
    torch.testing.assert_close(model.W, GaussianRBM(3, 5, seed=1, weight_std=0.2).W)  # kwargs reach the constructor
    assert GaussianRBM.from_data(data, 2, max_sigma=None).max_sigma is None
    fixed = GaussianRBM.from_data(data, 2, learn_sigma=False)
    assert "log_sigma" not in dict(fixed.named_parameters())
    torch.testing.assert_close(fixed.sigma, model.scale)
    # with W = 0 the free energy is the diagonal Gaussian of the data, up to n_h log 2
    flat = GaussianRBM.from_data(data[:, :2], 4, weight_std=0.0).double()
    log_z = torch.logsumexp(-flat.free_energy_hidden(all_binary_states(4)), 0)
    gauss = torch.distributions.Normal(flat.shift, flat.scale).log_prob(x[:, :2]).sum(1)
    torch.testing.assert_close(-flat.free_energy(x[:, :2]) - log_z, gauss, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="at least 2 rows"):
        GaussianRBM.from_data(data[:1], 3)
    with pytest.raises(ValueError, match="eps must be a finite positive float"):
        GaussianRBM.from_data(data, 3, eps=0)


def test_fixed_sigma_is_a_buffer_that_training_does_not_move(one_thread):
    from inference import fit

    gen = torch.Generator().manual_seed(3)
    data = torch.randn(60, 4, generator=gen) * 2 + 1
    model = GaussianRBM.from_data(data, 3, learn_sigma=False, seed=0)
    assert "log_sigma" not in {n for n, _ in model.named_parameters()}
    assert "log_sigma" in model.state_dict()
    before = model.sigma.clone()
    fit(model, data, epochs=2, batch_size=10, lr=0.01, monitor=0, progress=False)
    torch.testing.assert_close(model.sigma, before, rtol=0, atol=0)
    assert not torch.equal(model.W, GaussianRBM.from_data(data, 3, learn_sigma=False, seed=0).W)


def test_sigma_bounds_hold_and_gradients_point_back_inside():
    model = GaussianRBM(3, 2, min_sigma=0.1, max_sigma=2.0, seed=0)
    with torch.no_grad():
        model.log_sigma.copy_(torch.tensor([-10.0, 0.5, 10.0]))
    torch.testing.assert_close(model.sigma, torch.tensor([0.1, math.exp(0.5), 2.0]))
    # d/dlogσ of Σ log σ_i is +1 everywhere: a descent step lowers log σ, which moves the
    # unit above the bound back in; the unit below would go further out and gets no gradient
    model.zero_grad()
    model.sigma.log().sum().backward()
    torch.testing.assert_close(model.log_sigma.grad, torch.tensor([0.0, 1.0, 1.0]))
    model.zero_grad()
    (-model.sigma.log().sum()).backward()
    torch.testing.assert_close(model.log_sigma.grad, torch.tensor([-1.0, -1.0, 0.0]))


def test_sigma_bounds_cannot_be_crossed_by_training(one_thread):
    """CD-1 at a large step with momentum 0.9 on data with outliers (one in 25 examples 40
    standard deviations out): log_sigma leaves [log min_sigma, log max_sigma], σ̃ does not."""
    from inference import fit

    gen = torch.Generator().manual_seed(0)
    data = torch.randn(100, 3, generator=gen)
    data[::25] *= 40  # outliers, far out in units of σ
    model = GaussianRBM.from_data(data, 4, seed=0, min_sigma=0.05)
    seen = []

    def check(epoch, history, m):
        finite = all(torch.isfinite(p).all() for p in m.parameters())
        if finite:
            ratio = (m.sigma / m.scale).detach()
            raw = m.log_sigma.detach()
            seen.append((float(ratio.min()), float(ratio.max()), float(raw.min()), float(raw.max())))
        return not finite

    fit(model, data, epochs=15, batch_size=10, lr=0.05, momentum=0.9, monitor=0, progress=False, callbacks=check)
    assert len(seen) == 15
    assert all(0.05 * (1 - 1e-6) <= lo and hi <= 1 + 1e-6 for lo, hi, _, _ in seen)
    # the raw parameter did leave the interval: the bound, not luck, kept σ inside
    assert any(raw_lo < math.log(0.05) or raw_hi > 0 for _, _, raw_lo, raw_hi in seen)


def test_config_state_dict_and_float64_round_trip():
    model = random_gaussian_rbm(3, 2, seed=1, dtype=torch.float32)
    cfg = model.config()
    assert cfg == {"n_visible": 3, "n_hidden": 2, "learn_sigma": True, "weight_std": 1.0, "min_sigma": 0.01,
                   "max_sigma": None, "seed": 1}
    clone = GaussianRBM(**json.loads(json.dumps(cfg)))
    clone.load_state_dict(model.state_dict())
    v, h = _points(model, 4).float(), all_binary_states(2).float()
    torch.testing.assert_close(clone.energy({"v": v, "h": h}), model.energy({"v": v, "h": h}))
    torch.testing.assert_close(clone.free_energy_hidden(h), model.free_energy_hidden(h))
    assert "max_sigma=None" in repr(model)
    model64 = random_gaussian_rbm(3, 2, seed=1, dtype=torch.float32).to(F64)
    assert all(t.dtype == F64 for t in [*model64.parameters(), *model64.buffers()])
    assert model64.free_energy(v).dtype == F64 and model64.conditional("v", {"h": h}).loc.dtype == F64
    torch.testing.assert_close(model64.free_energy(v).float(), model.free_energy(v), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model64.free_energy_hidden(h).float(), model.free_energy_hidden(h), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_visible": 0}, "n_visible must be an int >= 1"),
    ({"n_hidden": 2.0}, "n_hidden must be an int >= 1"),
    ({"learn_sigma": 1}, "learn_sigma must be True or False"),
    ({"weight_std": -1.0}, "weight_std must be a finite non-negative float"),
    ({"min_sigma": 0.0}, "min_sigma must be a finite positive float"),
    ({"min_sigma": 2.0}, r"need min_sigma <= 1 <= max_sigma"),
    ({"max_sigma": 0.5}, r"need min_sigma <= 1 <= max_sigma"),
    ({"max_sigma": math.inf}, "max_sigma must be a finite positive float"),
    ({"seed": -1}, "seed must be an int >= 0"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    args = {"n_visible": 3, "n_hidden": 2, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        GaussianRBM(args.pop("n_visible"), args.pop("n_hidden"), **args)


def test_methods_reject_bad_input():
    model = GaussianRBM(3, 2, seed=0)
    v, h = torch.zeros(4, 3), torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"state\['v'\] has batch 4 but state\['h'\] has 3"):
        model.energy({"v": v, "h": h[:3]})
    with pytest.raises(ValueError, match="must have 3 columns"):
        model.free_energy(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.free_energy(torch.full((2, 3), math.nan))
    with pytest.raises(TypeError, match="floating dtype"):
        model.free_energy(torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        model.conditional("v", {"h": h + 2})
    with pytest.raises(ValueError, match="state needs group 'h'"):
        model.conditional("v", {"v": v})
    with pytest.raises(ValueError, match="group must be 'v' or 'h'"):
        model.conditional("x", {"v": v})
    with pytest.raises(ValueError, match="beta must"):
        model.free_energy(v, beta=1.5)
    # real values outside [0, 1] are fine for v
    assert torch.isfinite(model.free_energy(torch.full((2, 3), -7.5))).all()
