"""The conv DBN's and the sequence RBMs' evaluations split across two gloo processes on the
CPU, and the conv RBM's ``pgm eval`` under the launcher.

One module fixture starts the two ranks of ``_eval_convseq_worker.py`` once (as
``torchrun`` would) and the tests read what each rank saved. Deterministic parts (the conv
DBN's top log Z by enumeration over state ranges, the exact per-frame log-likelihoods)
equal one process's; random parts (the conv DBN's importance draws and AIS chains, the
frames' AIS, the next-frame prediction's Gibbs chains) equal one process's estimates on
each rank's rows r, r + 2, ... with the seed + r, gathered in the rows' order without the
sampler's padding; ``pgm eval`` prints on rank 0 alone.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from models import ConvDBN
from models.energy import RNNRBM, ConditionalRBM, ConvRBM

from inference.checkpoint import load_model, save_model
from inference.cli import main as pgm
from inference.cli.data import load_data
from inference.convdbn import conv_dbn_log_likelihood
from inference.partition import exact_log_partition
from inference.partition.estimate import from_log_weights
from inference.partition.split_ais import ais_chain_weights, chain_share
from inference.sequences import next_frame_prediction, sequence_log_likelihood

from . import _eval_convseq_worker as worker
from ._launch import free_port, run_ranks

_F64 = torch.float64


def _conv_dbn() -> ConvDBN:
    """6×6 images, 2 filters 3×3 pooled 2×2, a top layer of 2 filters 2×2 on the 2×2 pooling map
    (8 visible, 2 detection units); weights drawn so that log Z and the draws are not trivial."""
    model = ConvDBN(6, (2, 2), (3, 2), (2, 1), seed=0)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("split_eval_convseq")
    save_model(out / "convdbn.pt", _conv_dbn())
    save_model(out / "convrbm.pt", ConvRBM(4, 2, 3, 2, seed=0))
    save_model(out / "condrbm.pt", ConditionalRBM(6, 4, order=2, seed=0))
    save_model(out / "rnnrbm.pt", RNNRBM(6, 4, 5, seed=0))
    save_model(out / "condrbm_balls.pt", ConditionalRBM(256, 4, order=2, seed=0))  # frames of --data balls
    save_model(out / "rnnrbm_balls.pt", RNNRBM(256, 4, 5, seed=0))
    torch.save(worker.images(), out / "images.pt")
    torch.save(worker.small_images(), out / "small.pt")
    return out


@pytest.fixture(scope="module")
def ranks(files):
    """What ranks 0 and 1 saved."""
    run_ranks("tests.inference.distributed._eval_convseq_worker", files, free_port())
    return [torch.load(files / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _shards(n: int, world: int = 2):
    """``(rank, rows, kept)`` of each rank: the rows r, r + W, ... with the sampler's padding (the
    first rows again) at the end, and how many of them are not padding."""
    size = -(-n // world)
    for r in range(world):
        positions = r + world * torch.arange(size)
        yield r, positions % n, int((positions < n).sum())


def _per_rank(n: int, estimate) -> torch.Tensor:
    """The rows' values (n, ...) that ``estimate(rows, rank)`` gives on each rank's shard."""
    out = None
    for r, rows, kept in _shards(n):
        own = estimate(rows, r)
        out = torch.empty((n, *own.shape[1:]), dtype=own.dtype) if out is None else out
        out[rows[:kept]] = own[:kept]
    return out


def _printed(ranks, key) -> dict:
    """Rank 0's JSON of the command ``key``; rank 1 printed nothing."""
    (code0, out0), (code1, out1) = ranks[0][key], ranks[1][key]
    assert code0 == code1 == 0 and out1 == ""
    return json.loads(out0)


def _sem(values: torch.Tensor) -> float:
    return float(values.std() / math.sqrt(values.shape[0]))


# -- the conv DBN ---------------------------------------------------------------------------------

