"""The demo's quoted numbers are bands over seeds, and its recipes land in them on this machine.

A single training run's numbers depend on the processor as well as on the seed (the
native RBM kernels are compiled for the host CPU, torch picks its CPU kernels at run time,
and a float32 rounding difference that flips one sampled unit sends training down another
trajectory), so no test compares a trained model with one run's value: each compares with
the quoted mean ± K standard deviations over ``QUOTED_SEEDS`` seeds.

K = 5: if runs (new seeds, or seed 0 on other machines) are normal around the quoted mean,
a new run lies within mean ± t · sd · √(1 + 1/n) with probability 0.99, for n = 5 seeds and
t = 4.60, the 0.995 quantile of Student's t with 4 degrees of freedom: ± 5.04 sd; ± 5 sd
holds it with probability 0.990 (``test_the_multiple_is_the_99_percent_prediction_interval``).
"""

import math

import pytest

from inference import exact_log_partition, fit, log_likelihood
from inference.dbn import dbn_log_likelihood
from inference.demo import QUOTED, QUOTED_SEEDS, quoted_band
from models import DBN, RBM
from pgm.datasets import load_digits

K = 5.0


def _in_band(value, part, key):
    mean, sd = QUOTED[part][key]
    assert abs(value - mean) <= K * sd, (f"{part} {key}: {value:.3f} outside the quoted {mean} ± {K:g} × {sd} "
                                         f"(mean ± sd over {QUOTED_SEEDS} seeds)")


def test_the_multiple_is_the_99_percent_prediction_interval():
    from scipy.stats import t

    n = QUOTED_SEEDS  # the probability that a new run lies within mean ± K sd of n runs
    assert 2 * t.cdf(K / math.sqrt(1 + 1 / n), n - 1) - 1 > 0.9895


def test_every_band_is_a_mean_and_a_positive_spread():
    for part, bands in QUOTED.items():
        for key, (mean, sd) in bands.items():
            assert math.isfinite(mean) and 0 < sd < 1, (part, key)
    assert quoted_band("rbm", "test_exact") == f"{QUOTED['rbm']['test_exact'][0]:.2f} ± " \
                                              f"{QUOTED['rbm']['test_exact'][1]:.2f}"


@pytest.fixture
def digits():
    return load_digits(split="train"), load_digits(split="test")


def test_the_demos_rbm_lands_in_its_quoted_band(digits, one_thread):
    """The demo's RBM part, the README's quickstart and tutorials/rbm_digits.py train this
    run (the demo adds a per-epoch evaluation and checkpoints, which do not change it)."""
    train, test = digits
    rbm = RBM.from_data(train, n_hidden=16, seed=0)
    fit(rbm, train, epochs=50, seed=0, progress=False)
    log_z = exact_log_partition(rbm)
    _in_band(log_likelihood(rbm, test, log_z).mean, "rbm", "test_exact")
    _in_band(log_likelihood(rbm, train, log_z).mean, "rbm", "train_exact")


def test_the_demos_dbn_lands_in_its_quoted_band(digits, one_thread):
    train, test = digits
    dbn = DBN([64, 32, 16], seed=0)
    fit(dbn, train, method="greedy", epochs=50, seed=0, monitor=0, progress=False)
    est = dbn_log_likelihood(dbn, test, "exact", n_samples=1000, seed=0)
    _in_band(est.mean, "dbn", "test_log_likelihood")
    _in_band(est.elbo, "dbn", "test_elbo")


def test_the_demo_prints_the_bands_only_at_its_quoted_settings(tmp_path, monkeypatch, one_thread):
    from inference import demo

    lines = []
    demo.run_demo(tmp_path / "quick", quick=True, parts="dbn", progress=False, echo=lines.append)
    assert not any("seeds 0-" in line for line in lines)
    # the full settings, with training and scoring cut short: the tables carry the quoted bands
    monkeypatch.setattr(demo, "fit", lambda *args, **kwargs: None)
    monkeypatch.setattr(demo, "importance_log_likelihood", _fake_estimate)
    lines.clear()
    demo.run_demo(tmp_path / "full", parts="directed", progress=False, echo=lines.append)
    text = "\n".join(lines)
    assert f"seeds 0-{QUOTED_SEEDS - 1}: {quoted_band('directed', 'sbn')}" in text
    assert "a single run varies by machine" in text


def _fake_estimate(model, data, n_samples=1000, seed=0, distributed=None):
    from types import SimpleNamespace

    return SimpleNamespace(mean=-20.0, sem=0.2, elbo=-21.0)

