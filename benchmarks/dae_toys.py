"""Denoising autoencoders on a 2-D toy: the learned score field, and walk-back against
spurious modes.

Data: an equal mixture of 8 isotropic Gaussians (std 0.2) on a circle of radius 2
(``inference.autoencoders.score.ring_mixture``), 10,000 training points.

1. **Score field** (Alain & Bengio 2014). A DAE with Gaussian corruption σ and a Gaussian
   reconstruction learns r(x̃) = E[x | x̃] = x̃ + σ² ∇ log p_σ(x̃), so (r(x) − x)/σ² is the
   score of the data density smoothed by the corruption, known exactly here
   (``mixture_score``). Printed: the mean cosine similarity between the two fields at 2,000
   fresh draws within two standard deviations (of the smoothed components) of a mode, per
   seed, then mean ± std; target ≥ 0.9.
2. **Walk-back** (Bengio, Yao, Alain & Vincent 2013). A DAE with small corruption
   (``--walkback-sigma``, so that plain training never sees points far from the data)
   trained plainly and by walk-back (k chain steps from the data, every visited corrupted
   point trained to reconstruct the original), each then run as a Markov chain from
   uniform noise over [−4, 4]² for ``--steps`` steps: the fraction of chains that end more
   than 3 std from every mode (spurious modes; the data itself puts about 1 % there).

Usage::

    python benchmarks/dae_toys.py [--seeds 0 1 2] [--hidden 512] [--sigma 0.3] [--walkback 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from inference.autoencoders import dae_chain, fit_autoencoder
from inference.autoencoders.score import cosine, mixture_score, ring_mixture, score_field
from models import Autoencoder

STD, MODES = 0.2, 8


def train(x, sigma, hidden, seed, method="reconstruction", walkback=5, epochs=(60, 30)):
    model = Autoencoder(2, hidden, likelihood="gaussian", noise="gaussian", noise_level=sigma, seed=seed)
    for lr, n in zip((3e-3, 3e-4), epochs):  # Adam at 3e-3, then a tenth of it
        fit_autoencoder(model, x, method=method, walkback=walkback, epochs=n, batch_size=100, lr=lr, seed=seed,
                        progress=False, monitor=0)
    return model


def spurious_fraction(model, means, steps, seed, n=2000):
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, 2, generator=gen) * 8 - 4
    state = dae_chain.run(model, dae_chain.init(model, n, gen, x0=x0), steps, gen)
    dist = (state.x[:, None].double() - means[None]).norm(dim=-1).min(1).values
    return float((dist > 3 * STD).double().mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--sigma", type=float, default=0.3)
    p.add_argument("--walkback", type=int, default=5)
    p.add_argument("--walkback-sigma", type=float, default=0.1,
                   help="σ of the walk-back comparison: small, so that plain training never sees points far "
                        "from the data (default 0.1)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--epochs", type=int, nargs=2, default=[60, 30],
                   help="epochs at lr 3e-3, then at 3e-4 (default 60 30)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cosines, plain, walked = [], [], []
    print(f"ring of {MODES} Gaussians (std {STD}), DAE 2-{args.hidden}-2, Gaussian corruption σ = {args.sigma}")
    for seed in args.seeds:
        x, means = ring_mixture(10000, torch.Generator().manual_seed(seed))
        t0 = time.perf_counter()
        model = train(x, args.sigma, args.hidden, seed, epochs=args.epochs)
        seconds = time.perf_counter() - t0
        test, _ = ring_mixture(2000, torch.Generator().manual_seed(seed + 100))
        smoothed = (STD ** 2 + args.sigma ** 2) ** 0.5
        near = (test[:, None].double() - means[None]).norm(dim=-1).min(1).values <= 2 * smoothed
        c = cosine(score_field(model, test[near]), mixture_score(test[near], means, STD, args.sigma))
        cosines.append(float(c.mean()))
        small = train(x, args.walkback_sigma, args.hidden, seed, epochs=args.epochs)
        walk = train(x, args.walkback_sigma, args.hidden, seed, method="walkback", walkback=args.walkback,
                     epochs=args.epochs)
        plain.append(spurious_fraction(small, means, args.steps, seed))
        walked.append(spurious_fraction(walk, means, args.steps, seed))
        print(f"seed {seed}: score cosine {cosines[-1]:.3f} (10 % quantile {float(c.quantile(0.1)):.2f}); chains off "
              f"the modes: plain {plain[-1]:.3f}, walk-back {walked[-1]:.3f}; {seconds:.0f} s per model")
    t = torch.tensor
    print(f"mean score cosine {float(t(cosines).mean()):.3f} ± {float(t(cosines).std()) if len(cosines) > 1 else 0:.3f}"
          f" (target >= 0.9)")
    print(f"chains off the modes after {args.steps} steps: plain {float(t(plain).mean()):.3f}, "
          f"walk-back (k = {args.walkback}) {float(t(walked).mean()):.3f}; data ≈ 0.011")


if __name__ == "__main__":
    main()
