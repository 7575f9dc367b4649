"""inference.learning.fit: argument checks, reproducibility, schedules, averaging, callbacks, quality.

Seed policy: every run passes ``seed``; tests that compare runs use the same seed for
both. The bars-and-stripes quality test uses seed 0 and was checked offline on seeds 0-9
(all within 0.4 nat of the optimum, against the 1 nat allowed); no seed was searched for.
"""

import math

import pytest
import torch

from inference.learning import History, fit, momentum_ramp
from inference.partition import exact_log_partition
from models.energy import DBM, RBM, BoltzmannMachine, GaussianRBM, SpikeSlabRBM
from pgm.datasets import bars_and_stripes

QUIET = dict(progress=False, monitor=0)


pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=40, width=6, seed=0, p=0.4):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, width, generator=g) < p).float()


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    ({"method": "gibbs"}, ValueError, "method"),
    ({"k": 0}, ValueError, "k must be"),
    ({"k": 1.5}, TypeError, "k must be an int"),
    ({"epochs": 0}, ValueError, "epochs must be"),
    ({"epochs": -3}, ValueError, "epochs must be"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"lr": 0.0}, ValueError, "lr must"),
    ({"lr": "fast"}, TypeError, "lr must be a number"),
    ({"momentum": 1.0}, ValueError, "momentum"),
    ({"momentum": "nesterov"}, ValueError, "momentum"),
    ({"weight_decay": -1e-4}, ValueError, "weight_decay"),
    ({"decay": "biases"}, ValueError, "decay"),
    ({"lr_schedule": "step"}, ValueError, "lr_schedule"),
    ({"lr_schedule": 3}, TypeError, "lr_schedule"),
    ({"average": 1.0}, ValueError, "average"),
    ({"average": "swa"}, ValueError, "average"),
    ({"evaluate": "bridge"}, ValueError, "evaluate"),
    ({"resume": True}, ValueError, "resume needs checkpoint"),
    ({"resume": "yes", "checkpoint": "x.pt"}, ValueError, "resume"),
    ({"callbacks": [1]}, TypeError, "callbacks"),
    ({"optimizer": 3}, TypeError, "optimizer"),
    ({"optimizer": torch.optim.Adam}, ValueError, "momentum=None"),
    ({"n_chains": 0, "method": "pcd"}, ValueError, "n_chains"),
    ({"monitor": -1}, ValueError, "monitor"),
])
def test_bad_arguments(kwargs, exc, match):
    model = RBM(6, 3, seed=0)
    before = _params(model).clone()
    with pytest.raises(exc, match=match):
        fit(model, _data(), **{**QUIET, **kwargs})
    assert torch.equal(_params(model), before)  # nothing trained


@pytest.mark.parametrize("data, exc, match", [
    (torch.full((4, 6), 2.0), ValueError, r"data must lie in \[0, 1\]"),
    (torch.tensor([[0.0, 1, 0, 1, float("nan"), 0]]), ValueError, "data contains NaN"),
    (torch.zeros(4, 5), ValueError, "data must have 6 columns"),
    (torch.zeros(6), ValueError, "data must be 2-D"),
    (torch.zeros(4, 6, dtype=torch.int64), TypeError, "data must have a floating dtype"),
    ([[0.0] * 6], TypeError, "data must be a torch.Tensor"),
    (torch.zeros(0, 6), ValueError, "no rows"),
])
def test_bad_data(data, exc, match):
    with pytest.raises(exc, match=match):
        fit(RBM(6, 3), data, **QUIET)


def test_non_binary_eval_data_and_bad_model():
    with pytest.raises(ValueError, match="eval_data must be binary"):
        fit(RBM(6, 3), _data(), evaluate="exact", eval_data=torch.full((3, 6), 0.5), **QUIET)
    with pytest.raises(TypeError, match="model must be an EnergyModel"):
        fit(torch.nn.Linear(6, 3), _data(), **QUIET)


def test_grey_levels_are_accepted_for_training():
    hist = fit(RBM(6, 3, seed=0), _data() * 0.5 + 0.25, epochs=2, progress=False, monitor=10)
    assert hist.pseudo_log_likelihood == [None, None]  # PLL needs binary data
    assert all(math.isfinite(x) for x in hist.recon_error)


# -- reproducibility, history, schedules --------------------------------------------------

