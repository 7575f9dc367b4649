"""One rank of the two-process evaluations that ``test_split_evaluation.py`` checks.

Started twice with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as ``torchrun``
would: ``python -m tests.inference.distributed._eval_worker OUT PORTS MODEL DATA``. Each
phase runs on a port of its own (MASTER_PORT, then PORTS, comma-separated): ``pgm eval
--method exact`` and
``--method ais`` (the command's ``main``, as ``python -m inference.cli`` runs it, its
standard output kept), then ``log_likelihood`` opening the group from the environment
itself, then calls inside a group this script opens. Each rank saves what it saw to
OUT/rank<r>.pt.
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
from inference.evaluation import importance_log_likelihood, log_likelihood
from inference.partition.named import log_partition

#: The AIS settings of the command and of the Python calls (the references rebuild them).
AIS = dict(n_chains=9, base="uniform", seed=7, progress=False)
BETAS = 30
AIS_ARGS = ["--method", "ais", "--chains", "9", "--betas", str(BETAS), "--base", "uniform", "--seed", "7",
            "--no-progress"]


#: K of the directed model's importance estimate.
IMPORTANCE_K = 20


def data(n: int = 7) -> torch.Tensor:
    """Odd rows: two ranks pad one."""
    return torch.bernoulli(torch.full((n, 6), 0.4), generator=torch.Generator().manual_seed(5))


def ais_options() -> dict:
    return {**AIS, "betas": torch.linspace(0, 1, BETAS, dtype=torch.float64)}


def _command(argv) -> list:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pgm(argv)
    return [code, out.getvalue()]


def main(out: str, ports: str, model_path: str, data_path: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    ports = [os.environ["MASTER_PORT"], *ports.split(",")]
    model, x = load_model(model_path), torch.load(data_path, weights_only=True)
    got = {}
    got["cli_exact"] = _command(["eval", model_path, "--data", data_path, "--method", "exact"])
    os.environ["MASTER_PORT"] = ports[1]
    got["cli_ais"] = _command(["eval", model_path, "--data", data_path, *AIS_ARGS])
    os.environ["MASTER_PORT"] = ports[2]
    got["exact"] = list(log_likelihood(model, x, "exact"))  # joins the launcher's group itself and leaves it
    os.environ["MASTER_PORT"] = ports[3]
    dist.init_process_group("gloo")
    try:
        got["ais"] = list(log_likelihood(model, x, "ais", ais_options=ais_options(), distributed=True))
        got["given"] = list(log_likelihood(model, x, 0.25))  # the open group: the rows alone are split
        got["one_row"] = list(log_likelihood(model, x[:1], "exact"))  # rank 1 holds padding only
        got["log_z_exact"] = log_partition(model, "exact", chunk_size=5).log_z
        sbn = load_model(os.path.join(out, "sbn.pt"))  # the directed and autoregressive families: rows split
        est = importance_log_likelihood(sbn, x, n_samples=IMPORTANCE_K, seed=3)
        got["importance"] = [est.mean, est.sem, est.elbo, est.per_example, est.per_example_elbo]
        got["cli_sbn"] = _command(["eval", os.path.join(out, "sbn.pt"), "--data", data_path, "--samples",
                                   str(IMPORTANCE_K), "--seed", "3", "--no-progress"])
        got["cli_nade"] = _command(["eval", os.path.join(out, "nade.pt"), "--data", data_path])
        got["cli_dbn"] = _command(["eval", os.path.join(out, "dbn.pt"), "--data", data_path, "--method", "exact",
                                   "--samples", str(IMPORTANCE_K), "--seed", "3", "--no-progress"])
    finally:
        dist.destroy_process_group()
    torch.save(got, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:5])
