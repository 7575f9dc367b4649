"""Every family that trains by gradient steps trains data-parallel: two gloo processes on the
CPU run each family's small model through ``inference.fit(..., distributed=True)``
(``_families_worker.py``, started once by a module fixture as ``torchrun`` would) and the
tests check that both ranks end with identical parameters and floating-point buffers (batch
normalisation's running statistics included), that they trained, and, where a step has no
randomness, that it equals one process's step on the concatenated batch.
"""

from __future__ import annotations

import pytest
import torch

import inference
from inference import exact_log_partition, log_likelihood
from inference.partition.estimate import from_log_weights
from inference.partition.split_ais import ais_chain_weights, chain_share
from models import DBM, VAE
from models.energy import RBM
from inference.families.protocol import families

from . import _families_worker as worker
from ._launch import run_ranks

@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What ranks 0 and 1 saved."""
    out = tmp_path_factory.mktemp("two_ranks_families")
    run_ranks("tests.inference.distributed._families_worker", out)
    return [{**torch.load(out / f"rank{r}.pt", weights_only=True), "out": out} for r in range(2)]


@pytest.mark.parametrize("run", list(worker.RUNS))
def test_ranks_hold_identical_parameters_and_buffers(ranks, run):
    r0, r1 = ranks
    initial = worker.state(worker.RUNS[run][0]())
    assert len(r0[run]) == len(r1[run]) == len(initial)
    for a, b in zip(r0[run], r1[run]):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(r0[run], initial))  # they did train


def test_dbm_pretraining_is_data_parallel(ranks):
    """Both ranks end the greedy pre-training with the same DBM (offsets included) and
    reconstruction errors; it trained, and not as one process on all rows would."""
    r0, r1 = ranks
    assert r0["dbm_pretrain"][1] == r1["dbm_pretrain"][1]
    for a, b in zip(r0["dbm_pretrain"][0], r1["dbm_pretrain"][0]):
        assert torch.equal(a, b)
    fresh = DBM([6, 4, 3], centered=True, seed=0).double()
    initial = worker.state(fresh)
    inference.pretrain_dbm(fresh, worker.data(9), distributed=False, **worker.PRETRAIN)
    alone = worker.state(fresh)
    assert not torch.equal(r0["dbm_pretrain"][0][0], initial[0])
    assert not torch.allclose(r0["dbm_pretrain"][0][0], alone[0])


def test_pgm_fit_pretrains_a_dbm_under_the_launcher(ranks, tmp_path):
    """``pgm fit dbm --pretrain`` under the launcher: both ranks succeed (one group from the
    build to the end of training) and rank 0 writes the model."""
    from inference.checkpoint import load_model

    assert ranks[0]["dbm_cli"] == ranks[1]["dbm_cli"] == 0
    assert ranks[0]["out"] is not None
    model = load_model(ranks[0]["out"] / "dbm_cli" / "model.pt")
    assert model.sizes == [6, 4, 3]


def test_batch_statistics_follow_rank_0(ranks):
    """The DCGAN's running means moved during training and are rank 0's on both ranks
    (each rank saw other rows, so without the copy they would differ)."""
    r0, _ = ranks
    model = worker.RUNS["dcgan"][0]()
    n_params = len(list(model.parameters()))
    moved = [not torch.equal(a, b) for a, b in zip(r0["dcgan"][n_params:], worker.state(model)[n_params:])]
    assert moved and any(moved)


def _concatenated_step(run):
    """One process's step on both ranks' first batches, concatenated in rank order."""
    from torch.utils.data import DistributedSampler

    build, rows, options = worker.RUNS[run]
    x = rows()
    order = []
    for rank in range(2):
        sampler = DistributedSampler(range(x.shape[0]), num_replicas=2, rank=rank, shuffle=True, seed=options["seed"])
        sampler.set_epoch(0)
        order += list(sampler)[:options["batch_size"]]
    model = build()
    inference.fit(model, x[order], **{**options, "batch_size": 2 * options["batch_size"]}, distributed=False)
    return model, x, order


@pytest.mark.parametrize("run", ["ae", "nade"])
def test_one_step_equals_one_process_on_the_concatenated_batch(ranks, run):
    """A deterministic loss that is a mean over rows: the mean of the ranks' gradients is
    the concatenated batch's (in any order), so Adam's first step is the same (one epoch
    of one batch)."""
    r0, _ = ranks
    model, _, _ = _concatenated_step(run)
    for got, want in zip(r0[run], worker.state(model)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_history_rows_are_the_ranks_means(ranks):
    r0, r1 = ranks
    assert r0["ae_loss"] == r1["ae_loss"] and len(r0["ae_loss"]) == 1


def test_only_the_families_without_gradient_training_are_refused_under_a_launcher():
    refused = sorted(f.name for f in families()
                     if any("distributed" not in f.options(m) for m in (f.cli_methods or f.methods or (None,))))
    assert refused == ["hopfield"]


@pytest.mark.parametrize("method", ["exact", "ais"])
def test_evaluation_during_training_is_split_and_the_same_on_every_rank(ranks, method):
    """The states (exact) or the AIS chains, and the held-out rows, are split across the
    ranks; both report the same numbers, and the exact ones are one process's."""
    r0, r1 = ranks
    assert r0[f"evaluated_{method}"][1:] == r1[f"evaluated_{method}"][1:]
    params, ll, log_z = r0[f"evaluated_{method}"]
    assert len(ll) == len(log_z) == 2
    model = RBM(6, 4, seed=0).double()
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(value)
    held_out = worker.data(7, seed=1)
    if method == "exact":
        z = exact_log_partition(model)
        assert log_z[-1] == pytest.approx(z.log_z, abs=1e-10)
        assert ll[-1] == pytest.approx(float(log_likelihood(model, held_out, z, distributed=False).mean), abs=1e-10)
    else:  # the 9 chains shared out over the two ranks, rank r's seeded seed + r, combined as one estimate
        betas, n = torch.tensor(worker.EVAL_AIS["betas"], dtype=torch.float64), worker.EVAL_AIS["n_chains"]
        parts = [ais_chain_weights(model, chain_share(n, r, 2), betas, "uniform", None, worker.EVALUATED["seed"] + r)
                 for r in range(2)]
        est = from_log_weights(torch.cat([w for w, _ in parts]), parts[0][1], "ais")
        assert log_z[-1] == pytest.approx(est.log_z, abs=1e-10)
        assert ll[-1] == pytest.approx(float(log_likelihood(model, held_out, est, distributed=False).mean),
                                       abs=1e-10)


