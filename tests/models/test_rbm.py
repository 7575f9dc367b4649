"""Binary RBM against brute-force enumeration of every joint state (float64 oracles).

Sizes 6×4 and 3×5 (wider hidden than visible, to catch transposes), weights and biases
~N(0, 1) so that no term is negligible.
"""

import itertools
import json
import math

import numpy as np
import pytest
import torch

import pgm
from models.energy import RBM, EnergyModel
from tests.oracles import (
    all_binary_states,
    brute_force_conditional,
    brute_force_joint,
    brute_force_log_z,
    brute_force_marginal,
    brute_force_marginal_v,
    random_rbm,
)

SIZES = [(6, 4), (3, 5)]
ATOL = 1e-10


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def rbm(request):
    n_v, n_h = request.param
    return random_rbm(n_v, n_h, seed=n_v * 10 + n_h)


def _params(rbm):
    return (rbm.W.detach().numpy().astype(np.float64), rbm.b.detach().numpy().astype(np.float64),
            rbm.c.detach().numpy().astype(np.float64))


def _joint_matrix(rbm, beta=1.0):
    """log p_β(v, h) as a (2**n_v, 2**n_h) matrix."""
    _, log_p = brute_force_joint(rbm, beta)
    return log_p.reshape(2**rbm.n_visible, 2**rbm.n_hidden)