def test_lr_none_means_the_default():
    a, b = RBM(6, 3, seed=0), RBM(6, 3, seed=0)
    fit(a, _data(), epochs=2, lr=None, **QUIET)
    fit(b, _data(), epochs=2, lr=0.1, **QUIET)
    assert torch.equal(_params(a), _params(b))


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_same_seed_same_parameters(method):
    data = _data()
    runs = []
    for seed in (0, 0, 1):
        model = RBM(6, 4, seed=0)
        fit(model, data, method=method, k=2, epochs=3, batch_size=7, seed=seed, **QUIET)
        runs.append(_params(model))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_monitoring_does_not_change_the_trajectory():
    data = _data()
    a, b = RBM(6, 4, seed=0), RBM(6, 4, seed=0)
    fit(a, data, epochs=3, batch_size=8, progress=False, monitor=0)
    hist = fit(b, data, epochs=3, batch_size=8, progress=False, monitor=20, evaluate="exact")
    assert torch.equal(_params(a), _params(b))
    assert len(hist) == 3 and all(x is not None for x in hist.log_likelihood + hist.pseudo_log_likelihood)


def test_ais_evaluation_agrees_with_exact():
    data = _data()
    kw = dict(epochs=2, eval_every=2, progress=False, monitor=0)
    exact = fit(RBM(6, 3, seed=0), data, evaluate="exact", **kw)
    ais = fit(RBM(6, 3, seed=0), data, evaluate="ais",
              ais_options={"betas": torch.linspace(0, 1, 300, dtype=torch.float64)}, **kw)
    assert exact.log_likelihood[0] is None and ais.log_z[0] is None
    assert ais.log_likelihood[1] == pytest.approx(exact.log_likelihood[1], abs=0.05)
    # the bracket of each evaluation: a point for exact log Z, AIS's carried onto log p(v)
    assert exact.log_likelihood_lower[1] == exact.log_likelihood[1] == exact.log_likelihood_upper[1]
    assert ais.log_likelihood_lower[1] < ais.log_likelihood[1] < ais.log_likelihood_upper[1]
    assert ais.log_likelihood_lower[0] is None


def test_a_history_saved_before_the_bracket_columns_loads_with_them_empty():
    d = fit(RBM(6, 3, seed=0), _data(), epochs=2, **QUIET).as_dict()
    del d["log_likelihood_lower"], d["log_likelihood_upper"]
    h = History.from_dict(d)
    assert h.log_likelihood_lower == [None, None] and len(h) == 2


def test_history_fields():
    hist = fit(RBM(6, 3, seed=0), _data(), method="cd", epochs=2, batch_size=10, progress=False)
    assert isinstance(hist, History) and len(hist) == 2
    d = hist.as_dict()
    assert d["epoch"] == [1, 2] and d["log_likelihood"] == [None, None]
    assert all(x > 0 for x in d["train_recon_error"] + d["recon_error"] + d["seconds"])
    assert all(x < 0 for x in d["pseudo_log_likelihood"])
    assert History.from_dict(d).as_dict() == d and hist.last()["epoch"] == 2
    pcd = fit(RBM(6, 3, seed=0), _data(), method="pcd", epochs=1, **QUIET)
    assert pcd.train_recon_error == [None]


def test_hinton_momentum_schedule():
    seen = []

    def factory(groups):
        opt = torch.optim.SGD(groups, momentum=0.0)
        seen.append(opt)
        return opt

    hist = fit(RBM(6, 3, seed=0), _data(), epochs=7, momentum="hinton", optimizer=factory, **QUIET)
    assert hist.momentum == [0.5] * 5 + [0.9] * 2
    assert all(g["momentum"] == 0.9 for g in seen[0].param_groups)
    ramp = momentum_ramp(0.1, 0.7, switch=2)
    assert [ramp(e) for e in range(4)] == [0.1, 0.1, 0.7, 0.7]
    hist = fit(RBM(6, 3, seed=0), _data(), epochs=3, momentum=lambda e: 0.1 * e, **QUIET)
    assert hist.momentum == pytest.approx([0.0, 0.1, 0.2])


