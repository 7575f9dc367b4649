"""The amortisation gap of a VAE on the bundled digits: NUTS on z for a few test images.

Trains a VAE (64-64-2 by default) by the ELBO, then for ``--images`` test digits runs
``inference.mcmc_posterior`` and prints, per image and on average, the guide's ELBO, the
importance estimate log p̂(x) from a Gaussian fitted to the NUTS draws, and their gap.

    python benchmarks/amortisation_gap.py [--epochs 100] [--images 5] [--latent 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from inference import fit_directed, mcmc_posterior
from models import VAE
from pgm.datasets import load_digits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--latent", type=int, default=2)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = load_digits(split="train"), load_digits(split="test")
    t0 = time.perf_counter()
    vae = VAE(64, 64, args.latent, seed=0)
    fit_directed(vae, train, epochs=args.epochs, lr=3e-3, progress=False, monitor=0)
    t1 = time.perf_counter()
    post = mcmc_posterior(vae, test[:args.images], num_samples=args.samples, warmup_steps=args.samples // 2,
                          n_importance=5000)
    t2 = time.perf_counter()
    print(f"VAE 64-64-{args.latent}, {args.epochs} epochs ({t1 - t0:.0f} s); NUTS {args.samples} draws on "
          f"{args.images} test digits ({t2 - t1:.0f} s)")
    print("| image | ELBO (nats) | log p̂(x) (nats) | gap (nats) |\n|---|---|---|---|")
    for i in range(args.images):
        print(f"| {i} | {post.elbo[i]:.2f} | {post.log_likelihood[i]:.2f} | {post.gap[i]:.2f} |")
    print(f"| mean | {post.elbo.mean():.2f} | {post.log_likelihood.mean():.2f} | {post.gap.mean():.2f} |")


if __name__ == "__main__":
    main()
