"""The fused-path gradient of the binary RBM (torch ops and native kernels) against the
generic CD/PCD: exact oracles first, then statistics.

Seed policy: that of tests/inference/learning/test_contrastive.py (fixed seeds, z-tests
at a Bonferroni-corrected ALPHA = 1e-4 over all compared numbers, seeds not searched).
"""


import pytest
import torch
from scipy import stats

from inference.backends.rbm import native
from inference.backends.rbm.fused_gradient import FusedGradient
from inference.learning.contrastive import CD, PCD
from models.energy import RBM
from tests.inference.learning.test_contrastive import ESTIMATORS, _autograd, _data, _grads, check_pcd_gradient_is_exact
from tests.oracles import random_rbm

ALPHA = 1e-4

pytestmark = pytest.mark.usefixtures("one_thread")


def fused_est(Est, *, kernels="torch", fast_uniforms=None, generator=None, **kw):
    """A FusedGradient around a fresh estimator ``Est(**kw, generator=generator)``."""
    return FusedGradient(Est(**kw, generator=generator), kernels=kernels, fast_uniforms=fast_uniforms)


# -- exact oracles -----------------------------------------------------------------------

@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_fused_gradient_equals_free_energy_surrogate(Est, kw, fast):
    """The fused RBM kernel's .grad is the autograd gradient of
    F(v_data).mean() - F(v_model).mean() for the chain samples it used."""
    model = random_rbm(7, 5, seed=1)
    v = _data(8, 7)
    est = fused_est(Est, **kw, generator=torch.Generator().manual_seed(3), fast_uniforms=fast)
    for _ in range(3):  # later calls reuse buffers and (PCD) move the chains
        info = est.grad(model, v)
    fused = _grads(model)
    expected = _autograd(model, v, info.v_model.clone())
    for got, want in zip(fused, expected):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_fused_path_equals_generic_path(Est, kw):
    """With float uniforms the fused kernel draws exactly what the generic path (model
    conditionals + inference.mcmc.sampling) draws: same samples, same gradients."""
    model = random_rbm(7, 5, seed=2)
    v = _data(8, 7, seed=1)
    out = []
    for is_fused in (True, False):
        est = Est(**kw, generator=torch.Generator().manual_seed(5))
        grad = FusedGradient(est, kernels="torch", fast_uniforms=False) if is_fused else est
        infos = [grad.grad(model, v) for _ in range(3)]
        out.append((_grads(model), infos[-1].v_model.clone(), infos[-1].recon_sq,
                    est.chains.values["h"].clone() if Est is PCD else None))
    (g1, v1, r1, h1), (g2, v2, r2, h2) = out
    torch.testing.assert_close(v1, v2, rtol=0, atol=0)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    if Est is CD:
        torch.testing.assert_close(r1, r2, rtol=1e-12, atol=0)
    else:
        assert r1 is None and r2 is None
        torch.testing.assert_close(h1, h2, rtol=0, atol=0)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_smaller_last_batch_reuses_buffers(dtype, atol):
    """Buffers sized for the largest batch serve a smaller one (and grow for a larger)."""
    model = random_rbm(9, 6, seed=5).to(dtype)
    for Est in (CD, PCD):
        est = fused_est(Est, generator=torch.Generator().manual_seed(0))
        for n in (10, 3, 10, 12):
            v = _data(n, 9, seed=n, dtype=dtype)
            info = est.grad(model, v)
            fused = _grads(model)
            for a, b in zip(fused, _autograd(model, v, info.v_model.clone())):
                torch.testing.assert_close(a, b, rtol=0, atol=atol)


@pytest.mark.parametrize("kernels", ["torch", "auto"])
def test_batch_buffer_gives_the_same_result(kernels):
    """Writing the batch into batch_buffer() (no copy) changes nothing."""
    model = random_rbm(7, 5, seed=3)
    for Est in (CD, PCD):
        out = []
        for direct in (False, True):
            est = fused_est(Est, generator=torch.Generator().manual_seed(0), kernels=kernels)
            for n in (6, 6, 4):
                v = _data(n, 7, seed=n)
                if direct:
                    buf = est.batch_buffer(model, n)
                    assert buf.shape == (n, 7)
                    buf.copy_(v)
                    v = buf
                est.grad(model, v)
            out.append(_grads(model))
        for a, b in zip(*out):
            assert torch.equal(a, b)


