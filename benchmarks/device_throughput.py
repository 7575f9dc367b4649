"""Training on an accelerator: CD-1 of a 784 x 500 RBM against the device's fp32 GEMM peak,
and a VAE epoch on MNIST-size data against the same loop in plain PyTorch.

Everything runs on ``--device`` (default ``cuda``; ``cpu`` runs the same measurements on
the CPU). Timings synchronise the device before reading the clock.

* **GEMM peak** — the best time of an n x n x n fp32 matrix product (n = 4096 on a GPU,
  2048 on the CPU) gives the device's attainable fp32 rate, 2n³ / t, measured in this run.
* **CD-1, 784 x 500, batch 100** — ``inference.fit(RBM(784, 500).to(device), data,
  method="cd", batch_size=100)`` on ``--rows`` random binary rows (monitoring off), one
  epoch, best of ``--repeats``. A CD-1 step needs at least 5 GEMMs of 100 x 784 x 500
  (v W, h Wᵀ, v' W and the two outer products), 2 · 5 · 100 · 784 · 500 flops; the table
  gives the samples per second, that GEMM work per second as a percentage of the peak,
  and the same 5 GEMMs timed alone (the step's ceiling).
* **VAE 784-400-20 epoch** — ``inference.fit(VAE(784, 400, 20).to(device), data,
  method="elbo")`` at its default batch (100) and Adam, on ``--vae-rows`` rows (the 60,000
  of MNIST's training set by default; the files of ``--mnist FOLDER`` repeated to that
  many rows, random binary rows otherwise), against the one-sample ELBO written by hand
  in plain PyTorch on the same architecture (softplus MLPs, Bernoulli pixels), the two
  interleaved, best of ``--repeats``; the ratio is ours / plain.

Usage::

    python benchmarks/device_throughput.py                    # on the CUDA device
    python benchmarks/device_throughput.py --mnist FOLDER
    python benchmarks/device_throughput.py --device cpu --rows 2000 --vae-rows 6000
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from _common import format_table, machine_line, set_threads

from inference import fit
from models import VAE
from models.energy import RBM


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_of(fn, device, repeats: int) -> float:
    """Best wall time of ``fn`` over ``repeats`` runs after one warm-up, the device synchronised."""
    best = float("inf")
    for r in range(repeats + 1):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        if r:
            best = min(best, time.perf_counter() - t0)
    return best


def gemm_peak(device, repeats: int) -> tuple[int, float]:
    """(n, flop/s) of the best n x n x n fp32 product."""
    n = 4096 if device.type == "cuda" else 2048
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    t = best_of(lambda: torch.mm(a, b, out=out), device, repeats)
    return n, 2 * n ** 3 / t


def cd_gemms(device, repeats: int) -> float:
    """Seconds of the 5 GEMMs of one CD-1 step, 784 x 500, batch 100."""
    v, W, h = (torch.rand(100, 784, device=device), torch.randn(784, 500, device=device) * 0.01,
               torch.rand(100, 500, device=device))

    def five():
        v @ W, h @ W.t(), v @ W, v.t() @ h, v.t() @ h

    return best_of(lambda: [five() for _ in range(20)], device, repeats) / 20


class PlainVAE(nn.Module):
    """The same VAE written by hand: softplus encoder and decoder, Bernoulli pixels."""

    def __init__(self, n_visible=784, n_hidden=400, n_latent=20):
        super().__init__()
        self.enc, self.loc, self.scale = (nn.Linear(n_visible, n_hidden), nn.Linear(n_hidden, n_latent),
                                          nn.Linear(n_hidden, n_latent))
        self.dec, self.out = nn.Linear(n_latent, n_hidden), nn.Linear(n_hidden, n_visible)

    def loss(self, x):
        h = F.softplus(self.enc(x))
        loc, scale = self.loc(h), F.softplus(self.scale(h)) + 1e-5
        z = loc + scale * torch.randn_like(loc)
        rec = F.binary_cross_entropy_with_logits(self.out(F.softplus(self.dec(z))), x, reduction="none").sum(-1)
        kl = 0.5 * (loc ** 2 + scale ** 2 - 1).sum(-1) - scale.log().sum(-1)
        return (rec + kl).mean()


def plain_epoch(model, opt, data, batch_size=100):
    perm = torch.randperm(data.shape[0], device=data.device)
    for batch in perm.split(batch_size):
        opt.zero_grad(set_to_none=True)
        model.loss(data[batch]).backward()
        opt.step()


def rows(n: int, device, mnist=None) -> torch.Tensor:
    """``n`` binary rows of 784 pixels: the MNIST files repeated, or random ones."""
    if mnist:
        from pgm import load_mnist

        x, _ = load_mnist(mnist, split="train", binarize=True)
        x = x.repeat(math.ceil(n / x.shape[0]), 1)[:n]
    else:
        x = torch.bernoulli(torch.full((n, 784), 0.13), generator=torch.Generator().manual_seed(0))
    return x.to(device=device, dtype=torch.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the CD-1 epoch")
    parser.add_argument("--vae-rows", type=int, default=60_000, help="rows of the VAE epoch")
    parser.add_argument("--mnist", default=None, metavar="FOLDER", help="MNIST IDX files for the VAE's rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("device_throughput: no CUDA device here (torch.cuda.is_available() is False); run it on a machine "
              "with a GPU, or pass --device cpu", file=sys.stderr)
        return 2
    set_threads(args.threads)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{name}; {machine_line()}", flush=True)

    n, peak = gemm_peak(device, args.repeats)
    print(f"fp32 GEMM peak ({n} x {n} x {n}): {peak / 1e12:.2f} TFLOP/s", flush=True)

    data = rows(args.rows, device)
    rbm = RBM(784, 500, seed=0).to(device)
    t = best_of(lambda: fit(rbm, data, method="cd", batch_size=100, epochs=1, monitor=0, progress=False), device,
                args.repeats)
    steps = math.ceil(args.rows / 100)
    flops = steps * 5 * 2 * 100 * 784 * 500
    ceiling = cd_gemms(device, args.repeats)
    table = [["CD-1 784 x 500, batch 100 (fit)", f"{args.rows / t:,.0f} samples/s",
              f"{100 * flops / t / peak:.1f} %", f"{t / steps * 1e3:.3f} ms/step"],
             ["the step's 5 GEMMs alone", f"{100 / ceiling:,.0f} samples/s",
              f"{100 * 2 * 5 * 100 * 784 * 500 / ceiling / peak:.1f} %", f"{ceiling * 1e3:.3f} ms/step"]]
    print(format_table(["CD-1", "throughput", "GEMM work / peak", "time"], table), flush=True)

    x = rows(args.vae_rows, device, args.mnist)
    torch.manual_seed(0)
    ours = VAE(784, 400, 20, seed=0).to(device)
    plain = PlainVAE().to(device)
    opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
    t_ours = t_plain = float("inf")
    for r in range(args.repeats + 1):  # interleaved, the first round a warm-up
        a = _timed(lambda: fit(ours, x, method="elbo", epochs=1, monitor=0, progress=False), device)
        b = _timed(lambda: plain_epoch(plain, opt, x), device)
        if r:
            t_ours, t_plain = min(t_ours, a), min(t_plain, b)
    print(format_table(["VAE 784-400-20, one epoch", "rows", "s/epoch", "ratio"],
                       [["plain PyTorch ELBO loop", f"{x.shape[0]:,}", f"{t_plain:.2f}", "1.00"],
                        ["inference.fit(method='elbo')", f"{x.shape[0]:,}", f"{t_ours:.2f}",
                         f"{t_ours / t_plain:.2f}"]]))
    return 0


def _timed(fn, device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
