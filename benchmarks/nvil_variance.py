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

Over training (``--plot PATH``): the same NVIL run is stopped after every epoch (it
resumes from its checkpoint, so the trajectory is the uninterrupted one), and at the
parameters and baselines of that epoch the four variances are measured again
(``--plot-draws`` draws each, on the same 20 images), from epoch 0 (the initial net, c = 0,
an untrained b(x)) to the last. They are printed as a table and drawn on a log scale.

Usage::

    python benchmarks/nvil_variance.py              # 10 epochs, 200 draws
    python benchmarks/nvil_variance.py --epochs 30 --draws 500
    python benchmarks/nvil_variance.py --plot nvil_variance.png --plot-draws 100
"""

from __future__ import annotations

import argparse
import copy

import torch
from _common import format_table, machine_line, set_threads

from inference import fit
from inference.directed import NVIL
from inference.evaluation.weights import seeded
from models import SigmoidBeliefNet
from pgm import load_digits


VARIANTS = {
    "REINFORCE (no baseline)": dict(running_baseline=False, baseline=False, normalise=False),
    "+ running average c": dict(running_baseline=True, baseline=False, normalise=False),
    "+ input-dependent b(x)": dict(running_baseline=True, baseline=True, normalise=False),
    "NVIL (÷ max(1, √v))": dict(running_baseline=True, baseline=True, normalise=True),
}


def _nvil_run(model, train, epochs, path, upto):
    """Train by NVIL up to epoch ``upto`` of the run (resuming from ``path``) and return the
    estimator it ended with (rebuilt from the run's checkpoint)."""
    fit(model, train, method="nvil", epochs=upto, batch_size=20, lr=3e-3, seed=0, monitor=0, progress=False,
        checkpoint=path, resume=upto > 1)
    est = NVIL(model.n_visible)
    est.load_state_dict(torch.load(path, weights_only=True)["estimator"])
    return est


def _fitted_nvil(model, train, epochs, every_epoch=None):
    """Train by NVIL for ``epochs`` and return the final estimator; with ``every_epoch``,
    call ``every_epoch(epoch, model, estimator)`` at epoch 0 and after every epoch."""
    import tempfile
    from pathlib import Path

    if every_epoch is not None:
        with seeded(0, torch.device("cpu")):  # the baseline net fit starts from (seed 0)
            start = NVIL(model.n_visible)
        every_epoch(0, model, start)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.pt"
        if every_epoch is None:
            return _nvil_run(model, train, epochs, path, epochs)
        for epoch in range(1, epochs + 1):
            est = _nvil_run(model, train, epochs, path, epoch)
            every_epoch(epoch, model, est)
    return est


def _variant(est, v):
    e = copy.deepcopy(est)
    e.running_baseline, e.normalise = v["running_baseline"], v["normalise"]
    if not v["baseline"]:
        e.baseline = None
    return e


def plot_over_training(curves, path):
    """Total variance per epoch of each variant, log scale, written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curves.items():
        ax.plot([e for e, _ in points], [v for _, v in points], marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch of NVIL training")
    ax.set_ylabel("total variance of the recognition gradient")
    ax.set_title("SBN 64-16 on binarized digits, batch of 20")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    parser.add_argument("--plot", default=None, help="write the variance over training epochs to this picture")
    parser.add_argument("--plot-draws", type=int, default=100, help="draws per point of the plot (default 100)")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train = load_digits(binarize=True, split="train")
    model = SigmoidBeliefNet.from_data(train, [64, 16], seed=0)
    x = train[:20]
    curves = {name: [] for name in VARIANTS}

    def measure(epoch, net, est):
        for name, v in VARIANTS.items():
            curves[name].append((epoch, variance(net, _variant(est, v), x, args.plot_draws)))

    est = _fitted_nvil(model, train, args.epochs, measure if args.plot else None)
    print(f"SBN 64-16 after {args.epochs} epochs of NVIL on binarized digits; c = {float(est.mean):.2f}, "
          f"v = {float(est.var):.2f}; {args.draws} draws on 20 images")
    print(machine_line(), flush=True)
    rows, ref = [], None
    for name, v in VARIANTS.items():
        var = variance(model, _variant(est, v), x, args.draws)
        ref = var if ref is None else ref
        rows.append([name, f"{var:.4g}", f"{var / ref:.3f}"])
        print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(format_table(["estimator", "total variance", "ratio"], rows))
    if args.plot:
        epochs = [e for e, _ in next(iter(curves.values()))]
        print()
        print(f"over training ({args.plot_draws} draws per point):")
        print(format_table(["epoch", *VARIANTS], [[str(e), *(f"{curves[n][i][1]:.4g}" for n in VARIANTS)]
                                                   for i, e in enumerate(epochs)]))
        plot_over_training(curves, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
