"""The RBM training runner against the generic path, through fit: the backend door, the
SGD update fused into the step, other optimizers, hooks, resume across backends.

With float64 models and float uniforms the fused torch path draws exactly the generic
path's samples (tests/inference/backends/rbm/test_fused_gradient.py), so whole runs can
be compared to rounding; the native kernels draw other (Philox) numbers and are
compared with the per-pass kernels there and with exact oracles in test_native.py.
"""

import importlib
import warnings

import pytest
import torch

from inference import backends
from inference.backends.rbm import recognise
from inference.backends.rbm.training import RBMTrainer, trainer
from inference.learning import CD, PCD, fit
from inference.learning.steps import GenericSteps
from models.energy import RBM

QUIET = dict(progress=False, monitor=0)

pytestmark = pytest.mark.usefixtures("one_thread")

fit_module = importlib.import_module("inference.learning.fit")


def _data(n=40, width=7, seed=0, p=0.4):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, width, generator=g) < p).double()


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.fixture
def float_uniform_backend(monkeypatch):
    """fit's backend door hands out the RBM trainer on torch kernels with float uniforms
    (the generic path's draws), recording the runners it gave."""
    given = []

    def door(model, algorithm, optimizer=None, backend="auto"):
        if backend == "torch" or not recognise(model):
            return None
        given.append(trainer(model, algorithm.estimator, optimizer, persistent=algorithm.persistent, kernels="torch",
                             fast_uniforms=False))
        return given[-1]

    monkeypatch.setattr(fit_module.backends, "fast_path", door)
    return given


def test_fast_path_door():
    """The door gives the RBM trainer for CD/PCD on an RBM, nothing for backend='torch', for
    other models or other algorithms; a bad backend is a ValueError."""
    model = RBM(5, 3, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for est in (CD(), PCD()):
        assert isinstance(backends.fast_path(model, est.backend_request(), opt), RBMTrainer)
        assert backends.fast_path(model, est.backend_request(), opt, backend="torch") is None

    class Other(RBM):
        def free_energy(self, v, beta=1.0):
            return super().free_energy(v, beta) + 1.0

    assert backends.fast_path(Other(5, 3), CD().backend_request(), opt) is None
    assert backends.fast_path(model, object(), opt) is None
    with pytest.raises(ValueError, match="backend must be one of"):
        backends.fast_path(model, CD().backend_request(), opt, backend="native")
    with pytest.raises(ValueError, match="backend must be one of"):
        fit(model, _data(width=5).float(), epochs=1, backend="fast", **QUIET)


@pytest.mark.parametrize("method", ["cd", "pcd"])
@pytest.mark.parametrize("weight_decay, momentum", [(0.0, "hinton"), (1e-2, 0.9), (0.0, None)])
def test_fused_sgd_equals_the_generic_path(method, weight_decay, momentum, float_uniform_backend):
    """The trainer (∇ written into SGD's momentum buffers by the gradient GEMM, the update
    applied by the backend) ends where the generic path (.grad, SGD.step) ends: several
    epochs, the momentum change at epoch 5, linear LR decay, weight decay, the first
    step, no momentum; float64 so that only rounding of reordered sums differs."""
    data = _data()
    runs = {}
    for backend in ("auto", "torch"):
        model = RBM(7, 5, weight_std=0.3, seed=0).double()
        opt_seen = []
        factory = None if momentum is not None else (lambda g: opt_seen.append(torch.optim.SGD(g)) or opt_seen[-1])
        fit(model, data, method=method, epochs=7, batch_size=8, momentum=momentum, weight_decay=weight_decay,
            optimizer=factory, backend=backend, **QUIET)
        runs[backend] = _params(model)
    assert [t.name for t in float_uniform_backend] == ["rbm-torch+sgd"]
    torch.testing.assert_close(runs["auto"], runs["torch"], rtol=0, atol=1e-12)
    assert not torch.equal(runs["auto"], _params(RBM(7, 5, weight_std=0.3, seed=0).double()))


def test_other_optimizers_get_the_gradient_and_step(float_uniform_backend):
    """With Adam (not fused) the trainer writes .grad and steps the optimizer: the same run."""
    data = _data()
    runs = {}
    for backend in ("auto", "torch"):
        model = RBM(7, 5, weight_std=0.3, seed=0).double()
        fit(model, data, epochs=3, batch_size=8, optimizer=torch.optim.Adam, momentum=None, lr=1e-2,
            backend=backend, **QUIET)
        runs[backend] = _params(model)
    assert [t.name for t in float_uniform_backend] == ["rbm-torch"]
    torch.testing.assert_close(runs["auto"], runs["torch"], rtol=0, atol=1e-12)


def test_step_hooks_are_honoured():
    """An SGD with a step hook is not fused: the hook runs once per update."""
    calls = []

    def factory(groups):
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.5)
        opt.register_step_post_hook(lambda o, args, kwargs: calls.append(1))
        return opt

    fit(RBM(7, 4, seed=0), _data(n=24).float(), epochs=1, batch_size=8, optimizer=factory, **QUIET)
    assert calls == [1, 1, 1]


def test_generic_runner_is_used_for_other_models():
    """A model the backend does not recognise trains on GenericSteps (its name is 'torch')."""
    class Other(RBM):
        def free_energy(self, v, beta=1.0):
            return super().free_energy(v, beta)

    model = Other(7, 4, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    runner = backends.fast_path(model, CD().backend_request(), opt) or GenericSteps(model, CD(), opt)
    assert runner.name == "torch" and runner.steps_per_call == 1
    hist = fit(model, _data(n=24).float(), epochs=2, batch_size=8, **QUIET)
    assert len(hist) == 2 and torch.isfinite(_params(model)).all()


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_resume_across_backends_warns_and_continues(method, tmp_path):
    """A checkpoint written on one backend resumes on the other with a warning (not
    bit-identical), and the run continues from the saved state: same epochs, finite,
    the optimizer's momentum buffers and PCD's chains carried over."""
    data = _data(n=48, width=9).float()
    path = tmp_path / "run.pt"
    first, second = "auto", "torch"
    model = RBM(9, 4, seed=0)
    fit(model, data, method=method, epochs=2, batch_size=8, checkpoint=path, backend=first, **QUIET)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["backend"].startswith("rbm-") and "momentum_buffer" in next(iter(ckpt["optimizer"]["state"].values()))
    resumed = RBM(9, 4, seed=0)
    with pytest.warns(UserWarning, match="no longer bit-identical"):
        hist = fit(resumed, data, method=method, epochs=4, batch_size=8, checkpoint=path, resume=True,
                   backend=second, **QUIET)
    assert hist.epoch == [1, 2, 3, 4] and torch.isfinite(_params(resumed)).all()
    # the same backend resumes silently
    again = RBM(9, 4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(again, data, method=method, epochs=5, batch_size=8, checkpoint=path, resume=True, backend=second,
            **QUIET)
