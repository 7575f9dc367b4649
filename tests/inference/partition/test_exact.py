"""Exact log Z by enumeration of one layer, against brute force over all joint states.

Everything here is deterministic: the oracle (``tests.oracles.brute_force_log_z``) sums
exp(-E(v, h)) over every joint state in float64, without using free energies.
"""

import doctest
import math

import pytest
import torch

import inference.partition.exact
import pgm
from inference.partition import MAX_EXACT_UNITS, LogZEstimate, exact_log_partition
from models.energy import RBM
from tests.oracles import brute_force_log_z, random_rbm


class _VisibleOnlyRBM(RBM):
    """An RBM without ``free_energy_hidden``: enumeration must use the visible layer."""

    free_energy_hidden = None


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 7), (5, 5), (1, 3), (9, 1)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_brute_force_over_joint_states(n_visible, n_hidden, dtype):
    model = random_rbm(n_visible, n_hidden, seed=n_visible * 10 + n_hidden, scale=1.0, dtype=dtype)
    est = exact_log_partition(model)
    assert abs(est.log_z - brute_force_log_z(model).item()) < 1e-10


def test_both_layers_give_the_same_answer():
    model = random_rbm(9, 6, seed=3, scale=1.0)
    via_visible = _VisibleOnlyRBM(9, 6).double()
    via_visible.load_state_dict(model.state_dict())
    assert abs(exact_log_partition(model).log_z - exact_log_partition(via_visible).log_z) < 1e-10
    assert abs(exact_log_partition(model).log_z - brute_force_log_z(model).item()) < 1e-10


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 2**16])
def test_chunking_does_not_change_the_result(chunk_size):
    model = random_rbm(7, 5, seed=1, scale=1.0)
    ref = brute_force_log_z(model).item()
    assert abs(exact_log_partition(model, chunk_size=chunk_size).log_z - ref) < 1e-10


def test_closed_form_for_uncoupled_layers_with_many_chunks():
    """W = 0: log Z = Σ softplus(b) + Σ softplus(c); 2^20 states in 16 chunks."""
    model = RBM(20, 40, weight_std=0.0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.b.copy_(2 * torch.randn(20, generator=gen))
        model.c.copy_(2 * torch.randn(40, generator=gen))
    expected = (torch.nn.functional.softplus(model.b.double()).sum()
                + torch.nn.functional.softplus(model.c.double()).sum()).item()
    assert abs(exact_log_partition(model).log_z - expected) < 1e-9


def test_returns_an_exact_estimate_and_leaves_the_model_alone():
    model = random_rbm(5, 3, seed=0, dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    est = exact_log_partition(model)
    assert isinstance(est, LogZEstimate)
    assert est.lower == est.log_z == est.upper
    assert est.ess == math.inf and est.n_chains == 0 and est.method == "exact"
    assert all(isinstance(x, float) for x in (est.log_z, est.lower, est.upper, est.ess))
    assert model.W.dtype == torch.float32
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_digits_log_z_exceeds_every_free_energy(digits_rbm, digits_log_z, digits):
    """Z = Σ_v exp(-F(v)) ≥ exp(-F(v)) for every v: a sanity check on a trained model."""
    with torch.no_grad():
        best = (-digits_rbm.free_energy(digits)).max().double().item()
    assert math.isfinite(digits_log_z.log_z) and digits_log_z.log_z > best


def test_refuses_layers_above_the_limit():
    with pytest.raises(ValueError, match=r"group 'v'.*2\^26.*ais_log_partition"):
        exact_log_partition(RBM(26, 30))
    with pytest.raises(ValueError, match=r"group 'h'.*2\^26"):
        exact_log_partition(RBM(40, 26))
    assert MAX_EXACT_UNITS == 25
    with pytest.raises(ValueError, match="max_units=4"):
        exact_log_partition(RBM(5, 6), max_units=4)


@pytest.mark.parametrize("chunk_size", [0, -1, 2.0, True])
def test_rejects_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        exact_log_partition(RBM(3, 2), chunk_size=chunk_size)


def test_rejects_models_it_cannot_enumerate():
    with pytest.raises(TypeError, match="EnergyModel"):
        exact_log_partition(torch.nn.Linear(3, 2))
    model = RBM(3, 2)
    model.graph = pgm.Graph([pgm.VariableGroup("v", 3, "gaussian", observed=True),
                             pgm.VariableGroup("h", 2)], [pgm.Edge("v", "h")])
    with pytest.raises(TypeError, match="binary"):
        exact_log_partition(model)
    model.graph = pgm.Graph([pgm.VariableGroup("v", 3, observed=True), pgm.VariableGroup("h", 2)],
                            [pgm.Edge("v", "h"), pgm.Edge("h", "h")])
    with pytest.raises(TypeError, match="lateral"):
        exact_log_partition(model)


def test_docstring_examples():
    result = doctest.testmod(inference.partition.exact, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
