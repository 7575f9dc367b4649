"""One rank of the two-process energy-model evaluations that
``test_split_evaluation_energy.py`` checks.

Started twice with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as ``torchrun``
would: ``python -m tests.inference.distributed._eval_energy_worker OUT PORT``, the model
and data files in OUT (the test's fixture writes them). First ``pgm eval`` of the DBM opens
the group from the environment as the command does under ``torchrun``; then, in a group
this script opens on PORT, the DBM's bound from Python and ``pgm eval`` of the
classification RBM, the Hopfield net, the mcRBM and the mPoT. Each phase also records what
this rank computed itself: the rows of each mean-field batch and its passes, the rows
whose class was predicted, the rows whose free energy was taken, and the log-weights of
this rank's share of HMC AIS chains. Each rank saves it all to OUT/rank<r>.pt.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import torch
import torch.distributed as dist

import inference.evaluation.bound as bound_module
import inference.evaluation.likelihood as likelihood_module
import inference.partition.hmc_ais as hmc_ais_module
from inference.checkpoint import load_model
from inference.cli import main as pgm
from inference.evaluation import variational_bound
from models.energy import ClassRBM

#: HMC AIS of ``pgm eval``: 5 chains (rank 0 runs 3, rank 1 runs 2), 10 steps from N(0, I).
CHAINS, BETAS, SEED = 5, 11, 7
AIS_ARGS = ["--method", "ais", "--chains", str(CHAINS), "--betas", str(BETAS), "--base", "uniform", "--seed",
            str(SEED), "--no-progress"]
#: The log Z given to the bound called from Python.
LOG_Z = 0.25
#: What each ``pgm eval`` of the second phase is given: model file, data file, options.
COMMANDS = {"crbm": ("crbm.pt", "labelled.pt", ["--method", "exact"]),
            "hopfield": ("hopfield.pt", "spins.pt", ["--method", "exact"]),
            "mcrbm_ais": ("mcrbm.pt", "real.pt", AIS_ARGS),
            "mcrbm_exact": ("mcrbm.pt", "real.pt", ["--method", "exact"]),
            "mpot_ais": ("mpot.pt", "real.pt", AIS_ARGS),
            "mpot_exact": ("mpot2.pt", "real2.pt", ["--method", "exact"])}


def binary(n: int = 7, d: int = 6) -> torch.Tensor:
    """Odd rows: two ranks pad one."""
    return torch.bernoulli(torch.full((n, d), 0.4), generator=torch.Generator().manual_seed(5))


def eval_argv(out: str, model: str, data: str, options) -> list:
    return ["eval", os.path.join(out, model), "--data", os.path.join(out, data), *options]


class Seen:
    """What this rank's own calls computed, phase by phase (the estimators' helpers wrapped)."""

    def __init__(self):
        self.now = {}
        mean_field, predict = bound_module._mean_field, ClassRBM.predict
        free_energy, gather = likelihood_module.visible_free_energy, hmc_ais_module.gather_log_weights

        def counted_mean_field(model, v, *args, **kwargs):
            mf = mean_field(model, v, *args, **kwargs)
            self.now.setdefault("mean_field", []).append([v.shape[0], mf.n_iter])
            return mf

        def counted_predict(model, v):
            self.now.setdefault("predicted", []).append(v.shape[0])
            return predict(model, v)

        def counted_free_energy(model, v, plan):
            self.now.setdefault("free_energy", []).append(v.shape[0])
            return free_energy(model, v, plan)

        def kept_log_weights(log_w, replicas):
            self.now.setdefault("log_w", []).append(log_w.clone())
            return gather(log_w, replicas)

        bound_module._mean_field = counted_mean_field
        ClassRBM.predict = counted_predict
        likelihood_module.visible_free_energy = counted_free_energy
        hmc_ais_module.gather_log_weights = kept_log_weights

    def take(self) -> dict:
        now, self.now = self.now, {}
        return now


def _command(argv, seen) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pgm(argv)
    return {"code": code, "out": out.getvalue(), **seen.take()}


def _pilot_failure(out: str, rank: int) -> str:
    """What each rank raises when the HMC AIS step-size pilot fails on rank 0 alone."""
    schedule = hmc_ais_module._Path.schedule

    def failing(self, *args, **kwargs):
        raise FloatingPointError("the pilot diverged")

    if rank == 0:
        hmc_ais_module._Path.schedule = failing
    try:
        hmc_ais_module.hmc_ais_log_partition(load_model(os.path.join(out, "mpot.pt")), n_chains=4, n_steps=3,
                                             base="standard", progress=False)
        return "no error"
    except (FloatingPointError, RuntimeError) as err:
        return f"{type(err).__name__}: {err}"
    finally:
        hmc_ais_module._Path.schedule = schedule


def main(out: str, port: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    seen, got = Seen(), {}
    got["dbm"] = _command(eval_argv(out, "dbm.pt", "binary.pt", ["--method", "exact"]), seen)
    os.environ["MASTER_PORT"] = port
    dist.init_process_group("gloo")
    try:
        b = variational_bound(load_model(os.path.join(out, "dbm.pt")), binary(), LOG_Z)  # joins the open group
        got["bound"] = {"result": [b.mean, b.lower, b.upper, b.sem, b.n, b.per_example, b.n_iter], **seen.take()}
        for name, (model, data, options) in COMMANDS.items():
            got[name] = _command(eval_argv(out, model, data, options), seen)
        got["pilot_failure"] = _pilot_failure(out, rank)
    finally:
        dist.destroy_process_group()
    torch.save(got, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