@pytest.mark.parametrize("schedule, expected", [
    ("constant", lambda t, T: 1.0),
    ("linear", lambda t, T: 1 - t / T),
    ("cosine", lambda t, T: 0.5 * (1 + math.cos(math.pi * t / T))),
])
def test_lr_schedules(schedule, expected):
    """Recorded lr after each epoch is lr · factor(steps done); 4 steps per epoch."""
    hist = fit(RBM(6, 3, seed=0), _data(), epochs=5, batch_size=10, lr=0.2, lr_schedule=schedule, **QUIET)
    want = [0.2 * expected(4 * (e + 1), 20) for e in range(5)]
    assert hist.lr == pytest.approx(want, abs=1e-12)


def test_lr_schedule_factory_and_optimizer_class():
    def step_lr(opt, total_steps):
        assert total_steps == 12
        return torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)

    hist = fit(RBM(6, 3, seed=0), _data(), epochs=3, batch_size=10, lr=0.08, lr_schedule=step_lr, **QUIET)
    assert hist.lr == pytest.approx([0.04, 0.02, 0.01])
    hist = fit(RBM(6, 3, seed=0), _data(), epochs=2, optimizer=torch.optim.Adam, momentum=None, lr=1e-2, **QUIET)
    assert hist.momentum == [None, None]


def test_default_optimizer_is_torch_sgd():
    """The default optimizer is torch.optim.SGD with the momentum schedule: SGD(fused=True) follows it step for step."""
    data = _data()
    a, b = RBM(6, 4, seed=0), RBM(6, 4, seed=0)
    kw = dict(epochs=7, batch_size=8, momentum="hinton", weight_decay=1e-3, **QUIET)
    fit(a, data, **kw)
    fit(b, data, optimizer=lambda groups: torch.optim.SGD(groups, momentum=0.5, fused=True), **kw)
    torch.testing.assert_close(_params(a), _params(b), rtol=0, atol=1e-7)


def test_weight_decay_on_weights_only_or_all():
    groups_seen = {}

    def factory(groups):
        groups_seen["g"] = [(len(g["params"]), g["weight_decay"], g["lr"]) for g in groups]
        return torch.optim.SGD(groups, momentum=0.5)

    fit(RBM(6, 3), _data(), epochs=1, weight_decay=1e-3, lr=0.3, optimizer=factory, **QUIET)
    assert groups_seen["g"] == [(1, 1e-3, 0.3), (2, 0.0, 0.3)]  # W decays; b, c do not
    fit(RBM(6, 3), _data(), epochs=1, weight_decay=1e-3, decay="all", optimizer=factory, **QUIET)
    assert groups_seen["g"] == [(3, 1e-3, 0.1)]


class _Recording(torch.optim.SGD):
    """SGD that keeps a copy of the parameters after every step."""

    def __init__(self, groups):
        super().__init__(groups, momentum=0.0)
        self.iterates = []

    def step(self, closure=None):
        super().step(closure)
        self.iterates.append(torch.cat([p.detach().flatten().clone()
                                        for g in self.param_groups for p in g["params"]]))


@pytest.mark.parametrize("average, start", [("polyak", None), ("polyak", 1), (0.9, None), (0.5, 2)])
def test_parameter_averaging(average, start):
    """The model ends with the uniform average of the iterates from ``average_start``
    (default: half the epochs) or their EMA; monitoring sees the averages too."""
    box = {}

    def factory(groups):
        box["opt"] = _Recording(groups)
        return box["opt"]

    model = RBM(6, 3, seed=0)
    hist = fit(model, _data(), epochs=4, batch_size=10, lr=0.3, momentum=None, optimizer=factory,
               average=average, average_start=start, progress=False, monitor=40)
    iterates = box["opt"].iterates
    assert len(iterates) == 16
    first = 4 * (start if start is not None else (2 if average == "polyak" else 0))
    if average == "polyak":
        want = torch.stack(iterates[first:]).mean(0)
    else:
        want = iterates[first]
        for x in iterates[first + 1:]:
            want = average * want + (1 - average) * x
    order = [p for g in box["opt"].param_groups for p in g["params"]]
    got = torch.cat([p.detach().flatten() for p in order])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert not torch.allclose(got, iterates[-1])
    from inference.evaluation import reconstruction_error

    assert hist.recon_error[-1] == pytest.approx(reconstruction_error(model, _data()), rel=1e-6)


# -- callbacks ---------------------------------------------------------------------------

