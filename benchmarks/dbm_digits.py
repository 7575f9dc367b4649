"""Deep Boltzmann machines against RBMs of the same total hidden size on the binarized digits.

Data: ``pgm.load_digits(binarize=True)``, 1438 training and 359 test images of 8x8
binary pixels. Scores are in nats per test image (higher is better).

Rows:

- ``DBM 64-a-b``: ``DBM.from_data(train, [a, b], centered=c, seed=seed)``, optionally
  pre-trained (``inference.pretrain_dbm``, CD-1 for ``--pretrain`` epochs per layer), then
  trained by variational SML, ``fit(dbm, train, method="sml", epochs, lr)`` (10 mean-field
  passes per batch, 1 Gibbs sweep of 20 persistent chains, fit's momentum and linear
  decay; offsets of a centred model moved at rate 0.01). Scored by the mean-field
  variational bound E_q[−E] + H(q) − log Z (``inference.variational_bound``), with log Z
  exact where the odd layers' 2^a states can be enumerated (a ≤ 25) and otherwise from
  AIS with the odd layers summed out (``--ais-chains`` chains on the default 14,501-step
  schedule, base fitted to the training data), whose ±3 standard-error bracket is shown.
  Where log Z is exact the AIS estimate is computed too and its error reported. With
  ``--exact-ll`` the true test log-likelihood log p(v) (the top layer summed by
  enumeration) is reported as well (about 40 s per model).
- ``RBM 64xH``: ``RBM.from_data(train, H)`` trained by fit's default recipe (CD-1, 50
  epochs, lr 0.1) with H the DBM's total hidden size, scored by its exact test
  log-likelihood where 2^min(64, H) states can be enumerated, else by AIS (same settings).

Usage::

    python benchmarks/dbm_digits.py            # about 7 minutes on 2 busy cores
    python benchmarks/dbm_digits.py --quick    # smoke run
    python benchmarks/dbm_digits.py --exact-ll --sizes 64,16,16
"""

from __future__ import annotations

import argparse
import time

import torch

from inference import (ais_log_partition, exact_log_partition, fit, log_likelihood, pretrain_dbm,
                       variational_bound)
from inference.partition.exact import MAX_EXACT_UNITS, enumeration_set
from models import DBM, RBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.dbm_digits
    from _common import machine_line, report, set_threads
except ImportError:
    from benchmarks._common import machine_line, report, set_threads


def _log_z(model, train, chains, seed, steps):
    betas = None if steps is None else torch.linspace(0, 1, steps, dtype=torch.float64)
    ais = ais_log_partition(model, n_chains=chains, betas=betas, data=train, seed=seed, progress=False)
    _, n = enumeration_set(model)
    exact = exact_log_partition(model) if n <= MAX_EXACT_UNITS else None
    return exact, ais


def run_dbm(sizes, centered, pretrain, train, test, args, seed):
    t0 = time.perf_counter()
    dbm = DBM.from_data(train, sizes[1:], centered=centered, seed=seed)
    if pretrain:
        pretrain_dbm(dbm, train, epochs=pretrain, seed=seed, progress=False)
    fit(dbm, train, method="sml", epochs=args.epochs, lr=args.lr, seed=seed, monitor=0, progress=False)
    seconds = time.perf_counter() - t0
    exact, ais = _log_z(dbm, train, args.ais_chains, seed, args.ais_steps)
    log_z = exact or ais
    bound = variational_bound(dbm, test, log_z)
    out = {"bound": bound.mean, "bound_lower": bound.lower, "bound_upper": bound.upper, "sem": bound.sem,
           "log_z": log_z.log_z, "log_z_method": log_z.method, "ais_log_z": ais.log_z,
           "ais_bracket": [ais.lower, ais.upper], "exact_log_z": exact.log_z if exact else None,
           "seconds": seconds, "train_bound": variational_bound(dbm, train, log_z).mean}
    if args.exact_ll:
        out["log_likelihood"] = log_likelihood(dbm, test, log_z).mean
    return out


def run_rbm(n_hidden, train, test, args, seed):
    t0 = time.perf_counter()
    rbm = RBM.from_data(train, n_hidden, seed=seed)
    fit(rbm, train, seed=seed, monitor=0, progress=False)
    seconds = time.perf_counter() - t0
    exact, ais = _log_z(rbm, train, args.ais_chains, seed, args.ais_steps)
    log_z = exact or ais
    ll = log_likelihood(rbm, test, log_z)
    return {"log_likelihood": ll.mean, "lower": ll.lower, "upper": ll.upper, "log_z": log_z.log_z,
            "log_z_method": log_z.method, "ais_log_z": ais.log_z, "exact_log_z": exact.log_z if exact else None,
            "seconds": seconds}


def _fmt_z(res):
    if res["exact_log_z"] is not None:
        return f"{res['exact_log_z']:.2f} exact (AIS {res['ais_log_z'] - res['exact_log_z']:+.3f})"
    lo, hi = res.get("ais_bracket", [None, None])
    return f"{res['ais_log_z']:.2f} AIS" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64,16,16", "64,32,16"], help="DBM layer sizes")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--pretrain", type=int, default=20, help="CD-1 epochs per layer of pre-training")
    parser.add_argument("--variants", nargs="+", default=["plain", "centered", "pretrained", "pretrained+centered"],
                        choices=["plain", "centered", "pretrained", "pretrained+centered"])
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--ais-steps", type=int, default=None, help="linear schedule of this many betas "
                        "(default: the 14,501-step schedule)")
    parser.add_argument("--exact-ll", action="store_true", help="also the exact test log-likelihood of each DBM")
    parser.add_argument("--no-rbm", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: 64,8,4, 2 epochs, short AIS")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.epochs, args.pretrain, args.ais_chains, args.ais_steps = ["64,8,4"], 2, 1, 10, 100
        args.variants = ["plain", "pretrained+centered"]
    set_threads(args.threads)
    train, test = load_digits(binarize=True, split="train"), load_digits(binarize=True, split="test")
    print(f"binarized digits: train {tuple(train.shape)}, test {tuple(test.shape)}; DBM: SML {args.epochs} epochs, "
          f"lr {args.lr}, batch 20; pre-training {args.pretrain} epochs per layer; seed {args.seed}")
    print(machine_line(), flush=True)
    rows, results = [], {}
    for spec in args.sizes:
        sizes = [int(s) for s in spec.split(",")]
        for variant in args.variants:
            res = run_dbm(sizes, "centered" in variant, args.pretrain if "pretrained" in variant else 0,
                          train, test, args, args.seed)
            name = f"DBM {'-'.join(map(str, sizes))}, {variant}"
            results[name] = res
            ll = f"{res['log_likelihood']:.2f}" if "log_likelihood" in res else "–"
            rows.append([name, f"{res['bound']:.2f} ± {res['sem']:.2f}", ll, f"{res['train_bound']:.2f}",
                         _fmt_z(res), f"{res['seconds']:.0f}"])
            print("  " + " | ".join(rows[-1]), flush=True)
        if not args.no_rbm:
            h = sum(sizes[1:])
            res = run_rbm(h, train, test, args, args.seed)
            name = f"RBM 64x{h} (CD-1 default recipe)"
            results[name] = res
            rows.append([name, "–", f"{res['log_likelihood']:.2f}", "–", _fmt_z(res), f"{res['seconds']:.0f}"])
            print("  " + " | ".join(rows[-1]), flush=True)
    header = ["model", "test bound (nats)", "test log p(v)", "train bound", "log Z", "s/train"]
    report(header, rows, args, results)


if __name__ == "__main__":
    main()
