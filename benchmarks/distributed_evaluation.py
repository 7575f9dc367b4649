"""Split evaluation: the seconds an estimator takes on 1 process and on 2 processes (gloo,
one thread each), the work shared out as ``pgm eval`` under ``torchrun`` shares it.

Each case is timed on every rank from a barrier to the estimator's return (the gather of
the results included) and the slower rank counts; the best of ``--repeats`` runs is kept.
The models are freshly initialised (the work does not depend on training):

* ``rbm-ais``: log Z of a 784-500 RBM by AIS, ``--chains`` chains over ``--betas`` βs
  (the chains split, their log-weights gathered);
* ``rbm-exact``: log Z of a 784-``--exact-hidden`` RBM by enumerating its hidden states
  (the states split by ranges);
* ``dbm-bound``: the mean-field bound of a 784-500-1000 DBM on ``--rows`` rows (the rows
  split, the ranks stopping their passes together);
* ``vae-importance``: a 784-400-20 VAE's K = ``--samples`` importance estimate on
  ``--rows`` rows (the rows split);
* ``gan-decoder-ais``: a 784-128-10 GAN's decoder AIS, 16 chains over ``--betas`` βs,
  on ``--gan-rows`` rows (the rows split).

Efficiency = t(1 process) / (2 × t(2 processes)): 1 is perfect halving.

Usage::

    python benchmarks/distributed_evaluation.py
    python benchmarks/distributed_evaluation.py --chains 100 --betas 1000 --rows 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from _common import format_table, machine_line, two_processes

CASES = ("rbm-ais", "rbm-exact", "dbm-bound", "vae-importance", "gan-decoder-ais")


def _data(rows: int) -> torch.Tensor:
    return torch.bernoulli(torch.full((rows, 784), 0.3), generator=torch.Generator().manual_seed(0))


def _case(name: str, args, distributed: bool):
    """A function that runs the case once (its models and data made beforehand)."""
    from inference.evaluation import decoder_ais, importance_log_likelihood, variational_bound
    from inference.partition.named import log_partition
    from models import DBM, VAE
    from models.adversarial import GAN
    from models.energy import RBM

    betas = torch.linspace(0, 1, args.betas, dtype=torch.float64)
    if name == "rbm-ais":
        rbm = RBM(784, 500, seed=0)
        return lambda: log_partition(rbm, "ais", n_chains=args.chains, betas=betas, base="uniform", seed=0,
                                     progress=False, distributed=distributed)
    if name == "rbm-exact":
        rbm = RBM(784, args.exact_hidden, seed=0)
        return lambda: log_partition(rbm, "exact", distributed=distributed)
    if name == "dbm-bound":
        dbm, x = DBM([784, 500, 1000], seed=0), _data(args.rows)
        return lambda: variational_bound(dbm, x, 0.0, distributed=distributed)
    if name == "vae-importance":
        vae, x = VAE(784, 400, 20, seed=0), _data(args.rows)
        return lambda: importance_log_likelihood(vae, x, args.samples, seed=0, distributed=distributed)
    gan, x = GAN(784, 10, (128,), seed=0), _data(args.gan_rows)
    log_lik, n_latent = gan.decoder(0.3)
    return lambda: decoder_ais(log_lik, n_latent, x, n_chains=16, betas=betas, seed=0, distributed=distributed)


def _seconds(name: str, args, replicas=None) -> float:
    """The best of ``args.repeats`` runs of the case; in a group the slower rank's time."""
    run, best = _case(name, args, replicas is not None), float("inf")
    for _ in range(args.repeats):
        if replicas is not None:
            replicas.barrier()
        start = time.perf_counter()
        run()
        took = time.perf_counter() - start
        if replicas is not None:
            took = max(replicas.gather(took))
        best = min(best, took)
    return best


def _worker(out: str, args) -> None:
    import torch.distributed as dist

    from inference.distributed import Replicas

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    try:
        replicas = Replicas()
        times = {name: _seconds(name, args, replicas) for name in args.cases}
    finally:
        dist.destroy_process_group()
    if os.environ.get("RANK") == "0":
        Path(out).write_text(json.dumps(times))


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=100, help="AIS chains of the RBM (default 100)")
    parser.add_argument("--betas", type=int, default=500, help="βs of the AIS schedules (default 500)")
    parser.add_argument("--exact-hidden", type=int, default=16,
                        help="hidden units of the enumerated RBM (default 16: 65,536 states)")
    parser.add_argument("--rows", type=int, default=500, help="rows of the DBM bound and the VAE (default 500)")
    parser.add_argument("--samples", type=int, default=1000, help="K of the VAE's importance estimate (default 1000)")
    parser.add_argument("--gan-rows", type=int, default=20, help="rows of the GAN's decoder AIS (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case, the best kept (default 2)")
    parser.add_argument("--cases", default=",".join(CASES), type=lambda s: s.split(","),
                        help=f"comma-separated cases (default all: {','.join(CASES)})")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        raise SystemExit(f"--cases: unknown {unknown}; choose from {list(CASES)}")
    if args.worker:
        _worker(args.worker, args)
        return
    torch.set_num_threads(1)
    print(machine_line())
    one = {name: _seconds(name, args) for name in args.cases}
    two = two_processes(__file__, argv)
    print(machine_line())
    table = [[name, f"{one[name]:.3f}", f"{two[name]:.3f}", f"{one[name] / (2 * two[name]):.2f}"]
             for name in args.cases]
    print(f"\nseconds per evaluation, best of {args.repeats} (AIS: {args.chains} chains, {args.betas} βs; "
          f"{args.rows} rows; K = {args.samples}; GAN: {args.gan_rows} rows)")
    print(format_table(["case", "1 process", "2 processes", "efficiency"], table))


if __name__ == "__main__":
    main()
