"""Test log-density of Gaussian RBMs and Gaussian mixtures on the dequantised digits.

Data: ``pgm.load_digits(binarize=False, dequantize=True)``, the 8x8 digits as
(pixel + u) / 17 with fixed uniform noise u, so that every model is a density on
[0, 1)^64 and the numbers compare across models and libraries. Models are trained on the
1438-image ``"train"`` split and scored by the mean log-density of the 359-image
``"test"`` split, in nats per image (higher is better), once per seed.

Rows:

- ``GaussianMixture``: scikit-learn's EM fit (``random_state=seed``, its defaults
  otherwise) with 1 full-covariance component and 10, 20, 50 diagonal ones; scored by
  its own ``score``;
- ``GaussianRBM``: ``GaussianRBM.from_data(train, n_hidden, seed=seed)`` trained by
  ``inference.fit(model, train, method="pcd", epochs=200, lr=GaussianRBM.default_lr,
  seed=seed)`` with fit's other defaults (PCD-1, SGD with momentum 0.5 then 0.9, linear
  decay, batch 20): the default recipe. For comparison: fit's default CD-1 at the same
  rate; CD-1 with a constant momentum 0.9 at lr 0.01 (the settings of a plain CD-1 loop);
  the default recipe at 10x the rate; PCD-1 with Adam (``optimizer=torch.optim.Adam,
  momentum=None``) at lr 0.01 and at 10x that.

GaussianRBM rows are scored by ``inference.log_likelihood`` with log Z from
``inference.exact_log_partition`` (enumerating 2^n_hidden hidden states, up to 20
hidden units) or from ``inference.ais_log_partition`` (``--ais-chains`` chains on its
default schedule, base fitted to the training data), whose ±3 standard-error bracket is
shown; AIS tends to underestimate log Z, hence to overstate the log-density. A run whose
parameters become non-finite is reported as diverged. Each row states its number of
learned parameters (a Gaussian RBM also holds 2 x 64 fixed standardisation constants,
the data's means and standard deviations).

Usage::

    python benchmarks/grbm_digits.py                       # 3 seeds x 200 epochs, 16 and 64 hidden
    python benchmarks/grbm_digits.py --quick               # smoke run: seed 0, 5 epochs, 16 hidden
    python benchmarks/grbm_digits.py --hidden 16 20 --seeds 0 1 2 3 4 --json out.json
    python benchmarks/grbm_digits.py --methods "GaussianRBM, default recipe" --no-mixtures

Seconds per run are the wall time of training alone, on whatever else the machine is
doing (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch

from inference import ais_log_partition, exact_log_partition, fit, log_likelihood
from models.energy import GaussianRBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.grbm_digits
    from _common import load_average, machine_line, peer_installed, set_threads
except ImportError:
    from benchmarks._common import load_average, machine_line, peer_installed, set_threads

__all__ = ["MIXTURES", "RBM_METHODS", "score_rbm", "run_rbm", "run_mixture", "markdown_table", "main"]

EXACT_MAX_HIDDEN = 20
LR = GaussianRBM.default_lr

#: name -> (n_components, covariance_type) of scikit-learn's GaussianMixture
MIXTURES = {
    "GaussianMixture, 1 full": (1, "full"),
    "GaussianMixture, 10 diag": (10, "diag"),
    "GaussianMixture, 20 diag": (20, "diag"),
    "GaussianMixture, 50 diag": (50, "diag"),
}

_ADAM = {"method": "pcd", "optimizer": torch.optim.Adam, "momentum": None}

#: name -> fit options (epochs, seed, monitor and progress are added)
RBM_METHODS = {
    "GaussianRBM, default recipe": {"method": "pcd", "lr": LR},
    "GaussianRBM, CD-1": {"method": "cd", "lr": LR},
    "GaussianRBM, CD-1, momentum 0.9, lr 0.01": {"method": "cd", "lr": 0.01, "momentum": 0.9},
    "GaussianRBM, default recipe at 10x lr": {"method": "pcd", "lr": 10 * LR},
    "GaussianRBM, PCD-1 Adam, lr 0.01": {**_ADAM, "lr": 0.01},
    "GaussianRBM, PCD-1 Adam, lr 0.1": {**_ADAM, "lr": 0.1},
}


def _mixture_parameters(k: int, cov: str, d: int) -> int:
    per = d + (d * (d + 1) // 2 if cov == "full" else d)
    return k * per + (k - 1)


def _rbm_parameters(n_visible: int, n_hidden: int) -> int:
    return n_visible * n_hidden + n_visible + n_hidden + n_visible  # W, b, c, log σ


# -- scoring ----------------------------------------------------------------------------------

def _finite(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def score_rbm(model, test, train, ais_chains=200, seed=0):
    """(mean, lower, upper) test log-density in nats per image, and the log Z method.

    log Z exact for up to 20 hidden units, else AIS with its bracket.
    """
    if model.n_hidden <= EXACT_MAX_HIDDEN:
        log_z = exact_log_partition(model)
    else:
        log_z = ais_log_partition(model, n_chains=ais_chains, data=train, seed=seed, progress=False)
    ll = log_likelihood(model, test, log_z)
    return (ll.mean, ll.lower, ll.upper), log_z.method


# -- the runs ---------------------------------------------------------------------------------

def run_rbm(name, n_hidden, train, test, seeds, epochs, ais_chains=200):
    """Train and score ``RBM_METHODS[name]`` once per seed: a dict of lists (``ll``,
    ``lower``, ``upper``, ``seconds``; ``diverged`` counts the non-finite runs)."""
    options = RBM_METHODS[name]
    out = {"ll": [], "lower": [], "upper": [], "seconds": [], "diverged": 0, "diverged_at": [], "method": None}
    for seed in seeds:
        model = GaussianRBM.from_data(train, n_hidden, seed=seed)
        stopped = []

        def stop_when_non_finite(epoch, history, m):
            if not _finite(m):
                stopped.append(epoch)
                return True
            return False

        t0 = time.perf_counter()
        fit(model, train, epochs=epochs, seed=seed, monitor=0, progress=False, callbacks=stop_when_non_finite,
            **options)
        out["seconds"].append(time.perf_counter() - t0)
        if stopped or not _finite(model):
            out["diverged"] += 1
            out["diverged_at"].append(stopped[0] if stopped else epochs)
            continue
        (mean, lower, upper), out["method"] = score_rbm(model, test, train, ais_chains, seed)
        out["ll"].append(mean)
        out["lower"].append(lower)
        out["upper"].append(upper)
    return out


def run_mixture(name, train, test, seeds):
    """Fit and score ``MIXTURES[name]`` once per seed (float64)."""
    from sklearn.mixture import GaussianMixture

    k, cov = MIXTURES[name]
    x, y = train.double().numpy(), test.double().numpy()
    out = {"ll": [], "lower": [], "upper": [], "seconds": [], "diverged": 0, "diverged_at": [], "method": "exact"}
    for seed in seeds:
        t0 = time.perf_counter()
        gm = GaussianMixture(n_components=k, covariance_type=cov, random_state=seed).fit(x)
        out["seconds"].append(time.perf_counter() - t0)
        ll = float(gm.score(y))
        out["ll"].append(ll)
        out["lower"].append(ll)
        out["upper"].append(ll)
    return out


# -- report -----------------------------------------------------------------------------------

def markdown_table(header, rows) -> str:
    """A markdown table: first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _row(name, n_hidden, n_params, res):
    n = len(res["ll"]) + res["diverged"]
    if res["ll"]:
        mean = statistics.mean(res["ll"])
        std = statistics.stdev(res["ll"]) if len(res["ll"]) > 1 else 0.0
        value = f"{mean:.2f} ± {std:.2f}"
        if res["method"] == "ais":  # mean distances of the per-seed bracket ends from the estimates
            below = statistics.mean(m - lo for m, lo in zip(res["ll"], res["lower"]))
            above = statistics.mean(up - m for m, up in zip(res["ll"], res["upper"]))
            value += f" (bracket −{below:.2f}/+{above:.2f})"
    else:
        value = "—"
    if res["diverged"]:
        value += f"; diverged {res['diverged']}/{n} (epochs {res['diverged_at']})"
    log_z = {"exact": "exact", "ais": "AIS", None: "—"}[res["method"]] if n_hidden else "normalised"
    return [name, n_hidden if n_hidden else "", n_params, value, log_z, f"{statistics.mean(res['seconds']):.1f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default: 0 1 2")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 64], help="hidden layer sizes (default 16 64)")
    parser.add_argument("--methods", nargs="+", choices=list(RBM_METHODS), default=list(RBM_METHODS),
                        metavar="NAME", help="subset of the GaussianRBM rows (default: all)")
    parser.add_argument("--mixtures", action=argparse.BooleanOptionalAction, default=True,
                        help="also fit scikit-learn's Gaussian mixtures (default: on)")
    parser.add_argument("--ais-chains", type=int, default=200, help="AIS chains beyond 20 hidden units (default 200)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed 0, 5 epochs, 16 hidden units, default recipe and 1-component mixture")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    mixtures = list(MIXTURES) if args.mixtures else []
    if args.quick:
        args.seeds, args.epochs, args.hidden = [0], 5, [16]
        args.methods = ["GaussianRBM, default recipe"]
        mixtures = mixtures[:1]
    set_threads(args.threads)
    if mixtures and not peer_installed("sklearn.mixture"):
        mixtures = []

    train = load_digits(binarize=False, dequantize=True, split="train")
    test = load_digits(binarize=False, dequantize=True, split="test")
    print(f"dequantised digits: train {tuple(train.shape)}, test {tuple(test.shape)}; GaussianRBM: {args.epochs} "
          f"epochs, batch 20, default_lr {LR}; seeds {args.seeds}")
    print(machine_line())
    print("mean test log-density, nats per image (mean ± std over seeds)\n", flush=True)

    d = train.shape[1]
    rows, results = [], {}
    for name in mixtures:
        res = run_mixture(name, train, test, args.seeds)
        k, cov = MIXTURES[name]
        rows.append(_row(name, None, _mixture_parameters(k, cov, d), res))
        results[name] = res
        print("  " + " | ".join(str(c) for c in rows[-1]), flush=True)
    for n_hidden in args.hidden:
        for name in args.methods:
            res = run_rbm(name, n_hidden, train, test, args.seeds, args.epochs, args.ais_chains)
            rows.append(_row(name, n_hidden, _rbm_parameters(d, n_hidden), res))
            results[f"{name} [{n_hidden} hidden]"] = res
            print("  " + " | ".join(str(c) for c in rows[-1]), flush=True)

    print()
    print(markdown_table(["model", "hidden", "parameters", "test log-density", "log Z", "s/run"], rows))
    print(f"\n{load_average()} after the run")
    if args.json:
        payload = {"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs": args.epochs,
                   "seeds": args.seeds, "hidden": args.hidden, "default_lr": LR, "results": results}
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
