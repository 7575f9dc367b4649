"""The whole-step native kernel (inference/backends/rbm/whole_step.py, csrc/rbm_step.c) against the
per-pass native kernels, which tests/inference/backends/rbm/test_native.py checks against exact oracles.

The two run the same estimate with the same Philox draws and differ only in how the
GEMMs are split (and so in float32 rounding). A draw 1{u < p} can differ only when a
uniform falls between the two roundings of its probability, about 1e-7 per draw; these
tests make some 10⁵ draws in all, so a correct kernel fails them with probability of
order 1e-2 on a machine whose rounding differs from the one they were written on, and
deterministically passes or fails on any one machine (every seed is fixed, none searched).
"""

import pytest
import torch

from inference.backends.rbm import native
from inference.backends.rbm.fused_gradient import FusedGradient
from inference.backends.rbm.sgd import SGDFusion
from inference.learning.contrastive import CD, PCD
from inference.learning.schedules import param_groups
from tests.oracles import random_rbm

pytestmark = pytest.mark.skipif(not (native.available() and native.load().has_step),
                                reason=f"whole-step kernel not available here: {native.status()}")

ESTIMATORS = [
    pytest.param(CD, {"k": 1}, id="cd1"),
    pytest.param(CD, {"k": 1, "sample_visible": True}, id="cd1-sampled"),
    pytest.param(CD, {"k": 3, "sample_visible": True}, id="cd3-sampled"),
    pytest.param(PCD, {"k": 1}, id="pcd1"),
    pytest.param(PCD, {"k": 2, "n_chains": 11}, id="pcd2-11chains"),
]
# visible widths: 3 chunks of 64 (up to 3 threads share the rows of W), 2 chunks, and 1
SIZES = [pytest.param(130, 20, id="130x20"), pytest.param(70, 9, id="70x9"), pytest.param(6, 4, id="6x4")]


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n}threads")
def threads(request):
    n = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(n)


def native_est(Est, *args, **kw):
    """The native-kernel gradient of a fresh ``Est(*args, **kw)``."""
    return FusedGradient(Est(*args, **kw), kernels="native")


def lean_sgd(groups, lr, momentum):
    """The fused update of a plain torch.optim.SGD over ``groups``."""
    return SGDFusion(torch.optim.SGD(groups, lr=lr, momentum=momentum))


def _data(n, width, seed=0, p=0.4):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < p).float()


def _estimator(Est, kw, model, whole, seed=3):
    """An estimator whose workspace uses the whole-step kernel or (``whole=False``) the per-pass kernels."""
    est = native_est(Est, **kw, generator=torch.Generator().manual_seed(seed))
    n_neg = kw.get("n_chains", 8)
    ws = est._workspace(model, n_neg, 8)
    assert (ws.whole is not None) is True  # available here
    if not whole:
        ws.whole = None
    return est


def test_gemm_matches_torch():
    """kern.gemm (the kernel's sgemm call) computes row-major op(a) op(b) + β out for every transposition."""
    kern = native.load()
    gen = torch.Generator().manual_seed(0)
    m, n, k = 37, 53, 29
    for ta in (False, True):
        for tb in (False, True):
            a = torch.randn((k, m) if ta else (m, k), generator=gen)
            b = torch.randn((n, k) if tb else (k, n), generator=gen)
            for beta in (0.0, 0.7):
                out = torch.randn(m, n, generator=gen)
                want = beta * out + (a.t() if ta else a) @ (b.t() if tb else b)
                torch.testing.assert_close(kern.gemm(a, b, ta=ta, tb=tb, out=out, beta=beta), want,
                                           rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="inner dimensions"):
        kern.gemm(torch.zeros(3, 4), torch.zeros(5, 2))


@pytest.mark.parametrize("n_vis, n_hid", SIZES)
@pytest.mark.parametrize("Est, kw", ESTIMATORS)
def test_whole_step_matches_per_pass_kernels(Est, kw, n_vis, n_hid, threads):
    """Same draws (sampled v_model bitwise) and the same gradients and probabilities up to float32
    rounding, for any thread count."""
    model = random_rbm(n_vis, n_hid, seed=1, dtype=torch.float32)
    data = _data(40, n_vis, seed=2)
    est = {whole: _estimator(Est, kw, model, whole) for whole in (True, False)}
    for step in range(3):  # later calls reuse buffers and (PCD) move the chains
        idx = torch.randperm(40, generator=torch.Generator().manual_seed(step))[:8]
        out = {}
        for whole, e in est.items():
            info = e.grad(model, data, track_error=True, index=idx)
            assert info.applied is False
            out[whole] = (info.v_model.clone(), [p.grad.clone() for p in model.parameters()], info.recon_sq)
        (v_a, g_a, r_a), (v_b, g_b, r_b) = out[True], out[False]
        if Est is PCD or kw.get("sample_visible"):
            assert torch.equal(v_a, v_b)
        else:  # v_k is p(v | h_{k-1})
            torch.testing.assert_close(v_a, v_b, rtol=1e-5, atol=1e-6)
        for a, b in zip(g_a, g_b):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        if Est is CD:
            torch.testing.assert_close(r_a, r_b, rtol=1e-5, atol=1e-6)
        else:
            assert r_a is None and r_b is None


