"""Bad input to the covariance families' entry points (mcRBM, mPoT, the HMC negative phase,
HMC AIS, quadrature, the image patches): each refused with the argument named."""

from __future__ import annotations

import pytest
import torch

from inference import fit
from inference.learning import PersistentHMC
from inference.partition import hmc_ais_log_partition, quadrature_log_partition
from models.energy import RBM, MeanCovarianceRBM, MPoT
from pgm import load_patches
from tests.bad_inputs.common import NAN


def _mc():
    return MeanCovarianceRBM(3, 2, n_mean=2, seed=0)


def _pot():
    return MPoT(3, 2, n_mean=2, seed=0)


_X = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))

ROWS = [
    ("mcrbm: n_visible 0", lambda: MeanCovarianceRBM(0, 2), ValueError, "n_visible"),
    ("mcrbm: n_factors 2.5", lambda: MeanCovarianceRBM(3, 2.5), TypeError, "n_factors"),
    ("mcrbm: n_covariance 0", lambda: MeanCovarianceRBM(3, 2, 0), ValueError, "n_covariance"),
    ("mcrbm: n_mean 0", lambda: MeanCovarianceRBM(3, 2, n_mean=0), ValueError, "n_mean"),
    ("mcrbm: weight_std NaN", lambda: MeanCovarianceRBM(3, 2, weight_std=NAN), ValueError, "weight_std"),
    ("mcrbm: huge", lambda: MeanCovarianceRBM(10**7, 10**7), ValueError, "memory"),
    ("mcrbm.from_data: pixel_map of the wrong width",
     lambda: MeanCovarianceRBM.from_data(_X, 2, pixel_map=torch.zeros(4, 5)), ValueError, "pixel_map"),
    ("mcrbm: energy with hc 2.0", lambda: _mc().energy({"v": _X[:2], "hc": torch.full((2, 2), 2.0),
                                                        "hm": torch.zeros(2, 2)}), ValueError, "hc"),
    ("mcrbm: conditional of group x", lambda: _mc().conditional("x", {"v": _X}), ValueError, "'x'"),
    ("mcrbm: free_energy of the wrong width", lambda: _mc().free_energy(torch.zeros(2, 4)), ValueError, "v"),
    ("mcrbm: free_energy_hidden at beta 0",
     lambda: _mc().free_energy_hidden(torch.zeros(2, 2), torch.zeros(2, 2), 0.0), ValueError, "beta"),
    ("mpot: gamma 0", lambda: MPoT(3, 2, gamma=0.0), ValueError, "gamma"),
    ("mpot: min_gamma 0", lambda: MPoT(3, 2, min_gamma=0.0), ValueError, "min_gamma"),
    ("mpot: negative covariance units", lambda: _pot().energy({"v": _X[:2], "hc": -torch.ones(2, 2),
                                                               "hm": torch.zeros(2, 2)}), ValueError, "hc"),
    ("PersistentHMC: n_leapfrog 0", lambda: PersistentHMC(n_leapfrog=0), ValueError, "n_leapfrog"),
    ("PersistentHMC: target_accept 1", lambda: PersistentHMC(target_accept=1.0), ValueError, "target_accept"),
    ("PersistentHMC: step_size above max_step", lambda: PersistentHMC(step_size=0.5), ValueError, "step_size"),
    ("PersistentHMC: k 0", lambda: PersistentHMC(0), ValueError, "k"),
    ("fit: method hmc on binary units", lambda: fit(RBM(3, 2), torch.zeros(4, 3), method="hmc", progress=False),
     TypeError, "method 'hmc'"),
    ("fit: hmc with method pcd", lambda: fit(_mc(), _X, method="pcd", hmc=PersistentHMC(), progress=False),
     TypeError, "hmc"),
    ("fit: hmc of the wrong type", lambda: fit(_mc(), _X, hmc={"n_leapfrog": 3}, progress=False), TypeError, "hmc"),
    ("hmc_ais: base data without data", lambda: hmc_ais_log_partition(_mc()), ValueError, "data"),
    ("hmc_ais: base 'uniform'", lambda: hmc_ais_log_partition(_mc(), base="uniform"), ValueError, "base"),
    ("hmc_ais: n_chains 1", lambda: hmc_ais_log_partition(_mc(), n_chains=1, base="standard"), ValueError,
     "n_chains"),
    ("hmc_ais: binary visible units", lambda: hmc_ais_log_partition(RBM(3, 2), base="standard"), TypeError,
     "real-valued visible units"),
    ("hmc_ais: base covariance not positive definite",
     lambda: hmc_ais_log_partition(_mc(), base=(torch.zeros(3), -torch.eye(3))), ValueError, "positive definite"),
    ("quadrature: 3 visible units", lambda: quadrature_log_partition(_mc()), ValueError, "at most 2"),
    ("quadrature: n_points 2", lambda: quadrature_log_partition(MPoT(1, 1), n_points=2), ValueError, "n_points"),
    ("load_patches: split 'valid'", lambda: load_patches(split="valid"), ValueError, "split"),
    ("load_patches: size 1", lambda: load_patches(size=1), ValueError, "size"),
    ("load_patches: n 0", lambda: load_patches(n=0), ValueError, "n"),
    ("load_patches: whiten 'yes'", lambda: load_patches(whiten="yes"), TypeError, "whiten"),
    ("load_patches: n_components 64 of 8x8", lambda: load_patches(n_components=64), ValueError, "n_components"),
    ("load_patches: seed None", lambda: load_patches(seed=None), TypeError, "seed"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*r[1:], id=r[0]) for r in ROWS])
def test_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