def test_a_directed_model_s_evaluation_during_training_splits_the_rows(ranks):
    """Rank r scores rows r, r + 2, ... of the held-out data (padding included, dropped
    after) with its draws seeded from the monitor's seed + r; both ranks record the mean
    over all rows."""
    from inference.directed.train import _MONITOR_SEED
    from inference.evaluation import importance_log_likelihood

    r0, r1 = ranks
    assert r0["evaluated_importance"][1] == r1["evaluated_importance"][1]
    vae = VAE(6, 5, 2, seed=0).double()
    with torch.no_grad():
        for p, value in zip(vae.parameters(), r0["evaluated_importance"][0]):
            p.copy_(value)
    held_out, per = worker.data(7, seed=1), torch.empty(7, dtype=torch.float64)
    for r in range(2):
        rows = torch.tensor([r, r + 2, r + 4, (r + 6) % 7])
        own = importance_log_likelihood(vae, held_out[rows], 10, seed=_MONITOR_SEED + r, distributed=False)
        per[rows[:4 - r]] = own.per_example[:4 - r]
    assert r0["evaluated_importance"][1][-1] == pytest.approx(float(per.mean()), abs=1e-10)


def test_an_autoregressive_model_s_exact_evaluation_in_training_splits_the_rows(ranks):
    """Each rank scores its share of the 9 held-out rows (5, rank 1's padded by one, never
    all 9) and both
    record the one-process exact NLL of the trained model on all of them."""
    from inference.autoregressive.train import exact_nll
    from models import NADE

    r0, r1 = ranks
    assert r0["evaluated_nade"][1] == r1["evaluated_nade"][1] and len(r0["evaluated_nade"][1]) == 2
    assert 5 in r0["evaluated_nade"][2] and 5 in r1["evaluated_nade"][2]
    assert 9 not in r0["evaluated_nade"][2] + r1["evaluated_nade"][2]
    nade = NADE(6, 4, seed=0).double()
    with torch.no_grad():
        for p, value in zip(nade.parameters(), r0["evaluated_nade"][0]):
            p.copy_(value)
    assert r0["evaluated_nade"][1][-1] == pytest.approx(exact_nll(nade, worker.data(9, seed=1)), abs=1e-12)