def test_callbacks_see_each_epoch_and_can_stop():
    calls = []

    def cb(epoch, history, model):
        calls.append((epoch, len(history), isinstance(model, RBM)))
        return epoch == 3

    hist = fit(RBM(6, 3, seed=0), _data(), epochs=10, callbacks=cb, **QUIET)
    assert calls == [(1, 1, True), (2, 2, True), (3, 3, True)] and len(hist) == 3
    other = []
    fit(RBM(6, 3, seed=0), _data(), epochs=2, callbacks=[cb, lambda e, h, m: other.append(e)], **QUIET)
    assert other == [1, 2]


# -- quality ------------------------------------------------------------------------------

def test_pcd_learns_bars_and_stripes():
    """PCD-1 on the 14 patterns of 3x3 bars and stripes gets within 1 nat per example of
    the optimum log(1/14) (exact log-likelihood by enumeration), in about half a second."""
    bas = bars_and_stripes(3)
    assert bas.shape == (14, 9) and len({tuple(r.tolist()) for r in bas}) == 14
    model = RBM(9, 16, weight_std=0.1, seed=0)
    fit(model, bas.repeat(10, 1), method="pcd", n_chains=200, epochs=150, batch_size=14, lr=0.05,
        momentum=0.9, weight_decay=0.0, lr_schedule="linear", seed=0, **QUIET)
    ll = (-model.free_energy(bas).double() - exact_log_partition(model).log_z).mean().item()
    assert ll > math.log(1 / 14) - 1.0, ll


def test_float64_model_and_device():
    model = RBM(6, 3, seed=0).double()
    fit(model, _data(), epochs=2, method="pcd", **QUIET)  # float32 data converted once
    assert model.W.dtype == torch.float64 and model.W.device.type == "cpu"




@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_models_train_on_the_generic_path(dtype):
    from inference import backends

    model = RBM(6, 3, seed=0).to(dtype)
    assert backends.fast_path(model, __import__("inference").CD(1).backend_request()) is None
    hist = fit(model, _data(), epochs=2, evaluate="exact", progress=False)
    assert model.W.dtype == dtype and math.isfinite(hist.log_likelihood[-1])
    assert math.isfinite(hist.pseudo_log_likelihood[-1])


@pytest.mark.parametrize("evaluate, extra, exc, match", [
    ("exact", {}, ValueError, r"evaluate='exact'.*2\^30 states"),
    ("ais", {"ais_options": {"n_chainz": 3}}, TypeError, r"unexpected keyword argument 'n_chainz'"),
    ("ais", {"ais_options": {"n_chains": 1}}, ValueError, r"n_chains must be an int >= 2"),
    ("ais", {"ais_options": {"betas": [0.0, 0.5]}}, ValueError, r"betas"),
])
def test_an_evaluation_that_cannot_run_is_refused_before_training(evaluate, extra, exc, match):
    model = RBM(30, 30, seed=0)
    before = _params(model).clone()
    epochs_seen = []
    with pytest.raises(exc, match=match):
        fit(model, _data(width=30), epochs=1, evaluate=evaluate, callbacks=lambda e, h, m: epochs_seen.append(e),
            **QUIET, **extra)
    assert epochs_seen == [] and torch.equal(_params(model), before)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_divergence_raises_and_restores_the_epochs_start(tmp_path, backend):
    data = _data(n=40)

    class Overflowing(torch.optim.SGD):
        """SGD whose 3rd step (in epoch 2: 2 batches per epoch) overflows the weights."""
        calls = 0

        def step(self, closure=None):
            super().step(closure)
            Overflowing.calls += 1
            if Overflowing.calls == 3:
                with torch.no_grad():
                    self.param_groups[0]["params"][0].mul_(torch.inf)

    model = RBM(6, 3, seed=0)
    path = tmp_path / "run.pt"
    seen = []
    with pytest.raises(FloatingPointError, match=r"became NaN or infinite during epoch 2.*start of that epoch.*"
                                                 r"left as it was"):
        fit(model, data, epochs=3, optimizer=Overflowing, checkpoint=path, backend=backend,
            callbacks=lambda e, h, m: seen.append((e, _params(m).clone())), **QUIET)
    assert [e for e, _ in seen] == [1]
    assert torch.equal(_params(model), seen[0][1])  # back at the end of epoch 1
    from inference.checkpoint import load_model
    assert torch.equal(_params(load_model(path)), seen[0][1])


