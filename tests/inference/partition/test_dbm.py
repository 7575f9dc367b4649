"""AIS and reverse AIS for deep Boltzmann machines: the odd layers summed out.

Each estimate's bracket is ±3 standard errors of the mean weight, so an unbiased
estimate misses the exact value with probability about 0.3 % per test; the seeds are
fixed.
"""

import pytest
import torch

from inference import ais_log_partition, exact_log_partition, reverse_ais_log_partition
from inference.partition.path import annealing_form, make_path, sweep_blocks
from tests.oracles import brute_force_joint, random_dbm

CASES = [([8, 5, 4], False, 3), ([6, 3, 4, 2], False, 4), ([7, 4, 3], True, 5)]


def test_the_path_sums_the_odd_layers_out():
    dbm = random_dbm([5, 3, 4, 2], seed=1, dtype=torch.float32)
    assert annealing_form(dbm) == "summed"
    path = make_path(dbm, base="uniform")
    assert sorted(path.base.factors) == ["h2", "v"]
    assert sweep_blocks(path) == [["h1", "h3"], ["v", "h2"]]


@pytest.mark.parametrize("sizes,centered,seed", CASES)
def test_forward_ais_brackets_the_exact_log_z(sizes, centered, seed):
    dbm = random_dbm(sizes, seed=seed, scale=0.8, centered=centered, dtype=torch.float32)
    exact = exact_log_partition(dbm).log_z
    data = brute_force_joint(dbm)[0]["v"][::3].float()
    est = ais_log_partition(dbm, n_chains=100, betas=torch.linspace(0, 1, 1000), data=data, seed=seed,
                            progress=False)
    assert est.lower <= exact <= est.upper, (est, exact)
    assert abs(est.log_z - exact) < 0.1


@pytest.mark.parametrize("sizes,centered,seed", CASES)
def test_reverse_ais_from_exact_samples_brackets_the_exact_log_z(sizes, centered, seed):
    dbm = random_dbm(sizes, seed=seed, scale=0.8, centered=centered, dtype=torch.float32)
    exact = exact_log_partition(dbm).log_z
    states, log_p = brute_force_joint(dbm)
    idx = torch.multinomial(log_p.exp(), 100, replacement=True, generator=torch.Generator().manual_seed(seed))
    init = {k: x[idx].float() for k, x in states.items()}  # every group; the summed ones are dropped
    est = reverse_ais_log_partition(dbm, init=init, betas=torch.linspace(0, 1, 1000), base="uniform", seed=seed,
                                    progress=False)
    assert est.lower <= exact <= est.upper, (est, exact)
    assert abs(est.log_z - exact) < 0.1


def test_reverse_ais_refuses_an_init_without_the_kept_groups():
    dbm = random_dbm([4, 3, 2], seed=0, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"annealed on the groups \['v', 'h2'\]"):
        reverse_ais_log_partition(dbm, init={"v": torch.zeros(3, 4)}, base="uniform", progress=False)
