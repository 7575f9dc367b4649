"""One contract, one test: every energy model in ``CASES`` runs through the same checks.

To add a model (SpikeSlabRBM, DBM, ...), append a :class:`Case` whose ``make`` builds a
small float32 instance with non-trivial parameters (not the zero biases of a fresh
model). The checks use only the ``EnergyModel`` contract and the graph:

* ``energy`` returns (batch,) in the model's dtype and is differentiable;
* ``conditional`` returns a ``Distribution`` whose samples have the group's shape, that
  needs only the Markov blanket, and whose log-ratios equal β times energy differences
  (exact for any unit kind: log p(x|rest) - log p(x'|rest) = -β (E(x, rest) - E(x', rest)));
* ``graph.gibbs_blocks()`` partitions the groups into conditionally independent blocks;
* ``free_energy`` equals −log Σ exp(−βE) over the latent groups (when ``exact_free_energy``
  and the latent groups are binary and small enough to enumerate; the visible group may
  be real-valued), and ``free_energy_given`` does so over the other groups of each set of
  ``marginal_sets()`` whose complement is binary;
* ``.to(torch.float64)``, ``config()`` and ``state_dict()`` round-trip.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import pytest
import torch
from torch.distributions import Distribution

from inference.mcmc.sampling import sample
from models.energy import EnergyModel
from pgm import REAL_KINDS  # density kinds: flat (improper) conditionals at β = 0
from tests.models.test_class_rbm import random_class_rbm
from tests.models.test_conv_rbm import random_conv_rbm
from tests.models.test_covariance_models import random_mcrbm, random_mpot
from tests.models.test_spike_slab_rbm import random_spike_slab_rbm
from tests.oracles import MAX_ENUMERATED_UNITS, random_bm, random_dbm, random_gaussian_rbm, random_rbm


class Case(NamedTuple):
    """A registry entry.

    id : str
        Test id.
    make : callable
        Builds a small float32 model with non-trivial parameters, deterministically.
    exact_free_energy : bool
        Whether ``free_energy(v)`` sums every latent group out exactly.
    approximate : tuple of str
        Groups whose ``conditional`` is an approximation by design (NReLU hidden units),
        exempt from the check of log-ratios against energy differences.
    """

    id: str
    make: Callable[[], EnergyModel]
    exact_free_energy: bool = True
    approximate: tuple = ()


CASES = [
    Case("rbm-6x4", lambda: random_rbm(6, 4, seed=1, dtype=torch.float32)),
    Case("rbm-3x5", lambda: random_rbm(3, 5, seed=2, dtype=torch.float32)),
    Case("rbm-1x1", lambda: random_rbm(1, 1, seed=3, dtype=torch.float32)),
    Case("grbm-5x4", lambda: random_gaussian_rbm(5, 4, seed=4, dtype=torch.float32)),
    Case("grbm-2x6-fixed-sigma", lambda: random_gaussian_rbm(2, 6, seed=5, learn_sigma=False, dtype=torch.float32)),
    Case("grbm-1x1-raw", lambda: random_gaussian_rbm(1, 1, seed=6, standardized=False, dtype=torch.float32)),
    Case("bm-4x3", lambda: random_bm(4, 3, seed=7, dtype=torch.float32), exact_free_energy=False),
    Case("dbm-4x3x2", lambda: random_dbm([4, 3, 2], seed=7, dtype=torch.float32), exact_free_energy=False),
    Case("dbm-3x2x3x2-centered", lambda: random_dbm([3, 2, 3, 2], seed=8, centered=True, dtype=torch.float32),
         exact_free_energy=False),
    Case("ssrbm-4x3", lambda: random_spike_slab_rbm(4, 3, seed=7, dtype=torch.float32)),
    Case("rbm-5x3-stepped", lambda: random_rbm(5, 3, seed=9, dtype=torch.float32, hidden="stepped", n_steps=4)),
    Case("rbm-4x2-nrelu", lambda: random_rbm(4, 2, seed=10, dtype=torch.float32, hidden="nrelu", n_steps=5),
         approximate=("h",)),
    Case("grbm-4x2-stepped", lambda: random_gaussian_rbm(4, 2, seed=11, dtype=torch.float32, hidden="stepped",
                                                         n_steps=3)),
    Case("grbm-3x2-nrelu", lambda: random_gaussian_rbm(3, 2, seed=12, dtype=torch.float32, hidden="nrelu",
                                                       n_steps=6), approximate=("h",)),
    Case("crbm-4x3x3", lambda: random_class_rbm(4, 3, 3, seed=9, dtype=torch.float32)),
    Case("convrbm-3x3-pool2", lambda: random_conv_rbm(3, 2, 2, 2, seed=10, dtype=torch.float32)),
    Case("convrbm-2ch-2x3-pool1", lambda: random_conv_rbm((2, 3), 3, 2, 1, n_channels=2, seed=11,
                                                          dtype=torch.float32)),
    Case("mcrbm-3x4x3x2", lambda: random_mcrbm(3, 4, 3, 2, seed=10, dtype=torch.float32)),
    Case("mpot-3x4x2x2", lambda: random_mpot(3, 4, 2, 2, seed=11, dtype=torch.float32)),
]
#: Kinds with a density: their conditionals are flat (improper) at β = 0.
DENSITY_KINDS = (*REAL_KINDS, "gamma")

BATCH = 7


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request) -> Case:
    return request.param


@pytest.fixture
def model(case) -> EnergyModel:
    return case.make()


def random_values(group, batch: int, generator: torch.Generator, dtype=torch.float32, model=None) -> torch.Tensor:
    """Random legal values of one variable group, shape (batch, *group.size); count groups
    draw uniformly from ``model.enumeration_values(group.name)``."""
    shape = (batch, *group.size)
    if group.kind == "count":
        levels = model.enumeration_values(group.name).to(dtype)
        return levels[torch.randint(len(levels), shape, generator=generator)]
    if group.kind == "bernoulli":
        return torch.rand(shape, generator=generator).lt(0.5).to(dtype)
    if group.kind == "binary_pm1":
        return torch.rand(shape, generator=generator).lt(0.5).to(dtype) * 2 - 1
    if group.kind in ("gaussian", "real"):
        return torch.randn(shape, generator=generator, dtype=dtype)
    if group.kind == "gamma":  # positive reals
        return torch.rand(shape, generator=generator, dtype=dtype) * 2 + 0.1
    if group.kind == "softmax":
        k = torch.randint(0, group.n_units, (batch,), generator=generator)
        return torch.nn.functional.one_hot(k, group.n_units).to(dtype)
    if group.kind == "block_softmax":  # probabilistic max-pooling: a uniform state of each block
        from models.energy import BlockSoftmax

        logits = torch.zeros(batch, *model.hidden_shape, dtype=dtype)
        return BlockSoftmax(logits, model.pool_size).sample_with(generator)
    raise NotImplementedError(f"random_values: add a generator for unit kind {group.kind!r}")


def random_state(model, batch: int = BATCH, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {g.name: random_values(g, batch, gen, model.dtype, model) for g in model.graph.groups}


def _per_example(log_prob: torch.Tensor, batch: int) -> torch.Tensor:
    """Sum a log_prob over the group's units, whatever split of batch/event shape is used."""
    return log_prob.reshape(batch, -1).sum(-1)


