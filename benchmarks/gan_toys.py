"""GANs on 2-D mixtures with known modes: how many modes the generator covers, and how many of
its samples are of high quality, for the non-saturating and the minimax generator loss.

Data (as in the mode-collapse literature: Metz et al. 2017, Srivastava et al. 2017):

* ``ring``: 8 isotropic Gaussians (std 0.02) evenly on a circle of radius 2
  (``inference.autoencoders.score.ring_mixture``);
* ``grid``: 25 isotropic Gaussians (std 0.02) at {−4, −2, 0, 2, 4}².

Each run trains ``GAN(2, n_latent=2, hidden=(128, 128), output="linear")`` with
:func:`inference.adversarial.fit_gan` (Adam, lr 1e-3, betas (0.5, 0.999), batches of 256,
one discriminator step per generator step) on 10,000 draws, then draws 2,500 samples and
scores them with :func:`inference.evaluation.quality.mode_counts`: a mode is covered when at
least ``--min-count`` samples lie within 3 std of it; "high quality" is the fraction of
samples within 3 std of some mode. Printed: one line per run, then the mean ± std over
seeds per toy and loss.

Usage::

    python benchmarks/gan_toys.py [--seeds 0 1 2] [--epochs 30] [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import format_table, load_average
from inference.adversarial import fit_gan
from inference.autoencoders.score import ring_mixture
from inference.evaluation.quality import mode_counts
from models.adversarial import GAN

STD = 0.02


def grid_mixture(n: int, generator: torch.Generator, std: float = STD):
    """``n`` draws of an equal mixture of 25 Gaussians at {−4, −2, 0, 2, 4}²; ``(x, means)``."""
    axis = torch.arange(-4.0, 5.0, 2.0, dtype=torch.float64)
    means = torch.cartesian_prod(axis, axis)
    k = torch.randint(means.shape[0], (n,), generator=generator)
    x = means[k] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return x.float(), means


TOYS = {"ring": lambda n, gen: ring_mixture(n, gen, std=STD), "grid": grid_mixture}


def run(toy, method, seed, epochs, n_data=10000, n_samples=2500, min_count=10):
    x, means = TOYS[toy](n_data, torch.Generator().manual_seed(seed))
    model = GAN(2, n_latent=2, hidden=(128, 128), output="linear", seed=seed)
    t0 = time.perf_counter()
    h = fit_gan(model, x, method=method, epochs=epochs, batch_size=256, lr=1e-3, seed=seed, monitor=0,
                progress=False)
    seconds = time.perf_counter() - t0
    samples = model.sample(n_samples, torch.Generator().manual_seed(seed + 1000))
    counts = mode_counts(samples, means.float(), 3 * STD, min_count)
    return counts, h.last(), seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--toys", nargs="+", default=list(TOYS), choices=list(TOYS))
    p.add_argument("--methods", nargs="+", default=["non_saturating", "minimax"],
                   choices=["non_saturating", "minimax"])
    p.add_argument("--min-count", type=int, default=10, help="samples within 3 std that make a mode covered")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a smoke run: one seed, 2 epochs, 2,000 points")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 2
    n_data = 2000 if args.quick else 10000
    rows = []
    for toy in args.toys:
        for method in args.methods:
            covered, quality = [], []
            for seed in args.seeds:
                counts, last, seconds = run(toy, method, seed, args.epochs, n_data, min_count=args.min_count)
                covered.append(counts.covered)
                quality.append(counts.near)
                print(f"{toy} {method} seed {seed}: {counts.covered}/{counts.n_modes} modes, high quality "
                      f"{counts.near:.3f}, D(x) {last['d_real']:.2f}, D(G(z)) {last['d_fake']:.2f}, {seconds:.0f} s")
            c, q = torch.tensor(covered, dtype=torch.float64), torch.tensor(quality, dtype=torch.float64)
            spread = (lambda t: f" ± {float(t.std()):.{1 if t is c else 3}f}" if len(t) > 1 else "")
            rows.append([toy, method, f"{float(c.mean()):.1f}{spread(c)} / {counts.n_modes}",
                         f"{float(q.mean()):.3f}{spread(q)}", " ".join(str(v) for v in covered)])
    print(f"\nGAN 2-128-128-2, {args.epochs} epochs of {n_data} points, seeds {args.seeds}; a mode covered with "
          f">= {args.min_count} of 2,500 samples within 3 std (0.06)")
    print(format_table(["toy", "generator loss", "modes covered", "high quality", "per seed"], rows))
    print(f"{load_average()} after the run")


if __name__ == "__main__":
    main()
