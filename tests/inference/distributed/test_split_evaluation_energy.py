"""``pgm eval`` of the energy models that split beyond exact and AIS log Z, on two gloo
processes on the CPU: a DBM's mean-field bound, a classification RBM's accuracy, a Hopfield
net, and the covariance family (mcRBM, mPoT) by AIS with HMC transitions, by enumeration of
the hidden units and by quadrature.

One module fixture starts the two ranks of ``_eval_energy_worker.py`` once (as
``torchrun`` would) and the tests read what each rank saved: rank 0 alone prints; the
deterministic numbers equal one process's ``pgm eval`` (run here with the launcher's
variables removed); the HMC AIS estimate equals one process's combination of the same chain
shares; and each rank computed only its own rows or chains.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from models import DBM
from models.energy import ClassRBM, Hopfield, MeanCovarianceRBM, MPoT

from inference.checkpoint import load_model, save_model
from inference.cli import main as pgm
from inference.evaluation import log_likelihood, variational_bound
from inference.partition.estimate import from_log_weights
from inference.partition.hmc_ais import hmc_ais_chain_weights, hmc_ais_log_partition
from inference.partition.split_ais import chain_share

from . import _eval_energy_worker as worker
from ._launch import free_port, run_ranks

pytestmark = pytest.mark.usefixtures("one_thread")

#: Rows of each rank: 7 rows on 2 ranks, rank 1's fourth the sampler's padding.
OWN_ROWS = [[0, 2, 4, 6], [1, 3, 5, 0]]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The models and their 7 rows of data, as files."""
    out = tmp_path_factory.mktemp("split_eval_energy")
    x, gen = worker.binary(), torch.Generator().manual_seed(11)
    save_model(out / "dbm.pt", DBM([6, 4, 3], weight_std=1.0, seed=0))  # strong couplings: rows need unequal passes
    torch.save(x, out / "binary.pt")
    save_model(out / "crbm.pt", ClassRBM(6, 4, 3, weight_std=1.0, seed=0))
    torch.save(ClassRBM.join_labels(x, torch.tensor([0, 1, 2, 0, 1, 2, 0]), 3), out / "labelled.pt")
    hopfield = Hopfield(6)
    hopfield.store(x[:2] * 2 - 1)
    save_model(out / "hopfield.pt", hopfield)
    torch.save(x * 2 - 1, out / "spins.pt")
    save_model(out / "mcrbm.pt", MeanCovarianceRBM(6, 4, None, 2, seed=0))
    save_model(out / "mpot.pt", MPoT(6, 4, None, 2, seed=0))
    save_model(out / "mpot2.pt", MPoT(2, 2, None, 1, seed=0))
    torch.save(torch.randn(7, 6, generator=gen), out / "real.pt")
    torch.save(torch.randn(7, 2, generator=gen), out / "real2.pt")
    return out


