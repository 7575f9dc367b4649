"""Inpainting by mean-field with observed pixels clamped, against brute force on tiny DBMs."""

import pytest
import torch

from inference import inpaint, mean_field
from inference.evaluation.bound import entropy_bernoulli
from models import DBM, RBM, GaussianRBM
from tests.oracles import all_binary_states, brute_force_joint, random_dbm, random_rbm


def _exact_conditional_marginals(model, v, mask):
    """p(x_i = 1 | observed units of v) for every unit of every group, by enumeration."""
    states, log_p = brute_force_joint(model)
    vis = model.visible_name
    out = {name: [] for name in states}
    for row, m in zip(v.double(), mask):
        keep = (states[vis][:, ~m] == row[~m]).all(1)
        w = torch.softmax(log_p[keep], 0)
        for name, x in states.items():
            out[name].append(w @ x[keep])
    return {name: torch.stack(rows) for name, rows in out.items()}


def _log_unnormalised_marginal(model, v, mask):
    """log Σ_{v_M, h} exp(−E(v_O, v_M, h)) per row (the bound's target, log Z left out)."""
    states, log_p = brute_force_joint(model)
    vis = model.visible_name
    log_w = log_p + torch.logsumexp(-model.energy({k: x.to(model.biases[0]) for k, x in states.items()}).detach()
                                    - log_p, 0)  # −E = log p + log Z
    return torch.stack([torch.logsumexp(log_w[(states[vis][:, ~m] == row[~m]).all(1)], 0)
                        for row, m in zip(v.double(), mask)])


def _masks(n_rows, n_vis, seed):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(n_rows, n_vis, generator=gen) < 0.5
    mask[0] = False  # nothing missing
    mask[1] = True   # everything missing
    return mask


@pytest.mark.parametrize("centered", [False, True])
def test_the_fixed_point_satisfies_its_equations(centered):
    dbm = random_dbm([5, 4, 3, 2], seed=4, centered=centered)
    v = all_binary_states(5)
    mask = _masks(v.shape[0], 5, seed=1)
    out = inpaint(dbm, v, mask, n_iter=1000, tol=1e-13)
    assert out.converged and out.n_iter < 1000
    q = out.marginals
    torch.testing.assert_close(out.probs, q["v"])
    torch.testing.assert_close(out.probs[~mask], v[~mask], rtol=0, atol=0)
    fill = torch.sigmoid(dbm.layer_input("v", q))
    torch.testing.assert_close(out.probs[mask], fill[mask], rtol=0, atol=1e-11)
    for name in ("h1", "h2", "h3"):
        torch.testing.assert_close(q[name], torch.sigmoid(dbm.layer_input(name, q)), rtol=0, atol=1e-11)


def test_no_mask_is_plain_mean_field():
    dbm = random_dbm([4, 3, 2], seed=6)
    v = all_binary_states(4)
    none_missing = inpaint(dbm, v, torch.zeros(4, dtype=torch.bool), n_iter=7, tol=0)
    plain = mean_field(dbm, v, n_iter=7, tol=0)
    for name in ("v", "h1", "h2"):
        torch.testing.assert_close(none_missing.marginals[name], plain.marginals[name], rtol=0, atol=1e-14)


def test_exact_where_the_posterior_factorises():
    """Missing pixels uncoupled to h1 and h1 uncoupled to h2: p(v_M, h1, h2 | v_O) is
    factorial, so the mean-field marginals are the exact conditional marginals."""
    dbm = random_dbm([4, 3, 2], seed=8)
    mask = torch.tensor([True, False, True, False])
    with torch.no_grad():
        dbm.weights[0][mask] = 0.0
        dbm.weights[1].zero_()
    v = all_binary_states(4)
    out = inpaint(dbm, v, mask, n_iter=200, tol=1e-13)
    exact = _exact_conditional_marginals(dbm, v, mask.expand_as(v))
    for name in ("v", "h1", "h2"):
        torch.testing.assert_close(out.marginals[name], exact[name], rtol=0, atol=1e-10)


def test_an_rbm_with_uncoupled_missing_pixels_is_exact():
    rbm = random_rbm(5, 3, seed=2).double()
    mask = torch.tensor([False, True, False, False, True])
    with torch.no_grad():
        rbm.W[mask] = 0.0
    v = all_binary_states(5)
    out = inpaint(rbm, v, mask, n_iter=50, tol=1e-13)
    exact = _exact_conditional_marginals(rbm, v, mask.expand_as(v))
    torch.testing.assert_close(out.probs, exact["v"], rtol=0, atol=1e-10)
    torch.testing.assert_close(out.marginals["h"], exact["h"], rtol=0, atol=1e-10)


def test_a_coupled_dbm_gets_a_bound_below_the_exact_marginal():
    """𝓛(q) = −E(q) + H(q) ≤ log Σ_{v_M,h} e^{−E}, the gap genuine, and 𝓛 never decreases
    over the passes (each block update maximises it over that block)."""
    dbm = random_dbm([4, 3, 2], seed=11)
    v = all_binary_states(4)
    mask = _masks(v.shape[0], 4, seed=3)
    target = _log_unnormalised_marginal(dbm, v, mask)
    values = []
    for k in range(1, 12):
        q = inpaint(dbm, v, mask, n_iter=k, tol=0).marginals
        values.append(-dbm.energy(q) + sum(entropy_bernoulli(q[g]) for g in ("v", "h1", "h2")))
    values = torch.stack(values)
    assert (values[1:] - values[:-1] >= -1e-12).all()
    gap = target - values[-1]
    assert (gap >= -1e-10).all()
    assert gap.max() > 1e-3
    exact = _exact_conditional_marginals(dbm, v, mask)["v"]
    assert (q["v"][mask] - exact[mask]).abs().max() > 1e-4  # an approximation, not the answer


def test_the_mask_broadcasts_and_values_under_it_are_ignored():
    dbm = DBM([6, 4, 3], seed=0)
    v = torch.bernoulli(torch.full((3, 6), 0.5), generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([True, True, False, False, False, False])
    other = v.clone()
    other[:, :2] = 1 - other[:, :2]
    a, b = inpaint(dbm, v, mask), inpaint(dbm, other, mask.expand(3, 6))
    torch.testing.assert_close(a.probs, b.probs, rtol=0, atol=0)
    assert not a.probs.requires_grad


def test_bad_arguments_are_refused():
    dbm = DBM([3, 2, 2])
    v = torch.ones(2, 3)
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        inpaint(dbm, v, torch.ones(2, 3))
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        inpaint(dbm, v, None)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        inpaint(dbm, v, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="n_iter"):
        inpaint(dbm, v, torch.ones(3, dtype=torch.bool), n_iter=0)
    with pytest.raises(TypeError, match="mask needs binary"):
        inpaint(GaussianRBM(3, 2), torch.zeros(1, 3), torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="EnergyModel"):
        inpaint("dbm", v, torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="mean_field: mask"):
        mean_field(RBM(3, 2), v, mask=torch.zeros(3, dtype=torch.int64))
