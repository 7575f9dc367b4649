"""The spread over seeds of every quoted result: the recipes of the README, ``pgm demo`` and the tutorials.

A single training run's numbers depend on the machine as well as on the seed. The native
RBM kernels (``inference/backends/rbm/csrc``) are compiled for the host CPU
(``-march=native``), and torch picks its own CPU kernels (AVX2, AVX-512) at run time, so
float32 results round differently on different processors; training draws Bernoulli
samples by comparing probabilities with uniforms, and a rounding difference that flips one
draw sends the run down another trajectory. Seed 0 on two machines therefore differs
about as much as seed 0 and seed 1 on one machine. What reproduces is the distribution:
this script runs each quoted recipe over seeds 0..S-1 and prints the mean ± standard
deviation (and min-max) of each quoted number.

Recipes (``--only NAME``), each exactly the code that the quoted number comes from:

- ``rbm``: ``pgm demo --parts rbm`` (= the README's quickstart and
  ``tutorials/rbm_digits.py --full``): ``RBM.from_data(train, 16, seed=s)``,
  ``fit(rbm, train, epochs=50, seed=s)`` (CD-1, the default recipe); exact and AIS
  (14,501 steps, 100 chains) log Z, and the tutorial's reverse AIS (same schedule,
  1,000 burn-in sweeps) on the same model;
- ``dbm``: ``pgm demo --parts dbm`` (= ``tutorials/dbm_digits.py --full``): a centred
  64-16-16 DBM, variational SML, 50 epochs at lr 0.02; its variational bound with exact
  log Z, and the tutorial's AIS log Z and bottom-half in-painting on the same model;
- ``directed``: ``pgm demo --parts directed``: an SBN 64-16 by reweighted wake-sleep
  (K = 5, lr 3e-3) and a VAE 64-200-10 by the ELBO (lr 1e-3), 30 epochs at batch 20,
  importance estimates with K = 1000 (the SBN is also ``tutorials/directed_digits.py``'s);
- ``dbn``: ``pgm demo --parts dbn``: a DBN 64-32-16, greedy CD-1, 50 epochs per layer,
  the importance estimate (K = 1000) and the ELBO with the top RBM's log Z exact;
- ``grbm``: the README's quickstart and ``tutorials/grbm_digits.py --full``: a
  ``GaussianRBM.from_data(train, 16, seed=s)`` on the dequantised digits, PCD-1,
  200 epochs; the test log-density with exact log Z and by AIS (2,001 steps);
- ``dbn-tutorial``: ``tutorials/dbn_digits.py --full``: the same DBN with the test score
  after each greedy layer, 10 epochs of up-down, then 30 epochs of discriminative
  fine-tuning against a random MLP of the same shape (test accuracy);
- ``vae2d``: ``tutorials/directed_digits.py --full``'s VAE with a two-dimensional latent;
- ``helmholtz``: ``tutorials/helmholtz_digits.py --full``: one SBN 64-16 trained by
  reweighted wake-sleep, wake-sleep and NVIL (30 epochs each), importance estimates and
  exact log-likelihoods (about 2 min per seed).

``--machines`` shows the machine effect instead: it runs one recipe at one seed (``--only``,
default ``rbm``) at one seed (``--seed``) in fresh processes, each with the native
kernels built for another CPU level (``PGM_NATIVE_CFLAGS``) or torch's CPU kernels held to
AVX2 (``ATEN_CPU_CAPABILITY``, ``MKL_ENABLE_INSTRUCTIONS``), as on other processors, and
with the native kernels turned off (``PGM_NATIVE=0``: the torch path, which draws other
random numbers). A build the processor cannot run is reported as such.

Usage::

    python benchmarks/seed_spread.py                              # every recipe, seeds 0-4 (about 30 min)
    python benchmarks/seed_spread.py --only rbm dbn --seeds 5 --json spread.json
    python benchmarks/seed_spread.py --only helmholtz --seeds 3
    python benchmarks/seed_spread.py --machines --only rbm --seed 0
    python benchmarks/seed_spread.py --quick --seeds 2 --only rbm   # smoke run

Runs use one torch thread (``--threads``), as the tutorials do.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.seed_spread
    from _common import load_average, machine_line, markdown_table, set_threads, write_json
except ImportError:
    from benchmarks._common import load_average, machine_line, markdown_table, set_threads, write_json

from pgm.datasets import load_digits

__all__ = ["RECIPES", "QUOTED_IN", "run_recipe", "summarise", "band", "main"]


# -- the recipes ------------------------------------------------------------------------------

def _demo(part, seed, quick, folder):
    """``pgm demo --parts PART --seed SEED`` into ``folder``: the part's metrics."""
    from inference.demo import run_demo

    metrics = run_demo(out=folder, quick=quick, seed=seed, parts=(part,), progress=False, echo=lambda *a, **k: None)
    return metrics if part == "rbm" else metrics[part]  # the RBM's metrics are at the top level


