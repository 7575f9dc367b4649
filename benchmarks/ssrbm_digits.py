"""Test log-density of the spike-and-slab RBM against the Gaussian RBM on the dequantised digits.

Data: ``pgm.load_digits(binarize=False, dequantize=True)`` (the 8x8 digits as
(pixel + u) / 17 with fixed uniform noise u), trained on the 1438-image ``"train"``
split, scored by the mean log-density of the 359-image ``"test"`` split in nats per
image (higher is better), once per seed, both models in the same run:

- ``SpikeSlabRBM``: ``SpikeSlabRBM.from_data(train, n_hidden, seed=seed)`` trained by
  ``inference.fit(model, train, epochs=..., seed=seed)`` with the model's defaults
  (PCD-1, lr ``SpikeSlabRBM.default_lr``, fit's SGD with momentum 0.5 then 0.9, linear
  decay, batch 20);
- ``GaussianRBM``: the same with ``GaussianRBM.from_data`` (PCD-1, lr
  ``GaussianRBM.default_lr``).

log Z is exact (``inference.exact_log_partition``: 2^n_hidden spike or hidden states;
for the ssRBM each state costs a Cholesky factorisation of a 64 x 64 precision), so the
numbers carry no estimator error; ``±`` is the standard error over test images.

Usage::

    python benchmarks/ssrbm_digits.py                  # seed 0, 200 epochs, 16 hidden units
    python benchmarks/ssrbm_digits.py --quick          # smoke run: 3 epochs
    python benchmarks/ssrbm_digits.py --seeds 0 1 2 --epochs 100

Seconds per run are the wall time of training alone (the load average is printed).
"""

from __future__ import annotations

import argparse
import time

from inference import exact_log_partition, fit, log_likelihood
from models.energy import GaussianRBM, SpikeSlabRBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.ssrbm_digits
    from _common import load_average, machine_line, set_threads
except ImportError:
    from benchmarks._common import load_average, machine_line, set_threads

__all__ = ["MODELS", "run", "main"]

#: row name -> model class (each trained with its own default recipe)
MODELS = {"SpikeSlabRBM": SpikeSlabRBM, "GaussianRBM": GaussianRBM}


def _parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def run(cls, n_hidden, train, test, seed, epochs):
    """Train one model with its default recipe and score it: a dict with ``ll``, ``sem``,
    ``seconds``, ``parameters``."""
    model = cls.from_data(train, n_hidden, seed=seed)
    t0 = time.perf_counter()
    try:
        fit(model, train, epochs=epochs, seed=seed, monitor=0, progress=False)
    except FloatingPointError as err:  # fit stops at the first non-finite epoch
        return {"ll": None, "sem": None, "diverged": str(err).split(":")[1].split("(")[0].strip(),
                "seconds": time.perf_counter() - t0, "parameters": _parameters(model)}
    seconds = time.perf_counter() - t0
    ll = log_likelihood(model, test, exact_log_partition(model))
    return {"ll": ll.mean, "sem": ll.sem, "diverged": None, "seconds": seconds, "parameters": _parameters(model)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="default: 0")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=16, help="hidden units (default 16; exact log Z up to ~20)")
    parser.add_argument("--quick", action="store_true", help="smoke run: seed 0, 3 epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs = [0], 3
    set_threads(args.threads)
    train = load_digits(binarize=False, dequantize=True, split="train")
    test = load_digits(binarize=False, dequantize=True, split="test")
    print(f"dequantised digits: train {tuple(train.shape)}, test {tuple(test.shape)}; {args.hidden} hidden, "
          f"{args.epochs} epochs, each model's default recipe; seeds {args.seeds}")
    print(machine_line())
    print("| model | seed | parameters | lr | test log-density (nats/image) | log Z | s/run |")
    print("|:---|---:|---:|---:|---:|---:|---:|")
    results = {}
    for seed in args.seeds:
        for name, cls in MODELS.items():
            res = run(cls, args.hidden, train, test, seed, args.epochs)
            results[(name, seed)] = res
            value = f"{res['ll']:.2f} ± {res['sem']:.2f}" if res["diverged"] is None else res["diverged"]
            print(f"| {name} | {seed} | {res['parameters']} | {cls.default_lr} | {value} | exact "
                  f"| {res['seconds']:.1f} |", flush=True)
    print(f"\n{load_average()} after the run")
    return results


if __name__ == "__main__":
    main()
