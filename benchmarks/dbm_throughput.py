"""Variational SML throughput of a deep Boltzmann machine against the GEMM ceiling of its step.

One SML step at MNIST size (default 784-500-1000, batch 100, 100 persistent chains): the
mean-field positive phase (10 passes), one Gibbs sweep of the chains, the energy
surrogate's backward pass and an SGD update, through ``PCD(positive=MeanFieldPhase())``
as ``fit(dbm, data, method="sml")`` runs it. The ceiling is the same step's matrix
products alone (per mean-field pass: v W1 + h2 W2ᵀ, h1 W2; per sweep those and h1 W1ᵀ;
for each phase's energy the products x_{l−1} W_l and the weight gradients x_{l−1}ᵀ x_l), timed back to back in the same run
on the same tensors. Both are reported in examples (rows of the batch) per second; the
best of ``--repeats`` timings, so the least contended one.

Usage::

    python benchmarks/dbm_throughput.py                     # 784-500-1000, batch 100
    python benchmarks/dbm_throughput.py --sizes 64 32 16 --threads 1
"""

from __future__ import annotations

import argparse

import torch

from inference import PCD, MeanFieldPhase, make_generator
from models import DBM

try:
    from _common import best_time, load_average, machine_line, set_threads
except ImportError:
    from benchmarks._common import best_time, load_average, machine_line, set_threads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[784, 500, 1000])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--mf-iter", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20, help="SML steps per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    print(machine_line(), f"device {dev}", flush=True)
    gen = torch.Generator().manual_seed(0)
    data = torch.bernoulli(torch.full((args.batch * 4, args.sizes[0]), 0.2), generator=gen).to(dev)
    dbm = DBM.from_data(data, args.sizes[1:], seed=0, weight_std=0.01).to(dev)
    est = PCD(1, n_chains=args.batch, generator=make_generator(0, dev), positive=MeanFieldPhase(args.mf_iter))
    opt = torch.optim.SGD(dbm.parameters(), lr=1e-3)
    batches = data.split(args.batch)

    def sml():
        for i in range(args.steps):
            est.grad(dbm, batches[i % len(batches)])
            opt.step()
        sync()

    Ws = [w.detach() for w in dbm.weights]
    xs = [torch.rand(args.batch, n, device=dev) for n in args.sizes]

    def gemms():
        L = len(Ws)
        for _ in range(args.steps):
            for k in range(args.mf_iter + 1):  # mean-field passes, then the Gibbs sweep
                for l in range(1, L + 1):
                    g = xs[l - 1] @ Ws[l - 1]
                    if l < L:
                        g = g + xs[l + 1] @ Ws[l].t()
                if k == args.mf_iter:
                    xs[1] @ Ws[0].t()  # the sweep also draws v given h1
            for _ in range(2):  # the surrogate's energies of both phases and their weight gradients
                for l in range(1, L + 1):
                    (xs[l - 1] @ Ws[l - 1]) * xs[l]
                    xs[l - 1].t() @ xs[l]
        sync()

    t_sml = best_time(sml, args.repeats) / args.steps
    t_gemm = best_time(gemms, args.repeats) / args.steps
    n = args.batch
    print(f"DBM {'-'.join(map(str, args.sizes))}, batch {n}, {args.mf_iter} mean-field passes + 1 Gibbs sweep of "
          f"{n} chains")
    print(f"  SML step: {t_sml * 1e3:.2f} ms, {n / t_sml:,.0f} examples/s")
    print(f"  GEMM ceiling of the step: {t_gemm * 1e3:.2f} ms, {n / t_gemm:,.0f} examples/s")
    print(f"  fraction of the ceiling: {t_gemm / t_sml:.2f}")
    print(load_average(), "after the run")


if __name__ == "__main__":
    main()
