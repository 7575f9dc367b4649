"""Generative moment matching networks on 2-D toys: are all the modes covered?

Data: 8 isotropic Gaussians (std 0.2) on a circle of radius 2
(``inference.autoencoders.score.ring_mixture``), and 25 (std 0.1) on the 5 × 5 grid
{−4, −2, 0, 2, 4}², 10,000 training points each. A GMMN 4-128-128-2 with a linear output is
trained by :func:`inference.adversarial.fit_gmmn` (biased MMD², Adam) with a kernel bank
spanning the scales of one mode to the whole toy. Printed per toy and seed: the modes
covered by 2,000 samples (at least 20 samples within 3 std of a mode,
:func:`inference.evaluation.quality.mode_counts`), the fraction of samples within 3 std
of some mode (the data itself: about 0.99), and the unbiased MMD² between the samples and
2,000 fresh data points on the training bank.

Usage::

    python benchmarks/gmmn_toys.py [--seeds 0 1 2] [--epochs 40] [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import format_table, machine_line
from inference.adversarial import fit_gmmn, mmd2
from inference.autoencoders.score import ring_mixture
from inference.evaluation.quality import mode_counts
from models.adversarial import GMMN

BANKS = {"ring": (0.1, 0.2, 0.5, 1.0, 2.0, 4.0), "grid": (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0)}
STDS = {"ring": 0.2, "grid": 0.1}


def grid_mixture(n: int, generator: torch.Generator, std: float = 0.1):
    """``n`` draws of an equal mixture of 25 Gaussians (``std``) on {−4, −2, 0, 2, 4}²;
    returns ``(x, means)``."""
    axis = torch.arange(-4.0, 5.0, 2.0, dtype=torch.float64)
    means = torch.cartesian_prod(axis, axis)
    k = torch.randint(means.shape[0], (n,), generator=generator)
    x = means[k] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return x.float(), means


def toy(name: str, n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return ring_mixture(n, gen) if name == "ring" else grid_mixture(n, gen)


def run(name: str, seed: int, epochs: int, n_train: int, n_samples: int, batch_size: int, lr: float) -> dict:
    x, means = toy(name, n_train, seed)
    model = GMMN(2, 4, hidden=(128, 128), bandwidths=BANKS[name], output="linear", seed=seed)
    t0 = time.perf_counter()
    fit_gmmn(model, x, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    samples = model.sample(n_samples, torch.Generator().manual_seed(seed + 1000))
    fresh, _ = toy(name, n_samples, seed + 100)
    counts = mode_counts(samples, means.float(), 3 * STDS[name], min_count=max(1, n_samples // 100))
    return {"toy": name, "seed": seed, "covered": counts.covered, "modes": counts.n_modes, "near": counts.near,
            "mmd2": float(mmd2(fresh.double(), samples.double(), BANKS[name])), "seconds": seconds}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--toys", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="one seed, 2,000 points, 3 epochs (a smoke run)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_train, n_samples, seeds, epochs = 10000, 2000, args.seeds, args.epochs
    if args.quick:
        n_train, n_samples, seeds, epochs = 2000, 500, seeds[:1], 3
    print(f"GMMN 4-128-128-2 by fit_gmmn: {epochs} epochs, batches of {args.batch_size}, Adam lr {args.lr}, "
          f"{n_train} training points, {n_samples} samples")
    print(machine_line())
    rows, results = [], []
    for name in args.toys:
        for seed in seeds:
            r = run(name, seed, epochs, n_train, n_samples, args.batch_size, args.lr)
            results.append(r)
            rows.append([name, seed, f"{r['covered']}/{r['modes']}", f"{r['near']:.3f}", f"{r['mmd2']:.2e}",
                         f"{r['seconds']:.0f}"])
    print(format_table(["toy", "seed", "modes covered", "near a mode", "MMD² to fresh data", "s"], rows))
    for name in args.toys:
        rs = [r for r in results if r["toy"] == name]
        print(f"{name}: modes covered {sum(r['covered'] for r in rs) / len(rs):.1f} of {rs[0]['modes']} on average; "
              f"near a mode {sum(r['near'] for r in rs) / len(rs):.3f}")
    return results


if __name__ == "__main__":
    main()
