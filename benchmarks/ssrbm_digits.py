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
  ``GaussianRBM.default_lr``);
- ``GaussianRBM stepped``: ``GaussianRBM.from_data(..., hidden="stepped", n_steps=N)``,
  stepped-sigmoid hidden units of N copies (``--copies``, default 10) with their exact
  count conditional, the same recipe;
- ``GaussianRBM nrelu``: trained with NReLU hidden draws (``hidden="nrelu"``), scored as
  the stepped model it approximates (``model.with_hidden("stepped")``: the same energy,
  hence the same log-density; the stepped units are the ones with a tractable
  log-density, NReLU has none of its own).

log Z is exact where enumerable (``inference.exact_log_partition``: 2^n_hidden spike or
hidden states, (N + 1)^n_hidden counts; for the ssRBM each state costs a Cholesky
factorisation of a 64 x 64 precision; up to 25 binary units' worth), and ``±`` is then the
standard error over test images. Otherwise (64 hidden units; stepped units at 16) log Z
is bracketed by forward AIS (a stochastic lower bound of log Z, hence an upper bound of
the log-density) and reverse AIS from the final PCD-like chains' states (a stochastic upper
bound of log Z), ``--ais-chains`` chains each on the default schedule: the row shows the
log-density at the AIS estimate and the bracket [reverse AIS, forward AIS].

Usage::

    python benchmarks/ssrbm_digits.py                  # seed 0, 200 epochs, 16 hidden units
    python benchmarks/ssrbm_digits.py --hidden 16 64   # the full table
    python benchmarks/ssrbm_digits.py --quick          # smoke run: 3 epochs
    python benchmarks/ssrbm_digits.py --seeds 0 1 2 --epochs 100

Seconds per run are the wall time of training alone (the load average is printed).
"""

from __future__ import annotations

import argparse
import time

from inference import ais_log_partition, exact_log_partition, fit, log_likelihood
from inference.partition.exact import MAX_EXACT_UNITS, enumeration_set
from inference.partition.reverse_ais import reverse_ais_log_partition
from models.energy import GaussianRBM, SpikeSlabRBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.ssrbm_digits
    from _common import load_average, machine_line, set_threads
except ImportError:
    from benchmarks._common import load_average, machine_line, set_threads

__all__ = ["MODELS", "run", "main"]

#: row name -> (model class, constructor keywords); each trained with its class's default recipe
MODELS = {"SpikeSlabRBM": (SpikeSlabRBM, {}), "GaussianRBM": (GaussianRBM, {}),
          "GaussianRBM stepped": (GaussianRBM, {"hidden": "stepped"}),
          "GaussianRBM nrelu": (GaussianRBM, {"hidden": "nrelu"})}


def _parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def score(model, train, test, seed, ais_chains=200):
    """(LogLikelihood, how log Z was found) of ``test``: exact log Z where enumerable, else
    forward AIS with the reverse-AIS upper bound of log Z as the bracket's other end."""
    if getattr(model, "hidden", "binary") == "nrelu":
        model = model.with_hidden("stepped")  # the same distribution; AIS needs its exact conditionals
    if enumeration_set(model)[1] <= MAX_EXACT_UNITS:
        return log_likelihood(model, test, exact_log_partition(model)), "exact"
    fwd = ais_log_partition(model, n_chains=ais_chains, data=train, seed=seed, progress=False)
    rev = reverse_ais_log_partition(model, n_chains=ais_chains, data=train, seed=seed + 1, progress=False)
    point = log_likelihood(model, test, fwd.log_z)
    # log Z between the forward AIS estimate (a stochastic lower bound) and reverse AIS (a
    # stochastic upper bound); where the two cross, they agree within their noise
    ends = sorted(log_likelihood(model, test, z).mean for z in (rev.log_z, fwd.log_z))
    return point._replace(lower=ends[0], upper=ends[1]), f"AIS {fwd.log_z:.2f}, reverse {rev.log_z:.2f}"


def run(cls, n_hidden, train, test, seed, epochs, kwargs=None, ais_chains=200, lr=None):
    """Train one model with its default recipe and score it: a dict with ``ll``, ``sem``,
    ``lower``, ``upper``, ``log_z``, ``seconds``, ``parameters``."""
    model = cls.from_data(train, n_hidden, seed=seed, **(kwargs or {}))
    t0 = time.perf_counter()
    try:
        fit(model, train, epochs=epochs, seed=seed, monitor=0, progress=False, lr=lr)
    except FloatingPointError as err:  # fit stops at the first non-finite epoch
        return {"ll": None, "sem": None, "diverged": str(err).split(":")[1].split("(")[0].strip(),
                "seconds": time.perf_counter() - t0, "parameters": _parameters(model)}
    seconds = time.perf_counter() - t0
    ll, how = score(model, train, test, seed, ais_chains)
    return {"ll": ll.mean, "sem": ll.sem, "lower": ll.lower, "upper": ll.upper, "log_z": how, "diverged": None,
            "seconds": seconds, "parameters": _parameters(model)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="default: 0")
    parser.add_argument("--epochs", type=int, default=None, help="default 200 (3 with --quick)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16],
                        help="hidden units, one table row per model and size (default 16; exact log Z up to ~20 "
                             "binary units, AIS with a reverse-AIS bracket above)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS), metavar="MODEL",
                        help=f"rows to run (default all: {', '.join(MODELS)})")
    parser.add_argument("--copies", type=int, default=10, help="copies N of a stepped or NReLU unit (default 10)")
    parser.add_argument("--ais-chains", type=int, default=200, help="chains of forward and of reverse AIS")
    parser.add_argument("--lr-rectified", type=float, default=0.0005,
                        help="learning rate of the stepped and NReLU rows (default 0.0005: at the Gaussian RBM's "
                             "0.003 they diverge within 10 epochs)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed 0, 3 epochs (unless --epochs), at most 2 copies")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.copies = [0], min(args.copies, 2)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 200
    set_threads(args.threads)
    train = load_digits(binarize=False, dequantize=True, split="train")
    test = load_digits(binarize=False, dequantize=True, split="test")
    print(f"dequantised digits: train {tuple(train.shape)}, test {tuple(test.shape)}; {args.hidden} hidden, "
          f"{args.epochs} epochs, each model's default recipe; seeds {args.seeds}")
    print(machine_line())
    print("| model | seed | hidden | parameters | lr | test log-density (nats/image) | bracket | log Z | s/run |")
    print("|:---|---:|---:|---:|---:|---:|---:|:---|---:|")
    results = {}
    for n_hidden in args.hidden:
        for seed in args.seeds:
            for name in args.models:
                cls, kwargs = MODELS[name]
                lr = None
                if "hidden" in kwargs:
                    kwargs, lr = {**kwargs, "n_steps": args.copies}, args.lr_rectified
                res = run(cls, n_hidden, train, test, seed, args.epochs, kwargs, args.ais_chains, lr)
                results[(name, n_hidden, seed)] = res
                if res["diverged"] is None:
                    value = f"{res['ll']:.2f} ± {res['sem']:.2f}"
                    bracket = "" if res["log_z"] == "exact" else f"[{res['lower']:.2f}, {res['upper']:.2f}]"
                else:
                    value, bracket = res["diverged"], ""
                print(f"| {name} | {seed} | {n_hidden} | {res['parameters']} | {lr or cls.default_lr} | {value} | {bracket} "
                      f"| {res.get('log_z', '')} | {res['seconds']:.1f} |", flush=True)
    print(f"\n{load_average()} after the run")
    return results


if __name__ == "__main__":
    main()
