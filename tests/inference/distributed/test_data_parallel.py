"""Data-parallel training on two gloo processes on the CPU (:mod:`inference.distributed`).

One module fixture starts the two ranks of ``_worker.py`` once (as ``torchrun`` would: RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and the tests read what each rank saved: identical
parameters on both ranks, equality with a single-process step on the concatenated batch
built from the same per-rank draws, AIS over both ranks against the same chains on one
process, a checkpoint of the two-process run resumed on one process, a seeded run that
reproduces itself.
"""

from __future__ import annotations

import pytest
import torch

from models import VAE, SigmoidBeliefNet
from models.energy import RBM

import inference
from inference.backends.vae import VAEObjective
from inference.learning.contrastive import CD, PCD, surrogate_loss
from inference.partition import ais_log_partition, exact_log_partition
from inference.partition.estimate import from_log_weights
from inference.partition.split_ais import ais_chain_weights, chain_share

from . import _worker
from ._launch import free_port, run_ranks

@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What ranks 0 and 1 saved, and the folder of their files."""
    out = tmp_path_factory.mktemp("two_ranks")
    inference.fit(RBM(6, 4, seed=0).double(), _worker.data(8), checkpoint=out / "one.pt", distributed=False,
                  backend="torch", **_worker.PCD)  # for the ranks to resume on two processes
    run_ranks("tests.inference.distributed._worker", out, free_port())
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)], out


def _batches(n, batch_size, seed):
    """The rows each rank trained on in its first step: the shards of epoch 0."""
    from torch.utils.data import DistributedSampler

    out = []
    for rank in range(2):
        sampler = DistributedSampler(range(n), num_replicas=2, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(0)
        out.append(list(sampler)[:batch_size])
    return out


def _assert_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def _initial(run):
    """The parameters a run started from."""
    if run == "vae":
        return [p.detach() for p in VAE(6, 5, 2, seed=0).double().parameters()]
    if run == "sbn":
        return [p.detach() for p in SigmoidBeliefNet([6, 3], seed=0).parameters()]
    return [p.detach() for p in RBM(6, 4, seed=0).double().parameters()]


@pytest.mark.parametrize("run", ["cd", "pcd", "pcd3", "pcd_from_one", "vae", "sbn"])
def test_ranks_hold_identical_parameters(ranks, run):
    (r0, r1), _ = ranks
    _assert_equal(r0[run], r1[run])
    assert not torch.equal(r0[run][0], _initial(run)[0])  # they did train


def test_one_process_checkpoint_resumes_on_two(ranks):
    _, out = ranks
    saved = torch.load(out / "one.pt", weights_only=True)  # rewritten by the two ranks after their epoch
    assert saved["epoch"] == 2 and saved["ranks"]["world_size"] == 2
    chains = [s["chains"]["values"]["v"] for s in saved["ranks"]["estimator"]]
    assert [c.shape for c in chains] == [(3, 6), (3, 6)]  # rank 1 started fresh chains at its first batch


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_one_step_equals_one_process_on_the_concatenated_batch(ranks, method):
    """The averaged gradients are those of the surrogate over both ranks' rows with both
    ranks' negative samples (drawn from generators seeded seed + rank)."""
    (r0, _), _ = ranks
    run = _worker.CD if method == "cd" else _worker.PCD
    x = _worker.data(8).double()
    model = RBM(6, 4, seed=0).double()
    positive, negative = [], []
    for rank, rows in enumerate(_batches(8, run["batch_size"], run["seed"])):
        gen = torch.Generator().manual_seed(run["seed"] + rank)
        rule = CD(1, sample_visible=True, generator=gen) if method == "cd" else PCD(1, n_chains=3, generator=gen)
        negative.append(rule.grad(model, x[rows]).v_model)
        positive.append(x[rows])
    for p in model.parameters():
        p.grad = None
    surrogate_loss(model, {"v": torch.cat(positive)}, {"v": torch.cat(negative)}).backward()
    with torch.no_grad():
        expected = [p - run["lr"] * p.grad for p in model.parameters()]
    for got, want in zip(r0[method], expected):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_vae_step_equals_one_process_on_the_concatenated_batch(ranks):
    """Pyro's draws come from torch's global generator seeded seed + rank; the ELBO is a
    mean over rows, so the mean of the ranks' gradients is the concatenated batch's."""
    (r0, _), _ = ranks
    run, x = _worker.VAE_RUN, _worker.data(8).double()
    vae = VAE(6, 5, 2, seed=0).double()
    losses = []
    for rank, rows in enumerate(_batches(8, run["batch_size"], run["seed"])):
        with torch.random.fork_rng():
            torch.manual_seed(run["seed"] + rank)
            losses.append(VAEObjective(1)(vae, x[rows])[0])
    opt = torch.optim.Adam(vae.parameters(), lr=run["lr"])
    (sum(losses) / len(losses)).backward()
    opt.step()
    for got, want in zip(r0["vae"], vae.parameters()):
        torch.testing.assert_close(got, want.detach(), rtol=0, atol=1e-12)


