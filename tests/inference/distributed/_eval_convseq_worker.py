"""One rank of the two-process evaluations of the conv DBN, the conv RBM and the sequence
RBMs that ``test_split_evaluation_conv_sequences.py`` checks.

Started twice with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as ``torchrun``
would: ``python -m tests.inference.distributed._eval_convseq_worker DIR PORT``, DIR holding
the model and data files the test wrote (the sequence RBMs' commands score ``--data
balls``). The first phase, on MASTER_PORT, is ``pgm eval`` of the conv DBN opening the
group from the environment itself (the command's ``main``, as ``python -m inference.cli``
runs it, its standard output kept); the second, on PORT, runs the other commands and the
Python calls inside a group this script opens. Each rank saves what it saw to
DIR/rank<r>.pt.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import torch
import torch.distributed as dist

from inference.checkpoint import load_model
from inference.cli import main as pgm
from inference.convdbn import conv_dbn_log_likelihood
from inference.sequences import next_frame_prediction, sequence_log_likelihood

#: K of the conv DBN's importance estimate, and the seed of every random part.
SAMPLES, SEED = 5, 3
#: AIS of the conv DBN's top layer (command line) and of the sequence RBMs' frames.
CONV_AIS = ["--method", "ais", "--chains", "9", "--betas", "20", "--base", "uniform"]
FRAME_AIS = dict(n_chains=4, betas=torch.linspace(0, 1, 10, dtype=torch.float64), progress=False)
FRAME_AIS_ARGS = ["--method", "ais", "--chains", "4", "--betas", "10", "--base", "uniform"]
#: Gibbs sweeps (and those left out) of the Python calls' next-frame prediction.
SWEEPS, BURN_IN = 4, 2


def images(n: int = 7) -> torch.Tensor:
    """n binary 6×6 images, rows of 36 pixels; odd n: two ranks pad one."""
    return torch.bernoulli(torch.full((n, 36), 0.4), generator=torch.Generator().manual_seed(5))


def small_images(n: int = 7) -> torch.Tensor:
    """n binary 4×4 images for the conv RBM."""
    return torch.bernoulli(torch.full((n, 16), 0.4), generator=torch.Generator().manual_seed(6))


def sequences(n: int = 7) -> torch.Tensor:
    """n binary sequences of 5 frames of 6 pixels."""
    return torch.bernoulli(torch.full((n, 5, 6), 0.4), generator=torch.Generator().manual_seed(7))


def _command(argv) -> list:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pgm(argv)
    return [code, out.getvalue()]


def main(folder: str, port: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    conv = ["eval", path("convdbn.pt"), "--data", path("images.pt"), "--samples", str(SAMPLES), "--seed", str(SEED),
            "--no-progress"]
    got = {"cli_convdbn_exact": _command([*conv, "--method", "exact"])}
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo")
    try:
        got["cli_convdbn_ais"] = _command([*conv, *CONV_AIS])
        got["cli_convrbm"] = _command(["eval", path("convrbm.pt"), "--data", path("small.pt"), "--method", "exact"])
        got["cli_condrbm"] = _command(["eval", path("condrbm_balls.pt"), "--data", "balls", "--method", "exact",
                                       "--seed", str(SEED)])
        got["cli_rnnrbm"] = _command(["eval", path("rnnrbm_balls.pt"), "--data", "balls", *FRAME_AIS_ARGS, "--seed",
                                      str(SEED), "--no-progress"])
        est = conv_dbn_log_likelihood(load_model(path("convdbn.pt")), images(), "exact", n_samples=SAMPLES,
                                      seed=SEED)
        got["convdbn"] = [est.mean, est.sem, est.elbo, est.elbo_sem, est.log_z.log_z, est.per_example,
                          est.per_example_elbo]
        condrbm, rnnrbm, x = load_model(path("condrbm.pt")), load_model(path("rnnrbm.pt")), sequences()
        exact = sequence_log_likelihood(condrbm, x, "exact")
        got["exact_frames"] = [exact.nll, exact.sem, exact.per_frame]
        ais = sequence_log_likelihood(rnnrbm, x, "ais", seed=SEED, **FRAME_AIS)
        got["ais_frames"] = [ais.nll, ais.sem, ais.per_frame]
        pred = next_frame_prediction(rnnrbm, x, SWEEPS, BURN_IN, seed=SEED)
        got["prediction"] = [pred.mse, pred.sem, pred.predictions, pred.per_frame]
    finally:
        dist.destroy_process_group()
    torch.save(got, path(f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
