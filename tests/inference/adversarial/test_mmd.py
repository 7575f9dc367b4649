r"""MMD² estimators against the closed form on Gaussians, and the moment matching trainer.

For isotropic Gaussians P = N(μ_p, s_p² I), Q = N(μ_q, s_q² I) in d dimensions and the
kernel exp(−‖a − b‖² / (2σ²)): a − b ~ N(m, τ² I) for independent a ~ P, b ~ Q with
m = μ_p − μ_q, τ² = s_p² + s_q², and E exp(−‖u‖² / (2σ²)) = (σ² / (σ² + τ²))^{d/2}
exp(−‖m‖² / (2(σ² + τ²))) for u ~ N(m, τ² I). Hence, summed over the bank,

    MMD² = Σ_σ [ (σ²/(σ² + 2s_p²))^{d/2} + (σ²/(σ² + 2s_q²))^{d/2}
                 − 2 (σ²/(σ² + s_p² + s_q²))^{d/2} exp(−‖m‖² / (2(σ² + s_p² + s_q²))) ].

Stochastic checks compare the mean of R independent estimates with the closed form
within 4 standard errors (a false alarm about once in 16,000 runs), on fixed seeds.
"""

import math

import pytest
import torch

from inference.adversarial import fit_gmmn, fit_gmmn_codes, mmd2
from inference.autoencoders.score import ring_mixture
from models import Autoencoder
from models.adversarial import GMMN, GMMNAutoencoder
from tests.bad_inputs.common import assert_refused

BANK = (0.5, 1.0, 2.0)


def closed_form(mu_p, s_p, mu_q, s_q, d, bank=BANK):
    m2 = (torch.as_tensor(mu_p, dtype=torch.float64) - torch.as_tensor(mu_q, dtype=torch.float64)).square().sum()
    total = 0.0
    for s in bank:
        v = s * s
        total += (v / (v + 2 * s_p ** 2)) ** (d / 2) + (v / (v + 2 * s_q ** 2)) ** (d / 2) \
            - 2 * (v / (v + s_p ** 2 + s_q ** 2)) ** (d / 2) * math.exp(-float(m2) / (2 * (v + s_p ** 2 + s_q ** 2)))
    return total