# -- exact oracles -------------------------------------------------------------------------
def test_energy_matches_hand_formula_for_every_joint_state(rbm):
    W, b, c = _params(rbm)
    V = all_binary_states(rbm.n_visible)
    H = all_binary_states(rbm.n_hidden)
    v = V.repeat_interleave(len(H), 0)
    h = H.repeat(len(V), 1)
    got = rbm.energy({"v": v, "h": h})
    vn, hn = v.numpy(), h.numpy()
    want = -(vn * b).sum(1) - (hn * c).sum(1) - np.einsum("si,ij,sj->s", vn, W, hn)
    assert got.shape == (len(V) * len(H),)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=ATOL)
    # and a few states by explicit double loops over units
    for s in (0, 1, len(want) // 3, len(want) - 1):
        e = -sum(b[i] * vn[s, i] for i in range(len(b))) - sum(c[j] * hn[s, j] for j in range(len(c)))
        e -= sum(vn[s, i] * W[i, j] * hn[s, j] for i in range(len(b)) for j in range(len(c)))
        assert got[s].item() == pytest.approx(e, abs=ATOL)


def test_energy_is_multilinear_for_probabilities(rbm):
    """For independent q(v)q(h), E_q[E(v, h)] = E(E_q v, E_q h): grey levels are allowed."""
    gen = torch.Generator().manual_seed(1)
    pv = torch.rand(1, rbm.n_visible, generator=gen, dtype=torch.float64)
    ph = torch.rand(1, rbm.n_hidden, generator=gen, dtype=torch.float64)
    V = all_binary_states(rbm.n_visible)
    H = all_binary_states(rbm.n_hidden)
    qv = (V * pv + (1 - V) * (1 - pv)).prod(1)
    qh = (H * ph + (1 - H) * (1 - ph)).prod(1)
    v = V.repeat_interleave(len(H), 0)
    h = H.repeat(len(V), 1)
    expected = (rbm.energy({"v": v, "h": h}) * torch.outer(qv, qh).reshape(-1)).sum()
    assert rbm.energy({"v": pv, "h": ph}).item() == pytest.approx(expected.item(), abs=1e-10)


@pytest.mark.parametrize("beta", [1.0, 0.37, 0.0])
def test_conditional_h_matches_joint_ratios(rbm, beta):
    """p_β(h_j = 1 | v) = Σ_{h: h_j=1} p_β(v, h) / Σ_h p_β(v, h) for every v."""
    log_p = _joint_matrix(rbm, beta)
    cond = torch.softmax(log_p, 1)  # p(h | v), rows v
    H = all_binary_states(rbm.n_hidden)
    want = cond @ H  # (2**n_v, n_h): P(h_j = 1 | v)
    V = all_binary_states(rbm.n_visible)
    dist = rbm.conditional("h", {"v": V}, beta=beta)
    assert isinstance(dist, torch.distributions.Distribution)
    torch.testing.assert_close(dist.probs, want, rtol=0, atol=ATOL)
    # the factorised conditional gives the exact joint conditional of the whole vector
    for i in (0, len(V) // 2, len(V) - 1):
        lp = rbm.conditional("h", {"v": V[i:i + 1].expand(len(H), -1)}, beta=beta).log_prob(H).sum(-1)
        torch.testing.assert_close(lp.exp(), cond[i], rtol=0, atol=ATOL)


@pytest.mark.parametrize("beta", [1.0, 0.37, 0.0])
def test_conditional_v_matches_joint_ratios(rbm, beta):
    log_p = _joint_matrix(rbm, beta)
    cond = torch.softmax(log_p, 0)  # p(v | h), columns h
    V = all_binary_states(rbm.n_visible)
    want = cond.t() @ V  # (2**n_h, n_v)
    H = all_binary_states(rbm.n_hidden)
    dist = rbm.conditional("v", {"h": H}, beta=beta)
    torch.testing.assert_close(dist.probs, want, rtol=0, atol=ATOL)
    for j in (0, len(H) - 1):
        lp = rbm.conditional("v", {"h": H[j:j + 1].expand(len(V), -1)}, beta=beta).log_prob(V).sum(-1)
        torch.testing.assert_close(lp.exp(), cond[:, j], rtol=0, atol=ATOL)


def test_conditional_needs_only_the_other_group(rbm):
    V = all_binary_states(rbm.n_visible)
    i = len(V) - 2
    oracle = brute_force_conditional(rbm, "h", {"v": V[i]})
    H = all_binary_states(rbm.n_hidden)
    dist = rbm.conditional("h", {"v": V[i:i + 1]})
    torch.testing.assert_close(dist.log_prob(H).sum(-1).exp(), oracle, rtol=0, atol=ATOL)


@pytest.mark.parametrize("beta", [1.0, 0.37, 0.0])
def test_free_energy_is_minus_log_sum_over_hidden(rbm, beta):
    """F_β(v) = -log Σ_h exp(-β E(v, h)), and F_β(h) likewise with v summed out."""
    V = all_binary_states(rbm.n_visible)
    H = all_binary_states(rbm.n_hidden)
    v = V.repeat_interleave(len(H), 0)
    h = H.repeat(len(V), 1)
    log_w = (-beta * rbm.energy({"v": v, "h": h})).reshape(len(V), len(H)).detach()
    torch.testing.assert_close(rbm.free_energy(V, beta=beta), -torch.logsumexp(log_w, 1), rtol=0, atol=ATOL)
    torch.testing.assert_close(rbm.free_energy_hidden(H, beta=beta), -torch.logsumexp(log_w, 0),
                               rtol=0, atol=ATOL)


def test_beta_zero_is_uniform(rbm):
    V = all_binary_states(rbm.n_visible)
    assert torch.all(rbm.conditional("h", {"v": V}, beta=0.0).probs == 0.5)
    torch.testing.assert_close(rbm.free_energy(V, beta=0.0),
                               torch.full((len(V),), -rbm.n_hidden * math.log(2), dtype=torch.float64))


def test_per_chain_beta_tensor_matches_scalar_beta(rbm):
    """A (batch,) tensor of β applies row by row: each row equals the scalar-β result."""
    V = all_binary_states(rbm.n_visible)
    H = all_binary_states(rbm.n_hidden)
    betas = torch.linspace(0, 1, 5, dtype=torch.float64)
    v = V[1:6]
    h = H[torch.arange(len(betas)) % len(H)]
    probs_h = rbm.conditional("h", {"v": v}, beta=betas).probs
    probs_v = rbm.conditional("v", {"h": h}, beta=betas).probs
    fe = rbm.free_energy(v, beta=betas)
    feh = rbm.free_energy_hidden(h, beta=betas)
    for k, bk in enumerate(betas.tolist()):
        torch.testing.assert_close(probs_h[k], rbm.conditional("h", {"v": v[k:k + 1]}, beta=bk).probs[0])
        torch.testing.assert_close(probs_v[k], rbm.conditional("v", {"h": h[k:k + 1]}, beta=bk).probs[0])
        torch.testing.assert_close(fe[k], rbm.free_energy(v[k:k + 1], beta=bk)[0])
        torch.testing.assert_close(feh[k], rbm.free_energy_hidden(h[k:k + 1], beta=bk)[0])
    # a 0-d tensor or a length-1 tensor broadcasts like a float
    torch.testing.assert_close(rbm.free_energy(V, beta=torch.tensor(0.3)), rbm.free_energy(V, beta=0.3))
    torch.testing.assert_close(rbm.free_energy(V, beta=torch.tensor([0.3])), rbm.free_energy(V, beta=0.3))


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_visible_and_hidden_marginals_from_free_energies(rbm, beta):
    """softmax(-F_β(v)) over all v is the brute-force marginal; Σ exp(-F) = Z."""
    V = all_binary_states(rbm.n_visible)
    H = all_binary_states(rbm.n_hidden)
    log_z = brute_force_log_z(rbm, beta)
    torch.testing.assert_close(torch.logsumexp(-rbm.free_energy(V, beta=beta), 0), log_z, rtol=0, atol=ATOL)
    torch.testing.assert_close(torch.logsumexp(-rbm.free_energy_hidden(H, beta=beta), 0), log_z,
                               rtol=0, atol=ATOL)
    torch.testing.assert_close(torch.exp(-rbm.free_energy(V, beta=beta) - log_z),
                               brute_force_marginal_v(rbm, beta), rtol=0, atol=ATOL)
    torch.testing.assert_close(torch.exp(-rbm.free_energy_hidden(H, beta=beta) - log_z),
                               brute_force_marginal(rbm, "h", beta), rtol=0, atol=ATOL)


def test_free_energy_gradient_is_minus_v_times_hidden_probabilities(rbm):
    """∂F(v)/∂W = -v σ(c + vW)ᵀ, ∂F/∂b = -v, ∂F/∂c = -σ(c + vW): what CD/PCD rely on."""
    v = all_binary_states(rbm.n_visible)[1:4]
    rbm.zero_grad()
    rbm.free_energy(v).sum().backward()
    ph = torch.sigmoid(rbm.c + v @ rbm.W).detach()
    torch.testing.assert_close(rbm.W.grad, -(v.t() @ ph))
    torch.testing.assert_close(rbm.b.grad, -v.sum(0))
    torch.testing.assert_close(rbm.c.grad, -ph.sum(0))


# -- construction ------------------------------------------------------------------------
def test_from_data_sets_visible_bias_to_clipped_data_logits():
    data = torch.tensor([[1., 0., 1., 0., 0.5],
                         [1., 0., 0., 0., 0.5],
                         [1., 0., 1., 1., 0.5],
                         [1., 0., 1., 0., 0.5]])
    rbm = RBM.from_data(data, 3, seed=0)
    eps = 1e-3
    want = torch.logit(torch.tensor([1 - eps, eps, 0.75, 0.25, 0.5], dtype=torch.float64)).float()
    torch.testing.assert_close(rbm.b.detach(), want)
    assert (rbm.n_visible, rbm.n_hidden) == (5, 3)
    assert torch.all(rbm.c == 0)
    torch.testing.assert_close(rbm.W, RBM(5, 3, seed=0).W)  # kwargs reach the constructor


def test_init_visible_bias_with_custom_eps():
    rbm = RBM(2, 2, seed=0)
    rbm.init_visible_bias(torch.tensor([[1., 0.], [1., 1.]]), eps=0.1)
    torch.testing.assert_close(rbm.b.detach(), torch.logit(torch.tensor([0.9, 0.5])))


def test_initial_weights_have_requested_std():
    """Sample std of N = 20,000 weights is within 5 standard errors σ/√(2N) of σ."""
    sigma = 0.05
    rbm = RBM(200, 100, weight_std=sigma, seed=123)
    w = rbm.W.detach().double().flatten()
    n = w.numel()
    assert abs(w.std().item() - sigma) < 5 * sigma / math.sqrt(2 * n)
    assert abs(w.mean().item()) < 5 * sigma / math.sqrt(n)
    assert torch.all(rbm.b == 0) and torch.all(rbm.c == 0)
    assert torch.all(RBM(4, 3, weight_std=0.0, seed=0).W == 0)
    # the default scale is 0.01 (Hinton's guide)
    assert abs(RBM(200, 100, seed=5).W.detach().double().std().item() - 0.01) < 5 * 0.01 / math.sqrt(2 * n)


def test_seed_reproducibility():
    torch.testing.assert_close(RBM(6, 4, seed=3).W, RBM(6, 4, seed=3).W, rtol=0, atol=0)
    assert not torch.equal(RBM(6, 4, seed=3).W, RBM(6, 4, seed=4).W)
    torch.manual_seed(11)
    a = RBM(6, 4).W.detach().clone()
    torch.manual_seed(11)
    b = RBM(6, 4).W.detach().clone()
    assert torch.equal(a, b)  # seed=None draws from torch's global generator


@pytest.mark.parametrize("n_v,n_h", SIZES)
def test_graph_is_v_observed_coupled_to_h(n_v, n_h):
    rbm = RBM(n_v, n_h, seed=0)
    assert isinstance(rbm, EnergyModel)
    want = pgm.Graph([pgm.VariableGroup("v", n_v, "bernoulli", observed=True),
                      pgm.VariableGroup("h", n_h, "bernoulli")],
                     [pgm.Edge("h", "v")])
    assert rbm.graph == want
    assert rbm.graph != pgm.Graph([pgm.VariableGroup("v", n_v, "bernoulli"),
                                   pgm.VariableGroup("h", n_h, "bernoulli")], [pgm.Edge("h", "v")])
    assert rbm.visible_name == "v"
    assert rbm.graph.gibbs_blocks() == [["v"], ["h"]]
    assert rbm.graph.markov_blanket("h") == {"v"}


def test_config_round_trips():
    rbm = RBM(6, 4, weight_std=0.3, seed=9)
    cfg = rbm.config()
    assert cfg == {"n_visible": 6, "n_hidden": 4, "weight_std": 0.3, "seed": 9}
    again = RBM(**json.loads(json.dumps(cfg)))
    assert again.config() == cfg
    assert torch.equal(again.W, rbm.W)
    assert RBM(3, 2).config()["seed"] is None
    assert "n_visible=6" in repr(rbm)
    # learned tensors are parameters, hyperparameters are not
    assert {n for n, _ in rbm.named_parameters()} == {"W", "b", "c"}


def test_double_and_input_dtype_conversion():
    rbm32 = random_rbm(6, 4, seed=2, dtype=torch.float32)
    assert rbm32.dtype == torch.float32
    rbm64 = random_rbm(6, 4, seed=2, dtype=torch.float32).double()
    assert rbm64.dtype == torch.float64 and rbm64.W.dtype == torch.float64
    V64 = all_binary_states(6)
    V32 = V64.float()
    H32 = all_binary_states(4).float()
    # float32 input to a float64 model is converted up, float64 input to float32 down
    assert rbm64.free_energy(V32).dtype == torch.float64
    assert rbm32.free_energy(V64).dtype == torch.float32
    assert rbm64.conditional("v", {"h": H32}).probs.dtype == torch.float64
    assert rbm64.energy({"v": V32[:16], "h": H32}).dtype == torch.float64
    torch.testing.assert_close(rbm32.free_energy(V64).double(), rbm64.free_energy(V32), rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(rbm32.free_energy(V32), rbm32.free_energy(V64))


def test_energy_rejects_mismatched_batches():
    rbm = RBM(3, 2, seed=0)
    with pytest.raises(ValueError, match=r"state\['v'\] has batch 4 but state\['h'\] has 3"):
        rbm.energy({"v": torch.zeros(4, 3), "h": torch.zeros(3, 2)})


def test_joint_oracle_itself_is_consistent():
    """Guard the oracle: enumeration order, normalisation and the product structure."""
    rbm = random_rbm(3, 2, seed=1)
    states, log_p = brute_force_joint(rbm)
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-12)
    rows = list(itertools.product(range(8), range(4)))
    for k, (iv, ih) in enumerate(rows):
        torch.testing.assert_close(states["v"][k], all_binary_states(3)[iv])
        torch.testing.assert_close(states["h"][k], all_binary_states(2)[ih])
    # one entry by hand
    W, b, c = _params(rbm)
    v, h = np.array([1., 0., 1.]), np.array([0., 1.])
    e = -(b @ v) - (c @ h) - v @ W @ h
    k = 5 * 4 + 1
    assert log_p[k].item() == pytest.approx(-e - brute_force_log_z(rbm).item(), abs=1e-12)