# -- statistical checks ------------------------------------------------------------------

def _z_threshold(n_tests):
    return stats.norm.isf(ALPHA / (2 * n_tests))


@pytest.mark.parametrize("fast", [True, False])
def test_fused_visible_samples_have_the_right_frequencies(fast):
    """W = 0: each PCD sweep draws v ~ Bernoulli(σ(b)) afresh. The 16-bit uniforms round
    probabilities to multiples of 2⁻¹⁶ (bias ≤ 1.5e-5), far below the standard error."""
    probs = torch.tensor([1e-3, 0.05, 0.3, 0.5, 0.77, 0.95, 0.999], dtype=torch.float64)
    model = RBM(len(probs), 3).double()
    with torch.no_grad():
        model.W.zero_()
        model.b.copy_(torch.logit(probs))
    est = fused_est(PCD, n_chains=20_000, generator=torch.Generator().manual_seed(11), fast_uniforms=fast)
    v = torch.zeros(1, len(probs), dtype=torch.float64)
    total = torch.zeros(len(probs), dtype=torch.float64)
    n_sweeps = 10
    for _ in range(n_sweeps):
        total += est.grad(model, v).v_model.sum(0)
    n = 20_000 * n_sweeps
    z = (total / n - probs) / torch.sqrt(probs * (1 - probs) / n)
    assert z.abs().max() < _z_threshold(len(probs)), z


@pytest.mark.parametrize("fast", [True, False])
def test_pcd_gradient_is_the_exact_gradient_in_expectation(fast):
    """With the model held fixed, PCD chains reach p(v, h) and the estimate averages to
    ∇(-mean log p(v_data)), computed by enumeration (z-test per element, Bonferroni)."""
    def make(n_chains, generator):
        est = fused_est(PCD, n_chains=n_chains, generator=generator, fast_uniforms=fast)
        return est, est.est

    check_pcd_gradient_is_exact(make)


# -- gradient straight into momentum buffers ---------------------------------------------

PATHS = [
    pytest.param(torch.float64, {"kernels": "torch", "fast_uniforms": False}, 1e-12, id="fused"),
    pytest.param(torch.float32, {"kernels": "native"}, 1e-6, id="native",
                 marks=pytest.mark.skipif(not native.available(), reason="native kernels unavailable")),
    pytest.param(torch.float32, {"kernels": "native", "per_pass": True}, 1e-6, id="native-per-pass",
                 marks=pytest.mark.skipif(not native.available(), reason="native kernels unavailable")),
]


@pytest.mark.parametrize("dtype, path, atol", PATHS)
@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_accumulate_writes_momentum_times_buffer_plus_gradient(Est, kw, dtype, path, atol, monkeypatch):
    """grad(..., accumulate={p: (u, μ)}) leaves u = μ u_before + ∇ (∇ as .grad would hold
    it for the same draws); μ = 0 ignores whatever u held (here NaN). "native" is the
    whole-step kernel where torch's sgemm is reachable, "native-per-pass" the per-pass kernels."""
    path = dict(path)
    if path.pop("per_pass", False):
        monkeypatch.setattr(native.load(), "sgemm", None)
    model = random_rbm(7, 5, seed=1, dtype=dtype)
    v = _data(8, 7, dtype=dtype)
    params = list(model.parameters())
    est_a = fused_est(Est, **kw, generator=torch.Generator().manual_seed(3), **path)
    est_b = fused_est(Est, **kw, generator=torch.Generator().manual_seed(3), **path)
    bufs = [torch.full_like(p, float("nan")) for p in params]
    for step in range(3):
        mu = 0.0 if step == 0 else 0.7
        before = [b.clone() for b in bufs]
        est_a.grad(model, v)
        grads = _grads(model)
        est_b.grad(model, v, accumulate={p: (b, mu) for p, b in zip(params, bufs)})
        for b, b0, g in zip(bufs, before, grads):
            want = g if mu == 0 else mu * b0 + g
            torch.testing.assert_close(b, want, rtol=0, atol=atol)
