"""Epoch time of our VAE (a Pyro program trained by the ELBO / IWAE) against a plain PyTorch VAE of the same shape.

All are 64-200-10 VAEs with softplus MLPs and Bernoulli pixels, trained by Adam (lr
1e-3, batch 20) on the 1438 binarized training digits. The plain one computes the
one-sample ELBO (or the K-sample bound) by hand with ``torch.distributions`` (argument validation off, as in our training steps); ours is
``inference.fit(VAE(64, 200, 10), train, method=...)`` with monitoring off, once with
the default ``backend="auto"`` (the VAE's fast path, :mod:`inference.backends.vae`) and
once with ``backend="pyro"`` (Trace_ELBO / the traced programs on every step). Each
epoch time is the best of ``--repeats`` one-epoch runs in one process (one thread by
default), the three variants interleaved so that a busy spell hits them alike; the
ratios are ours / plain. Last, ``importance_log_likelihood`` (K = ``--samples``) on the
359 test digits, fast path against traced programs (best of up to 3 interleaved runs).

Usage::

    python benchmarks/vae_overhead.py
    python benchmarks/vae_overhead.py --repeats 10 --threads 2
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F
import time

from _common import format_table, machine_line, set_threads
from torch import nn

from inference import fit, importance_log_likelihood
from models import VAE
from pgm import load_digits


class PlainVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.loc, self.scale = nn.Linear(64, 200), nn.Linear(200, 10), nn.Linear(200, 10)
        self.dec, self.out = nn.Linear(10, 200), nn.Linear(200, 64)

    def loss(self, x, k):
        h = F.softplus(self.enc(x))
        q = torch.distributions.Normal(self.loc(h), F.softplus(self.scale(h)) + 1e-5, validate_args=False)
        z = q.rsample((k,))                                            # (K, B, 10)
        logits = self.out(F.softplus(self.dec(z)))
        log_p = torch.distributions.Normal(0.0, 1.0, validate_args=False).log_prob(z).sum(-1) - F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").sum(-1)
        lw = log_p - q.log_prob(z).sum(-1)
        return -(torch.logsumexp(lw, 0) - math.log(k)).mean()


def plain_epoch(model, opt, data, k, gen):
    perm = torch.randperm(data.shape[0], generator=gen)
    for i in range(0, data.shape[0], 20):
        opt.zero_grad()
        model.loss(data[perm[i:i + 20]], k).backward()
        opt.step()


def interleaved_best(fns, repeats):
    """Best wall time of each of ``fns`` over ``repeats`` rounds (one warm-up round first);
    each round runs every function once, in turn."""
    best = [float("inf")] * len(fns)
    for r in range(repeats + 1):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            if r:
                best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=1000, help="K of the importance estimate (0: skip it)")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train = load_digits(binarize=True, split="train")
    print(f"VAE 64-200-10 on {tuple(train.shape)} binarized digits, batch 20, Adam; best of {args.repeats} epochs")
    print(machine_line(), flush=True)
    rows = []
    for method, k in (("elbo", 1), ("iwae", 5), ("iwae", 50)):
        plain = PlainVAE()
        opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        fast, traced = VAE(64, 200, 10, seed=0), VAE(64, 200, 10, seed=0)

        def ours(model, backend):
            fit(model, train, method=method, n_particles=k, epochs=1, batch_size=20, monitor=0, progress=False,
                backend=backend)

        t_plain, t_fast, t_pyro = interleaved_best([lambda: plain_epoch(plain, opt, train, k, gen),
                                                    lambda: ours(fast, "auto"), lambda: ours(traced, "pyro")],
                                                   args.repeats)
        rows.append([f"{method} (K={k})", f"{t_plain:.3f}", f"{t_fast:.3f}", f"{t_fast / t_plain:.2f}",
                     f"{t_pyro:.3f}", f"{t_pyro / t_plain:.2f}"])
        print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(format_table(["objective", "plain torch s/epoch", "ours s/epoch", "ratio",
                        "ours, backend='pyro'", "ratio"], rows))
    if args.samples:
        test = load_digits(binarize=True, split="test")
        vae = VAE(64, 200, 10, seed=0)
        t_fast, t_pyro = interleaved_best([lambda: importance_log_likelihood(vae, test, args.samples),
                                           lambda: importance_log_likelihood(vae, test, args.samples, backend="pyro")],
                                          min(args.repeats, 3))
        print(f"\nimportance_log_likelihood, K={args.samples}, {test.shape[0]} test images: {t_fast:.2f} s "
              f"(fast path), {t_pyro:.2f} s (backend='pyro'), ratio {t_pyro / t_fast:.2f}")


if __name__ == "__main__":
    main()
