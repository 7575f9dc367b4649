"""Test log-likelihood of directed models (SBN by NVIL / wake-sleep / RWS, VAE / IWAE) on binarized digits.

Every row trains one model (seed 0) on the 1438-example ``"train"`` split of
``pgm.load_digits(binarize=True)`` with ``inference.fit`` (Adam, batch 20, constant
learning rate) and scores the 359-example ``"test"`` split with
``inference.importance_log_likelihood`` (K = 1000 draws from the guide per image): the
mean estimate ± its standard error over images, and the ELBO from the same draws, in
nats per image; "train LL" is the same estimate on the first 359 training images. The K-sample estimate is a stochastic lower bound of the
log-likelihood in expectation.

Rows:

- ``SBN 64-16`` and ``SBN 64-32-16`` (``SigmoidBeliefNet.from_data``) trained by
  ``method="nvil"``, ``"wake_sleep"`` and ``"rws"`` (K = 5 particles), lr 3e-3;
- ``VAE 64-200-10`` (Bernoulli likelihood, softplus MLPs) trained by ``method="elbo"``
  and by ``method="iwae"`` with K = 5 and 50, lr 1e-3.

Usage::

    python benchmarks/directed_digits.py                  # every row, 30 epochs (about 8 minutes)
    python benchmarks/directed_digits.py --epochs 300     # longer runs
    python benchmarks/directed_digits.py --quick          # smoke run: 1 epoch, K = 10, two rows
    python benchmarks/directed_digits.py --rows "SBN 64-16 rws" --json out.json

Seconds are the training wall time (fit's per-epoch monitoring off), one thread by
default, on whatever else the machine is doing (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import time

from _common import format_table, machine_line, set_threads

from inference import fit, importance_log_likelihood
from models import VAE, SigmoidBeliefNet
from pgm import load_digits

SBN_LR, VAE_LR = 3e-3, 1e-3


def _sbn(sizes, method, k=5):
    return (lambda train: SigmoidBeliefNet.from_data(train, sizes, seed=0)), {"method": method, "n_particles": k,
                                                                             "lr": SBN_LR}


def _vae(method, k=1):
    return (lambda train: VAE(64, 200, 10, seed=0)), {"method": method, "n_particles": k, "lr": VAE_LR}


ROWS = {
    "SBN 64-16 nvil": _sbn([64, 16], "nvil"),
    "SBN 64-16 wake_sleep": _sbn([64, 16], "wake_sleep"),
    "SBN 64-16 rws (K=5)": _sbn([64, 16], "rws"),
    "SBN 64-32-16 nvil": _sbn([64, 32, 16], "nvil"),
    "SBN 64-32-16 wake_sleep": _sbn([64, 32, 16], "wake_sleep"),
    "SBN 64-32-16 rws (K=5)": _sbn([64, 32, 16], "rws"),
    "VAE 64-200-10 elbo (K=1)": _vae("elbo"),
    "VAE 64-200-10 iwae (K=5)": _vae("iwae", 5),
    "VAE 64-200-10 iwae (K=50)": _vae("iwae", 50),
}


def run(name, train, test, epochs, k_eval):
    make, options = ROWS[name]
    model = make(train)
    t0 = time.perf_counter()
    fit(model, train, epochs=epochs, batch_size=20, seed=0, monitor=0, progress=False, **options)
    seconds = time.perf_counter() - t0
    est = importance_log_likelihood(model, test, n_samples=k_eval, seed=1)
    train_est = importance_log_likelihood(model, train[:test.shape[0]], n_samples=k_eval, seed=1)
    return {"test_ll": est.mean, "test_sem": est.sem, "test_elbo": est.elbo, "train_ll": train_est.mean,
            "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--k-eval", type=int, default=1000, help="importance samples per image (default 1000)")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS), metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, K = 10, two rows")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.k_eval, args.rows = 1, 10, ["SBN 64-16 rws (K=5)", "VAE 64-200-10 elbo (K=1)"]
    set_threads(args.threads)
    train, test = load_digits(binarize=True, split="train"), load_digits(binarize=True, split="test")
    print(f"binarized digits: train {tuple(train.shape)}, test {tuple(test.shape)}; {args.epochs} epochs, batch 20, "
          f"seed 0; importance K = {args.k_eval}")
    print(machine_line(), flush=True)
    rows, results = [], {}
    for name in args.rows:
        res = run(name, train, test, args.epochs, args.k_eval)
        results[name] = res
        rows.append([name, f"{res['test_ll']:.2f} ± {res['test_sem']:.2f}", f"{res['test_elbo']:.2f}",
                     f"{res['train_ll']:.2f}", f"{res['seconds']:.0f}"])
        print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(format_table(["model / method", "test LL (K-sample)", "test ELBO", "train LL", "train s"], rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "k_eval": args.k_eval, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