def rbm(seed, quick, folder):
    from inference import default_schedule, load_model, log_likelihood, reverse_ais_log_partition

    m = _demo("rbm", seed, quick, folder)
    ll = m["log_likelihood"]
    # tutorials/rbm_digits.py: reverse AIS on the full schedule from chains started at training rows
    model = load_model(Path(folder) / "model.pt")
    train = load_digits(split="train")
    test = load_digits(split="test")
    betas = torch.linspace(0, 1, 301, dtype=torch.float64) if quick else default_schedule()
    rais = reverse_ais_log_partition(model, n_chains=100, betas=betas, data=train, seed=seed,
                                     burn_in=200 if quick else 1000, progress=False)
    return {"test LL, exact log Z": ll["test_exact"]["mean"],
            "test LL, AIS log Z": ll["test_ais"]["mean"],
            "test LL, reverse AIS log Z": log_likelihood(model, test, rais).mean,
            "train LL, exact log Z": ll["train_exact"]["mean"],
            "log Z, exact": m["log_z"]["exact"],
            "AIS log Z - exact": m["log_z"]["ais_error"]}


def dbm(seed, quick, folder):
    from inference import ais_log_partition, default_schedule, inpaint, load_model

    m = _demo("dbm", seed, quick, folder)
    model = load_model(Path(folder) / "dbm.pt")
    train, test = load_digits(split="train"), load_digits(split="test")
    # tutorials/dbm_digits.py: AIS log Z on the default schedule, and in-painting of the bottom half
    betas = torch.linspace(0, 1, 301, dtype=torch.float64) if quick else default_schedule()
    ais = ais_log_partition(model, n_chains=100, betas=betas, data=train, seed=seed, progress=False)
    mask = torch.zeros_like(test, dtype=torch.bool)
    mask[:, 32:] = True
    filled = inpaint(model, test, mask).probs
    accuracy = ((filled[mask] > 0.5).float() == test[mask]).float().mean().item()
    return {"test bound, exact log Z": m["variational_bound"]["test"]["mean"],
            "train bound, exact log Z": m["variational_bound"]["train"]["mean"],
            "log Z, exact": m["log_z"],
            "AIS log Z - exact": ais.log_z - m["log_z"],
            "in-painting accuracy (bottom half)": accuracy}


def directed(seed, quick, folder):
    m = _demo("directed", seed, quick, folder)
    return {"SBN test LL (importance)": m["sbn"]["test_log_likelihood"]["mean"],
            "SBN test ELBO": m["sbn"]["test_elbo"],
            "VAE test LL (importance)": m["vae"]["test_log_likelihood"]["mean"],
            "VAE test ELBO": m["vae"]["test_elbo"]}


def dbn(seed, quick, folder):
    m = _demo("dbn", seed, quick, folder)
    return {"test LL (importance)": m["test_log_likelihood"]["mean"], "test bound (ELBO)": m["test_elbo"]}


def grbm(seed, quick, folder):
    """tutorials/grbm_digits.py --full (the README's quickstart trains the same run)."""
    from inference import ais_log_partition, exact_log_partition, fit, log_likelihood
    from models import GaussianRBM

    train = load_digits(binarize=False, dequantize=True, split="train")
    test = load_digits(binarize=False, dequantize=True, split="test")
    model = GaussianRBM.from_data(train, n_hidden=16, seed=seed)
    fit(model, train, method="pcd", epochs=4 if quick else 200, seed=seed, evaluate="exact", eval_data=test,
        eval_every=2 if quick else 10, progress=False)
    exact = exact_log_partition(model)
    ais = ais_log_partition(model, n_chains=100, betas=torch.linspace(0, 1, 301 if quick else 2001,
                                                                      dtype=torch.float64),
                            data=train, seed=seed, progress=False)
    return {"test log-density, exact log Z": log_likelihood(model, test, exact).mean,
            "test log-density, AIS log Z": log_likelihood(model, test, ais).mean}


