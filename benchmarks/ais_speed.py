"""Speed of forward AIS: the RBM fast path, the generic path and the matrix-product ceiling.

Each AIS step of a binary RBM needs two matrix products, c + vW (n_chains x n_visible
times n_visible x n_hidden) and W h; everything else (the float64 weight update, two
sigmoids, two sets of uniform draws) is overhead. The script times, in one run:

* ``inference.ais_log_partition`` on the RBM fast path (``backend="auto"``, the default);
* the same call on the generic path (``backend="torch"``: the model's conditionals and
  free energies through the EnergyModel contract, weights on a float64 copy), on a
  shorter uniform schedule when the main one is long (``--generic-steps``; rates in β/s
  are comparable, the schedules are not);
* a plain torch loop doing only the two products per step (the ceiling);
* the same three again while one competing busy process (a Python loop started by this
  script) holds a core, on a small model (64 x 20) and on the main one: small loops run
  single-threaded (``inference.threads``), the plain loop keeps torch's thread count.

Usage::

    python benchmarks/ais_speed.py                  # 784 x 500, 100 chains, 14,501 βs
    python benchmarks/ais_speed.py --steps 2000     # a uniform schedule of 2000 steps
    python benchmarks/ais_speed.py --threads 1      # torch.set_num_threads(1)
    python benchmarks/ais_speed.py --no-contended   # skip the rows with a busy process

No timing is asserted anywhere; on a shared machine, compare the printed ratios rather
than the seconds (the load average is printed too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import torch

from inference.partition.ais import ais_log_partition, default_schedule
from models.energy import RBM

#: Steps of the contended rows on the small model (a uniform schedule), at most.
CONTENDED_STEPS = 2000


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


def make_problem(n_visible, n_hidden, seed=0):
    """An RBM with weights of a trained model's scale and sparse, MNIST-like base rates,
    and 1000 rows of data drawn at those rates."""
    gen = torch.Generator().manual_seed(seed)
    model = RBM(n_visible, n_hidden, weight_std=0.05, seed=seed)
    rates = torch.rand(n_visible, generator=gen) ** 3
    data = torch.rand(1000, n_visible, generator=gen).lt_(rates)
    with torch.no_grad():
        model.init_visible_bias(data)
        model.c.fill_(-1.0)
    return model, data


def uniform_schedule(n_steps):
    return torch.linspace(0, 1, n_steps + 1, dtype=torch.float64)


def time_ais(model, data, n_chains, betas, backend):
    """(seconds, estimate) of one forward AIS run."""
    start = time.perf_counter()
    est = ais_log_partition(model, n_chains=n_chains, betas=betas, base="data", data=data, seed=0,
                            progress=False, backend=backend)
    return time.perf_counter() - start, est


def warm_up(model, data, n_chains):
    """One short run of each path, so that first-call costs stay out of the timings."""
    for backend in ("auto", "torch"):
        time_ais(model, data, n_chains, uniform_schedule(20), backend)


def busy_process():
    """Start one competing process that spins a Python loop (stopped by the caller)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)  # let it reach its loop
    return proc


def _row(label, size, steps, seconds, ref_rate=None):
    rate = steps / seconds
    ratio = f"{rate / ref_rate:6.2f}" if ref_rate else "     -"
    return f"  {label:<34} {size:>9} {steps:>7} {seconds:9.2f} {rate:10.0f} {ratio}"


def _header():
    return (f"  {'path':<34} {'model':>9} {'steps':>7} {'seconds':>9} {'β/s':>10} {'vs fast':>6}\n"
            f"  {'-' * 34} {'-' * 9} {'-' * 7} {'-' * 9} {'-' * 10} {'-' * 7}")


