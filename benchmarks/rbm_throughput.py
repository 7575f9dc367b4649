"""Training throughput of a 784 x 500 binary RBM (CD-1, PCD-1, batch 100) against peers.

Rows: ``inference.learning.fit`` with its default optimizer (SGD, momentum ramp, linear LR
decay, no weight decay; progress, monitoring and evaluation off) for CD-1 with sampled
reconstructions (the default), CD-1 with visible probabilities (``sample_visible=False``)
and PCD-1, with the native kernels of :mod:`inference.backends.rbm.native` when they load (the
default: the whole-step kernel where torch carries MKL), then CD-1 and PCD-1 on the
per-pass native kernels with torch's GEMMs (what ``PGM_NATIVE_STEP=0`` selects), on the
backend's fused torch ops (what ``PGM_NATIVE=0`` selects) and on the generic path
(``backend="torch"``: CD with autograd and ``SGD.step``) for comparison; a plain torch
CD-1 loop (the textbook one, no library); learnergy's
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
keeps its rows of W and of the momentum buffer (see inference/backends/rbm/csrc/rbm_step.c); the
per-pass kernels do the elementwise work in one pass per layer around torch's GEMMs.

Contended rows repeat ours (CD-1 default) and the plain torch loop while one competing
busy process (a Python loop spinning on one core) runs, at 784 x 500 and at 64 x 20
(digits-sized; there the library runs single-threaded, ``inference.threads``). The
monitoring rows time an epoch of ``fit`` with its default ``monitor="auto"`` and with
``monitor=1000`` (the precise option) against ``monitor=0`` (6,000 examples).

Usage::

    python benchmarks/rbm_throughput.py                # 10,000 examples, 2 epochs per timing
    python benchmarks/rbm_throughput.py --threads 1
    python benchmarks/rbm_throughput.py --skip learnergy sklearn per-pass torch-path generic contended monitor

The peers are optional (``pip install -c constraints.txt -e '.[bench]'`` for learnergy): a
peer that is not installed is skipped with a note.

Every row, the ceiling included, is the best of ``--repeats`` timed runs (the least
contended on a shared machine); the ceiling is re-measured before, between and after
the rows and its best counts. Compare the "% of ceiling" column rather than raw
samples/s, and measure on a quiet machine (the script prints the load average before
and after; above 0.5 the numbers mean little). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

import numpy as np
import torch

from _common import best_time, format_table, machine_line, peer_installed, set_threads

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


def time_ours(data, method, epochs, repeats, sample_visible=True, backend="auto", n_vis=V, n_hid=H, monitor=0):
    best = float("inf")
    for r in range(repeats + 1):
        model = RBM(n_vis, n_hid, seed=r)
        hist = fit(model, data, method=method, k=1, epochs=epochs, batch_size=B, seed=r,
                   sample_visible=sample_visible, backend=backend, progress=False, monitor=monitor)
        if r:  # the first run warms up
            best = min(best, sum(hist.seconds))
    return data.shape[0] * epochs / best


def time_fit_epoch(data, monitor, repeats):
    """Seconds of one whole epoch of fit (training plus its monitoring), best of ``repeats``."""
    def run():
        fit(RBM(data.shape[1], H, seed=0), data, epochs=1, batch_size=B, progress=False, monitor=monitor)
    return best_time(run, repeats)


def without_native(run):
    """``run()`` with the native kernels off (the backend's fused torch ops), as PGM_NATIVE=0."""
    old = os.environ.get("PGM_NATIVE")
    os.environ["PGM_NATIVE"] = "0"
    native._reset()
    try:
        return run()
    finally:
        if old is None:
            del os.environ["PGM_NATIVE"]
        else:
            os.environ["PGM_NATIVE"] = old
        native._reset()
        native.load()


def time_plain_torch(data, epochs, repeats, n_vis=V, n_hid=H):
    """A textbook CD-1 loop in plain torch: sampled h, sampled v, SGD with momentum 0.9."""
    batches = list(data.split(B))

    def run():
        g = torch.Generator().manual_seed(0)
        W = torch.randn(n_vis, n_hid, generator=g) * 0.01
        b, c = torch.zeros(n_vis), torch.zeros(n_hid)
        uW, ub, uc = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)
        for _ in range(epochs):
            for v0 in batches:
                ph0 = torch.sigmoid(v0 @ W + c)
                h0 = torch.bernoulli(ph0, generator=g)
                v1 = torch.bernoulli(torch.sigmoid(h0 @ W.t() + b), generator=g)
                ph1 = torch.sigmoid(v1 @ W + c)
                n = v0.shape[0]
                uW.mul_(0.9).add_((v0.t() @ ph0 - v1.t() @ ph1) / n)
                ub.mul_(0.9).add_((v0 - v1).mean(0))
                uc.mul_(0.9).add_((ph0 - ph1).mean(0))
                W.add_(uW, alpha=0.01), b.add_(ub, alpha=0.01), c.add_(uc, alpha=0.01)

    return data.shape[0] * epochs / best_time(run, repeats)