def _repeats(mu_q, s_q, reps=2000, n=20, m=15, d=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    u, b = [], []
    for _ in range(reps):
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        y = torch.randn(m, d, generator=gen, dtype=torch.float64) * s_q + torch.as_tensor(mu_q, dtype=torch.float64)
        u.append(mmd2(x, y, BANK))
        b.append(mmd2(x, y, BANK, estimator="biased"))
    return torch.stack(u), torch.stack(b)


@pytest.mark.parametrize("mu_q, s_q", [((1.0, 0.0), 1.0), ((0.5, -0.5), 0.5)])
def test_unbiased_estimate_has_the_closed_form_mean(one_thread, mu_q, s_q):
    u, b = _repeats(mu_q, s_q)
    exact = closed_form((0.0, 0.0), 1.0, mu_q, s_q, 2)
    sem = float(u.std() / math.sqrt(u.numel()))
    assert abs(float(u.mean()) - exact) < 4 * sem, (float(u.mean()), exact, sem)
    assert bool((b >= u - 1e-12).all())
    assert float(b.mean()) - exact > 4 * float(b.std() / math.sqrt(b.numel()))  # biased upwards


def test_zero_in_expectation_for_equal_distributions(one_thread):
    u, b = _repeats((0.0, 0.0), 1.0, seed=1)
    sem = float(u.std() / math.sqrt(u.numel()))
    assert abs(float(u.mean())) < 4 * sem
    assert bool((u < 0).any())  # the U-statistic goes negative
    assert bool((b >= u - 1e-12).all()) and bool((b >= 0).all())


def test_matches_kernel_distance(one_thread):
    from inference.evaluation.quality import kernel_distance
    x, y = torch.randn(30, 3, dtype=torch.float64), torch.randn(25, 3, dtype=torch.float64) + 0.3
    assert float(mmd2(x, y, BANK)) == pytest.approx(kernel_distance(x, y, bandwidths=list(BANK)).mean, rel=1e-10)


def test_gradients_reach_the_generator(one_thread):
    g = GMMN(2, 3, hidden=(8,), bandwidths=BANK, output="linear", seed=0)
    loss = mmd2(torch.randn(10, 2), g.generator(torch.randn(12, 3)), BANK, estimator="biased")
    loss.backward()
    grads = [p.grad for p in g.generator.parameters()]
    assert all(gr is not None and bool(torch.isfinite(gr).all()) for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0


def _ring(n=1000, seed=0):
    return ring_mixture(n, torch.Generator().manual_seed(seed))


def _toy_gmmn():
    return GMMN(2, 4, hidden=(64, 64), bandwidths=(0.2, 0.5, 1.0, 2.0), output="linear", seed=0)


def test_fit_gmmn_lowers_the_mmd_on_the_ring(one_thread):
    x, _ = _ring()
    test, _ = _ring(500, seed=1)
    g = _toy_gmmn()
    before = float(mmd2(test, g.sample(500, torch.Generator().manual_seed(2)), g.bandwidths))
    history = fit_gmmn(g, x, epochs=8, batch_size=100, lr=3e-3, progress=False)
    after = float(mmd2(test, g.sample(500, torch.Generator().manual_seed(2)), g.bandwidths))
    assert after < before / 5, (before, after)
    assert history.loss[-1] < history.loss[0] and len(history.epoch) == 8 and history.lr == [3e-3] * 8


def test_resume_is_bit_identical(one_thread, tmp_path):
    x, _ = _ring(300)
    whole = _toy_gmmn()
    h_whole = fit_gmmn(whole, x, epochs=4, batch_size=50, sqrt=True, progress=False)
    part = _toy_gmmn()
    path = tmp_path / "gmmn.ckpt"
    fit_gmmn(part, x, epochs=2, batch_size=50, sqrt=True, checkpoint=path, progress=False)
    resumed = _toy_gmmn()
    h = fit_gmmn(resumed, x, epochs=4, batch_size=50, sqrt=True, checkpoint=path, resume=True, progress=False)
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert h.loss == h_whole.loss
    with pytest.raises(ValueError, match="batch_size"):
        fit_gmmn(_toy_gmmn(), x, epochs=5, batch_size=60, sqrt=True, checkpoint=path, resume=True, progress=False)


def test_fit_gmmn_codes_trains_the_gmmn_only(one_thread):
    x = (torch.rand(200, 6, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    ae = Autoencoder(6, 3, seed=0)
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    both = GMMNAutoencoder(ae, GMMN(3, 2, hidden=(16,), bandwidths=(0.1, 0.3, 1.0), seed=0))
    h = fit_gmmn_codes(both, x, epochs=3, batch_size=50, progress=False)
    assert len(h.loss) == 3 and all(torch.equal(before[k], v) for k, v in ae.state_dict().items())
    assert both.sample(4).shape == (4, 6)


X, Y = torch.randn(5, 2), torch.randn(6, 2)
NAN = float("nan")
ROWS = [
    ("mmd2: x 1-D", lambda: mmd2(torch.zeros(4), Y, 1.0), ValueError, "x"),
    ("mmd2: y of one row", lambda: mmd2(X, Y[:1], 1.0), ValueError, "y"),
    ("mmd2: widths differ", lambda: mmd2(X, torch.zeros(4, 3), 1.0), ValueError, "width"),
    ("mmd2: NaN in y", lambda: mmd2(X, Y.clone().fill_(NAN), 1.0), ValueError, "y contains NaN"),
    ("mmd2: integer x", lambda: mmd2(X.long(), Y, 1.0), ValueError, "x"),
    ("mmd2: x not a tensor", lambda: mmd2([[0.0, 1.0]], Y, 1.0), TypeError, "x"),
    ("mmd2: bandwidth 0", lambda: mmd2(X, Y, 0.0), ValueError, "bandwidths"),
    ("mmd2: bandwidths []", lambda: mmd2(X, Y, []), ValueError, "bandwidths"),
    ("mmd2: bandwidths[1] inf", lambda: mmd2(X, Y, [1.0, math.inf]), ValueError, "bandwidths[1]"),
    ("mmd2: estimator exact", lambda: mmd2(X, Y, 1.0, estimator="exact"), ValueError, "estimator"),
]


@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_mmd_input_is_refused(name, call, error, match):
    assert_refused(call, error, match)


FIT_ROWS = [
    ("fit_gmmn: 3 columns", lambda g: fit_gmmn(g, torch.zeros(10, 3), epochs=1, progress=False), ValueError,
     "data"),
    ("fit_gmmn: NaN data", lambda g: fit_gmmn(g, torch.full((10, 2), NAN), epochs=1, progress=False), ValueError,
     "NaN"),
    ("fit_gmmn: one row", lambda g: fit_gmmn(g, torch.zeros(1, 2), epochs=1, progress=False), ValueError, "rows"),
    ("fit_gmmn: epochs 0", lambda g: fit_gmmn(g, X, epochs=0, progress=False), ValueError, "epochs"),
    ("fit_gmmn: batch_size 0", lambda g: fit_gmmn(g, X, batch_size=0, progress=False), ValueError, "batch_size"),
    ("fit_gmmn: lr -1", lambda g: fit_gmmn(g, X, lr=-1.0, progress=False), ValueError, "lr"),
    ("fit_gmmn: sqrt 'yes'", lambda g: fit_gmmn(g, X, sqrt="yes", progress=False), (TypeError, ValueError),
     "sqrt"),
    ("fit_gmmn: resume without checkpoint", lambda g: fit_gmmn(g, X, resume=True, progress=False), ValueError,
     "checkpoint"),
    ("fit_gmmn: not a GMMN", lambda g: fit_gmmn(torch.nn.Linear(2, 2), X, progress=False), TypeError, "model"),
    ("fit_gmmn_codes: not a GMMNAutoencoder", lambda g: fit_gmmn_codes(g, X, progress=False), TypeError, "model"),
]


@pytest.mark.parametrize("name, call, error, match", FIT_ROWS, ids=[r[0] for r in FIT_ROWS])
def test_bad_fit_input_is_refused(name, call, error, match):
    g = _toy_gmmn()
    assert_refused(lambda: call(g), error, match, model=g)
