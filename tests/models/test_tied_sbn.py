"""An RBM is an infinitely deep sigmoid belief net with tied weights (Hinton et al. 2006).

The SBN v ← h_1 ← v_2 ← h_3 ← … whose layers alternate the RBM's visible and hidden sizes,
with p(v | h) = σ(W h + b) and p(h | v) = σ(Wᵀ v + c) at every level, started from
uniform units at the top: an ancestral pass down D layer pairs is D block Gibbs sweeps of
the RBM, so the bottom layer's marginal tends to the RBM's p(v) as the net deepens.
"""

import torch

from models import SigmoidBeliefNet
from tests.oracles import all_binary_states, brute_force_conditional, brute_force_marginal_v, chi_square_gof
from tests.oracles import noncentral_power, random_rbm, state_index

ALPHA = 1e-3  # failure rate of the goodness-of-fit test under a correct equivalence


def _tied_sbn(rbm, pairs):
    """The SBN [n_v, n_h, n_v, …, n_v] (``pairs`` hidden layers) with the RBM's weights tied."""
    nv, nh = rbm.n_visible, rbm.n_hidden
    sizes = [nv, nh] * pairs + [nv]
    sbn = SigmoidBeliefNet(sizes, seed=0)
    with torch.no_grad():
        for l, layer in enumerate(sbn.generative.layers, start=1):  # layer l maps h_l to h_{l-1}
            if l % 2:  # a hidden layer above a visible one: p(v | h)
                layer.weight.copy_(rbm.W), layer.bias.copy_(rbm.b)
            else:      # a visible layer above a hidden one: p(h | v)
                layer.weight.copy_(rbm.W.t()), layer.bias.copy_(rbm.c)
        sbn.generative.top.zero_()  # uniform units at the top
    return sbn


def _truncated_marginal(rbm, pairs):
    """Exact law of the bottom layer of the depth-``pairs`` tied net: u (P_vh P_hv)^pairs."""
    v, h = all_binary_states(rbm.n_visible), all_binary_states(rbm.n_hidden)
    p_hv = torch.stack([brute_force_conditional(rbm, "v", {"h": x}) for x in h])   # (2^nh, 2^nv)
    p_vh = torch.stack([brute_force_conditional(rbm, "h", {"v": x}) for x in v])   # (2^nv, 2^nh)
    law = torch.full((len(v),), 1.0 / len(v), dtype=torch.float64)
    return law @ torch.linalg.matrix_power(p_vh @ p_hv, pairs)


def test_the_truncated_tied_net_converges_to_the_rbm_marginal():
    rbm = random_rbm(4, 3, seed=1, scale=2.0)
    target = brute_force_marginal_v(rbm)
    tv = [0.5 * float((_truncated_marginal(rbm, d) - target).abs().sum()) for d in (1, 2, 4, 8, 16, 32)]
    assert all(b <= a + 1e-12 for a, b in zip(tv, tv[1:]))  # TV to the stationary law never grows
    assert tv[0] > 0.05 and tv[-1] < 1e-6


def test_ancestral_samples_of_the_deep_tied_net_follow_the_rbm():
    rbm = random_rbm(4, 3, seed=1, scale=2.0).float()
    pairs = 24
    bias = 0.5 * float((_truncated_marginal(rbm, pairs) - brute_force_marginal_v(rbm)).abs().sum())
    assert bias < 1e-5  # truncation error far below what 8000 draws resolve
    sbn = _tied_sbn(rbm, pairs)
    x = sbn.sample(8000, torch.Generator().manual_seed(0))
    counts = torch.bincount(state_index(x), minlength=16)
    _, _, p = chi_square_gof(counts.numpy(), brute_force_marginal_v(rbm).numpy())
    assert p > ALPHA
    one_pair = _truncated_marginal(rbm, 1)
    assert noncentral_power(8000, one_pair.numpy(), brute_force_marginal_v(rbm).numpy(), ALPHA) > 0.999
    shallow = _tied_sbn(rbm, 1).sample(8000, torch.Generator().manual_seed(0))  # one pair is not enough
    _, _, p = chi_square_gof(torch.bincount(state_index(shallow), minlength=16).numpy(),
                             brute_force_marginal_v(rbm).numpy())
    assert p < ALPHA