# -- the checks ----------------------------------------------------------------------------
def test_is_energy_model_with_graph(model):
    assert isinstance(model, EnergyModel)
    assert len(model.graph.groups) >= 2
    assert model.visible_name in model.graph
    assert model.graph[model.visible_name].observed
    assert model.dtype == torch.float32


def test_energy_has_batch_shape_and_gradients(model):
    state = random_state(model)
    e = model.energy(state)
    assert e.shape == (BATCH,)
    assert e.dtype == model.dtype
    assert torch.isfinite(e).all()
    e.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    # rows are independent: energy of a sub-batch is the sub-batch of energies
    sub = {k: v[2:4] for k, v in state.items()}
    torch.testing.assert_close(model.energy(sub), e[2:4].detach())


def test_conditional_distribution_has_group_shape(model):
    state = random_state(model)
    gen = torch.Generator().manual_seed(1)
    for grp in model.graph.groups:
        dist = model.conditional(grp.name, state)
        assert isinstance(dist, Distribution), grp.name
        assert dist.batch_shape + dist.event_shape == (BATCH, *grp.size), grp.name
        assert dist.sample().shape == (BATCH, *grp.size), grp.name
        x = sample(dist, gen)
        assert x.shape == (BATCH, *grp.size) and x.dtype == model.dtype, grp.name
        assert _per_example(dist.log_prob(x), BATCH).shape == (BATCH,)


