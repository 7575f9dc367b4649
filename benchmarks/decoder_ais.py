"""Decoder AIS on the digits VAE: the BDMC bracket against the number of steps, the time
per image, and the HMC step against a plain torch HMC loop.

A ``VAE(64, 64, 4)`` is trained by the ELBO on the binarized digits (``--epochs``). Data
simulated from it (z ~ N(0, I), x ~ p(x | z); the z is an exact posterior sample of its x)
is scored by forward decoder AIS (a stochastic lower bound of log p(x)) and by reverse AIS
from those z (a stochastic upper bound): the mean gap between them is the bracket's width,
which closes as the schedule grows. Printed per number of steps: both bounds, the gap and
the seconds per image (K = ``--chains`` chains per image, one thread).

Last, one HMC step (10 leapfrog steps) on the VAE posteriors of 16 × 100 chains, ours
(``inference.mcmc.hmc.step``) against the same arithmetic written as a plain loop: best
of ``--repeats``, interleaved; target ratio ≤ 1.2.

Usage::

    python benchmarks/decoder_ais.py [--steps 10 100 1000] [--images 20] [--chains 16]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import machine_line, plain_hmc_step, set_threads

from inference import fit
from inference.evaluation.decoder_ais import decoder_ais, reverse_decoder_ais
from inference.mcmc import hmc
from models import VAE
from pgm import load_digits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--chains", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", metavar="PATH", help="draw both bounds against the number of steps")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    vae = VAE(64, 64, 4, seed=0)
    fit(vae, load_digits(split="train"), epochs=args.epochs, progress=False)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        z = torch.randn(args.images, 4, generator=gen)
        x = torch.bernoulli(torch.sigmoid(vae.decoder(z)), generator=gen)
    print(f"VAE 64-64-4 ({args.epochs} epochs); {args.images} simulated images, K = {args.chains} chains each")
    print(machine_line())
    print(f"{'steps':>6} {'forward (lower)':>16} {'reverse (upper)':>16} {'gap':>8} {'s per image':>12}")
    z_post = z[:, None].expand(args.images, args.chains, 4).contiguous()
    lower, upper = [], []
    for steps in args.steps:
        t0 = time.perf_counter()
        fwd = decoder_ais(vae.decoder_log_prob, 4, x, n_chains=args.chains, n_steps=steps)
        seconds = (time.perf_counter() - t0) / args.images
        rev = reverse_decoder_ais(vae.decoder_log_prob, z_post, x, n_steps=steps)
        print(f"{steps:>6} {fwd.mean:>16.3f} {rev.mean:>16.3f} {rev.mean - fwd.mean:>8.3f} {seconds:>12.3f}")
        lower.append(fwd.mean)
        upper.append(rev.mean)
    if args.plot:
        from pgm.plots import plot_curves

        fig = plot_curves({"forward AIS (lower bound)": lower, "reverse AIS (upper bound)": upper}, xs=args.steps,
                          xlabel="AIS steps", ylabel="mean log p(x), nats per image", path=None,
                          title="the BDMC bracket closes as the schedule grows")
        fig.axes[0].set_xscale("log")
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    xr = x.repeat_interleave(-(-1600 // args.images), 0)[:1600]
    target = (lambda v: -0.5 * v.square().sum(-1) + vae.decoder_log_prob(v, xr))
    z0 = torch.randn(xr.shape[0], 4, generator=gen)
    state = hmc.init(target, z0, 0.1)
    ours, plain = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        hmc.step(target, state, gen, n_leapfrog=10)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain_hmc_step(target, z0, state.step_size, 10, gen)
        plain.append(time.perf_counter() - t0)
    print(f"HMC step, {xr.shape[0]} chains, 10 leapfrog: ours {min(ours) * 1e3:.1f} ms, plain loop {min(plain) * 1e3:.1f} ms, "
          f"ratio {min(ours) / min(plain):.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