def _conv_reference(files, log_z):
    """One process's per-example estimate and ELBO, rank r's rows drawn with seed + r."""
    model, x = load_model(files / "convdbn.pt"), worker.images()

    def both(rows, r):
        est = conv_dbn_log_likelihood(model, x[rows], log_z, n_samples=worker.SAMPLES, seed=worker.SEED + r,
                                      distributed=False)
        return torch.stack([est.per_example, est.per_example_elbo], 1)

    per = _per_rank(x.shape[0], both)
    return per[:, 0], per[:, 1]


def test_conv_dbn_splits_the_top_log_z_over_states_and_the_draws_over_rows(ranks, files, one_process):
    r0, r1 = ranks
    assert r0["convdbn"][:5] == r1["convdbn"][:5] and torch.equal(r0["convdbn"][5], r1["convdbn"][5])
    mean, sem, elbo, elbo_sem, log_z, per, per_elbo = r0["convdbn"]
    exact = exact_log_partition(load_model(files / "convdbn.pt").layer2)
    assert log_z == pytest.approx(exact.log_z, abs=1e-12)
    want, want_elbo = _conv_reference(files, exact)
    assert per.shape == (7,)  # the padded row dropped
    torch.testing.assert_close(per, want, rtol=0, atol=1e-10)
    torch.testing.assert_close(per_elbo, want_elbo, rtol=0, atol=1e-10)
    assert mean == pytest.approx(float(want.mean()), abs=1e-10) and sem == pytest.approx(_sem(want), abs=1e-10)
    assert elbo == pytest.approx(float(want_elbo.mean()), abs=1e-10)
    assert elbo_sem == pytest.approx(_sem(want_elbo), abs=1e-10)


def test_pgm_eval_of_a_conv_dbn_under_the_launcher_prints_the_split_estimate_once(ranks, files, one_process):
    got = _printed(ranks, "cli_convdbn_exact")
    exact = exact_log_partition(load_model(files / "convdbn.pt").layer2)
    want, want_elbo = _conv_reference(files, exact)
    assert got["log_z"]["method"] == "exact" and got["log_z"]["log_z"] == pytest.approx(exact.log_z, abs=1e-12)
    assert got["log_likelihood"]["n"] == 7
    assert got["log_likelihood"]["mean"] == pytest.approx(float(want.mean()), abs=1e-10)
    assert got["log_likelihood"]["sem"] == pytest.approx(_sem(want), abs=1e-10)
    assert got["elbo"]["mean"] == pytest.approx(float(want_elbo.mean()), abs=1e-10)


def test_pgm_eval_of_a_conv_dbn_with_ais_splits_the_top_layer_s_chains(ranks, files, one_process):
    got = _printed(ranks, "cli_convdbn_ais")
    top = load_model(files / "convdbn.pt").layer2
    betas = torch.linspace(0, 1, 20, dtype=_F64)
    parts = [ais_chain_weights(top, chain_share(9, r, 2), betas, "uniform", None, worker.SEED + r) for r in range(2)]
    log_z = from_log_weights(torch.cat([w for w, _ in parts]), parts[0][1], "ais")
    assert got["log_z"]["n_chains"] == 9 and got["log_z"]["log_z"] == pytest.approx(log_z.log_z, abs=1e-10)
    want, _ = _conv_reference(files, log_z)
    assert got["log_likelihood"]["mean"] == pytest.approx(float(want.mean()), abs=1e-10)
    assert got["log_likelihood"]["lower"] < got["log_likelihood"]["mean"] < got["log_likelihood"]["upper"]


def test_pgm_eval_of_a_conv_rbm_under_the_launcher_equals_one_process(ranks, files, one_process, capsys):
    got = _printed(ranks, "cli_convrbm")
    assert pgm(["eval", str(files / "convrbm.pt"), "--data", str(files / "small.pt"), "--method", "exact"]) == 0
    want = json.loads(capsys.readouterr().out)
    for key in ("log_z", "log_likelihood"):
        for name, value in want[key].items():
            assert got[key][name] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value)


# -- the sequence RBMs ----------------------------------------------------------------------------

