"""Epoch time of our denoising autoencoder against a plain PyTorch one of the same shape.

Both are 64-H-64 denoising autoencoders (sigmoid code, untied weights, masking noise
p = 0.25, cross-entropy reconstruction of the clean digit), trained by Adam (lr 1e-3,
batch 20) on the 1,438 binarized training digits, one thread. Ours is
``inference.fit(Autoencoder(64, H, noise="masking", noise_level=0.25), train, epochs=1,
monitor=0)``: checked data, the one epoch loop, its progress bar off; the plain one is the
30-line loop below. Each epoch time is the best of ``--repeats`` one-epoch runs, the two
interleaved so that a busy spell hits both; the ratio is ours / plain (target ≤ 1.1).

Usage::

    python benchmarks/dae_overhead.py [--hidden 100] [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

from _common import interleaved_epochs, set_threads

from inference import fit
from models import Autoencoder
from pgm import load_digits


class PlainDAE(nn.Module):
    def __init__(self, n_visible, n_hidden):
        super().__init__()
        self.enc, self.dec = nn.Linear(n_visible, n_hidden), nn.Linear(n_hidden, n_visible)

    def loss(self, x, p, gen):
        x_tilde = torch.where(torch.rand(x.shape, generator=gen) < p, torch.zeros_like(x), x)
        logits = self.dec(torch.sigmoid(self.enc(x_tilde)))
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()


def plain_epoch(model, opt, data, gen, batch_size=20, p=0.25):
    for idx in torch.randperm(data.shape[0], generator=gen).split(batch_size):
        opt.zero_grad()
        model.loss(data[idx], p, gen).backward()
        opt.step()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train = load_digits(split="train")
    ours = Autoencoder(64, args.hidden, noise="masking", noise_level=0.25, seed=0)
    plain = PlainDAE(64, args.hidden)
    opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    interleaved_epochs(lambda: fit(ours, train, epochs=1, monitor=0, progress=False),
                       lambda: plain_epoch(plain, opt, train, gen), args.repeats,
                       f"DAE 64-{args.hidden}-64, masking 0.25, batch 20, Adam, {train.shape[0]} digits")


if __name__ == "__main__":
    main()