def dbn_tutorial(seed, quick, folder):
    """tutorials/dbn_digits.py --full with every seed 0 replaced by ``seed`` (generators 0, 1 by seed, seed + 1)."""
    from pyro import poutine

    from inference import DBNClassifier, discriminative_finetune, fit, set_dbn_prior
    from models import DBN

    train, labels = load_digits(split="train", return_labels=True)
    test, test_labels = load_digits(split="test", return_labels=True)
    epochs, up_down, finetune, k = (3, 1, 3, 50) if quick else (50, 10, 30, 1000)
    ais = {"n_chains": 20, "betas": torch.linspace(0, 1, 200, dtype=torch.float64)} if quick else {}
    model = DBN([64, 32, 16], seed=seed)
    set_dbn_prior(model, "exact", n_gibbs=20)
    poutine.trace(model.model).get_trace(test[:5]).compute_log_prob()
    hist = fit(model, train, method="greedy", epochs=epochs, seed=seed, evaluate="auto", eval_data=test,
               n_samples=k, ais_options=ais, monitor=0, progress=False)

    def visible_means(sweeps=100 if quick else 1000):
        set_dbn_prior(model, model.prior.log_z, n_gibbs=sweeps, generator=torch.Generator().manual_seed(seed))
        model.sample(36, torch.Generator().manual_seed(seed + 1), latents=True)

    visible_means()
    ud = fit(model, train, method="up_down", epochs=up_down, k=10, lr=0.01, seed=seed, evaluate="exact",
             eval_data=test, n_samples=k, progress=False)
    visible_means()
    recipe = dict(epochs=finetune, lr=0.1, seed=seed, eval_data=test, eval_labels=test_labels, progress=False)
    pretrained, _ = discriminative_finetune(model, train, labels, **recipe)
    random, _ = discriminative_finetune(DBNClassifier(model.sizes, 10, seed=seed), train, labels, **recipe)
    layer1, layer2 = hist.bounds
    return {"layer 1: test LL (AIS log Z)": layer1["estimate"],
            "layer 2: test LL (importance)": layer2["estimate"],
            "layer 2: test bound (ELBO)": layer2["bound"],
            "up-down: test LL (importance)": ud.log_likelihood[-1],
            "up-down: test bound (ELBO)": ud.bound[-1],
            "accuracy %, DBN-initialised MLP": 100 * pretrained.score(test, test_labels),
            "accuracy %, random MLP": 100 * random.score(test, test_labels)}


def vae2d(seed, quick, folder):
    """tutorials/directed_digits.py --full's VAE 64-200-2 (the tutorial's fit and estimate use seed 0)."""
    from inference import fit, importance_log_likelihood
    from models import VAE

    train, test = load_digits(split="train"), load_digits(split="test")
    epochs, k = (2, 50) if quick else (30, 1000)
    model = VAE(64, 200, 2, seed=seed)
    fit(model, train, method="elbo", epochs=epochs, batch_size=20, lr=3e-3 if quick else 1e-3, seed=seed,
        progress=False)
    est = importance_log_likelihood(model, test, n_samples=k, seed=seed)
    return {"VAE 64-200-2 test LL (importance)": est.mean, "VAE 64-200-2 test ELBO": est.elbo}


def helmholtz(seed, quick, folder):
    """tutorials/helmholtz_digits.py --full: one net, three learning rules."""
    from inference import fit, importance_log_likelihood
    from models import HelmholtzMachine

    train, test = load_digits(split="train"), load_digits(split="test")
    epochs, k = (1, 20) if quick else (30, 1000)
    data, scored = (train[:300], test[:4]) if quick else (train, test)
    out = {}
    for label, method in (("RWS", "rws"), ("wake-sleep", "wake_sleep"), ("NVIL", "nvil")):
        net = HelmholtzMachine.from_data(train, [64, 16], seed=seed)
        fit(net, data, method=method, n_particles=5, epochs=epochs, batch_size=20, lr=3e-3, seed=seed,
            progress=False)
        est = importance_log_likelihood(net, scored, n_samples=k, seed=seed)
        with torch.no_grad():
            exact = net.exact_log_likelihood(scored).mean().item()
        out |= {f"{label}: test LL (importance)": est.mean, f"{label}: test ELBO": est.elbo,
                f"{label}: test LL (exact)": exact}
    return out


#: name -> the function ``(seed, quick, folder) -> {quantity: value}``
RECIPES = {"rbm": rbm, "dbm": dbm, "directed": directed, "dbn": dbn, "grbm": grbm, "dbn-tutorial": dbn_tutorial,
           "vae2d": vae2d, "helmholtz": helmholtz}