def test_conditional_needs_only_the_markov_blanket(model):
    state = random_state(model)
    for grp in model.graph.groups:
        blanket = model.graph.markov_blanket(grp.name)
        partial = {k: state[k] for k in blanket}
        x = state[grp.name]
        torch.testing.assert_close(model.conditional(grp.name, partial).log_prob(x),
                                   model.conditional(grp.name, state).log_prob(x))


@pytest.mark.parametrize("beta", [1.0, 0.4, "per-chain"])
def test_conditional_log_ratios_equal_energy_differences(case, model, beta):
    """log p_β(x|rest) − log p_β(x'|rest) = −β (E(x, rest) − E(x', rest)), any unit kind
    (rows at β = 0 skipped for real-valued groups, whose conditional is improper there)."""
    model = model.double()
    state = random_state(model, seed=3)
    if beta == "per-chain":
        beta = torch.linspace(0, 1, BATCH, dtype=torch.float64)
    b = beta if isinstance(beta, torch.Tensor) else torch.full((BATCH,), beta, dtype=torch.float64)
    gen = torch.Generator().manual_seed(4)
    for grp in model.graph.groups:
        if grp.name in case.approximate:
            continue
        x = state[grp.name]
        x2 = random_values(grp, BATCH, gen, torch.float64, model)
        other = {**state, grp.name: x2}
        dist = model.conditional(grp.name, state, beta=beta)
        lhs = _per_example(dist.log_prob(x), BATCH) - _per_example(dist.log_prob(x2), BATCH)
        rhs = -b * (model.energy(state) - model.energy(other))
        rows = b > 0 if grp.kind in DENSITY_KINDS else torch.ones_like(b, dtype=torch.bool)
        torch.testing.assert_close(lhs[rows], rhs.detach()[rows], rtol=1e-9, atol=1e-9, msg=grp.name)


def test_gibbs_blocks_partition_the_groups_into_independent_sets(model):
    graph = model.graph
    blocks = graph.gibbs_blocks()
    flat = [n for block in blocks for n in block]
    assert sorted(flat) == sorted(graph.names)
    assert len(flat) == len(set(flat))
    for block in blocks:
        for a in block:
            assert not (graph.neighbours(a) - {a}) & set(block), (a, block)


def _latent_groups(model):
    return [g for g in model.graph.groups if g.name not in model.data_groups]


def _enumerable(model, groups) -> bool:
    """Whether every unit of ``groups`` takes finitely many values (bernoulli, or counts) and
    their joint states number at most 2**MAX_ENUMERATED_UNITS."""
    levels = [model.enumeration_values(g.name) if g.kind in ("bernoulli", "count") else None for g in groups]
    if any(lv is None for lv in levels):
        return False
    return math.prod(len(lv) ** g.n_units for lv, g in zip(levels, groups)) <= 2**MAX_ENUMERATED_UNITS


