"""The conv DBN's likelihood against enumeration on a tiny net, its samples and the
pixel-space picture of its second layer."""

import math

import pytest
import torch

from inference.convdbn import conv_dbn_log_likelihood, sample_conv_dbn, top_log_partition
from inference.partition import exact_log_partition
from models import ConvDBN
from tests.oracles import all_binary_states

_F64 = torch.float64


def _random_tiny(seed=0):
    """3×3 images, 2 filters 2×2 pooled 2×2 (one block each), a 1×1 top layer of 2 filters."""
    model = ConvDBN(3, (2, 2), (2, 1), (2, 1), seed=seed)
    gen = torch.Generator().manual_seed(seed + 50)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return model.double()


def _log_w_table(model, v):
    """log p(v, h1) and log q(h1 | v) for every valid h1, (n, S) each."""
    H = all_binary_states(model.layer1.n_hidden)
    H = H[torch.isfinite(model.layer1.free_energy_hidden(H))]  # the 25 states, one unit at most per block
    lz = exact_log_partition(model.layer2).log_z
    n, S = v.shape[0], H.shape[0]
    vv, hh = v.repeat_interleave(S, 0), H.repeat(n, 1)
    p1 = model.layer1.pool(hh)
    log_joint = (-model.layer2.free_energy(p1) - lz + model.log_p_h1_given_p1(hh)
                 + model.log_p_v_given_h1(vv, hh)).reshape(n, S)
    log_q = model.layer1.conditional("h", {"v": vv}).log_prob(hh).reshape(n, S)
    return log_joint, log_q


@torch.no_grad()
def test_the_generative_model_is_normalised():
    model = _random_tiny(1)
    V = all_binary_states(9)
    log_joint, _ = _log_w_table(model, V)
    assert float(torch.logsumexp(log_joint.reshape(-1), 0)) == pytest.approx(0.0, abs=1e-10)


@torch.no_grad()
def test_bound_and_estimate_against_enumeration():
    """400 copies of one image: the per-copy values are independent draws, so the means lie
    within 4 standard errors of their expectations (failure rate below 1e-4 each): the
    ELBO of the exact E_q[log w], the 10-sample estimate between that and log p(v)."""
    model = _random_tiny(2)
    v = torch.tensor([[1, 0, 1, 1, 1, 0, 0, 1, 1]], dtype=_F64)
    log_joint, log_q = _log_w_table(model, v)
    log_p = float(torch.logsumexp(log_joint, 1))
    elbo = float((log_q.exp() * (log_joint - log_q)).sum())
    assert elbo < log_p
    data = v.repeat(400, 1)
    one = conv_dbn_log_likelihood(model, data, "exact", n_samples=1, seed=0)
    assert abs(one.elbo - elbo) < 4 * one.elbo_sem and one.mean == pytest.approx(one.elbo)
    many = conv_dbn_log_likelihood(model, data, "exact", n_samples=10, seed=1)
    assert elbo - 4 * many.sem < many.mean < log_p + 4 * many.sem
    assert many.lower == many.mean == many.upper and many.log_z.method == "exact"


@torch.no_grad()
def test_an_ais_bracket_is_carried_onto_both_numbers():
    model = _random_tiny(3)
    data = torch.ones(5, 9, dtype=_F64)
    est = conv_dbn_log_likelihood(model, data, "ais", n_samples=3, ais_options={"betas": torch.linspace(0, 1, 50)})
    lz = est.log_z
    assert lz.method == "ais"
    assert est.lower == pytest.approx(est.mean - (lz.upper - lz.log_z))
    assert est.elbo_upper == pytest.approx(est.elbo + (lz.log_z - lz.lower))
    assert top_log_partition(model, "auto").method == "exact"


@torch.no_grad()
def test_samples_and_the_within_block_choice():
    model = _random_tiny(4)
    gen = torch.Generator().manual_seed(0)
    x = sample_conv_dbn(model, 7, gen, steps=3)
    assert x.shape == (7, 9) and bool(((x >= 0) & (x <= 1)).all())
    p1 = torch.ones(4000, model.layer1.n_pool, dtype=_F64)
    p1[::2, 0] = 0
    h1 = model.sample_h1(p1, gen)
    assert torch.equal(model.layer1.pool(h1), p1)
    freq = h1[1::2, :4].mean(0)  # group 0's block, on in 2000 rows: each unit 1/4 of the time
    assert bool(((freq - 0.25).abs() < 4.4 * math.sqrt(0.25 * 0.75 / 2000)).all()), freq


def test_second_layer_filters_in_pixel_space():
    """A second-layer filter with one non-zero weight is the mean of the first-layer filter
    placed at the C1² positions of that pooling unit's block."""
    model = ConvDBN(6, (2, 1), (3, 2), (2, 1), seed=0)
    with torch.no_grad():
        model.layer2.W.zero_()
        model.layer2.W[0, 1, 1, 0] = 2.0  # filter 0, input channel 1, pooling row 1, column 0
    first, second = model.pixel_filters()
    assert first.shape == (2, 3, 3) and second.shape == (1, 6, 6)
    want = torch.zeros(6, 6)
    for i in (2, 3):
        for j in (0, 1):
            want[i:i + 3, j:j + 3] += 2.0 * model.layer1.W[1, 0].detach() / 4
    torch.testing.assert_close(second[0], want)