def test_a_greedy_dbn_s_evaluation_in_training_splits_log_z_and_the_rows(ranks):
    """After the second layer: the top RBM's exact log Z (split over state ranges, the
    one-process value) and the importance rows, rank r's seeded seed + r."""
    from inference.dbn import set_dbn_prior
    from inference.evaluation import importance_log_likelihood
    from models import DBN

    r0, r1 = ranks
    assert r0["evaluated_dbn"][1:] == r1["evaluated_dbn"][1:] and len(r0["evaluated_dbn"][1]) == 2
    dbn = DBN([6, 4, 3], seed=0).double()
    with torch.no_grad():
        for p, value in zip(dbn.parameters(), r0["evaluated_dbn"][0]):
            p.copy_(value)
    log_z = exact_log_partition(dbn.top)
    assert r0["evaluated_dbn"][2][-1] == pytest.approx(log_z.log_z, abs=1e-12)
    set_dbn_prior(dbn, log_z)
    held_out, per = worker.data(7, seed=1), torch.empty(7, dtype=torch.float64)
    for r in range(2):  # rank 1 holds rows 1, 3, 5 and the sampler's padding, row 0 again
        rows = torch.tensor([r, r + 2, r + 4, (r + 6) % 7])
        own = importance_log_likelihood(dbn, held_out[rows], 10, seed=worker.ONE_STEP["seed"] + r, distributed=False)
        per[rows[:4 - r]] = own.per_example[:4 - r]
    assert r0["evaluated_dbn"][1][-1] == pytest.approx(float(per.mean()), abs=1e-10)


def test_an_autoencoder_s_errors_in_training_split_the_rows(ranks):
    """The clean reconstruction error of the 7 held-out rows is the one-process number; the
    denoising error is each rank's rows corrupted from 12345 + rank, the same on both ranks."""
    from inference.autoencoders.train import _row_errors, errors
    from models import Autoencoder

    r0, r1 = ranks
    assert r0["evaluated_dae"][1:] == r1["evaluated_dae"][1:]
    dae = Autoencoder(6, 3, noise="masking", noise_level=0.3, seed=0).double()
    with torch.no_grad():
        for p, value in zip(dae.parameters(), r0["evaluated_dae"][0]):
            p.copy_(value)
    held_out = worker.data(7, seed=1)
    assert r0["evaluated_dae"][1][-1] == pytest.approx(errors(dae, held_out, distributed=False)["recon_error"],
                                                       abs=1e-12)
    per = torch.empty(7, dtype=torch.float64)
    for r in range(2):  # rank 1 holds rows 1, 3, 5 and the sampler's padding, row 0 again
        rows = torch.tensor([r, r + 2, r + 4, (r + 6) % 7])
        err = _row_errors(dae, held_out[rows], 12345 + r)[3]
        per[rows[:4 - r]] = err[:4 - r]
    assert r0["evaluated_dae"][2][-1] == pytest.approx(float(per.mean()), abs=1e-12)


def _trained(run, ranks):
    """The monitored run's model with rank 0's final parameters and buffers (float64)."""
    model = worker.MONITORED[run][0]()
    with torch.no_grad():
        saved = ranks[0][f"monitored_{run}"][0]
        targets = list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]
        assert len(targets) == len(saved)
        for t, value in zip(targets, saved):
            t.copy_(value)
    return model