def test_exact_per_frame_log_likelihood_of_sequences_on_two_ranks_equals_one_process(ranks, files, one_process):
    r0, r1 = ranks
    nll, sem, per_frame = r0["exact_frames"]
    assert torch.equal(per_frame, r1["exact_frames"][2])
    want = sequence_log_likelihood(load_model(files / "condrbm.pt"), worker.sequences(), "exact", distributed=False)
    assert per_frame.shape == want.per_frame.shape == (7, 3)  # 5 frames, 2 given
    torch.testing.assert_close(per_frame, want.per_frame, rtol=0, atol=1e-10)
    assert nll == pytest.approx(want.nll, abs=1e-10) and sem == pytest.approx(want.sem, abs=1e-10)


def test_ais_per_frame_and_prediction_are_each_rank_s_sequences_with_seed_plus_rank(ranks, files, one_process):
    r0, r1 = ranks
    model, x = load_model(files / "rnnrbm.pt"), worker.sequences()
    nll, sem, per_frame = r0["ais_frames"]
    assert torch.equal(per_frame, r1["ais_frames"][2])
    want = _per_rank(7, lambda rows, r: sequence_log_likelihood(model, x[rows], "ais", seed=worker.SEED + r,
                                                                distributed=False, **worker.FRAME_AIS).per_frame)
    torch.testing.assert_close(per_frame, want, rtol=0, atol=1e-10)
    assert nll == pytest.approx(-float(want.mean(1).mean()), abs=1e-10)
    assert sem == pytest.approx(_sem(want.mean(1)), abs=1e-10)
    mse, pred_sem, predictions, errors = r0["prediction"]
    assert torch.equal(predictions, r1["prediction"][2])

    def predicted(rows, r):
        own = next_frame_prediction(model, x[rows], worker.SWEEPS, worker.BURN_IN, seed=worker.SEED + r,
                                    distributed=False)
        return torch.cat([own.predictions, own.per_frame.unsqueeze(-1)], -1)

    both = _per_rank(7, predicted)
    torch.testing.assert_close(predictions, both[..., :-1], rtol=0, atol=1e-12)
    torch.testing.assert_close(errors, both[..., -1], rtol=0, atol=1e-12)
    assert mse == pytest.approx(float(errors.mean()), abs=1e-12) and pred_sem == pytest.approx(_sem(errors.mean(1)))


def test_pgm_eval_of_a_conditional_rbm_under_the_launcher_prints_the_split_scores_once(ranks, files, one_process,
                                                                                     capsys):
    got = _printed(ranks, "cli_condrbm")
    model, x = load_model(files / "condrbm_balls.pt"), load_data("balls", "test")
    assert pgm(["eval", str(files / "condrbm_balls.pt"), "--data", "balls", "--method", "exact"]) == 0
    alone = json.loads(capsys.readouterr().out)["per_frame_nll"]  # exact: the one-process number
    n = x.shape[0]
    assert got["per_frame_nll"]["n_sequences"] == n and got["per_frame_nll"]["frames"] == x.shape[1] - 2
    for name in ("mean", "sem"):
        assert got["per_frame_nll"][name] == pytest.approx(alone[name], abs=1e-10)
    errors = _per_rank(n, lambda rows, r: next_frame_prediction(model, x[rows], seed=worker.SEED + r,
                                                                distributed=False).per_frame)
    assert got["prediction_mse"]["mean"] == pytest.approx(float(errors.mean()), abs=1e-12)
    assert got["prediction_mse"]["sem"] == pytest.approx(_sem(errors.mean(1)), abs=1e-12)


def test_pgm_eval_of_an_rnn_rbm_with_ais_under_the_launcher_splits_the_sequences(ranks, files, one_process):
    got = _printed(ranks, "cli_rnnrbm")
    model, x = load_model(files / "rnnrbm_balls.pt"), load_data("balls", "test")
    assert got["method"] == "ais"
    per_frame = _per_rank(x.shape[0], lambda rows, r: sequence_log_likelihood(
        model, x[rows], "ais", seed=worker.SEED + r, distributed=False, **worker.FRAME_AIS).per_frame)
    assert got["per_frame_nll"]["mean"] == pytest.approx(-float(per_frame.mean(1).mean()), abs=1e-10)
    assert got["per_frame_nll"]["sem"] == pytest.approx(_sem(per_frame.mean(1)), abs=1e-10)