@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 0.01), (0.0, 0.0), (0.5, 0.0)])
@pytest.mark.parametrize("Est, kw", ESTIMATORS[::3])
def test_update_in_the_kernel_equals_sgd_fusion_finish(Est, kw, momentum, weight_decay, threads):
    """With entries (u, μ, λ, η) the kernel applies SGD's step itself (info.applied): the parameters
    and momentum buffers equal those of the per-pass kernels followed by SGDFusion.finish, weight decay
    on W only, over steps with μ = 0 (first) and μ > 0."""
    runs = {}
    for whole in (True, False):
        model = random_rbm(130, 20, seed=4, dtype=torch.float32)
        opt = lean_sgd(param_groups(model, 0.05, weight_decay, "weights"), 0.05, momentum)
        est = _estimator(Est, kw, model, whole)
        data = _data(40, 130, seed=5)
        for step in range(4):
            idx = torch.randperm(40, generator=torch.Generator().manual_seed(step))[:8]
            info = est.grad(model, data, False, accumulate=opt.targets(update=True), index=idx)
            assert info.applied is whole
            opt.finish(info.applied)
            for g in opt.opt.param_groups:
                g["lr"] *= 0.9  # a schedule: the kernel reads η every step
        bufs = [opt.targets(update=False)[p][0].clone() for p in model.parameters()]
        runs[whole] = ([p.detach().clone() for p in model.parameters()], bufs)
    for a, b in zip(runs[True][0] + runs[True][1], runs[False][0] + runs[False][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_targets_with_update_carry_decay_and_rate():
    """targets(update=True) gives (u, μ, λ, η) per parameter from its group; finish(True) only
    finishes the bookkeeping (the parameters stay as the estimator left them)."""
    model = random_rbm(6, 4, seed=0, dtype=torch.float32)
    opt = lean_sgd(param_groups(model, 0.1, 0.01, "weights"), 0.1, 0.5)
    acc = opt.targets(update=True)
    assert acc[model.W][1:] == (0.0, 0.01, 0.1) and acc[model.b][1:] == (0.0, 0.0, 0.1)
    before = [p.detach().clone() for p in model.parameters()]
    for u, *_ in acc.values():
        u.fill_(1.0)
    opt.finish(True)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    with pytest.raises(RuntimeError, match="targets"):
        opt.finish(False)


@pytest.fixture
def fresh_loader(monkeypatch):
    native._reset()
    yield monkeypatch
    native._reset()


def test_pgm_native_step_off_keeps_the_per_pass_kernels(fresh_loader):
    """PGM_NATIVE_STEP=0: the kernels load without the whole step, status says so, training works."""
    fresh_loader.setenv("PGM_NATIVE_STEP", "0")
    kern = native.load()
    assert kern is not None and not kern.has_step and "PGM_NATIVE_STEP" in native.status()
    with pytest.raises(RuntimeError, match="not available"):
        kern.gemm(torch.zeros(2, 2), torch.zeros(2, 2))
    model = random_rbm(6, 4, seed=0, dtype=torch.float32)
    est = native_est(CD, generator=torch.Generator().manual_seed(0))
    info = est.grad(model, _data(8, 6), accumulate=lean_sgd(param_groups(model, 0.1, 0.0, "all"), 0.1, 0.0)
                    .targets(update=True))
    assert est._ws.whole is None and info.applied is False


@pytest.mark.parametrize("whole", [True, False], ids=["whole-step", "per-pass"])
@pytest.mark.parametrize("Est, kw", ESTIMATORS[::3])
def test_bad_index_raises_before_any_work(Est, kw, whole):
    """An index outside the data's rows raises ValueError naming index, value and position, and leaves
    the parameters and momentum buffers as they were; a wrong dtype or rank is refused; a
    non-contiguous index gives what its contiguous copy gives."""
    model = random_rbm(130, 20, seed=1, dtype=torch.float32)
    data = _data(40, 130, seed=2)
    est = _estimator(Est, kw, model, whole)
    est.grad(model, data, index=torch.arange(8))  # PCD: chains started
    opt = lean_sgd(param_groups(model, 0.1, 0.0, "all"), 0.1, 0.5)
    before = [p.detach().clone() for p in model.parameters()]
    for bad, pos in ((torch.tensor([0, 1, 40, 3, 4, 5, 6, 7]), 2), (torch.tensor([-1, 1, 2, 3, 4, 5, 6, 7]), 0)):
        acc = opt.targets(update=True)
        with pytest.raises(ValueError, match=rf"index must lie in \[0, 40\), got {int(bad[pos])} at position {pos}"):
            est.grad(model, data, index=bad, accumulate=acc)
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
        assert all(torch.equal(u, torch.zeros_like(u)) for u, *_ in acc.values())
    with pytest.raises(TypeError, match="int64"):
        est.grad(model, data, index=torch.arange(8).int())
    with pytest.raises(ValueError, match="1-d"):
        est.grad(model, data, index=torch.arange(8)[None])
    strided = torch.arange(16).flip(0)[::2]
    grads = []
    for index in (strided, strided.contiguous()):
        e = _estimator(Est, kw, model, whole, seed=9)
        e.grad(model, data, index=index)
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_bad_accumulate_buffer_is_refused():
    """A momentum buffer of the wrong shape, dtype or layout raises ValueError naming the parameter."""
    model = random_rbm(70, 9, seed=1, dtype=torch.float32)
    data = _data(8, 70)
    est = _estimator(CD, {"k": 1}, model, whole=True)
    good = {p: (torch.zeros_like(p), 0.0) for p in model.parameters()}
    for name, bad in (("W", torch.zeros(9, 70)), ("W", torch.zeros(9, 70).t()), ("b", torch.zeros(70).double())):
        acc = dict(good)
        acc[getattr(model, name)] = (bad, 0.0)
        with pytest.raises(ValueError, match=rf"accumulate\[{name}\] must be a contiguous"):
            est.grad(model, data, accumulate=acc)


@pytest.mark.parametrize("method, kw", [("cd", {}), ("cd", {"sample_visible": False, "k": 2}),
                                        ("pcd", {"n_chains": 12})], ids=["cd1", "cd2-probs", "pcd1-12chains"])
def test_fit_in_runs_of_steps_equals_step_by_step(method, kw, threads, monkeypatch):
    """fit hands runs of full batches to sgd_steps; parameters, momentum buffers, history and
    the generator end bit for bit where the one-call-per-batch loop ends (schedule, weight
    decay, a last partial batch, two epochs)."""
    import importlib
    fit_module = importlib.import_module("inference.learning.fit")
    training = importlib.import_module("inference.backends.rbm.training")
    data = _data(203, 70, seed=6, p=0.3)
    out = {}
    for per_call in (32, 1):
        monkeypatch.setattr(training, "STEPS_PER_CALL", per_call)
        model = random_rbm(70, 9, seed=3, dtype=torch.float32)
        calls = []
        original = FusedGradient.sgd_steps
        monkeypatch.setattr(FusedGradient, "sgd_steps",
                            lambda self, *a, **k: calls.append(len(a[2])) or original(self, *a, **k))
        hist = fit_module.fit(model, data, method=method, epochs=2, batch_size=10, weight_decay=1e-3, seed=4,
                              progress=False, monitor=0, evaluate=None, **kw)
        out[per_call] = ([p.detach().clone() for p in model.parameters()], hist, calls)
    (p_runs, h_runs, calls), (p_steps, h_steps, no_calls) = out[32], out[1]
    assert calls == [19, 20] and no_calls == []  # 20 full batches and a partial one per epoch; the very first is alone
    assert all(torch.equal(a, b) for a, b in zip(p_runs, p_steps))
    if method == "cd":
        assert h_runs.train_recon_error == h_steps.train_recon_error


def test_sgd_steps_checks_its_arguments(monkeypatch):
    """sgd_steps needs the whole-step kernel, update entries for every parameter and indices in range."""
    model = random_rbm(70, 9, seed=1, dtype=torch.float32)
    data = _data(40, 70)
    opt = lean_sgd(param_groups(model, 0.1, 0.0, "all"), 0.1, 0.5)
    est = native_est(CD, generator=torch.Generator().manual_seed(0))
    index = torch.arange(24).view(3, 8)
    lrs = [[0.1] * 3] * 3
    with pytest.raises(ValueError, match="accumulate entries"):
        est.sgd_steps(model, data, index, opt.targets(update=False), lrs, [False] * 3)
    bad = index.clone()
    bad[2, 5] = 40
    with pytest.raises(ValueError, match=r"index must lie in \[0, 40\), got 40 at position 21"):
        est.sgd_steps(model, data, bad, opt.targets(update=True), lrs, [False] * 3)
    recons = est.sgd_steps(model, data, index, opt.targets(update=True), lrs, [True, False, True])
    assert recons[1] is None and all(r.dim() == 0 and r > 0 for r in (recons[0], recons[2]))
    monkeypatch.setattr(native.load(), "sgemm", None)
    with pytest.raises(RuntimeError, match="whole-step"):
        native_est(CD).sgd_steps(model, data, index, opt.targets(update=True), lrs, [False] * 3)