#: name -> where its numbers are quoted
QUOTED_IN = {
    "rbm": "README (quickstart, demo), pgm demo, tutorials/rbm_digits.py, leaderboard",
    "dbm": "README (demo, tutorials), pgm demo, tutorials/dbm_digits.py",
    "directed": "README (demo, tutorials), pgm demo, tutorials/directed_digits.py",
    "dbn": "README (demo, leaderboard), pgm demo",
    "grbm": "README (quickstart, tutorials), tutorials/grbm_digits.py",
    "dbn-tutorial": "README (tutorials), tutorials/dbn_digits.py",
    "vae2d": "README (tutorials), tutorials/directed_digits.py",
    "helmholtz": "README (tutorials), tutorials/helmholtz_digits.py",
}


def run_recipe(name, seeds, quick=False, echo=print) -> dict:
    """``{quantity: [value per seed]}`` and ``"seconds"``, one run of ``RECIPES[name]`` per seed."""
    values, seconds = {}, []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            got = RECIPES[name](seed, quick, folder)
            seconds.append(time.perf_counter() - t0)
        for quantity, value in got.items():
            values.setdefault(quantity, []).append(float(value))
        echo(f"  {name} seed {seed} ({seconds[-1]:.0f} s): "
             + "; ".join(f"{q} {v:.4g}" for q, v in got.items()), flush=True)
    return {"values": values, "seconds": seconds, "seeds": list(seeds)}


def summarise(values) -> dict:
    """mean, sd (sample standard deviation, n - 1), min, max and n of a list of numbers."""
    finite = [v for v in values if math.isfinite(v)]
    sd = statistics.stdev(finite) if len(finite) > 1 else float("nan")
    return {"mean": statistics.mean(finite) if finite else float("nan"), "sd": sd,
            "min": min(finite, default=float("nan")), "max": max(finite, default=float("nan")), "n": len(finite),
            "non_finite": len(values) - len(finite)}


def band(mean, sd, n, level=0.99) -> float:
    """How many sds around a mean of ``n`` runs hold one more run with probability ``level``:
    the Student-t prediction interval, t(1 − (1 − level)/2, n − 1) · √(1 + 1/n)."""
    from scipy.stats import t

    return float(t.ppf(1 - (1 - level) / 2, n - 1) * math.sqrt(1 + 1 / n))


def _digits(sd) -> int:
    """Decimals that show two significant digits of ``sd`` (at least 2)."""
    if not math.isfinite(sd) or sd <= 0:
        return 3
    return max(2, 1 - math.floor(math.log10(sd)))


def _table_rows(results):
    rows = []
    for name, res in results.items():
        for quantity, values in res["values"].items():
            s = summarise(values)
            d = _digits(s["sd"])
            rows.append([name, quantity, f"{s['mean']:.{d}f} ± {s['sd']:.{d}f}", f"{s['min']:.{d}f}",
                         f"{s['max']:.{d}f}", f"{values[0]:.{d}f}", str(s["n"])])
    return rows


# -- the machine effect -----------------------------------------------------------------------

def _variants():
    """(label, environment changes) of the runs of ``--machines``."""
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    avx2_torch = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    rows = [("this machine (native kernels -march=native)", {})]
    if x86:
        rows += [("native kernels for x86-64-v3 (AVX2, FMA)", {"PGM_NATIVE_CFLAGS": "-march=x86-64-v3 -fopenmp"}),
                 ("native kernels for x86-64 (SSE2 only)", {"PGM_NATIVE_CFLAGS": "-march=x86-64 -fopenmp"}),
                 ("torch's CPU kernels held to AVX2", avx2_torch),
                 ("an AVX2 machine: both of the above, x86-64-v3",
                  {"PGM_NATIVE_CFLAGS": "-march=x86-64-v3 -fopenmp", **avx2_torch})]
    rows += [("per-pass native kernels, torch's GEMMs (PGM_NATIVE_STEP=0)", {"PGM_NATIVE_STEP": "0"}),
             ("no native kernels (PGM_NATIVE=0: other random numbers)", {"PGM_NATIVE": "0"})]
    return rows


