"""Per-frame log-likelihoods of sequence RBMs against brute-force enumeration, and AIS per
frame against the exact log Z."""

from __future__ import annotations

import math

import torch

from inference.sequences import (ais_frame_log_partition, exact_frame_log_partition, frame_log_likelihood,
                                 sequence_log_likelihood)
from tests.models.test_temporal_rbm import random_temporal
from tests.oracles import all_binary_states


def _sequences(n, T, V, seed):
    return torch.rand(n, T, V, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).lt(0.5).double()


@torch.no_grad()
def test_exact_frame_log_likelihood_equals_brute_force_and_frames_sum_to_one():
    for kind in ("condrbm", "rnnrbm"):
        model = random_temporal(kind, seed=1)
        x = _sequences(3, 4, model.n_visible, 2)
        result = sequence_log_likelihood(model, x, "exact")
        with torch.no_grad():
            frames, b_t, c_t = model.frame_biases(x)
        v, h = all_binary_states(model.n_visible), all_binary_states(model.n_hidden)
        for n in range(3):
            for t in range(frames.shape[1]):
                # log p(v | past) by brute force over every (v, h) of the frame's RBM
                log_joint = (v @ b_t[n, t])[:, None] + (h @ c_t[n, t])[None] + v @ model.W @ h.t()
                log_pv = torch.logsumexp(log_joint, 1) - torch.logsumexp(log_joint.reshape(-1), 0)
                assert abs(float(torch.logsumexp(log_pv, 0))) < 1e-12  # the frame's probabilities sum to one
                k = int((frames[n, t] * 2 ** torch.arange(model.n_visible - 1, -1, -1)).sum())
                assert abs(float(result.per_frame[n, t] - log_pv[k])) < 1e-10
        assert abs(result.nll + float(result.per_frame.mean(1).mean())) < 1e-12


def test_exact_log_partition_enumerates_either_layer():
    gen = torch.Generator().manual_seed(3)
    W = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    b, c = torch.randn(4, 5, generator=gen, dtype=torch.float64), torch.randn(4, 3, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(exact_frame_log_partition(W, b, c), exact_frame_log_partition(W.t(), c, b))
    torch.testing.assert_close(exact_frame_log_partition(W, b, c, max_elements=7), exact_frame_log_partition(W, b, c))


def test_a_plain_rbm_is_scored_with_constant_biases():
    gen = torch.Generator().manual_seed(4)
    W, b, c = (torch.randn(4, 2, generator=gen, dtype=torch.float64), torch.randn(4, generator=gen,
               dtype=torch.float64), torch.randn(2, generator=gen, dtype=torch.float64))
    x = _sequences(2, 3, 4, 5)
    result = frame_log_likelihood(W, x, b, c, "exact")
    v = all_binary_states(4)
    log_p = -(-(v @ b) - torch.nn.functional.softplus(c + v @ W).sum(-1))
    log_p = log_p - torch.logsumexp(log_p, 0)
    k = (x * 2 ** torch.arange(3, -1, -1)).sum(-1).long()
    torch.testing.assert_close(result.per_frame, log_p[k])


def test_ais_per_frame_agrees_with_exact_within_its_standard_error():
    """Each frame's AIS estimate log Ẑ_r = log Z_0 + log w̄_r has, by the delta method, the
    standard error se_r = se(w̄_r)/w̄_r; every one of the R = 12 frames must lie within 4 se_r
    of the exact log Z_r (a 4σ test per frame: failure rate about 12 · 6e-5 < 1e-3 for
    normal errors); se_r < 0.05 keeps the test from being vacuous."""
    model = random_temporal("condrbm", seed=6).float()
    x = _sequences(4, 5, model.n_visible, 7).float()
    with torch.no_grad():
        frames, b_t, c_t = model.frame_biases(x)
    b, c = b_t.reshape(-1, 4).detach(), c_t.reshape(-1, 3).detach()
    exact = exact_frame_log_partition(model.W, b, c)
    log_z, log_w = ais_frame_log_partition(model.W, b, c, n_chains=64, betas=torch.linspace(0, 1, 60), seed=0)
    w = (log_w - log_w.max(1, keepdim=True).values).exp()
    se = w.std(1) / math.sqrt(w.shape[1]) / w.mean(1)
    assert len(exact) == 12 and bool((se < 0.05).all())
    assert bool(((log_z - exact).abs() < 4 * se).all()), ((log_z - exact) / se)