def test_seeded_run_reproduces_itself_and_resumes_bit_for_bit(ranks):
    (r0, r1), _ = ranks
    for r in (r0, r1):
        _assert_equal(r["cd"], r["cd_again"])  # the group fit opened from the environment, then the caller's
        _assert_equal(r["pcd3"], r["pcd3_again"])
        _assert_equal(r["pcd3"], r["pcd3_resumed"])  # 1 epoch, checkpoint, resumed to 3 on two ranks
    assert r0["sbn_objective"] == r1["sbn_objective"]  # the history's columns are the ranks' means


def test_ais_across_ranks_equals_one_process_on_the_same_chains(ranks):
    (r0, r1), _ = ranks
    assert r0["ais"] == r1["ais"]
    model, betas, opts = RBM(6, 4, seed=1).double(), torch.linspace(0, 1, 30), _worker.AIS
    parts = [ais_chain_weights(model, chain_share(opts["n_chains"], r, 2), betas, opts["base"], None, opts["seed"] + r)
             for r in range(2)]
    est = from_log_weights(torch.cat([w for w, _ in parts]), parts[0][1], "ais")
    assert r0["ais"][4] == est.n_chains == 9
    torch.testing.assert_close(torch.tensor(r0["ais"][:4]), torch.tensor([est.log_z, est.lower, est.upper, est.ess]),
                               rtol=1e-12, atol=1e-12)
    # the raw weights are ais_log_partition's: one share on one process is the usual estimate
    log_w, log_z_0 = ais_chain_weights(model, 9, betas, "uniform", None, 7)
    assert from_log_weights(log_w, log_z_0, "ais").log_z == pytest.approx(
        ais_log_partition(model, 9, betas, "uniform", seed=7, progress=False).log_z, abs=1e-12)


def test_exact_log_z_split_by_state_ranges(ranks):
    (r0, r1), _ = ranks
    assert r0["exact"] == r1["exact"]
    assert r0["exact"] == pytest.approx(exact_log_partition(RBM(6, 4, seed=1)).log_z, abs=1e-12)


def test_gathered_rows_are_in_order_without_padding(ranks):
    (r0, r1), _ = ranks
    for shuffle in (False, True):  # 7 rows on 2 ranks: the sampler pads one
        for r in (r0, r1):
            assert r[f"gather_{shuffle}"].tolist() == [10.0 * i for i in range(7)]


def test_checkpoint_of_two_processes_resumes_on_one(ranks, tmp_path):
    (r0, _), out = ranks
    saved = torch.load(out / "pcd.pt", weights_only=True)
    assert saved["ranks"]["world_size"] == 2
    chains = [s["chains"]["values"]["v"] for s in saved["ranks"]["estimator"]]
    assert len(chains) == 2 and chains[0].shape == (3, 6) and not torch.equal(chains[0], chains[1])
    assert torch.equal(saved["estimator"]["chains"]["values"]["v"], chains[0])  # the main entries are rank 0's
    path = tmp_path / "pcd.pt"
    path.write_bytes((out / "pcd.pt").read_bytes())
    model = RBM(6, 4, seed=0).double()
    with pytest.warns(UserWarning, match="written by 2 processes and resumes on one"):
        hist = inference.fit(model, _worker.data(8), checkpoint=path, resume=True, distributed=False,
                             backend="torch", **{**_worker.PCD, "epochs": 2})  # the path the ranks ran
    assert hist.epoch == [1, 2]
    assert not torch.equal(model.W.detach(), r0["pcd"][0])


def test_distributed_true_without_a_group_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="torchrun --nproc_per_node"):
        inference.fit(RBM(6, 4, seed=0), _worker.data(8), distributed=True, epochs=1, progress=False)
    with pytest.raises(TypeError, match="distributed must be None"):
        inference.fit(RBM(6, 4, seed=0), _worker.data(8), distributed="yes", epochs=1, progress=False)


def test_pgm_fit_under_a_launcher_refuses_a_family_that_does_not_train_data_parallel(monkeypatch, tmp_path, capsys):
    from inference.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["fit", "hopfield", "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "does not train data-parallel" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
