"""The convolutional RBM with probabilistic max-pooling: brute-force oracles on tiny models,
the pooling conditional, the block constraint, shapes at 8×8 and 28×28, the sparsity
penalty and refused arguments."""

import math

import pytest
import torch

from models.energy import BlockSoftmax, ConvRBM
from tests.oracles import all_binary_states

_F64 = torch.float64


def random_conv_rbm(image_shape=4, n_filters=2, filter_size=3, pool_size=2, n_channels=1, seed=0, scale=1.0,
                    dtype=_F64) -> ConvRBM:
    """A ConvRBM with every parameter drawn from N(0, scale²) (seeded)."""
    model = ConvRBM(image_shape, n_filters, filter_size, pool_size, n_channels, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return model.to(dtype)


@torch.no_grad()
def test_free_energy_sums_every_hidden_state_out():
    """F(v) = −log Σ_h e^{−E(v, h)} over all 2^8 binary h; E = +∞ on the states that break a block."""
    model = random_conv_rbm(seed=1)
    v = all_binary_states(16)[torch.tensor([0, 5, 999, 40000, 65535])]
    H = all_binary_states(model.n_hidden)
    E = model.energy({"v": v.repeat_interleave(H.shape[0], 0), "h": H.repeat(v.shape[0], 1)}).reshape(5, -1)
    n_valid = int(torch.isfinite(E[0]).sum())
    assert n_valid == (2 * 2 + 1) ** 2  # two groups, one 2×2 block each: 5 states per block
    torch.testing.assert_close(model.free_energy(v), -torch.logsumexp(-E, 1), rtol=0, atol=1e-10)


@torch.no_grad()
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_exact_log_z_enumerates_the_hidden_side_and_matches_the_visible_side(beta):
    """inference.exact_log_partition (2^8 detection states, constraint as F = +∞) against
    log Σ_v e^{−F(v)} over all 2^9 visible states."""
    from inference import exact_log_partition
    from inference.partition.exact import enumeration_set

    model = random_conv_rbm(3, 2, 2, 2, seed=2)  # 9 pixels, 2 groups of one 2×2 block
    assert enumeration_set(model) == (("h",), 8)
    V = all_binary_states(9)
    want = float(torch.logsumexp(-model.free_energy(V, beta=beta), 0))
    H = all_binary_states(8)
    assert float(torch.logsumexp(-model.free_energy_hidden(H, beta=beta), 0)) == pytest.approx(want, abs=1e-9)
    if beta == 1.0:
        assert exact_log_partition(model).log_z == pytest.approx(want, abs=1e-9)


@torch.no_grad()
def test_pooling_conditional_matches_brute_force_over_a_block():
    """P(h_ij = 1 | v) and P(p_α = 0 | v) from the normalised e^{−E(v, h)} over every h."""
    model = random_conv_rbm(image_shape=5, n_filters=2, filter_size=2, pool_size=2, seed=3)  # 2 groups of 4×4
    v = torch.rand(3, 25, generator=torch.Generator().manual_seed(0)).lt(0.5).to(_F64)
    dist = model.conditional("h", {"v": v})
    # one block at a time (blocks are independent given v): its 5 states, the rest off
    for k, (r, c) in [(0, (0, 0)), (1, (2, 2)), (0, (2, 0))]:
        states = torch.zeros(5, *model.hidden_shape, dtype=_F64)
        cells = [(r + a, c + b) for a in range(2) for b in range(2)]
        for s, (i, j) in enumerate(cells):
            states[s, k, i, j] = 1
        states = states.reshape(5, -1)
        E = model.energy({"v": v.repeat_interleave(5, 0), "h": states.repeat(3, 1)}).reshape(3, 5)
        p = torch.softmax(-E, 1)  # state 4: the block off
        probs = dist.probs.reshape(3, *model.hidden_shape)
        for s, (i, j) in enumerate(cells[:4]):
            torch.testing.assert_close(probs[:, k, i, j], p[:, s], rtol=0, atol=1e-12)
        pool_on = dist.pool_probs.reshape(3, *model.pool_shape)[:, k, r // 2, c // 2]
        torch.testing.assert_close(1 - pool_on, p[:, 4], rtol=0, atol=1e-12)
    torch.testing.assert_close(model.pool(dist.probs), dist.pool_probs, rtol=0, atol=1e-12)


@torch.no_grad()
def test_block_draws_respect_the_constraint_and_their_frequencies():
    """Each block of 4 draws at most one unit, states with the conditional's frequencies:
    every |z| < 4.4 over 15 frequencies (failure rate below 2e-4 under the model)."""
    model = random_conv_rbm(seed=4, scale=0.5)
    v = torch.ones(4000, 16, dtype=_F64)
    dist = model.conditional("h", {"v": v})
    h = dist.sample_with(torch.Generator().manual_seed(5))
    blocks = h.reshape(-1, 2, 2, 2).sum((2, 3))  # 2 groups, one 2×2 block each
    assert bool((blocks <= 1).all()) and set(h.unique().tolist()) <= {0.0, 1.0}
    p = dist.probs[0]
    freq = h.mean(0)
    pool_freq = model.pool(h).mean(0)
    z = torch.cat([(freq - p) / (p * (1 - p) / 4000).sqrt(),
                   (pool_freq - dist.pool_probs[0]) / (dist.pool_probs[0] * (1 - dist.pool_probs[0]) / 4000).sqrt()])
    assert bool((z.abs() < 4.4).all()), z


@torch.no_grad()
def test_energy_is_infinite_where_a_block_has_two_units_on():
    model = random_conv_rbm(seed=5)
    h = torch.zeros(2, 8, dtype=_F64)
    h[1, :2] = 1  # two units of the first block of group 0
    e = model.energy({"v": torch.zeros(2, 16, dtype=_F64), "h": h})
    assert math.isfinite(float(e[0])) and e[1] == math.inf
    assert model.conditional("h", {"v": torch.zeros(2, 16, dtype=_F64)}).log_prob(h)[1] == -math.inf


@pytest.mark.parametrize("side, filter_size, hidden, pooled", [(8, 5, (4, 4, 4), (4, 2, 2)),
                                                               (28, 5, (4, 24, 24), (4, 12, 12))])
def test_shapes_of_8x8_and_28x28_images(side, filter_size, hidden, pooled):
    model = ConvRBM(side, 4, filter_size, 2, seed=0)
    assert model.hidden_shape == hidden and model.pool_shape == pooled
    v = torch.rand(3, side * side).lt(0.5).float()
    h = model.conditional("h", {"v": v}).sample_with(torch.Generator().manual_seed(0))
    assert h.shape == (3, math.prod(hidden)) and model.pool(h).shape == (3, math.prod(pooled))
    assert model.conditional("v", {"h": h}).probs.shape == (3, side * side)
    assert model.pooling_probabilities(v).shape == (3, math.prod(pooled))
    assert model.free_energy(v).shape == (3,)


def test_sparsity_penalty_value_and_gradient_on_the_hidden_biases_only():
    model = random_conv_rbm(seed=6, dtype=torch.float32)
    model.sparsity, model.sparsity_cost = 0.05, 2.0
    v = torch.rand(5, 16, generator=torch.Generator().manual_seed(1)).lt(0.5).float()
    q = BlockSoftmax(model.hidden_logits(v), 2).probs.reshape(5, 2, -1).mean((0, 2))
    penalty = model.training_penalty(v)
    torch.testing.assert_close(penalty, 2.0 * 4 * (0.05 - q).square().sum())  # 2×2 detection positions
    penalty.backward()
    assert model.W.grad is None and model.c.grad is None
    assert bool((model.b.grad > 0).all())  # activations above the target: the biases go down
    model.sparsity = None
    assert model.training_penalty(v) is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(image_shape=8, n_filters=2, filter_size=4, pool_size=2), "pool_size must divide"),
    (dict(image_shape=8, n_filters=2, filter_size=9), "filter_size must be at most"),
    (dict(image_shape=(8,), n_filters=2, filter_size=3), "image_shape must be an int or a pair"),
    (dict(image_shape=8, n_filters=0, filter_size=3), "n_filters"),
    (dict(image_shape=8, n_filters=2, filter_size=3, pool_size=3, sparsity=1.5), "sparsity"),
])
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        ConvRBM(**kwargs)


def test_from_data_sets_the_visible_bias_and_infers_a_square_image():
    data = torch.zeros(10, 64)
    data[:3] = 1
    model = ConvRBM.from_data(data, 3, 5, 2, seed=0)
    assert model.image_shape == (8, 8)
    assert float(model.c.detach()) == pytest.approx(math.log(0.3 / 0.7), abs=1e-6)
    with pytest.raises(ValueError, match="image_shape"):
        ConvRBM.from_data(torch.zeros(4, 60), 3, 5)
