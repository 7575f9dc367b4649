"""Native CPU kernels (inference/backends/rbm/native.py) and CD / PCD on them: exact oracles first, then statistics.

Seed policy
-----------
Every key, stream and generator is fixed. The statistical tests compare Monte Carlo
frequencies with exact values and fail when a z-score exceeds the two-sided Bonferroni
threshold for ``ALPHA = 1e-4`` over all the compared numbers (or a chi-square p-value
falls below ``ALPHA``), so a correct implementation fails with probability at most 1e-4;
the seeds were not searched for.

The kernel tests are skipped where the kernels do not load (no C compiler, or
``PGM_NATIVE=0``); the loader tests run everywhere.
"""

import copy
import os

import numpy as np
import pytest
import torch
from scipy import stats

from inference.backends.rbm import native
from inference.backends.rbm.fused_gradient import FusedGradient
from inference.learning.contrastive import CD, PCD, surrogate_loss
from inference.learning.fit import fit
from tests.inference.learning.test_contrastive import ESTIMATORS
from tests.oracles import brute_force_marginal_v, chi_square_gof, noncentral_power, random_rbm, state_index

ALPHA = 1e-4

pytestmark = pytest.mark.usefixtures("one_thread")

needs_kernels = pytest.mark.skipif(not native.available(),
                                   reason=f"native kernels not available here: {native.status()}")


@pytest.fixture
def kern():
    """The loaded kernels (loaded again if a loader test reset them)."""
    return native.load()


def _z_threshold(n_tests):
    return stats.norm.isf(ALPHA / (2 * n_tests))


def _rand(shape, seed, low=-4.0, high=4.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * (high - low) + low


def _data(n, width, seed=0, p=0.4):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < p).float()


def native_est(Est, *args, **kw):
    """The native-kernel gradient of a fresh ``Est(*args, **kw)``."""
    return FusedGradient(Est(*args, **kw), kernels="native")


def _grads(model):
    return [p.grad.detach().clone() for p in model.parameters()]


def _autograd(model, v_data, v_model):
    model.zero_grad(set_to_none=True)
    surrogate_loss(model, {"v": v_data}, {"v": v_model}).backward()
    return _grads(model)


# -- random numbers ----------------------------------------------------------------------

