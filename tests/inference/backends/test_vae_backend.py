"""The VAE's fast path against the Pyro reference: same log-weights, losses and gradients
on the same draws, and the same seeded training run."""

import pytest
import torch

import inference.directed.train as train
from inference import fit, importance_log_likelihood
from inference.backends import fast_path, vae as vae_backend
from inference.backends.requests import Objective
from inference.directed.objectives import elbo_loss, iwae_loss
from inference.evaluation.weights import log_weights, seeded
from models import VAE, SigmoidBeliefNet


def _data(likelihood, n=7, width=6, dtype=torch.float32):
    gen = torch.Generator().manual_seed(3)
    if likelihood == "bernoulli":
        return torch.bernoulli(torch.full((n, width), 0.4, dtype=dtype), generator=gen)
    return torch.randn(n, width, generator=gen, dtype=dtype)


def _grads(model):
    return [p.grad.detach().clone() for p in model.parameters()]


def _tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("k", [1, 4])
def test_log_weights_loss_and_gradients_equal_pyro_on_the_same_draws(likelihood, k, dtype):
    vae = VAE(6, 5, 3, likelihood, seed=0).to(dtype)
    if likelihood == "gaussian":
        with torch.no_grad():
            vae.decoder.log_scale.copy_(torch.linspace(-0.5, 0.5, 6, dtype=dtype))
    x = _data(likelihood, dtype=dtype)
    tol = _tolerance(dtype)
    with seeded(7, vae.device), torch.no_grad():
        reference = log_weights(vae, x, k)
    with seeded(7, vae.device), torch.no_grad():
        fast = vae_backend.log_weights(vae, x, k)
    assert fast.shape == (k, x.shape[0]) and fast.dtype == dtype
    torch.testing.assert_close(fast, reference, **tol)

    step = fast_path(vae, Objective("elbo" if k == 1 else "iwae", k))
    assert isinstance(step, vae_backend.VAEObjective)
    vae.zero_grad()
    with seeded(11, vae.device):
        loss_ref = elbo_loss(vae, x) if k == 1 else iwae_loss(vae, x, k)
    loss_ref.backward()
    g_ref = _grads(vae)
    vae.zero_grad()
    with seeded(11, vae.device):
        loss, bound = step(vae, x)
    loss.backward()
    torch.testing.assert_close(loss.detach(), loss_ref.detach(), **tol)
    torch.testing.assert_close(bound, -loss_ref.detach(), **tol)
    assert not bound.requires_grad
    for a, b in zip(_grads(vae), g_ref):
        torch.testing.assert_close(a, b, **tol)


def test_what_the_fast_path_recognises():
    vae = VAE(6, 5, 2, seed=0)
    assert vae_backend.recognise(vae)
    assert fast_path(vae, Objective("elbo", 1), backend="torch") is None
    assert fast_path(vae, Objective("rws", 5)) is None            # RWS stays on the generic path
    assert fast_path(SigmoidBeliefNet([6, 3], seed=0), Objective("elbo", 1)) is None

    class Tempered(VAE):
        def model(self, x):
            return super().model(x)

    assert not vae_backend.recognise(Tempered(6, 5, 2, seed=0))
    replaced = VAE(6, 5, 2, seed=0)
    replaced.encoder = torch.nn.Sequential()
    assert not vae_backend.recognise(replaced)


def test_fit_takes_the_fast_path_unless_told_pyro(monkeypatch, one_thread):
    vae = VAE(6, 5, 2, seed=0)
    x = _data("bernoulli", n=20)

    def traced(*args):
        raise RuntimeError("the Pyro programs were traced")

    monkeypatch.setattr(train, "elbo_loss", traced)
    fit(vae, x, method="elbo", epochs=1, batch_size=10, monitor=0, progress=False)
    with pytest.raises(RuntimeError, match="traced"):
        fit(vae, x, method="elbo", epochs=1, batch_size=10, monitor=0, progress=False, backend="pyro")


@pytest.mark.parametrize("method", ["elbo", "iwae"])
def test_a_seeded_run_follows_the_same_trajectory_on_both_paths(method, one_thread):
    x = _data("bernoulli", n=40)
    runs = {}
    for backend in ("auto", "pyro"):
        vae = VAE(6, 5, 2, seed=0).double()
        hist = fit(vae, x.double(), method=method, n_particles=3, epochs=3, batch_size=10, lr=0.01, seed=4,
                   monitor=0, progress=False, backend=backend)
        runs[backend] = (vae.state_dict(), list(hist.objective))
    (fast, fast_obj), (ref, ref_obj) = runs["auto"], runs["pyro"]
    assert fast_obj == pytest.approx(ref_obj, rel=1e-9)
    for name in ref:
        torch.testing.assert_close(fast[name], ref[name], rtol=1e-8, atol=1e-8)


def test_bad_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of"):
        fit(VAE(6, 5, 2, seed=0), _data("bernoulli"), backend="cuda", progress=False)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_importance_estimate_equals_the_traced_one_on_the_same_draws(likelihood):
    vae = VAE(6, 5, 2, likelihood, seed=0)
    x = _data(likelihood, n=9)
    fast = importance_log_likelihood(vae, x, n_samples=20, batch=4, seed=3)
    traced = importance_log_likelihood(vae, x, n_samples=20, batch=4, seed=3, backend="pyro")
    for a, b in ((fast.per_example, traced.per_example), (fast.per_example_elbo, traced.per_example_elbo),
                 (fast.per_example_se, traced.per_example_se)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="backend must be one of"):
        importance_log_likelihood(vae, x, backend="gpu")