def test_monitor_auto_uses_a_tenth_of_the_data(monkeypatch):
    """monitor='auto' (the default) records PLL and reconstruction error on n / 20 rows, at
    least 100 (or all of fewer), at most 1000; a bad value is refused before training."""
    import importlib

    fit_module = importlib.import_module("inference.learning.fit")
    seen = []
    original = fit_module._monitor
    monkeypatch.setattr(fit_module, "_monitor", lambda m, sub, *a: seen.append(sub.shape[0]) or original(m, sub, *a))
    fit(RBM(6, 3, seed=0), _data(n=4000), epochs=1, batch_size=400, progress=False)
    fit(RBM(6, 3, seed=0), _data(n=30000), epochs=1, batch_size=3000, progress=False)
    hist = fit(RBM(6, 3, seed=0), _data(n=40), epochs=2, batch_size=8, progress=False)
    assert seen == [200, 1000, 40, 40] and all(x is not None for x in hist.recon_error + hist.pseudo_log_likelihood)
    with pytest.raises(TypeError, match="monitor"):
        fit(RBM(6, 3, seed=0), _data(), epochs=1, monitor="some")


def test_method_and_lr_default_to_the_models_recipe(tmp_path):
    """method=None and lr=None take the model's default_method and default_lr (the RBM: CD at
    0.1; the Gaussian RBM: PCD at 0.003); explicit values win."""
    import json

    from models import GaussianRBM

    real = torch.randn(40, 5, generator=torch.Generator().manual_seed(0))
    for model, data, want in ((RBM(6, 3, seed=0), _data(), ("cd", 0.1)),
                              (GaussianRBM.from_data(real, 3, seed=0), real, ("pcd", 0.003))):
        path = tmp_path / f"{type(model).__name__}.pt"
        fit(model, data, epochs=1, batch_size=8, checkpoint=path, **QUIET)
        settings = json.loads(torch.load(path, weights_only=True)["fit"])
        assert (settings["method"], settings["lr"]) == want
    path = tmp_path / "explicit.pt"
    fit(GaussianRBM.from_data(real, 3, seed=0), real, method="cd", lr=0.001, epochs=1, checkpoint=path, **QUIET)
    settings = json.loads(torch.load(path, weights_only=True)["fit"])
    assert (settings["method"], settings["lr"]) == ("cd", 0.001)


@pytest.mark.parametrize("build, method", [
    (lambda: RBM(6, 4, seed=0), "pcd"),
    (lambda: RBM(6, 4, seed=0), "pt"),
    (lambda: GaussianRBM(6, 4, seed=0), None),
    (lambda: SpikeSlabRBM(6, 4, seed=0), None),
    (lambda: BoltzmannMachine(6, 3, seed=0), None),
    (lambda: DBM([6, 4, 3], seed=0), None),
], ids=["rbm-pcd", "rbm-pt", "grbm", "ssrbm", "bm", "dbm"])
def test_a_batch_larger_than_the_data_is_one_batch_of_all_of_it(build, method):
    """batch_size=10**12 on 30 rows allocates nothing of that size (the default persistent
    chains are min(batch_size, rows)) and trains as batch_size=30 does."""
    huge, exact = build(), build()
    data = torch.randn(30, 6) if isinstance(huge, (GaussianRBM, SpikeSlabRBM)) else _data(30)
    fit(huge, data, method=method, epochs=2, batch_size=10**12, **QUIET)
    fit(exact, data, method=method, epochs=2, batch_size=30, **QUIET)
    torch.testing.assert_close(_params(huge), _params(exact))


def test_integer_like_sizes_are_used_as_ints(tmp_path):
    """batch_size=torch.tensor(5) (anything with __index__) trains as 5 does, and its
    checkpoint's settings are JSON (they held the tensor before)."""
    data = _data(40)
    a, b = RBM(6, 4, seed=0), RBM(6, 4, seed=0)
    fit(a, data, epochs=2, batch_size=torch.tensor(5), checkpoint=tmp_path / "a.pt", **QUIET)
    fit(b, data, epochs=2, batch_size=5, checkpoint=tmp_path / "b.pt", **QUIET)
    assert torch.equal(_params(a), _params(b))
    fit(a, data, epochs=3, batch_size=5, checkpoint=tmp_path / "a.pt", resume=True, **QUIET)
