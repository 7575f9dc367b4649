"""AIS with recorded log-weights: the same chains and estimate as the unrecorded run.

Deterministic checks only (equal random streams, equal weights to float64 rounding);
no statistical tolerance is involved.
"""

import doctest

import pytest
import torch

import inference.partition.ais_record
from inference.partition import ais_log_partition, ais_log_weights, ais_trace
from inference.partition.ais_record import ais_log_weight_path, checkpoint_indices
from models.energy import DBM, RBM
from tests.oracles import random_rbm

BETAS = torch.linspace(0, 1, 61, dtype=torch.float64)


def _init(model, n, seed=1):
    return torch.bernoulli(torch.full((n, model.n_visible), 0.5), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_final_log_weights_equal_ais_log_weights_with_the_same_seed(backend):
    model = random_rbm(6, 4, seed=0, dtype=torch.float32)
    init = _init(model, 30)
    log_w, v = ais_log_weights(model, init, BETAS, "uniform", torch.Generator().manual_seed(3), backend=backend)
    at, path, v2 = ais_log_weight_path(model, init, BETAS, "uniform", torch.Generator().manual_seed(3),
                                       checkpoints=7, backend=backend)
    assert path.shape == (len(at), 30) and at[0] == 0 and at[-1] == 1
    torch.testing.assert_close(path[-1], log_w, rtol=1e-12, atol=1e-12)
    assert torch.equal(v, v2)  # the same draws, transition for transition
    assert torch.equal(path[0], torch.zeros(30, dtype=torch.float64))


def test_the_estimate_equals_ais_log_partition_and_ess_starts_at_n_chains():
    from pgm.plots import effective_sample_size

    model = DBM([5, 3, 2], seed=0)  # a model annealed on part of its state
    kw = dict(n_chains=20, betas=BETAS, base="uniform", seed=4, progress=False)
    tr = ais_trace(model, checkpoints=5, **kw)
    est = ais_log_partition(model, **kw)
    assert tr.estimate.log_z == pytest.approx(est.log_z, abs=1e-10)
    assert tr.estimate.ess == pytest.approx(est.ess, rel=1e-10)
    ess = effective_sample_size(tr.log_w.numpy())
    assert ess[0] == pytest.approx(20) and ess[-1] == pytest.approx(est.ess, rel=1e-10)
    assert tr.betas.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_checkpoints_hold_both_ends_and_fit_short_schedules():
    assert checkpoint_indices(61, 7) == [0, 10, 20, 30, 40, 50, 60]
    assert checkpoint_indices(3, 50) == [0, 1, 2]


@pytest.mark.parametrize("bad, error", [(1, ValueError), (2.5, ValueError), (True, ValueError)])
def test_bad_checkpoints_are_refused(bad, error):
    with pytest.raises(error, match="checkpoints"):
        ais_trace(RBM(4, 2, seed=0), n_chains=4, betas=BETAS, base="uniform", checkpoints=bad, progress=False)


def test_docstring_examples():
    assert doctest.testmod(inference.partition.ais_record, raise_on_error=True).failed == 0