def _shards(n: int):
    """Rank r's rows r, r + 2, ... of n, padded as the sampler pads them, and how many are
    its own (the rest repeat the first rows)."""
    size = -(-n // 2)
    return [(torch.tensor([(r + 2 * j) % n for j in range(size)]), len(range(r, n, 2))) for r in range(2)]


def _per_shard(n: int, per_row) -> torch.Tensor:
    """The n per-row values of ``per_row(rows, r)`` computed on each rank's shard, the
    sampler's padding dropped, in the rows' order."""
    out = torch.empty(n, dtype=torch.float64)
    for r, (rows, own) in enumerate(_shards(n)):
        out[rows[:own]] = per_row(rows, r)[:own]
    return out


@pytest.mark.parametrize("run", list(worker.MONITORED))
def test_the_monitors_are_the_same_on_both_ranks(ranks, run):
    r0, r1 = ranks
    columns = worker.MONITORED[run][3]
    assert r0[f"monitored_{run}"][1] == r1[f"monitored_{run}"][1]
    assert all(len(r0[f"monitored_{run}"][1][c]) == 2 for c in columns)
    assert all(v is not None for c in columns for v in r0[f"monitored_{run}"][1][c])
    for a, b in zip(r0[f"monitored_{run}"][0], r1[f"monitored_{run}"][0]):
        assert torch.equal(a, b)


def test_an_energy_model_s_monitor_splits_the_rows(ranks):
    """The reconstruction error is one process's on the 7 rows; the PLL's 32 units per row
    are drawn on each rank's shard from seed + rank."""
    from inference.evaluation import reconstruction_error
    from inference.evaluation.pseudo_likelihood import _pll_rows
    from inference.mcmc.sampling import make_generator

    rbm, monitored = _trained("rbm", ranks), ranks[0]["monitored_rbm"][1]
    subset, seed = worker.data(8, 130)[:7], worker.ONE_STEP["seed"]
    assert monitored["recon_error"][-1] == pytest.approx(reconstruction_error(rbm, subset, distributed=False),
                                                         abs=1e-12)
    per = _per_shard(7, lambda rows, r: _pll_rows(rbm, subset[rows], make_generator(seed + r), 32) * (130 / 32))
    assert monitored["pseudo_log_likelihood"][-1] == pytest.approx(float(per.mean()), abs=1e-10)
    one_process = float(_pll_rows(rbm, subset, make_generator(seed), 32).mean()) * 130 / 32
    assert monitored["pseudo_log_likelihood"][-1] != pytest.approx(one_process, abs=1e-6)  # not every rank alike


def test_a_directed_model_s_monitored_elbo_splits_the_rows(ranks):
    from inference.directed.train import _MONITOR_SEED
    from inference.evaluation.weights import log_weights, seeded

    vae, subset = _trained("vae", ranks), worker.data(8)[:7]

    def elbo(rows, r):
        with torch.no_grad(), seeded(_MONITOR_SEED + r, torch.device("cpu")):
            return log_weights(vae, subset[rows], 1)[0].double()

    assert ranks[0]["monitored_vae"][1]["elbo"][-1] == pytest.approx(float(_per_shard(7, elbo).mean()), abs=1e-10)


@pytest.mark.parametrize("run", ["cgan", "dcgan"])
def test_a_gan_s_monitors_are_one_process_s_on_the_final_parameters(ranks, run):
    """D on the 7 real rows and on G of their fixed z (with their labels), and the classes
    of the 500 coverage samples: deterministic in eval mode, so one process's numbers; the
    classifier saw each rank's 250 draws, never all 500."""
    from inference.adversarial.train import _GANTrainer
    from inference.training import monitor_subset

    model, (_, history, seen) = _trained(run, ranks), ranks[0][f"monitored_{run}"]
    x, options = worker.MONITORED[run][1](), worker.MONITORED[run][2]
    labels = options.get("labels")
    coverage = (worker.Classes(), 1, 1) if "coverage_every" in options else (None, 1, 1)
    trainer = _GANTrainer(model, x, labels, {"seed": options["seed"], "method": "non_saturating", "d_steps": 1},
                          None, None, None, monitor_subset(x, 7), 7, coverage)
    with torch.no_grad():
        row = trainer.evaluate_epoch(1, True)
    for column in worker.MONITORED[run][3]:
        assert history[column][-1] == pytest.approx(row[column], abs=1e-12)
    if coverage[0] is not None:
        assert seen == ranks[1][f"monitored_{run}"][2] == [250, 250]
        assert history["coverage_classes"][-1] > 1


def test_a_gsn_s_monitor_reconstructs_each_rank_s_rows_with_its_own_noise(ranks):
    from inference.mcmc.sampling import make_generator

    gsn, subset = _trained("gsn", ranks), worker.data(8)[:7]

    def errors(rows, r):
        with torch.no_grad():
            x = subset[rows]
            return (gsn.reconstructions(x, make_generator(12345 + r))[-1] - x).double().square().sum(-1)

    assert ranks[0]["monitored_gsn"][1]["recon_error"][-1] == pytest.approx(float(_per_shard(7, errors).mean()),
                                                                            abs=1e-12)


def test_a_stack_s_fine_tuning_monitor_is_one_process_s(ranks):
    stack, x = _trained("stacked_finetune", ranks), worker.data(9)
    with torch.no_grad():
        want = float((stack.decode(stack.encode(x)) - x).double().square().sum(-1).mean())
    assert ranks[0]["monitored_stacked_finetune"][1]["recon_error"][-1] == pytest.approx(want, abs=1e-12)
