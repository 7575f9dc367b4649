"""Speed of forward AIS on an MNIST-sized RBM, against the matrix-product ceiling.

Each AIS step needs two matrix products, c + vW (n_chains x n_visible times n_visible x
n_hidden) and W h; everything else (the float64 weight update, two sigmoids, two sets of
uniform draws) is overhead. The script times ``inference.ais_log_partition`` and, in the
same run, a loop doing only those two products per step, and prints the ratio.

Usage::

    python benchmarks/ais_speed.py                  # 784 x 500, 100 chains, 14,501 βs
    python benchmarks/ais_speed.py --steps 2000     # a uniform schedule of 2000 steps
    python benchmarks/ais_speed.py --threads 1      # torch.set_num_threads(1)

No timing is asserted anywhere; on a shared machine, compare the printed ratio rather
than the seconds (the load average is printed too).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from inference.partition.ais import ais_log_partition, default_schedule
from models.energy import RBM


def gemm_ceiling(model, n_chains, n_steps, seed=0):
    """Seconds for ``n_steps`` x (c + vW, b + W h) with AIS's shapes and buffers."""
    gen = torch.Generator().manual_seed(seed)
    W, b, c = model.W.detach(), model.b.detach(), model.c.detach()
    Wt = W.t().contiguous()
    v = torch.rand(n_chains, W.shape[0], generator=gen).lt_(0.5)
    h = torch.rand(n_chains, W.shape[1], generator=gen).lt_(0.5)
    x = torch.empty(n_chains, W.shape[1])
    lv = torch.empty(n_chains, W.shape[0])
    torch.addmm(c, v, W, out=x)
    start = time.perf_counter()
    for _ in range(n_steps):
        torch.addmm(c, v, W, out=x)
        torch.addmm(b, h, Wt, out=lv)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-visible", type=int, default=784)
    parser.add_argument("--n-hidden", type=int, default=500)
    parser.add_argument("--n-chains", type=int, default=100)
    parser.add_argument("--steps", type=int, default=None,
                        help="uniform schedule with this many steps (default: the 14,500-step default schedule)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    # An RBM with weights of a trained model's scale and sparse, MNIST-like base rates.
    gen = torch.Generator().manual_seed(0)
    model = RBM(args.n_visible, args.n_hidden, weight_std=0.05, seed=0)
    rates = torch.rand(args.n_visible, generator=gen) ** 3
    data = torch.rand(1000, args.n_visible, generator=gen).lt_(rates)
    with torch.no_grad():
        model.init_visible_bias(data)
        model.c.fill_(-1.0)
    betas = default_schedule() if args.steps is None else torch.linspace(0, 1, args.steps + 1, dtype=torch.float64)
    n_steps = len(betas) - 1

    print(f"AIS speed: {args.n_visible} visible x {args.n_hidden} hidden, {args.n_chains} chains, "
          f"{n_steps} steps; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} before the run")
    # The ceiling is timed on a sample of steps just before and just after the AIS run and
    # scaled to the full schedule; the smaller of the two is used (on a shared machine the
    # load changes during a run, and the minimum is the least disturbed measurement).
    sample = min(n_steps, 3000)
    before = gemm_ceiling(model, args.n_chains, sample) * n_steps / sample
    start = time.perf_counter()
    est = ais_log_partition(model, n_chains=args.n_chains, betas=betas, base="data", data=data,
                            seed=0, progress=False)
    ais_s = time.perf_counter() - start
    after = gemm_ceiling(model, args.n_chains, sample) * n_steps / sample
    gemm_s = min(before, after)
    print(f"  log Z = {est.log_z:.4f}  [{est.lower:.4f}, {est.upper:.4f}]  ESS {est.ess:.1f}/{est.n_chains}")
    print(f"  AIS:            {ais_s:8.2f} s   {n_steps / ais_s:8.0f} steps/s")
    print(f"  2 GEMMs/step:   {gemm_s:8.2f} s   {n_steps / gemm_s:8.0f} steps/s  (ceiling; "
          f"{before:.2f} s before, {after:.2f} s after the AIS run, from {sample} steps each)")
    print(f"  fraction of AIS time in GEMMs: {gemm_s / ais_s:.2f}")
    print(f"  load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