def machines(name, seed, threads, echo=print) -> list:
    """Run ``name`` at ``seed`` in a fresh process per variant of :func:`_variants`; rows of
    (label, {quantity: value} or an error line, the native kernels' status)."""
    rows = []
    script = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as folder:
        for i, (label, env) in enumerate(_variants()):
            out = Path(folder) / f"{i}.json"
            # a private kernel cache: each build is compiled afresh and none is left behind
            environ = {**os.environ, "PGM_NATIVE_CACHE": str(Path(folder) / "cache"), **env}
            cmd = [sys.executable, str(script), "--only", name, "--seeds", "1", "--first-seed", str(seed),
                   "--threads", str(threads), "--json", str(out)]
            proc = subprocess.run(cmd, env=environ, capture_output=True, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
                why = "the processor cannot run this build" if proc.returncode in (-4, 132) else last
                rows.append((label, why, ""))
            else:
                payload = json.loads(out.read_text())
                got = {q: v[0] for q, v in payload["results"][name]["values"].items()}
                rows.append((label, got, payload["native"]))
            echo(f"  {label}: {rows[-1][1]}", flush=True)
    return rows


def _report_machines(name, seed, rows):
    base = rows[0][1] if isinstance(rows[0][1], dict) else {}
    quantities = list(base)
    header = ["build", *quantities]
    table = []
    for label, got, _ in rows:
        if not isinstance(got, dict):
            table.append([label, got] + [""] * (len(quantities) - 1))
            continue
        cells = []
        for q in quantities:
            diff = got[q] - base[q]
            cells.append(f"{got[q]:.3f}" + ("" if label == rows[0][0] else f" ({diff:+.3f})"))
        table.append([label, *cells])
    print(f"\n{name}, seed {seed}, one process per build (difference from this machine's build in brackets):")
    print(markdown_table(header, table))
    for label, got, native in rows:
        if native:
            print(f"  {label}: {native}")


# -- main -------------------------------------------------------------------------------------

def _native_status() -> str:
    from inference.backends.rbm import native

    return native.status()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="run seeds 0..S-1 (default 5)")
    parser.add_argument("--first-seed", type=int, default=0, metavar="F",
                        help="start at seed F instead: seeds F..F+S-1 (to split a long recipe's runs)")
    parser.add_argument("--only", nargs="+", choices=list(RECIPES), default=None, metavar="NAME",
                        help=f"recipes to run (default: all of {', '.join(RECIPES)})")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few epochs per recipe, short schedules")
    parser.add_argument("--machines", action="store_true",
                        help="instead, run one recipe (--only, default rbm) at seed --seed in one process per "
                             "CPU build")
    parser.add_argument("--seed", type=int, default=0, help="the seed of --machines (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.seeds < 1 and not args.machines:
        parser.error("--seeds must be at least 1")
    set_threads(args.threads)
    names = args.only or list(RECIPES)

    if args.machines:
        name = names[0]
        rows = machines(name, args.seed, args.threads)
        _report_machines(name, args.seed, rows)
        if args.json:
            write_json(args.json, {"args": vars(args), "recipe": name, "seed": args.seed,
                                   "builds": [{"build": label, "values": got, "native": native}
                                              for label, got, native in rows]})
        return rows

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"seed spread{' (quick: smoke run, numbers mean nothing)' if args.quick else ''}: seeds {seeds}; "
          f"{machine_line()}")
    print(f"native kernels: {_native_status()}\n", flush=True)
    results = {}
    for name in names:
        results[name] = run_recipe(name, seeds, args.quick)
    header = ["recipe", "quantity", "mean ± sd", "min", "max", f"seed {seeds[0]}", "seeds"]
    print("\n" + markdown_table(header, _table_rows(results)))
    print("\nsd: the sample standard deviation over the seeds (n − 1). A new run (another seed, or the same seed "
          "on another machine)")
    if len(seeds) > 1:
        k = band(0, 1, len(seeds))
        print(f"falls within mean ± {k:.1f} sd with probability 0.99 (Student t, {len(seeds) - 1} degrees of "
              "freedom, if the values are normal).")
    print("\nseconds per run: " + ", ".join(f"{n} {statistics.mean(r['seconds']):.0f}" for n, r in results.items()))
    for name in names:
        print(f"  {name}: quoted in {QUOTED_IN[name]}")
    print(f"{load_average()} after the run")
    if args.json:
        summary = {n: {q: summarise(v) for q, v in r["values"].items()} for n, r in results.items()}
        write_json(args.json, {"args": vars(args), "torch": torch.__version__, "machine": platform.machine(),
                               "processor": platform.processor(), "native": _native_status(),
                               "results": results, "summary": summary})
    return results


if __name__ == "__main__":
    main()