def contended_rows(sizes, n_chains, n_steps):
    """Rows for each size with one competing busy process running: fast, generic, plain GEMMs.

    Models larger than 64 x 20 run a quarter of ``n_steps`` on every path.
    """
    rows = []
    proc = busy_process()
    try:
        for nv, nh in sizes:
            model, data = make_problem(nv, nh)
            size = f"{nv}x{nh}"
            steps = n_steps if nv * nh <= 64 * 20 else max(2, n_steps // 4)
            warm_up(model, data, n_chains)
            fast_s, _ = time_ais(model, data, n_chains, uniform_schedule(steps), "auto")
            generic_s, _ = time_ais(model, data, n_chains, uniform_schedule(steps), "torch")
            gemm_s = gemm_ceiling(model, n_chains, steps)
            fast_rate = steps / fast_s
            rows.append(_row("ours, RBM fast path", size, steps, fast_s))
            rows.append(_row("ours, generic path", size, steps, generic_s, fast_rate))
            rows.append(_row(f"plain torch 2 GEMMs ({torch.get_num_threads()} threads)", size, steps, gemm_s,
                             fast_rate))
    finally:
        proc.terminate()
        proc.wait()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-visible", type=int, default=784)
    parser.add_argument("--n-hidden", type=int, default=500)
    parser.add_argument("--n-chains", type=int, default=100)
    parser.add_argument("--steps", type=int, default=None,
                        help="uniform schedule with this many steps (default: the 14,500-step default schedule)")
    parser.add_argument("--generic-steps", type=int, default=2000,
                        help="at most this many steps (a uniform schedule) for the generic path (default 2000)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--contended-steps", type=int, default=CONTENDED_STEPS,
                        help=f"steps of the contended rows (default {CONTENDED_STEPS}; a quarter for models above 64x20)")
    parser.add_argument("--no-contended", action="store_true", help="skip the rows with a competing busy process")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    model, data = make_problem(args.n_visible, args.n_hidden)
    betas = default_schedule() if args.steps is None else uniform_schedule(args.steps)
    n_steps = len(betas) - 1
    size = f"{args.n_visible}x{args.n_hidden}"

    print(f"AIS speed: {args.n_visible} visible x {args.n_hidden} hidden, {args.n_chains} chains, "
          f"{n_steps} steps; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} before the run")
    # The ceiling is timed on a sample of steps just before and just after the AIS run and
    # scaled to the full schedule; the smaller of the two is used (on a shared machine the
    # load changes during a run, and the minimum is the least disturbed measurement).
    sample = min(n_steps, 3000)
    warm_up(model, data, args.n_chains)
    before = gemm_ceiling(model, args.n_chains, sample) * n_steps / sample
    ais_s, est = time_ais(model, data, args.n_chains, betas, "auto")
    after = gemm_ceiling(model, args.n_chains, sample) * n_steps / sample
    gemm_s = min(before, after)
    generic_steps = min(n_steps, args.generic_steps)
    generic_betas = betas if generic_steps == n_steps else uniform_schedule(generic_steps)
    generic_s, generic_est = time_ais(model, data, args.n_chains, generic_betas, "torch")
    print(f"  log Z = {est.log_z:.4f}  [{est.lower:.4f}, {est.upper:.4f}]  ESS {est.ess:.1f}/{est.n_chains}"
          f"  (fast path, {n_steps} steps)")
    print(f"  log Z = {generic_est.log_z:.4f}  [{generic_est.lower:.4f}, {generic_est.upper:.4f}]  "
          f"ESS {generic_est.ess:.1f}/{generic_est.n_chains}  (generic path, {generic_steps} steps)")
    print(f"  AIS:            {ais_s:8.2f} s   {n_steps / ais_s:8.0f} steps/s")
    print(f"  2 GEMMs/step:   {gemm_s:8.2f} s   {n_steps / gemm_s:8.0f} steps/s  (ceiling; "
          f"{before:.2f} s before, {after:.2f} s after the AIS run, from {sample} steps each)")
    print(f"  fraction of AIS time in GEMMs: {gemm_s / ais_s:.2f}")
    print()
    fast_rate = n_steps / ais_s
    print(_header())
    print(_row("ours, RBM fast path", size, n_steps, ais_s))
    label = "ours, generic path" if generic_steps == n_steps else "ours, generic (shorter schedule)"
    print(_row(label, size, generic_steps, generic_s, fast_rate))
    print(_row("plain torch 2 GEMMs (ceiling)", size, n_steps, gemm_s, fast_rate))
    print(f"  generic path: {fast_rate / (generic_steps / generic_s):.2f}x the fast path's time per β")
    if not args.no_contended:
        sizes = [(64, 20)] + ([(args.n_visible, args.n_hidden)] if (args.n_visible, args.n_hidden) != (64, 20) else [])
        c_steps = min(n_steps, args.contended_steps)
        print()
        print(f"With one competing busy process (a Python loop), {args.n_chains} chains, uniform schedules "
              f"({c_steps} steps; a quarter above 64x20); 'vs fast' is the β/s ratio to the fast path:")
        print(_header())
        for line in contended_rows(sizes, args.n_chains, c_steps):
            print(line)
    print(f"  load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
