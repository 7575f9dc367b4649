"""Variance of the score-function gradient of an SBN's recognition net, with and without NVIL's baselines.

A ``SigmoidBeliefNet([64, 16])`` is trained on the binarized digits (``"train"`` split)
by ``inference.fit(..., method="nvil")`` for a few epochs, which also fits NVIL's
input-dependent baseline b(x) and its running statistics c and v. The model is then
fixed, and on a fixed batch of 20 training images ``--draws`` independent estimates of
the recognition-parameter gradient are drawn (one sample h ~ q(h | x) per image each)
with:

- ``REINFORCE``: learning signal l = log p(x, h) − log q(h | x), no baseline;
- ``+ running average c``: l − c;
- ``+ input-dependent b(x)``: l − c − b(x) (NVIL without variance normalisation);
- ``NVIL (÷ max(1, √v))``: the same divided by max(1, √v), i.e. a rescaled step.

The table shows the total variance (trace of the covariance of the estimates) and its
ratio to REINFORCE's. Every estimator has the same expectation, the ELBO's gradient.

Usage::

    python benchmarks/nvil_variance.py              # 10 epochs, 200 draws
    python benchmarks/nvil_variance.py --epochs 30 --draws 500
"""

from __future__ import annotations

import argparse
import copy

import torch
from _common import format_table, machine_line, set_threads

from inference import fit
from inference.variational import NVIL
from models import SigmoidBeliefNet
from pgm import load_digits


def _fitted_nvil(model, train, epochs):
    """Train by NVIL and return the estimator it ended with (rebuilt from the run's checkpoint)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.pt"
        fit(model, train, method="nvil", epochs=epochs, batch_size=20, lr=3e-3, seed=0, monitor=0, progress=False,
            checkpoint=path)
        state = torch.load(path, weights_only=True)["estimator"]
    est = NVIL(model.n_visible)
    est.load_state_dict(state)
    return est


def variance(model, est, x, draws):
    params = list(model.recognition.parameters())
    grads = []
    for d in range(draws):
        torch.manual_seed(d)
        e = copy.deepcopy(est)
        e.alpha = 1.0  # keep c and v fixed while measuring
        loss, _ = e.loss(model, x)
        g = torch.autograd.grad(loss, params)
        grads.append(torch.cat([t.flatten() for t in g]).double())
    return float(torch.stack(grads).var(0).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train = load_digits(binarize=True, split="train")
    model = SigmoidBeliefNet.from_data(train, [64, 16], seed=0)
    est = _fitted_nvil(model, train, args.epochs)
    x = train[:20]
    print(f"SBN 64-16 after {args.epochs} epochs of NVIL on binarized digits; c = {float(est.mean):.2f}, "
          f"v = {float(est.var):.2f}; {args.draws} draws on 20 images")
    print(machine_line(), flush=True)
    variants = {
        "REINFORCE (no baseline)": dict(running_baseline=False, baseline=False, normalise=False),
        "+ running average c": dict(running_baseline=True, baseline=False, normalise=False),
        "+ input-dependent b(x)": dict(running_baseline=True, baseline=True, normalise=False),
        "NVIL (÷ max(1, √v))": dict(running_baseline=True, baseline=True, normalise=True),
    }
    rows, ref = [], None
    for name, v in variants.items():
        e = copy.deepcopy(est)
        e.running_baseline, e.normalise = v["running_baseline"], v["normalise"]
        if not v["baseline"]:
            e.baseline = None
        var = variance(model, e, x, args.draws)
        ref = var if ref is None else ref
        rows.append([name, f"{var:.4g}", f"{var / ref:.3f}"])
        print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(format_table(["estimator", "total variance", "ratio"], rows))


if __name__ == "__main__":
    main()
