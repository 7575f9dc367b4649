"""Exact log Z and AIS for the Gaussian RBM (real visible units), against quadrature.

The oracle integrates Σ_h exp(−E(v, h)) over a fine grid of v ∈ ℝ² (trapezoid rule; the
integrand is a mixture of Gaussians, on which the rule converges faster than any power
of the spacing), from ``energy`` alone: no free energy is used.

Seed policy: fixed seeds; statistical assertions use the estimator's ±3 standard-error
bracket on Z (failure rate ≈ 0.27% per assertion). Deterministic checks are exact to
rounding.
"""

import copy
import math

import pytest
import torch

from inference.mcmc.sampling import make_generator
from inference.partition import (
    FactorisedBase,
    NormalFactor,
    ais_log_partition,
    ais_log_weights,
    exact_log_partition,
    reverse_ais_log_partition,
)
from inference.partition.exact import enumeration_set
from inference.partition.path import annealing_form, log_z_start, make_path
from models.energy import validation_disabled
from tests.oracles import all_binary_states, random_gaussian_rbm

F64 = torch.float64


def _grbm(n_visible=2, n_hidden=3, seed=0):
    """A float32 Gaussian RBM with non-trivial W, b, c, σ and standardisation buffers."""
    return random_gaussian_rbm(n_visible, n_hidden, seed=seed, scale=0.8, dtype=torch.float32)


def _quadrature_log_z(model, points=201):
    """log ∫ Σ_h exp(−E(v, h)) dv on a grid covering every mixture component ± 12 σ̃."""
    m = copy.deepcopy(model).double()
    with torch.no_grad(), validation_disabled():
        hs = all_binary_states(m.n_hidden)
        means, sigma = m.visible_mean(hs), m.sigma
        axes = [torch.linspace(float(means[:, i].min() - 12 * sigma[i]), float(means[:, i].max() + 12 * sigma[i]),
                               points, dtype=F64) for i in range(2)]
        g0, g1 = torch.meshgrid(*axes, indexing="ij")
        v = torch.stack([g0.reshape(-1), g1.reshape(-1)], 1)
        log_f = torch.stack([-m.energy({"v": v, "h": h.expand(len(v), -1)}) for h in hs]).logsumexp(0)
        top = log_f.max()
        dens = (log_f - top).exp().reshape(points, points)
        inner = torch.trapezoid(dens, axes[1], dim=1)
        return float(top + torch.trapezoid(inner, axes[0]).log())


def _exact_samples(model, n, seed):
    """n exact draws of v: h from p(h) ∝ exp(−F(h)) by enumeration, then v ~ p(v | h)."""
    gen = make_generator(seed)
    hs = all_binary_states(model.n_hidden, model.W.dtype)
    with torch.no_grad():
        p = torch.softmax(-model.free_energy_hidden(hs).double(), 0)
        h = hs[torch.multinomial(p, n, replacement=True, generator=gen)]
        cond = model.conditional("v", {"h": h})
        return cond.loc + cond.scale * torch.randn(cond.loc.shape, generator=gen)


def test_exact_enumerates_the_hidden_layer_and_matches_quadrature():
    model = _grbm()
    assert enumeration_set(model) == (("h",), 3)
    assert exact_log_partition(model).log_z == pytest.approx(_quadrature_log_z(model), abs=1e-7)


def test_exact_refuses_when_no_listed_set_is_binary():
    model = _grbm()
    model.marginal_sets = lambda: [("v",), ("v", "h")]
    with pytest.raises(TypeError, match="is all-binary"):
        exact_log_partition(model)


def test_marginal_path_with_a_normal_base():
    """Marginal form, Normal factor on v fitted to data; log Z_0 = log Z_A + n_h log 2, and
    betas = [0, 1] gives log w = −log p̃_A(v) − F(v) − n_h log 2 (float64 rounding)."""
    model = _grbm().double()
    data = torch.randn(50, 2, generator=make_generator(0), dtype=F64) * 2 + 1
    path = make_path(model, "data", data)
    assert annealing_form(model) == "marginal" and path.form == "marginal"
    f = path.base.factors["v"]
    assert isinstance(f, NormalFactor)
    assert torch.allclose(f.mean, data.mean(0)) and torch.allclose(f.std, data.std(0, unbiased=False))
    log_z_0 = log_z_start(path, data, "test")
    assert log_z_0 == pytest.approx(path.base.log_z() + 3 * math.log(2), abs=1e-12)
    log_w, _ = ais_log_weights(model, data, [0.0, 1.0], path.base, make_generator(1))
    expected = -f.log_density(data) - model.free_energy(data).detach() - 3 * math.log(2)
    assert torch.allclose(log_w, expected, atol=1e-12, rtol=0)
    with pytest.raises(TypeError, match="tensor base holds Bernoulli logits"):
        ais_log_partition(model, base=torch.zeros(2), progress=False)


def test_forward_ais_brackets_exact_log_z():
    """Generic marginal-form AIS from a base fitted to model samples; failure rate ≈ 0.27%."""
    model = _grbm()
    exact = exact_log_partition(model).log_z
    data = _exact_samples(model, 300, seed=0)
    est = ais_log_partition(model, n_chains=300, betas=torch.linspace(0, 1, 301), data=data, seed=1,
                            progress=False)
    assert est.method == "ais"
    assert est.lower <= exact <= est.upper, (est, exact)


def test_importance_sampling_through_a_flat_conditional():
    """betas = [0, 0, 1]: one sweep at β = 0, where p(v | h) has infinite scale and the draw
    comes from the base alone; then plain importance sampling. Failure rate ≈ 0.27%."""
    model = _grbm()
    exact = exact_log_partition(model).log_z
    base = FactorisedBase({"v": NormalFactor(torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([3.0, 3.0], dtype=F64))})
    est = ais_log_partition(model, n_chains=4000, betas=[0.0, 0.0, 1.0], base=base, seed=2, progress=False)
    assert math.isfinite(est.log_z)
    assert est.lower <= exact <= est.upper, (est, exact)


def test_reverse_ais_from_exact_samples_brackets_exact_log_z():
    """Reverse AIS from exact model samples; failure rate ≈ 0.27%."""
    model = _grbm()
    exact = exact_log_partition(model).log_z
    data = _exact_samples(model, 300, seed=3)
    est = reverse_ais_log_partition(model, init=_exact_samples(model, 300, seed=4), betas=torch.linspace(0, 1, 301),
                                    data=data, seed=1, progress=False)
    assert est.method == "reverse_ais"
    assert est.lower <= exact <= est.upper, (est, exact)


def test_reverse_ais_burn_in_from_data_rows():
    """The default start: real-valued data rows used as given, then Gibbs sweeps at β = 1."""
    model = _grbm()
    data = _exact_samples(model, 40, seed=5)
    est = reverse_ais_log_partition(model, n_chains=10, betas=torch.linspace(0, 1, 20), data=data, burn_in=5,
                                    progress=False)
    assert math.isfinite(est.log_z) and est.n_chains == 10