@pytest.fixture(scope="module")
def ranks(files):
    """What ranks 0 and 1 saved."""
    run_ranks("tests.inference.distributed._eval_energy_worker", files, free_port())
    return [torch.load(files / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _alone(files, capsys, model, data, options) -> dict:
    """What ``pgm eval`` prints on one process."""
    capsys.readouterr()
    assert pgm(worker.eval_argv(str(files), model, data, options)) == 0
    return json.loads(capsys.readouterr().out)


def _printed(ranks, name) -> dict:
    """Rank 0's printed result; rank 1 succeeded and printed nothing."""
    r0, r1 = ranks[0][name], ranks[1][name]
    assert r0["code"] == r1["code"] == 0 and r0["out"] and r1["out"] == ""
    return json.loads(r0["out"])


def _same(got, want, tol, where="result"):
    """``got`` equals ``want`` key by key, floats to ``tol``."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), where
        for key in want:
            _same(got[key], want[key], tol, f"{where}[{key!r}]")
    elif isinstance(want, float) and not math.isnan(want):
        assert got == pytest.approx(want, rel=0, abs=tol), where
    else:
        assert got == want or (got != got and want != want), where


def _rows(ranks, name, key) -> list:
    return [r[name].get(key) for r in ranks]


def test_pgm_eval_of_a_dbm_splits_the_bound_and_equals_one_process(ranks, files, one_process, capsys):
    """The command opens the group from the launcher's environment; every rank runs mean
    field on its 4 rows for the passes one process needs on all 7 (rank 0's rows alone
    would stop sooner)."""
    got = _printed(ranks, "dbm")
    want = _alone(files, capsys, "dbm.pt", "binary.pt", ["--method", "exact"])
    _same(got, want, 1e-12)
    n_iter = want["variational_bound"]["n_iter"]
    alone = variational_bound(load_model(files / "dbm.pt"), worker.binary()[OWN_ROWS[0]], 0.0, distributed=False)
    assert alone.n_iter < n_iter  # the ranks agreed on when to stop
    assert _rows(ranks, "dbm", "mean_field") == [[[4, n_iter]], [[4, n_iter]]]
    assert _rows(ranks, "dbm", "free_energy") == [[4], [4]]


def test_variational_bound_in_an_open_group_gathers_every_rows_bound(ranks, files, one_process):
    r0, r1 = ranks[0]["bound"], ranks[1]["bound"]
    assert torch.equal(r0["result"][5], r1["result"][5]) and r0["result"][:5] == r1["result"][:5]
    want = variational_bound(load_model(files / "dbm.pt"), worker.binary(), worker.LOG_Z, distributed=False)
    mean, lower, upper, sem, n, per_example, n_iter = r0["result"]
    torch.testing.assert_close(per_example, want.per_example, rtol=0, atol=1e-12)
    for a, b in zip((mean, lower, upper, sem), (want.mean, want.lower, want.upper, want.sem)):
        assert a == pytest.approx(b, rel=0, abs=1e-12)
    assert n == want.n == 7 and n_iter == r1["result"][6] == want.n_iter
    assert [r0["mean_field"], r1["mean_field"]] == [[[4, want.n_iter]]] * 2


def test_pgm_eval_of_a_classifier_splits_its_predictions(ranks, files, one_process, capsys):
    got = _printed(ranks, "crbm")
    want = _alone(files, capsys, "crbm.pt", "labelled.pt", ["--method", "exact"])
    _same(got, want, 1e-12)
    model, x = load_model(files / "crbm.pt"), torch.load(files / "labelled.pt", weights_only=True)
    assert got["accuracy"] == model.score(*model.split_labels(x))
    assert _rows(ranks, "crbm", "predicted") == [[4], [4]]


def test_pgm_eval_of_a_hopfield_net_under_the_launcher_equals_one_process(ranks, files, one_process, capsys):
    got = _printed(ranks, "hopfield")
    _same(got, _alone(files, capsys, "hopfield.pt", "spins.pt", ["--method", "exact"]), 1e-12)
    assert got["log_likelihood"]["n"] == 7 and _rows(ranks, "hopfield", "free_energy") == [[4], [4]]


@pytest.mark.parametrize("name, model, data", [("mcrbm_exact", "mcrbm.pt", "real.pt"),
                                               ("mpot_exact", "mpot2.pt", "real2.pt")])
def test_pgm_eval_exact_of_the_covariance_family_equals_one_process(ranks, files, one_process, capsys, name, model,
                                                                    data):
    """The mcRBM's hidden states over ranges of the ranks, the mPoT's quadrature whole on
    each; the rows' free energies split."""
    got = _printed(ranks, name)
    _same(got, _alone(files, capsys, model, data, ["--method", "exact"]), 1e-12)
    assert got["log_z"]["method"] == ("exact" if name == "mcrbm_exact" else "quadrature")
    assert _rows(ranks, name, "free_energy") == [[4], [4]]


def _shares(model):
    """Each rank's HMC AIS log-weights as one process computes them: rank r's share of the
    chains seeded seed + r, the pilot seed + 2."""
    return [hmc_ais_chain_weights(model, chain_share(worker.CHAINS, r, 2), worker.BETAS - 1, "standard",
                                  seed=worker.SEED + r, pilot_seed=worker.SEED + 2) for r in range(2)]


@pytest.mark.parametrize("name, model", [("mcrbm_ais", "mcrbm.pt"), ("mpot_ais", "mpot.pt")])
def test_pgm_eval_ais_of_the_covariance_family_combines_the_ranks_chain_shares(ranks, files, one_process, name,
                                                                               model):
    got, model = _printed(ranks, name), load_model(files / model)
    shares = _shares(model)
    for r, share in enumerate(shares):  # rank r ran its share of the chains, 3 and 2
        (own,) = ranks[r][name]["log_w"]
        torch.testing.assert_close(own, share, rtol=0, atol=1e-10)
    est = from_log_weights(torch.cat(shares), 0.0, "ais-hmc")
    assert got["log_z"]["n_chains"] == worker.CHAINS and got["log_z"]["method"] == "ais-hmc"
    for key in ("log_z", "lower", "upper", "ess"):
        assert got["log_z"][key] == pytest.approx(getattr(est, key), rel=0, abs=1e-10)
    want = log_likelihood(model, torch.load(files / "real.pt", weights_only=True), est, distributed=False)
    _same(got["log_likelihood"], want._asdict(), 1e-10)
    assert _rows(ranks, name, "free_energy") == [[4], [4]]


def test_hmc_ais_chain_weights_are_the_weights_of_one_process_s_estimate(one_process):
    """The reference above: on one process the chains are seeded seed and the pilot seed + 1."""
    model = MPoT(3, 2, None, 1, seed=0)
    est = hmc_ais_log_partition(model, n_chains=4, n_steps=5, base="standard", seed=3, distributed=False)
    assert from_log_weights(hmc_ais_chain_weights(model, 4, 5, "standard", seed=3), 0.0, "ais-hmc") == est


def test_the_split_estimators_refuse_a_distributed_that_is_not_a_bool_or_none(files):
    with pytest.raises(TypeError, match="variational_bound: distributed must be None .* got str 'yes'"):
        variational_bound(load_model(files / "dbm.pt"), worker.binary(), 0.0, distributed="yes")
    with pytest.raises(TypeError, match="hmc_ais_log_partition: distributed must be None .* got int 1"):
        hmc_ais_log_partition(MPoT(3, 2, None, 1, seed=0), n_chains=4, n_steps=5, base="standard", distributed=1)


def test_a_pilot_that_fails_on_rank_0_raises_on_every_rank(ranks):
    """The HMC AIS step sizes come from rank 0's pilot: its error reaches the other rank
    instead of leaving it waiting for a schedule."""
    assert ranks[0]["pilot_failure"] == "FloatingPointError: the pilot diverged"
    assert ranks[1]["pilot_failure"].startswith("RuntimeError: hmc_ais_log_partition: the step-size pilot failed")
    assert "the pilot diverged" in ranks[1]["pilot_failure"]