@contextlib.contextmanager
def busy_process():
    """One competing process spinning on a core for the duration of the block."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield proc
    finally:
        proc.kill()
        proc.wait()


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
    parser.add_argument("--gemm-steps", type=int, default=50,
                        help="steps of 5 GEMMs per timed loop of the ceiling (default 50)")
    parser.add_argument("--skip", nargs="*", default=(), choices=("learnergy", "sklearn", "per-pass", "torch-path", "generic", "contended",
                                 "monitor"))
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    data = torch.rand(args.n, V, generator=gen).lt_(0.5).float()

    print(f"RBM {V} x {H}, batch {B}, {args.n} random binary examples, {args.epochs} epochs per run, "
          f"best of {args.repeats}")
    print(machine_line() + f" (threads in force: {threads})")
    print(f"native kernels: {native.status()}")
    gemm_times = [gemm_ceiling(args.repeats, args.gemm_steps)]
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
        runs += [("pgm, fused torch ops (PGM_NATIVE=0)", "CD-1 (sampled v)",
                  lambda: without_native(lambda: time_ours(data, "cd", args.epochs, args.repeats))),
                 ("pgm, fused torch ops (PGM_NATIVE=0)", "PCD-1",
                  lambda: without_native(lambda: time_ours(data, "pcd", args.epochs, args.repeats)))]
    if "generic" not in args.skip:
        runs += [("pgm, generic path (backend='torch')", "CD-1 (sampled v)",
                  lambda: time_ours(data, "cd", args.epochs, args.repeats, backend="torch")),
                 ("pgm, generic path (backend='torch')", "PCD-1",
                  lambda: time_ours(data, "pcd", args.epochs, args.repeats, backend="torch"))]
    runs += [("plain torch loop", "CD-1 (sampled v)", lambda: time_plain_torch(data, args.epochs, args.repeats))]
    if "learnergy" not in args.skip and peer_installed("learnergy"):
        runs += [("learnergy RBM.fit", "CD-1", lambda: time_learnergy_fit(data, args.epochs, args.repeats)),
                 ("learnergy step only", "CD-1", lambda: time_learnergy_step(data, args.epochs, args.repeats))]
    if "sklearn" not in args.skip and peer_installed("sklearn.neural_network"):
        runs += [("sklearn BernoulliRBM", "PCD-1", lambda: time_sklearn(data, args.epochs, args.repeats))]
    for name, method, run in runs:
        results.append((name, method, run()))
        gemm_times.append(gemm_ceiling(args.repeats, args.gemm_steps))  # between runs: the least contended counts
    t_gemm = min(gemm_times)
    ceiling = B / t_gemm
    rows = [[name, method, f"{rate:,.0f}", f"{100 * rate / ceiling:.0f} %"] for name, method, rate in results]
    rows.append(["GEMM ceiling", "5 GEMMs", f"{ceiling:,.0f}", "100 %"])
    print(format_table(["library", "method", "samples/s", "% of ceiling"], rows))
    print(f"5 GEMMs of {B}x{V}x{H}: best {1e3 * t_gemm:.3f} ms, worst {1e3 * max(gemm_times):.3f} ms over "
          f"{len(gemm_times)} measurements between the runs ({time.perf_counter() - t0:.0f} s in all); "
          f"{machine_line()}")
    if "contended" not in args.skip:
        contended(data, args)
    if "monitor" not in args.skip:
        n = max(B, min(6000, args.n))
        mon = data[:n]
        quiet = time_fit_epoch(mon, 0, args.repeats)
        print(f"\nmonitoring: one epoch of fit on {n} examples takes {quiet:.3f} s with monitor=0;")
        for setting in ("auto", 1000):
            monitored = time_fit_epoch(mon, setting, args.repeats)
            print(f"  monitor={setting!r}: {monitored:.3f} s, monitoring costs {100 * (monitored / quiet - 1):.0f} % "
                  "of the epoch")


def contended(data, args):
    """CD-1 samples/s, ours and a plain torch loop, quiet and with one competing busy process."""
    small = torch.rand(data.shape[0], 64, generator=torch.Generator().manual_seed(1)).lt_(0.5).float()
    cases = [(f"{V} x {H}", data, V, H), ("64 x 20", small, 64, 20)]
    rows = []
    for label, x, nv, nh in cases:
        ours = lambda: time_ours(x, "cd", args.epochs, args.repeats, n_vis=nv, n_hid=nh)  # noqa: E731
        plain = lambda: time_plain_torch(x, args.epochs, args.repeats, n_vis=nv, n_hid=nh)  # noqa: E731
        quiet = (ours(), plain())
        with busy_process():
            busy = (ours(), plain())
        rows.append([label, "pgm fit (default)", f"{quiet[0]:,.0f}", f"{busy[0]:,.0f}", f"{busy[0] / quiet[0]:.2f}"])
        rows.append([label, "plain torch loop", f"{quiet[1]:,.0f}", f"{busy[1]:,.0f}", f"{busy[1] / quiet[1]:.2f}"])
    print("\nCD-1 with one competing busy process (samples/s):")
    print(format_table(["RBM", "row", "quiet", "contended", "ratio"], rows))


if __name__ == "__main__":
    main()