def _all_states(model, groups) -> dict:
    """Every joint state of ``groups`` (enumerable, see :func:`_enumerable`), one per row."""
    columns = [model.enumeration_values(g.name).to(model.dtype) for g in groups for _ in range(g.n_units)]
    table = torch.cartesian_prod(*columns).reshape(-1, len(columns)) if columns else torch.zeros(1, 0)
    out, lo = {}, 0
    for g in groups:
        out[g.name] = table[:, lo:lo + g.n_units]
        lo += g.n_units
    return out


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_free_energy_sums_out_the_latent_groups(case, model, beta):
    latent = _latent_groups(model)
    if not case.exact_free_energy or not _enumerable(model, latent):
        pytest.skip("free energy is not exactly enumerable for this model")
    model = model.double()
    v = model.join_data(random_state(model, seed=5))  # the data groups side by side
    hidden = _all_states(model, latent)
    S = next(iter(hidden.values())).shape[0]
    state = {k: x.repeat_interleave(S, 0) for k, x in model.split_data(v).items()}
    state.update({k: h.repeat(BATCH, 1) for k, h in hidden.items()})
    log_w = (-beta * model.energy(state)).reshape(BATCH, S).detach()
    torch.testing.assert_close(model.free_energy(v, beta=beta).detach(), -torch.logsumexp(log_w, 1),
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_free_energy_given_sums_out_each_binary_complement(model, beta):
    """For every set S of ``marginal_sets()`` whose other groups are binary and few,
    F_β(x_S) = −log Σ_{x_rest} exp(−β E(x_S, x_rest)); S = all groups gives β E. Values of
    S come from ``random_values`` (real-valued groups included)."""
    model = model.double()
    graph = model.graph
    state = random_state(model, seed=8)
    checked = 0
    for s in model.marginal_sets():
        rest = [graph[g] for g in graph.names if g not in s]
        if not _enumerable(model, rest):
            continue
        given = {g: state[g] for g in s}
        states = _all_states(model, rest)
        S = next(iter(states.values())).shape[0] if rest else 1
        full = {g: x.repeat_interleave(S, 0) for g, x in given.items()}
        full.update({g: x.repeat(BATCH, 1) for g, x in states.items()})
        log_w = (-beta * model.energy(full)).reshape(BATCH, S).detach()
        torch.testing.assert_close(model.free_energy_given(given, beta).detach(), -torch.logsumexp(log_w, 1),
                                   rtol=0, atol=1e-10, msg=str(s))
        checked += 1
    assert checked >= 1  # at least S = all groups


def test_to_float64_converts_everything(model):
    state32 = random_state(model)
    e32 = model.energy(state32).detach()
    free32 = model.free_energy(model.join_data(state32)).detach() if _has_free_energy(model) else None
    model64 = model.to(torch.float64)
    assert model64.dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in model64.parameters())
    e64 = model64.energy(state32)  # float32 input is converted
    assert e64.dtype == torch.float64
    torch.testing.assert_close(e64.float(), e32, rtol=1e-5, atol=1e-5)
    for grp in model64.graph.groups:
        dist = model64.conditional(grp.name, state32)
        assert sample(dist, torch.Generator().manual_seed(0)).dtype == torch.float64
    if free32 is not None:
        torch.testing.assert_close(model64.free_energy(model64.join_data(state32)).float(), free32,
                                   rtol=1e-5, atol=1e-5)


def _has_free_energy(model):
    try:
        model.free_energy(model.join_data(random_state(model, batch=1)))
    except NotImplementedError:
        return False
    return True


def test_config_and_state_dict_round_trip(model):
    clone = type(model)(**model.config())
    assert clone.config() == model.config()
    assert clone.graph == model.graph
    clone.load_state_dict(model.state_dict())
    state = random_state(model)
    torch.testing.assert_close(clone.energy(state), model.energy(state))


def test_conditional_rejects_unknown_group(model):
    with pytest.raises(ValueError, match="'no_such_group'"):
        model.conditional("no_such_group", random_state(model))
