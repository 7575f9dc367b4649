"""Sample-quality scores: the Fréchet and kernel distances against known answers, class
coverage, mode counts, memorisation, and the feature network."""

import math

import pytest
import torch

from inference.autoencoders.score import ring_mixture
from inference.evaluation.quality import (class_coverage, fit_features, frechet_distance, kernel_distance,
                                          memorisation, mode_counts)
from models import FeatureNet

pytestmark = pytest.mark.usefixtures("one_thread")


def _gauss(n, mean, std, seed, d=3):
    g = torch.Generator().manual_seed(seed)
    return mean + std * torch.randn(n, d, generator=g, dtype=torch.float64)


def test_frechet_distance_of_gaussians_is_the_closed_form():
    a = _gauss(200, 0.0, 1.0, 0)
    assert abs(frechet_distance(a, a)) < 1e-9  # the same set: zero up to rounding
    # N(0, I) and N(m, s² I) in d dimensions: ‖m‖² + d (1 − s)²
    big_a, big_b = _gauss(200000, 0.0, 1.0, 1), _gauss(200000, 0.5, 2.0, 2)
    exact = 3 * 0.25 + 3 * (1 - 2.0) ** 2
    assert abs(frechet_distance(big_a, big_b) - exact) < 0.05


def test_kernel_distance_is_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    same = kernel_distance(_gauss(2000, 0.0, 1.0, 3), _gauss(2000, 0.0, 1.0, 4), 10, g)
    assert abs(same.mean) < 4 * same.sem + 1e-3
    shifted = kernel_distance(_gauss(2000, 0.0, 1.0, 3), _gauss(2000, 1.0, 1.0, 5), 10, g)
    assert shifted.mean > 4 * shifted.sem and shifted.mean > same.mean


def test_class_coverage():
    cov = class_coverage(torch.tensor([0, 0, 1, 3]), 4)
    torch.testing.assert_close(cov.histogram, torch.tensor([0.5, 0.25, 0.0, 0.25], dtype=torch.float64))
    assert cov.missing == [2]
    assert cov.kl_to_uniform == pytest.approx(math.log(4) + 0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert class_coverage(torch.arange(10), 10).kl_to_uniform == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="lie in 0..3"):
        class_coverage(torch.tensor([4]), 4)


def test_mode_counts_find_collapse():
    x, means = ring_mixture(2000, torch.Generator().manual_seed(0))
    full = mode_counts(x, means, radius=0.6)
    assert full.covered == 8 and full.near > 0.95
    collapsed = mode_counts(means[0] + 0.1 * torch.randn(500, 2, dtype=torch.float64), means, radius=0.6)
    assert collapsed.covered == 1 and collapsed.near == 1.0


def test_memorisation_detects_copies():
    train, held = _gauss(300, 0.0, 1.0, 6), _gauss(100, 0.0, 1.0, 7)
    copied = memorisation(train[:50], train, held)
    assert copied["copies"] == 1.0 and copied["ratio"] == 0.0
    fresh = memorisation(_gauss(100, 0.0, 1.0, 8), train, held)
    assert fresh["copies"] == 0.0 and 0.5 < fresh["ratio"] < 2.0


def test_the_feature_network_learns_the_digits():
    from pgm import load_digits

    x, y = load_digits(split="train", binarize=False, return_labels=True)
    net = FeatureNet(seed=0)
    hist = fit_features(net, x[:400], y[:400], epochs=10)
    assert hist.loss[-1] < hist.loss[0] and float((net.predict(x[:400]) == y[:400]).double().mean()) > 0.8
    assert net.features(x[:3]).shape == (3, 64)


@pytest.mark.parametrize("call, match", [
    (lambda: frechet_distance(torch.zeros(3, 2), torch.zeros(3, 4)), "same width"),
    (lambda: frechet_distance(torch.zeros(1, 2), torch.zeros(3, 2)), "at least 2 rows"),
    (lambda: kernel_distance(torch.zeros(5, 2), torch.zeros(5, 2), 10), "10 subsets"),
    (lambda: mode_counts(torch.full((2, 2), float("nan")), torch.zeros(1, 2), 1.0), "NaN"),
    (lambda: memorisation(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 3)), "same width"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        call()
