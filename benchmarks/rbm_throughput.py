"""Training throughput of a 784 x 500 binary RBM (CD-1, PCD-1, batch 100) against peers.

Rows: ``inference.learning.fit`` with its default optimizer (SGD, momentum ramp, linear LR
decay, no weight decay; progress, monitoring and evaluation off) for CD-1 with sampled
reconstructions (the default), CD-1 with visible probabilities (``sample_visible=False``)
and PCD-1, with the native kernels of :mod:`inference.backends.rbm.native` when they load (the
default: the whole-step kernel where torch carries MKL), then CD-1 and PCD-1 on the
per-pass native kernels with torch's GEMMs (what ``PGM_NATIVE_STEP=0`` selects) and on
the pure-torch path (``native=False``) for comparison; learnergy's
``learnergy.models.bernoulli.RBM`` (CD-1 only; its ``fit`` and, to leave out its
DataLoader and per-batch pseudo-likelihood, its training step alone) and scikit-learn's
``BernoulliRBM`` (PCD-1, float32 input). All see the same random binary data.

The ceiling is measured in the same run: a training step needs at least 5 GEMMs of
100 x 784 x 500 (v W and v' W, h Wᵀ, and the two outer products vᵀh), so

    ceiling [samples/s] = 100 / (time of those 5 GEMMs).

Our CD-1 step does v W, h Wᵀ, v' W and one stacked [v'; v]ᵀ[h'; -h] GEMM, which also
folds in the momentum (u ← μu + ∇, then θ ← θ − ηu); PCD-1 does the same with the
chains' v' and h. Everything else (Bernoulli draws, sigmoids, bias terms, the
parameter update, the batch gather) is the overhead that separates a row from the
ceiling; the whole-step kernel does the step in one OpenMP region in which each thread
keeps its rows of W and of the momentum buffer (see inference/csrc/rbm_step.c); the
per-pass kernels do the elementwise work in one pass per layer around torch's GEMMs.

Usage::

    python benchmarks/rbm_throughput.py                # 10,000 examples, 2 epochs per timing
    python benchmarks/rbm_throughput.py --threads 1
    python benchmarks/rbm_throughput.py --skip learnergy sklearn per-pass torch-path

Every row, the ceiling included, is the best of ``--repeats`` timed runs (the least
contended on a shared machine); the ceiling is re-measured before, between and after
the rows and its best counts. Compare the "% of ceiling" column rather than raw
samples/s, and measure on a quiet machine (the script prints the load average before
and after; above 0.5 the numbers mean little). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _common import best_time, format_table, machine_line, set_threads

from inference.backends.rbm import native
from inference.learning.fit import fit
from models.energy import RBM

V, H, B = 784, 500, 100


def gemm_ceiling(repeats: int, inner: int = 50) -> float:
    """Seconds for the 5 GEMMs of one step (best of ``repeats`` loops of ``inner`` steps)."""
    g = torch.Generator().manual_seed(0)
    v = torch.rand(B, V, generator=g).lt_(0.5)
    h = torch.rand(B, H, generator=g).lt_(0.5)
    W = torch.randn(V, H, generator=g) * 0.01
    hv, vh, gw = torch.empty(B, H), torch.empty(B, V), torch.empty(V, H)

    def step():
        for _ in range(inner):
            torch.mm(v, W, out=hv)
            torch.mm(h, W.t(), out=vh)
            torch.mm(v, W, out=hv)
            torch.mm(v.t(), h, out=gw)
            torch.mm(v.t(), h, out=gw)

    return best_time(step, repeats) / inner


def per_pass(kernels, run):
    """``run()`` with the whole-step kernel switched off (the per-pass kernels, torch GEMMs)."""
    sgemm, kernels.sgemm = kernels.sgemm, None
    try:
        return run()
    finally:
        kernels.sgemm = sgemm


def time_ours(data, method, epochs, repeats, sample_visible=True, native=None):
    best = float("inf")
    for r in range(repeats + 1):
        model = RBM(V, H, seed=r)
        hist = fit(model, data, method=method, k=1, epochs=epochs, batch_size=B, seed=r,
                   sample_visible=sample_visible, native=native, progress=False, monitor=0, evaluate=None)
        if r:  # the first run warms up
            best = min(best, sum(hist.seconds))
    return data.shape[0] * epochs / best


def time_learnergy_fit(data, epochs, repeats):
    from learnergy.models.bernoulli import RBM as LRBM
    from torch.utils.data import TensorDataset

    dataset = TensorDataset(data, torch.zeros(data.shape[0]))

    def run():
        model = LRBM(n_visible=V, n_hidden=H, steps=1, learning_rate=0.1, momentum=0.9, decay=2e-4)
        model.fit(dataset, batch_size=B, epochs=epochs)

    return data.shape[0] * epochs / best_time(run, repeats)


def time_learnergy_step(data, epochs, repeats):
    """learnergy's per-batch training step (sampling, energy surrogate, backward, SGD) on
    pre-split batches: its ``fit`` without DataLoader and per-batch pseudo-likelihood."""
    from learnergy.models.bernoulli import RBM as LRBM

    batches = list(data.split(B))

    def run():
        model = LRBM(n_visible=V, n_hidden=H, steps=1, learning_rate=0.1, momentum=0.9, decay=2e-4)
        for _ in range(epochs):
            for samples in batches:
                *_, visible_states = model.gibbs_sampling(samples)
                visible_states = visible_states.detach()
                cost = torch.mean(model.energy(samples)) - torch.mean(model.energy(visible_states))
                model.optimizer.zero_grad()
                cost.backward()
                model.optimizer.step()

    return data.shape[0] * epochs / best_time(run, repeats)


def time_sklearn(data, epochs, repeats):
    from sklearn.neural_network import BernoulliRBM

    X = data.numpy().astype(np.float32)

    def run():
        BernoulliRBM(n_components=H, learning_rate=0.1, batch_size=B, n_iter=epochs, random_state=0).fit(X)

    return data.shape[0] * epochs / best_time(run, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="training examples (default 10,000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row; the best counts")
    parser.add_argument("--threads", type=int, default=None, help="torch/BLAS threads (default: torch's)")
    parser.add_argument("--skip", nargs="*", default=(), choices=("learnergy", "sklearn", "per-pass", "torch-path"))
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    data = torch.rand(args.n, V, generator=gen).lt_(0.5).float()

    print(f"RBM {V} x {H}, batch {B}, {args.n} random binary examples, {args.epochs} epochs per run, "
          f"best of {args.repeats}")
    print(machine_line() + f" (threads in force: {threads})")
    print(f"native kernels: {native.status()}")
    gemm_times = [gemm_ceiling(args.repeats)]
    results = []
    t0 = time.perf_counter()
    runs = [("pgm (inference.learning.fit)", "CD-1 (sampled v, default)",
             lambda: time_ours(data, "cd", args.epochs, args.repeats)),
            ("pgm (inference.learning.fit)", "CD-1 (probabilities)",
             lambda: time_ours(data, "cd", args.epochs, args.repeats, sample_visible=False)),
            ("pgm (inference.learning.fit)", "PCD-1", lambda: time_ours(data, "pcd", args.epochs, args.repeats))]
    kernels = native.load()
    if "per-pass" not in args.skip and kernels is not None and kernels.has_step:
        runs += [("pgm, per-pass kernels", "CD-1 (sampled v, torch GEMMs)",
                  lambda: per_pass(kernels, lambda: time_ours(data, "cd", args.epochs, args.repeats))),
                 ("pgm, per-pass kernels", "PCD-1 (torch GEMMs)",
                  lambda: per_pass(kernels, lambda: time_ours(data, "pcd", args.epochs, args.repeats)))]
    if "torch-path" not in args.skip and native.available():
        runs += [("pgm, native=False", "CD-1 (sampled v, torch ops)",
                  lambda: time_ours(data, "cd", args.epochs, args.repeats, native=False)),
                 ("pgm, native=False", "PCD-1 (torch ops)",
                  lambda: time_ours(data, "pcd", args.epochs, args.repeats, native=False))]
    if "learnergy" not in args.skip:
        runs += [("learnergy RBM.fit", "CD-1", lambda: time_learnergy_fit(data, args.epochs, args.repeats)),
                 ("learnergy step only", "CD-1", lambda: time_learnergy_step(data, args.epochs, args.repeats))]
    if "sklearn" not in args.skip:
        runs += [("sklearn BernoulliRBM", "PCD-1", lambda: time_sklearn(data, args.epochs, args.repeats))]
    for name, method, run in runs:
        results.append((name, method, run()))
        gemm_times.append(gemm_ceiling(args.repeats))  # between runs: the least contended counts
    t_gemm = min(gemm_times)
    ceiling = B / t_gemm
    rows = [[name, method, f"{rate:,.0f}", f"{100 * rate / ceiling:.0f} %"] for name, method, rate in results]
    rows.append(["GEMM ceiling", "5 GEMMs", f"{ceiling:,.0f}", "100 %"])
    print(format_table(["library", "method", "samples/s", "% of ceiling"], rows))
    print(f"5 GEMMs of {B}x{V}x{H}: best {1e3 * t_gemm:.3f} ms, worst {1e3 * max(gemm_times):.3f} ms over "
          f"{len(gemm_times)} measurements between the runs ({time.perf_counter() - t0:.0f} s in all); "
          f"{machine_line()}")


if __name__ == "__main__":
    main()