@needs_kernels
def test_philox_known_answers(kern):
    """kernels.philox reproduces Random123's published Philox4x32-10 known-answer vectors."""
    assert kern.philox((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert kern.philox((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
    assert (kern.philox((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0))
            == (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))


@needs_kernels
def test_uniform_layout_is_the_documented_function_of_key_stream_row_column(kern):
    """Each uniform is ((w >> 9) + 1/2) / 2^23 of the documented Philox word; a big draw is in (0, 1) on that grid."""
    K, S = 0x9E3779B97F4A7C15, (7 << 32) + 12345
    u = kern.uniform(3, 150, key=K, stream=S)
    for r in range(3):
        for j in range(150):
            w = kern.philox((16 * (j // 64) + j % 16, r, S & 0xFFFFFFFF, S >> 32),
                            (K & 0xFFFFFFFF, K >> 32))[(j % 64) // 16]
            assert u[r, j].item() == ((w >> 9) + 0.5) / 2**23, (r, j)
    assert torch.equal(kern.uniform(2, 70, key=-1, stream=3), kern.uniform(2, 70, key=2**64 - 1, stream=3))
    u = kern.uniform(2000, 2000, key=12, stream=3).double()
    assert u.min() > 0 and u.max() < 1
    assert ((u * 2**23 - 0.5) % 1 == 0).all()


# -- the logistic function and the pass's semantics ---------------------------------------

@needs_kernels
def test_logistic_relative_error_and_extremes(kern):
    """σ(x + b) has relative error <= 3e-7, stays in [0, 1] for huge or infinite x and keeps NaN."""
    x = torch.linspace(-80, 80, 200_001).reshape(1, -1)
    y = kern.logistic_bernoulli(x.clone(), torch.zeros(x.shape[1])).double()
    want = torch.sigmoid(x.double())
    assert ((y - want).abs() / want).max() <= 3e-7
    big = torch.tensor([[1e4, -1e4, 1e30, -1e30, float("inf"), -float("inf"), 88.0, -88.0, float("nan")]])
    out = kern.logistic_bernoulli(big.clone(), torch.zeros(big.shape[1]))[0]
    assert ((out[:-1] >= 0) & (out[:-1] <= 1)).all() and torch.isnan(out[-1])
    assert torch.equal(out[0:-1:2], torch.ones(4)) and (out[1:-1:2] < 1e-37).all()
    x, b = _rand((9, 130), 1), _rand(130, 2)
    y = kern.logistic_bernoulli(x.clone(), b).double()
    torch.testing.assert_close(y, torch.sigmoid((x + b).double()), rtol=3e-7, atol=0)


def _close_sum(got, want, terms):
    """float32 running sums against float64: error relative to the summed magnitudes."""
    torch.testing.assert_close(got.double(), want, rtol=0, atol=1e-5 * float(terms.max()) + 1e-6)


@needs_kernels
@pytest.mark.parametrize("shape", [(70, 150), (600, 300)], ids=["stack-partials", "heap-partials"])
def test_scale_and_colsum_semantics(kern, shape):
    """x <- s·σ(x + b) (unless sample is x) and colsum <- μ colsum + w Σ_rows y for every kernel; μ = 0 drops NaN."""
    R, C = shape
    x0, b, a, w, s = _rand(shape, 3), _rand(C, 4, -1, 1), _rand(shape, 6), -0.25, 1.5
    p = torch.sigmoid((x0 + b).double())
    idx = torch.randint(0, R, (R // 2,), generator=torch.Generator().manual_seed(7))
    for mu, c0 in ((0.5, _rand(C, 5)), (0.0, torch.full((C,), float("nan")))):
        base = 0.0 if mu == 0 else mu * c0.double()
        for sample_mode in (None, "other", "x"):
            for sum_samples in (True, False):
                x, colsum = x0.clone(), c0.clone()
                sample = {None: None, "other": torch.full(shape, 7.0), "x": x}[sample_mode]
                kern.logistic_bernoulli(x, b, scale=s, sample=sample, key=1, stream=2, colsum=colsum, mu=mu,
                                        weight=w, sum_samples=sum_samples)
                if sample_mode == "x":  # x holds the samples, which are summed whatever sum_samples says
                    assert ((x == 0) | (x == 1)).all()
                else:
                    torch.testing.assert_close(x.double(), s * p, rtol=3e-7, atol=0)
                y = sample if (sample is not None and sum_samples) else x
                _close_sum(colsum, base + w * y.double().sum(0), y.double().abs().sum(0) + 10)
        colsum = kern.column_sum(a, c0.clone(), mu=mu, weight=w)
        _close_sum(colsum, base + w * a.double().sum(0), a.double().abs().sum(0) + 10)
        out, colsum = torch.empty(shape), c0.clone()
        kern.bernoulli(p.float(), out, key=9, stream=1, colsum=colsum, mu=mu, weight=w)
        _close_sum(colsum, base + w * out.double().sum(0), out.double().sum(0) + 10)
        out, colsum = torch.empty(R // 2, C), c0.clone()
        kern.gather_rows(a, idx, out, colsum=colsum, mu=mu, weight=w)
        assert torch.equal(out, a[idx])
        _close_sum(colsum, base + w * out.double().sum(0), out.double().abs().sum(0) + 10)


@needs_kernels
def test_samples_are_indicators_of_the_documented_uniforms(kern):
    """sample = 1{u < p}, u = uniform(key, stream), as bernoulli() and in-place draws; p=1 -> 1, p<2^-24 -> 0."""
    shape, key, stream = (300, 200), 2**40 + 3, 5
    x0, b = _rand(shape, 8), _rand(200, 9, -1, 1)
    x, s = x0.clone(), torch.empty(shape)
    kern.logistic_bernoulli(x, b, sample=s, key=key, stream=stream)
    u = kern.uniform(*shape, key=key, stream=stream).double()
    p = torch.sigmoid((x0 + b).double())
    clear = (u - p).abs() > 1e-6
    assert clear.float().mean() > 0.99
    assert torch.equal(s[clear], (u < p).float()[clear])
    assert torch.equal(kern.bernoulli(x, torch.empty(shape), key=key, stream=stream), s)
    assert torch.equal(kern.bernoulli(*[x.clone()] * 2, key=key, stream=stream), s)  # out is probs
    inplace = x0.clone()
    kern.logistic_bernoulli(inplace, b, sample=inplace, key=key, stream=stream)
    assert torch.equal(inplace, s)
    for key, value, want in ((1, 1.0, 1.0), (2, 0.0, 0.0), (3, 5e-8, 0.0)):  # 5e-8 < 2^-24 = min(u)
        assert (kern.bernoulli(torch.full((2000, 1000), value), torch.empty(2000, 1000), key=key) == want).all()


@needs_kernels
@pytest.mark.parametrize("shape", [(100, 500), (37, 784), (5, 3), (300, 70), (400, 333)])
def test_results_do_not_depend_on_the_thread_count(kern, shape):
    """x, samples and column sums of every kernel are bitwise identical for 1, 2, 3 and 4 threads."""
    R, C = shape
    x0, b, a = _rand(shape, 10), _rand(C, 11, -1, 1), _rand(shape, 12)
    idx = torch.randint(0, R, (R,), generator=torch.Generator().manual_seed(13))

    def outputs(t):
        out, sums = [], [torch.ones(C) for _ in range(5)]
        for sum_samples, cs in zip((True, False), sums):
            x, s = x0.clone(), torch.empty(shape)
            kern.logistic_bernoulli(x, b, scale=0.5, sample=s, key=77, stream=4, colsum=cs, mu=0.5, weight=0.1,
                                    sum_samples=sum_samples, threads=t)
            out += [x, s]
        out.append(kern.bernoulli(torch.sigmoid(x0), torch.empty(shape), key=5, colsum=sums[2], threads=t))
        kern.column_sum(a, sums[3], mu=0.3, weight=2.0, threads=t)
        out.append(kern.gather_rows(a, idx, torch.empty(shape), colsum=sums[4], mu=0.2, threads=t))
        return out + sums

    want = outputs(1)
    for t in (2, 3, 4):
        assert all(torch.equal(got, w) for got, w in zip(outputs(t), want)), t


@needs_kernels
def test_gather_rows(kern):
    """gather_rows is index_select (with the right column sums); bad indices raise ValueError naming index."""
    data = _rand((50, 70), 14)
    idx = torch.tensor([3, 3, 0, 49, 17, 8, 8, 8, 21, 1, 0, 44, 12, 30, 2, 5, 49, 6])
    cs = torch.zeros(70)
    out = kern.gather_rows(data, idx, torch.empty(len(idx), 70), colsum=cs, weight=-0.5)
    assert torch.equal(out, data.index_select(0, idx))
    _close_sum(cs, -0.5 * out.double().sum(0), out.double().abs().sum(0))
    assert torch.equal(kern.gather_rows(data, idx[::2], torch.empty(9, 70)), data[idx[::2]])
    for bad in (torch.tensor([0, 50]), torch.tensor([-1, 2]), idx.int(), idx.float(), idx[None]):
        with pytest.raises(ValueError, match="index"):
            kern.gather_rows(data, bad, torch.empty(bad.shape[-1], 70))


@needs_kernels
def test_tensor_arguments_are_validated_before_any_work(kern):
    """Non-tensors raise TypeError, float64/strided/mis-shaped tensors ValueError, naming the argument, up front."""
    R, C = 4, 6
    x, b = torch.full((R, C), 0.25), torch.zeros(C)
    not_tensors = {"x": x.numpy(), "bias": [0.0] * C, "colsum": [0.0] * C, "sample": np.zeros((R, C), np.float32),
                   "key": 1.5, "stream": "1"}
    for name, value in not_tensors.items():
        args = {"x": x, "bias": b, name: value}
        with pytest.raises(TypeError, match=f"^{name} must"):
            kern.logistic_bernoulli(args.pop("x"), args.pop("bias"), **args)
    bad = {
        "x": [x.double(), torch.zeros(C, R).t(), torch.zeros(C), torch.zeros(1, R, C)],
        "bias": [b.double(), torch.zeros(C + 1), torch.zeros(1, C), torch.zeros(2 * C)[::2]],
        "colsum": [b.double(), torch.zeros(C - 1), torch.zeros(C, 1)],
        "sample": [x.double(), torch.zeros(R + 1, C), torch.zeros(C, R).t(), torch.zeros(R * C)],
    }
    for name, tensors in bad.items():
        for t in tensors:
            args = {"x": x, "bias": b, name: t}
            with pytest.raises(ValueError, match=f"^{name} must"):
                kern.logistic_bernoulli(args.pop("x"), args.pop("bias"), **args)
    assert torch.equal(x, torch.full((R, C), 0.25))  # no call reached the kernel
    one = torch.tensor([0])
    for err, name, call in ((TypeError, "probs", lambda: kern.bernoulli(x.tolist(), x)),
                            (ValueError, "out", lambda: kern.bernoulli(x, torch.zeros(R, C + 1))),
                            (TypeError, "a", lambda: kern.column_sum(None, b)),
                            (ValueError, "colsum", lambda: kern.column_sum(x, torch.zeros(C + 1))),
                            (TypeError, "data", lambda: kern.gather_rows(x.tolist(), one, torch.zeros(1, C))),
                            (ValueError, "out", lambda: kern.gather_rows(x, one, torch.zeros(2, C)))):
        with pytest.raises(err, match=f"^{name} must"):
            call()


# -- estimators on the native kernels: exact ------------------------------------------

@pytest.fixture(params=["whole-step", "per-pass"])
def variant(request, monkeypatch):
    """Estimators on the whole-step kernel (skipped where torch's sgemm is not reachable)
    or on the per-pass kernels with torch GEMMs."""
    kern = native.load()
    if request.param == "per-pass":
        monkeypatch.setattr(kern, "sgemm", None)
    elif kern is None or not kern.has_step:
        pytest.skip(f"whole-step kernel not available: {native.status()}")
    return request.param



@needs_kernels
@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_native_gradient_equals_free_energy_surrogate(Est, kw, variant):
    """The native .grad is the autograd gradient of F(v_data).mean() - F(v_model).mean() for its own samples."""
    model = random_rbm(7, 5, seed=1, dtype=torch.float32)
    v = _data(8, 7)
    est = native_est(Est, **kw, generator=torch.Generator().manual_seed(3))
    assert est.uses_native(model)
    infos = [est.grad(model, v) for _ in range(3)]  # later calls reuse buffers and (PCD) move the chains
    for a, b in zip(_grads(model), _autograd(model, v, infos[-1].v_model.clone())):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@needs_kernels
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_index_equals_passing_the_selected_rows(Est, kw, contiguous, variant):
    """grad(model, data, index=idx) is bitwise grad(model, data[idx]) with the same seed (kernel gather or not)."""
    model = random_rbm(7, 5, seed=2, dtype=torch.float32)
    data = _data(30, 7, seed=4)
    if not contiguous:
        data = data.t().contiguous().t()
    est_a = native_est(Est, **kw, generator=torch.Generator().manual_seed(6))
    est_b = native_est(Est, **kw, generator=torch.Generator().manual_seed(6))
    for step in range(3):
        idx = torch.randperm(30, generator=torch.Generator().manual_seed(step))[:8]
        va = est_a.grad(model, data, index=idx).v_model.clone()
        ga = _grads(model)
        vb = est_b.grad(model, data[idx]).v_model.clone()
        assert torch.equal(va, vb) and all(torch.equal(a, b) for a, b in zip(ga, _grads(model)))


@needs_kernels
@pytest.mark.parametrize("k, sample_visible", [(1, False), (1, True), (3, False), (2, True)])
def test_tracking_the_error_does_not_change_the_draws(k, sample_visible, variant):
    """track_error changes neither CD's draws nor its gradients; recon_sq is Σ‖v - v₁‖², positive and finite."""
    model = random_rbm(7, 5, seed=3, dtype=torch.float32)
    v = _data(9, 7, seed=5)
    out = []
    for track in (True, False):
        est = native_est(CD, k, sample_visible=sample_visible, generator=torch.Generator().manual_seed(8))
        infos = [est.grad(model, v, track) for _ in range(2)]
        out.append((infos[-1], infos[-1].v_model.clone(), _grads(model)))
    (info_t, v_t, g_t), (info_f, v_f, g_f) = out
    assert torch.equal(v_t, v_f) and all(torch.equal(a, b) for a, b in zip(g_t, g_f))
    assert info_f.recon_sq is None
    r = info_t.recon_sq
    assert r.dim() == 0 and torch.isfinite(r) and r > 0
    if k == 1 and not sample_visible:  # v_model is v₁ itself
        torch.testing.assert_close(r, ((v - v_t) ** 2).sum(), rtol=1e-5, atol=0)


# -- statistical checks ------------------------------------------------------------------

@needs_kernels
def test_bernoulli_frequencies_and_independence_of_streams_and_keys(kern):
    """Bernoulli frequencies match p (power > 0.999 against a 0.01 bias); streams, keys, neighbours are uncorrelated."""
    probs = torch.tensor([1e-3, 0.05, 0.3, 0.5, 0.77, 0.95, 0.999], dtype=torch.float64)
    n = 200_000
    x, s = torch.zeros(n, len(probs)), torch.empty(n, len(probs))
    bias = torch.logit(probs).float()
    kern.logistic_bernoulli(x, bias, sample=s, key=2024, stream=1)
    p = torch.sigmoid(bias.double())  # what the kernel was asked to draw (within 1e-7 of probs)
    se = torch.sqrt(p * (1 - p) / n)
    thr = _z_threshold(len(probs))
    z = (s.double().mean(0) - p) / se
    assert z.abs().max() < thr, z
    assert float(stats.norm.sf(thr - (0.01 / se).min())) > 0.999  # power against a 0.01 bias
    u = {(k, st): kern.uniform(1000, 1024, key=31337 + k, stream=st).double() for k, st in ((0, 0), (0, 1), (1, 0))}
    u0 = u[0, 0]  # pairs: streams 0/1, keys k/k+1, then neighbouring columns, same-block words, rows of one draw
    pairs = [(u0, u[0, 1]), (u0, u[1, 0]), (u0[:, :-1], u0[:, 1:]), (u0[:, :-16], u0[:, 16:]), (u0[:-1], u0[1:])]
    zs = [float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1]) * a.numel() ** 0.5 for a, b in pairs]
    assert max(abs(z) for z in zs) < _z_threshold(len(pairs)), zs


@needs_kernels
def test_native_pcd_chains_reach_the_model_distribution(variant):
    """One snapshot of 20 000 independent native PCD chains after 50 sweeps has the exact p(v) (chi-square test)."""
    model = random_rbm(4, 3, seed=8, dtype=torch.float32)
    n_chains = 20_000
    est = native_est(PCD, n_chains=n_chains, generator=torch.Generator().manual_seed(21))
    est.est.init_chains(model, torch.zeros(1, 4))  # far from equilibrium
    v = _data(6, 4, seed=4)
    for _ in range(50):
        info = est.grad(model, v)
    counts = torch.bincount(state_index(info.v_model), minlength=16)
    exact = brute_force_marginal_v(copy.deepcopy(model).double())
    _, _, p_value = chi_square_gof(counts.numpy(), exact.numpy())
    assert p_value > ALPHA, (counts, exact * n_chains)
    wrong = copy.deepcopy(model).double()
    with torch.no_grad():
        wrong.b[0] += 0.2
    assert noncentral_power(n_chains, brute_force_marginal_v(wrong).numpy(), exact.numpy(), ALPHA) > 0.99


# -- options of the estimators and fit ----------------------------------------------------

@needs_kernels
def test_native_option_checks_and_uses_native():
    """kernels='native' refuses float64 models saying why, a bad kernels value is a ValueError,
    uses_native means float32 CPU (auto) and never with kernels='torch'."""
    m32 = random_rbm(5, 3, seed=0, dtype=torch.float32)
    m64 = random_rbm(5, 3, seed=0)
    with pytest.raises(RuntimeError, match="kernels='native'.*float32 CPU"):
        native_est(CD, generator=torch.Generator()).grad(m64, _data(4, 5).double())
    with pytest.raises(RuntimeError, match="float32 CPU"):
        native_est(PCD).uses_native(m64)
    for Est in (CD, PCD):
        with pytest.raises(ValueError, match="kernels"):
            FusedGradient(Est(), kernels="yes")
        with pytest.raises(TypeError, match="CD or PCD"):
            FusedGradient(object())
    assert FusedGradient(CD()).uses_native(m32) and FusedGradient(PCD()).uses_native(m32)
    assert not FusedGradient(CD()).uses_native(m64) and not FusedGradient(CD(), kernels="torch").uses_native(m32)


@needs_kernels
def test_fit_with_native_kernels_is_reproducible(variant):
    """fit on the native backend is bitwise reproducible from a seed, and backend='torch'
    (other random numbers) ends elsewhere."""
    data = _data(200, 9, seed=7, p=0.3)
    base = random_rbm(9, 4, seed=3, dtype=torch.float32)
    runs = {}
    for name, backend in (("a", "auto"), ("b", "auto"), ("torch", "torch")):
        model = copy.deepcopy(base)
        assert len(fit(model, data, backend=backend, epochs=1, progress=False, monitor=0, seed=5)) == 1
        runs[name] = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(runs["a"], runs["b"]))
    assert all(torch.isfinite(p).all() for p in runs["torch"])
    assert not all(torch.equal(a, b) for a, b in zip(runs["a"], runs["torch"]))
    assert not all(torch.equal(a, b) for a, b in zip(runs["a"], base.parameters()))


# -- the loader (runs without a compiler) -------------------------------------------------

@pytest.fixture
def fresh_loader(monkeypatch):
    """Forget the loaded library before and after the test (later tests reload the real one)."""
    native._reset()
    yield monkeypatch
    native._reset()


@pytest.mark.parametrize("value", ["0", "false", " OFF ", "no"])
def test_pgm_native_off_disables_the_kernels(fresh_loader, value):
    """PGM_NATIVE=0/false/off/no: load() is None, status and kernels='native''s RuntimeError name PGM_NATIVE."""
    fresh_loader.setenv("PGM_NATIVE", value)
    assert native.load() is None and not native.available()
    assert "PGM_NATIVE" in native.status()
    model = random_rbm(5, 3, seed=0, dtype=torch.float32)
    assert not FusedGradient(CD()).uses_native(model)
    FusedGradient(CD(generator=torch.Generator().manual_seed(0))).grad(model, _data(4, 5))  # torch ops: works
    with pytest.raises(RuntimeError, match="PGM_NATIVE"):
        native_est(CD, generator=torch.Generator()).grad(model, _data(4, 5))


def test_failing_compiler_makes_the_kernels_unavailable(fresh_loader, tmp_path):
    """A compiler that runs but fails: load() is None, status 'unavailable: compilation failed',
    only the cached failure is left behind, and a later load does not compile again."""
    calls = tmp_path / "calls"
    cc = tmp_path / "failing-cc"
    cc.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'error: no such thing' >&2\nexit 1\n")
    cc.chmod(0o755)
    fresh_loader.setenv("PGM_NATIVE", "1")
    fresh_loader.setenv("CC", str(cc))
    fresh_loader.setenv("PGM_NATIVE_CACHE", str(tmp_path / "cache"))
    assert native.load() is None
    status = native.status()
    assert status.startswith("unavailable") and "compilation failed" in status and "no such thing" in status, status
    left = [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]
    assert len(left) == 1 and left[0].suffix == ".failed"
    n_calls = len(calls.read_text().split())  # `cc --version` and one build
    assert n_calls == 2
    native._reset()
    assert native.load() is None and "cached" in native.status()
    assert len(calls.read_text().split()) == n_calls + 1  # only `cc --version` again


def test_compiles_once_into_the_cache_and_reuses_it(fresh_loader, tmp_path):
    """load() builds exactly one .so in an empty PGM_NATIVE_CACHE; after _reset() it reuses it (same path, mtime)."""
    if native._compiler() is None:
        pytest.skip("no C compiler")
    fresh_loader.setenv("PGM_NATIVE", "1")
    fresh_loader.setenv("PGM_NATIVE_CACHE", str(tmp_path))
    kernels = native.load()
    if kernels is None:
        pytest.skip(f"the compiler cannot build the kernels here: {native.status()}")
    built = list(tmp_path.iterdir())
    assert len(built) == 1 and built[0].suffix == ".so" and kernels.path == built[0]
    assert str(built[0]) in native.status()
    mtime = os.stat(built[0]).st_mtime_ns
    native._reset()
    again = native.load()
    assert again is not kernels and again.path == built[0]
    assert os.stat(built[0]).st_mtime_ns == mtime and list(tmp_path.iterdir()) == built
