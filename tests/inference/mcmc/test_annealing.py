"""Simulated annealing: the init/step contract, best-state bookkeeping, zero-temperature
descent, and the ground state of small frustrated Boltzmann machines by enumeration."""

import math

import pytest
import torch

from inference import anneal, geometric_schedule, gibbs, make_generator
from inference.mcmc import annealing
from tests.oracles import all_binary_states, random_bm, random_rbm


def ground_energy(model):
    x = all_binary_states(model.n_units)
    vals = {"v": x[:, :model.n_visible], **({"h": x[:, model.n_visible:]} if model.n_hidden else {})}
    return model.double().energy(vals).min().item()


def test_geometric_schedule_runs_from_t_high_to_t_low():
    b = geometric_schedule(10.0, 0.1, 5)
    torch.testing.assert_close(b, 1 / torch.tensor([10.0, 10 ** 0.5, 1.0, 10 ** -0.5, 0.1], dtype=torch.float64))
    with pytest.raises(ValueError, match="t_low"):
        geometric_schedule(1.0, 2.0, 3)


def test_best_states_are_the_lowest_energies_of_the_trace():
    bm = random_bm(8, 2, seed=1, dtype=torch.float32)
    out = anneal(bm, 16, geometric_schedule(4.0, 0.2, 40), make_generator(0))
    assert out.trace.shape == (40, 16)
    torch.testing.assert_close(out.energies, bm.energy(out.states).double())
    assert (out.energies <= out.trace.min(0).values + 1e-9).all()
    assert set(out.states["v"].unique().tolist()) <= {0.0, 1.0}


def test_constant_unit_schedule_is_plain_gibbs_sampling():
    bm = random_bm(5, 2, seed=2, dtype=torch.float32)
    out = anneal(bm, 8, [1.0] * 6, make_generator(3))
    gen = make_generator(3)
    ref = gibbs.run(bm, gibbs.init(bm, 8, gen), 6, gen)
    for g in ref.values:
        assert torch.equal(out.final.values[g], ref.values[g])


def test_zero_temperature_sweeps_never_raise_the_energy():
    bm = random_bm(12, 0, seed=4, dtype=torch.float32)
    out = anneal(bm, 64, [math.inf] * 10, make_generator(5), scan="random")
    assert (out.trace[1:] <= out.trace[:-1] + 1e-5).all()
    # ten greedy sweeps of 12 units end in a local minimum: no single flip lowers the energy
    x = out.final.values["v"]
    logits = torch.stack([bm.site_logits("v", i, {"v": x}, 1.0) for i in range(12)], 1)
    assert (((logits > 0) == (x > 0.5)) | (logits == 0)).all()


def test_annealing_finds_the_ground_state_of_a_frustrated_machine(one_thread):
    bm = random_bm(12, 0, seed=6, dtype=torch.float32)
    with torch.no_grad():
        bm.a.zero_()  # zero fields, Gaussian couplings of both signs: frustrated
    out = anneal(bm, 32, geometric_schedule(3.0, 0.05, 150), make_generator(7))
    assert out.energies.min().item() == pytest.approx(ground_energy(bm), abs=1e-4)


def test_step_works_for_block_models_and_keeps_clamped_groups():
    rbm = random_rbm(4, 3, seed=8, dtype=torch.float32)
    gen = make_generator(9)
    v = torch.ones(5, 4)
    state = annealing.init(rbm, 5, gen, clamp={"v": v})
    state = annealing.step(rbm, state, torch.full((5,), math.inf), gen, clamp={"v": v})
    assert torch.equal(state.values["v"], v)
    assert torch.isfinite(state.best_energy).all()


@pytest.mark.parametrize("schedule, match", [([], "schedule"), ([-1.0], "≥ 0"), ([[1.0, 1.0]], "schedule")])
def test_bad_schedules_are_refused(schedule, match):
    with pytest.raises(ValueError, match=match):
        anneal(random_bm(3, seed=0, dtype=torch.float32), 3, schedule, make_generator(0))


def test_a_greedy_sweep_of_a_softmax_group_takes_its_largest_logit():
    """β = ∞ (a zero-temperature sweep) of a classification RBM's label: the one-hot of
    the largest logit d + U h, not a NaN from ∞ − ∞ inside the softmax."""
    from models import ClassRBM

    from models.energy import validation_disabled

    crbm = ClassRBM(6, 4, 3, weight_std=1.0, seed=0)
    out = anneal(crbm, 8, torch.tensor([1.0, math.inf]), make_generator(0))
    assert bool(torch.isfinite(out.energies).all()) and bool(torch.isfinite(out.trace).all())
    h = out.final.values["h"]
    with validation_disabled():  # β = ∞ is annealing's, past check_beta's [0, 1]
        dist = crbm.conditional("y", {"h": h}, beta=torch.full((8,), math.inf))
    best = (crbm.d + h @ crbm.U.t()).argmax(-1)
    assert torch.equal(dist.probs, torch.nn.functional.one_hot(best, 3).to(dist.probs.dtype))
