"""One contract, one test: every binary autoregressive model in ``CASES`` runs through the
same exact checks against enumeration of all 2^D vectors.

To add a model, append a :class:`Case` whose ``make`` builds a small model (D ≤ 8) with
non-trivial parameters and whose ``members`` lists the factorisations to check (``None``:
the model's own ordering; orderings or mask indices for models trained over several).

* the probabilities of all 2^D vectors sum to 1 under every member and their ensemble;
* the one-pass ``log_prob`` equals the Pyro program's trace log-probability;
* ancestral samples' cell frequencies match the exact distribution (χ², failure rate 1e-4
  per check);
* in-painting along :meth:`inpainting_member` draws from the exact conditional
  p(x_missing | x_observed) of that member (χ², failure rate 1e-4);
* ``config()`` and ``state_dict()`` rebuild the model.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import pyro.poutine as poutine
import pytest
import torch

from models.autoregressive import FVSBN, MADE, NADE, OrderAgnosticNADE
from tests.oracles import all_binary_states, chi_square_gof, state_index

ALPHA = 1e-4  # per-check failure rate of the χ² tests


class Case(NamedTuple):
    id: str
    make: Callable
    members: tuple = (None,)
    observed: tuple = (0, 1)  # dimensions observed by the in-painting check


def _perturbed(model, seed, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return model


def _fvsbn():
    m = _perturbed(FVSBN(5, ordering=[3, 0, 4, 1, 2], seed=0), 1)
    with torch.no_grad():
        m.W.mul_(m.mask)
    return m


CASES = [
    Case("fvsbn-5", _fvsbn, observed=(3, 0)),
    Case("fvsbn-1", lambda: _perturbed(FVSBN(1, seed=0), 2), observed=()),
    Case("nade-6x4", lambda: _perturbed(NADE(6, 4, ordering=[5, 1, 0, 3, 2, 4], seed=0), 3), observed=(5, 1)),
    Case("nade-4x1", lambda: _perturbed(NADE(4, 1, seed=0), 4)),
    Case("made-6-3masks", lambda: _perturbed(MADE(6, (12, 12), n_masks=3, order_agnostic=True, seed=0), 5, 0.5),
         members=(None, 1, 2), observed=(2, 4)),
    Case("oanade-5-2layers", lambda: _perturbed(OrderAgnosticNADE(5, (8, 8), seed=0), 6, 0.5),
         members=(None, torch.tensor([4, 2, 0, 3, 1]), torch.tensor([1, 3, 4, 0, 2])), observed=(3, 1)),
]
IDS = [c.id for c in CASES]


def _exact(model, member):
    x = all_binary_states(model.n_visible, torch.float32)
    with torch.no_grad():
        return x, model.log_prob(x, member).double()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_probabilities_sum_to_one(case):
    model = case.make()
    logps = []
    for member in case.members:
        _, lp = _exact(model, member)
        assert abs(float(lp.exp().sum()) - 1) < 1e-5
        logps.append(lp)
    x = all_binary_states(model.n_visible, torch.float32)
    with torch.no_grad():
        ensemble = model.ensemble_log_prob(x, list(case.members)).double()
    assert abs(float(ensemble.exp().sum()) - 1) < 1e-5
    expected = torch.logsumexp(torch.stack(logps), 0) - math.log(len(logps))
    assert torch.allclose(ensemble, expected, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_pass_equals_the_pyro_program(case):
    model = case.make()
    x = all_binary_states(model.n_visible, torch.float32)
    for member in case.members:
        trace = poutine.trace(model.model).get_trace(x, member=member)
        trace.compute_log_prob()
        sites = [s for s in trace.nodes.values() if s["type"] == "sample" and s["name"] != "data"]
        assert sorted(s["name"] for s in sites) == sorted(f"x_{d}" for d in range(model.n_visible))
        reference = sum(s["log_prob"] for s in sites)
        assert torch.allclose(model.log_prob(x, member), reference, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ancestral_samples_follow_the_exact_distribution(case):
    model = case.make()
    for k, member in enumerate(case.members):
        _, lp = _exact(model, member)
        draws = model.sample(40_000, torch.Generator().manual_seed(10 + k), member=member)
        counts = torch.bincount(state_index(draws), minlength=2 ** model.n_visible)
        _, _, p = chi_square_gof(counts.numpy(), (lp.exp() / lp.exp().sum()).numpy())
        assert p > ALPHA


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inpainting_draws_the_exact_conditional(case):
    model = case.make()
    D = model.n_visible
    observed = torch.zeros(D, dtype=torch.bool)
    observed[list(case.observed)] = True
    value = torch.zeros(D)
    value[list(case.observed)] = torch.tensor([1.0, 0.0][: len(case.observed)])
    member = model.inpainting_member(observed, case.members[0])
    x, lp = _exact(model, member)
    match = (x[:, observed] == value[observed]).all(1)
    cond = torch.where(match, lp, torch.full_like(lp, -math.inf))
    probs = (cond - torch.logsumexp(cond, 0)).exp()
    draws = model.sample(40_000, torch.Generator().manual_seed(7), member=case.members[0], observed=observed,
                         values=value)
    assert bool((draws[:, observed] == value[observed]).all())
    counts = torch.bincount(state_index(draws), minlength=2 ** D)
    keep = match.numpy()
    _, _, p = chi_square_gof(counts.numpy()[keep], probs.numpy()[keep])
    assert p > ALPHA


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_and_state_dict_rebuild_the_model(case):
    model = case.make()
    copy = type(model)(**model.config())
    copy.load_state_dict(model.state_dict())
    x = all_binary_states(model.n_visible, torch.float32)
    for member in case.members:
        assert torch.equal(model.log_prob(x, member), copy.log_prob(x, member))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_graph_is_the_ordering(case):
    model = case.make()
    graph = model.graph
    assert sum(g.n_units for g in graph.groups) == model.n_visible
    names = graph.names
    for i, name in enumerate(names):  # each group depends on every earlier one
        assert graph.parents(name) == set(names[:i])
