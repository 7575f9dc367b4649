"""One rank of the two-process runs that tests/inference/distributed checks.

Started twice by ``test_data_parallel.py`` with RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT set, as ``torchrun`` would: ``python -m tests.inference.distributed._worker
OUT PORT2``. The first run opens the process group itself from the environment (the
``torchrun`` path); the others share a group this script opens on PORT2. Each rank saves
what it saw to OUT/rank<r>.pt.
"""

from __future__ import annotations

import os
import shutil
import sys

import torch
import torch.distributed as dist

from models import VAE, SigmoidBeliefNet
from models.energy import RBM

import inference
from inference.distributed import Replicas, Shard
from inference.partition.split_ais import split_ais_log_partition
from inference.partition.split_exact import split_exact_log_partition

#: The settings the tests rebuild their single-process references from.
CD = dict(method="cd", epochs=1, batch_size=4, lr=0.1, momentum=None, lr_schedule="constant", seed=3, monitor=0,
          progress=False)
PCD = dict(CD, method="pcd", n_chains=3)
VAE_RUN = dict(method="elbo", epochs=1, batch_size=4, lr=0.01, seed=3, monitor=0, progress=False)
AIS = dict(n_chains=9, base="uniform", seed=7, progress=False)


def data(n: int, seed: int = 0) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, 6), 0.4), generator=torch.Generator().manual_seed(seed))


def params(model) -> list:
    return [p.detach().clone() for p in model.parameters()]


def main(out: str, port2: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    x8, x16 = data(8), data(16, 1)
    got = {}
    rbm = RBM(6, 4, seed=0).double()
    inference.fit(rbm, x8, **CD)  # detects the launcher's environment, opens and closes the group itself
    got["cd"] = params(rbm)
    os.environ["MASTER_PORT"] = port2
    dist.init_process_group("gloo")
    try:
        replicas = Replicas()
        rbm = RBM(6, 4, seed=0).double()
        inference.fit(rbm, x8, distributed=True, **CD)
        got["cd_again"] = params(rbm)
        rbm = RBM(6, 4, seed=0).double()
        inference.fit(rbm, x8, checkpoint=os.path.join(out, "pcd.pt"), **PCD)
        got["pcd"] = params(rbm)
        if replicas.is_main:
            shutil.copy(os.path.join(out, "pcd.pt"), os.path.join(out, "pcd_resumed.pt"))
        for name in ("pcd3", "pcd3_again", "pcd3_resumed"):
            rbm = RBM(6, 4, seed=0).double()
            resume = {"checkpoint": os.path.join(out, "pcd_resumed.pt"), "resume": True} if "resumed" in name else {}
            inference.fit(rbm, x8, **{**PCD, "epochs": 3}, **resume)
            got[name] = params(rbm)
        rbm = RBM(6, 4, seed=0).double()  # a one-process checkpoint (the test wrote it) resumed on two
        inference.fit(rbm, x8, checkpoint=os.path.join(out, "one.pt"), resume=True, **{**PCD, "epochs": 2})
        got["pcd_from_one"] = params(rbm)
        vae = VAE(6, 5, 2, seed=0).double()
        inference.fit(vae, x8, **VAE_RUN)
        got["vae"] = params(vae)
        sbn = SigmoidBeliefNet([6, 3], seed=0)
        hist = inference.fit(sbn, x16, method="rws", epochs=2, batch_size=4, seed=3, monitor=0, progress=False)
        got["sbn"], got["sbn_objective"] = params(sbn), hist.objective
        est = split_ais_log_partition(RBM(6, 4, seed=1).double(), betas=torch.linspace(0, 1, 30), **AIS)
        got["ais"] = [est.log_z, est.lower, est.upper, est.ess, est.n_chains]
        got["exact"] = split_exact_log_partition(RBM(6, 4, seed=1).double(), chunk_size=3).log_z
        for shuffle in (False, True):
            shard = Shard(7, replicas, seed=3, shuffle=shuffle)
            got[f"gather_{shuffle}"] = shard.gather(shard.indices(1).double() * 10, epoch=1)
    finally:
        dist.destroy_process_group()
    torch.save(got, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
