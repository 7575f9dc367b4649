"""NADE's epoch time against a plain PyTorch NADE of the same shape, and the cost of exact
evaluation per image against the RBM's AIS.

1. Both are NADEs of H hidden units on the 64 binarized pixels (the running sum as an
   exclusive cumulative sum), trained by Adam (lr 1e-3, batch 20) on the 1,438 training
   digits, one thread. Ours is ``fit(NADE(64, H), train, epochs=1, monitor=0)``: checked
   data, the one epoch loop, its progress bar off; the plain one is the 40-line model and
   loop below. Each epoch time is the best of ``--repeats`` one-epoch runs, the two
   interleaved; the ratio is ours / plain (target ≤ 1.1).
2. Exact log p(x) of the 359 test digits under the NADE (one pass) against the RBM's
   log-likelihood by AIS (``ais_log_partition`` with 100 chains and the default
   14,500-step schedule, then the free energy): time per test image of each.

Usage::

    python benchmarks/nade_overhead.py [--hidden 64] [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from _common import interleaved_epochs, set_threads

from inference import ais_log_partition, fit, log_likelihood
from models import RBM
from models.autoregressive import NADE
from pgm import load_digits


class PlainNADE(nn.Module):
    """A NADE in plain PyTorch: a_i = c + Σ_{j<i} W_j x_j, p_i = σ(b_i + V_i · σ(a_i))."""

    def __init__(self, n_visible, n_hidden):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_hidden, n_visible) / n_visible ** 0.5)
        self.c = nn.Parameter(torch.zeros(n_hidden))
        self.V = nn.Parameter(torch.randn(n_visible, n_hidden) / n_visible ** 0.5)
        self.b = nn.Parameter(torch.zeros(n_visible))

    def log_prob(self, x):
        terms = x.unsqueeze(-1) * self.W.t()  # (n, D, H)
        h = torch.sigmoid(torch.cumsum(terms, 1) - terms + self.c)
        logits = (h * self.V).sum(-1) + self.b
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)


def plain_epoch(model, opt, data, gen, batch_size=20):
    for idx in torch.randperm(data.shape[0], generator=gen).split(batch_size):
        opt.zero_grad()
        (-model.log_prob(data[idx]).mean()).backward()
        opt.step()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--betas", type=int, default=None,
                        help="evenly spaced AIS temperatures (default: the 14,500-step schedule)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train, test = load_digits(split="train"), load_digits(split="test")
    ours, plain = NADE(64, args.hidden, seed=0), PlainNADE(64, args.hidden)
    opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    interleaved_epochs(lambda: fit(ours, train, epochs=1, monitor=0, progress=False),
                       lambda: plain_epoch(plain, opt, train, gen), args.repeats,
                       f"NADE 64-{args.hidden}, batch 20, Adam, {train.shape[0]} digits")

    with torch.no_grad():
        start = time.perf_counter()
        exact = ours.log_prob(test)
        t_exact = time.perf_counter() - start
    rbm = RBM.from_data(train, 16, seed=0)
    fit(rbm, train, epochs=5, progress=False)
    start = time.perf_counter()
    betas = None if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
    log_z = ais_log_partition(rbm, n_chains=args.ais_chains, betas=betas, data=train, seed=0, progress=False)
    ll = log_likelihood(rbm, test, log_z)
    t_ais = time.perf_counter() - start
    n = test.shape[0]
    print(f"exact evaluation of {n} test digits: NADE {t_exact / n * 1e6:.1f} µs per image (mean "
          f"{float(exact.mean()):.2f} nats, exact); RBM 64-16 by AIS ({args.ais_chains} chains, {'default schedule' if betas is None else f'{args.betas} betas'}) "
          f"{t_ais / n * 1e3:.2f} ms per image (mean {ll.mean:.2f} nats, an estimate); ratio "
          f"{t_ais / t_exact:.0f}x")


if __name__ == "__main__":
    main()
