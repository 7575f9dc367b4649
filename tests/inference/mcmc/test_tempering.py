"""Parallel tempering: the swap bookkeeping, and the β = 1 replica exact in distribution.

Seed policy as in ``test_gibbs.py``. The exactness test starts every replica at an exact
draw of its own p_β (by enumeration), so the product distribution is the stationary one
from the first step and no burn-in enters: after the sweeps and swaps the β = 1 replica's
histogram over ``N_CHAINS`` independent chains must pass a chi-square test against the
exact p_1 at ``ALPHA = 1e-4`` (failure probability 1e-4 under a correct sampler). Swaps
must actually have been accepted in every pair, and the test must be able to fail: if
the β = 1 replica held the next replica's states, its power would exceed 1 − 1e-6.
"""

import pytest
import torch

from inference import make_generator, tempering
from tests.oracles import brute_force_joint, chi_square_gof, noncentral_power, random_bm, state_index

ALPHA = 1e-4
N_CHAINS = 20_000
NV, NH = 3, 2


def exact_draws(model, beta, n, gen):
    states, log_p = brute_force_joint(model, beta)
    idx = torch.multinomial(log_p.exp(), n, replacement=True, generator=gen)
    return {g: x[idx].float() for g, x in states.items()}


def test_ladder_is_geometric_from_one():
    torch.testing.assert_close(tempering.ladder(3, 0.25), torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64))
    with pytest.raises(ValueError, match="decreasing"):
        tempering.init(random_bm(2, seed=0, dtype=torch.float32), 2, [0.5, 1.0], make_generator(0))


def test_the_target_replica_is_exact_in_distribution(one_thread):
    bm = random_bm(NV, NH, seed=21, scale=1.5, dtype=torch.float32)
    betas = tempering.ladder(3, 0.3)
    p1 = brute_force_joint(bm, 1.0)[1].exp()
    p_next = brute_force_joint(bm, float(betas[1]))[1].exp()
    assert noncentral_power(N_CHAINS, p_next.numpy(), p1.numpy(), ALPHA) > 1 - 1e-6
    gen = torch.Generator().manual_seed(22)
    parts = [exact_draws(bm, float(b), N_CHAINS, gen) for b in betas]
    values = {g: torch.cat([p[g] for p in parts]) for g in ("v", "h")}
    gen = make_generator(23)
    state = tempering.run(bm, tempering.init(bm, N_CHAINS, betas, gen, values=values), 5, gen)
    assert (tempering.swap_rates(state) > 0.05).all()
    x = tempering.replica(state, 0)
    counts = torch.bincount(state_index(torch.cat([x["v"], x["h"]], 1)), minlength=2 ** (NV + NH)).numpy()
    assert chi_square_gof(counts, p1.numpy())[2] > ALPHA


def test_swaps_alternate_between_even_and_odd_pairs_and_keep_energies_current():
    bm = random_bm(4, 1, seed=24, dtype=torch.float32)
    gen = make_generator(25)
    state = tempering.run(bm, tempering.init(bm, 10, tempering.ladder(4, 0.2), gen), 5, gen)
    torch.testing.assert_close(state.proposed, torch.tensor([30.0, 20.0, 30.0], dtype=torch.float64))
    assert ((state.accepted >= 0) & (state.accepted <= state.proposed)).all()
    torch.testing.assert_close(state.energy, bm.energy(state.values).double())
    assert state.n_steps == 5


def test_equal_temperatures_always_swap():
    """With β_t = β_{t+1} the acceptance probability is exp(0) = 1."""
    bm = random_bm(3, 1, seed=26, dtype=torch.float32)
    gen = make_generator(27)
    state = tempering.init(bm, 6, [1.0, 1.0 - 1e-12], gen)
    state = tempering.step(bm, state, gen)
    assert state.accepted.item() == state.proposed.item() == 6


def test_a_single_temperature_proposes_no_swaps_and_trains(one_thread):
    """A ladder of one β (``tempering.ladder(1)``, accepted by ``init``) is plain Gibbs
    sampling: steps propose nothing (even on odd steps), and ``fit(method="pt",
    n_temperatures=1)`` runs like PCD instead of failing at its second update."""
    from inference import fit, gibbs

    bm = random_bm(NV, NH, seed=0, dtype=torch.float32)
    state = tempering.init(bm, 4, tempering.ladder(1), make_generator(0))
    plain = gibbs.init(bm, 4, make_generator(0))
    gen_pt, gen_gibbs = make_generator(1), make_generator(1)
    for _ in range(3):
        state = tempering.step(bm, state, gen_pt)
        plain = gibbs.step(bm, plain, gen_gibbs)
    assert state.n_steps == 3 and state.accepted.numel() == 0 and state.proposed.numel() == 0
    for g in plain.values:
        assert torch.equal(state.values[g], plain.values[g])
    data = (torch.rand(40, NV, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    fit(bm, data, method="pt", n_temperatures=1, epochs=2, batch_size=10, progress=False, monitor=0)
    assert all(bool(torch.isfinite(p).all()) for p in bm.parameters())
