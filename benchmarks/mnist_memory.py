"""Peak memory of MNIST-scale models and their evaluations, each case in a fresh process.

Data of MNIST's shape: 60,000 training rows and 10,000 test rows of 784 binary pixels,
float32 (188 MB and 31 MB). With ``--mnist FOLDER`` the IDX files there
(``pgm.load_mnist(..., binarize=True)``) are repeated row by row up to those counts (a
folder holding the full MNIST gives the real data set); without it, rows of independent
Bernoulli(1/2) pixels. The report says which.

Each case runs in a child process of its own (``python benchmarks/mnist_memory.py --child
CASE``) so that the peaks of two cases never mix. The child imports torch and the library,
makes the data it needs (the training rows for training and for AIS, whose base is fitted
to them; the test rows for the bound and the importance estimate), and reads the peak
resident set size ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the *baseline*. It then
builds the model, runs the case and reads the peak again. ``peak - baseline`` is what the
case itself needs on top of the data. torch has no public counter of its CPU
allocations (``torch.cuda.max_memory_allocated`` has no CPU twin, and a
``torch.profiler`` memory profile would weigh on the peak it measures), so the resident
set is the measure.

Cases, at the library's defaults unless said:

- ``rbm-fit``: ``fit(RBM.from_data(train, 500, seed=0), train, epochs=1)``: CD-1,
  batch 20 (3,000 steps), the per-epoch monitoring on;
- ``rbm-ais``: ``ais_log_partition(RBM(784, 500, seed=0), base="data", data=train,
  betas=torch.linspace(0, 1, B))``, 100 chains;
- ``dbm-pretrain``: ``pretrain_dbm(DBM.from_data(train, [500, 1000], seed=0), train,
  epochs=1)``: the greedy layer-wise initialisation (an option, ``pgm fit dbm
  --pretrain``; ``fit`` does not pre-train), batch 20, one epoch per layer;
- ``dbm-fit``: ``fit(DBM.from_data(train, [500, 1000], seed=0), train, epochs=1)``:
  variational SML (10 mean-field passes), batch 20 (3,000 steps);
- ``dbm-ais``: as ``rbm-ais`` for ``DBM([784, 500, 1000], seed=0)``;
- ``dbm-bound``: ``variational_bound(dbm, test, log_z=0.0)``, the mean-field bound of
  every test row (the value of log Z does not change the work);
- ``vae-fit``: ``fit(VAE(784, 400, 20, seed=0), train, epochs=1)``: the ELBO, batch 100
  (600 steps), Adam;
- ``vae-importance``: ``importance_log_likelihood(vae, test)``: K = 1000 draws per row,
  in passes of 2^17 particles (131 rows); ``--importance-batch ROWS`` passes ``batch=ROWS``.

The evaluated models are freshly built (seed 0), not the trained ones: what these
algorithms hold does not depend on the parameters' values. AIS runs ``B`` evenly spaced
inverse temperatures instead of the default schedule's 14,501, once per count given to
``--betas`` (default 1,000 and 3,000), so that the table shows whether the peak grows
with the number of steps (0 runs the default schedule).

Usage::

    python benchmarks/mnist_memory.py --mnist data/mnist      # all cases, about 10-30 min on 2 cores
    python benchmarks/mnist_memory.py --cases rbm-fit vae-importance --betas 500
    python benchmarks/mnist_memory.py --json memory.json
    python benchmarks/mnist_memory.py --cases vae-importance --importance-batch 32

Seconds are the wall time of the case alone (not the imports or the data), on whatever
else the machine is doing (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.mnist_memory
    from _common import load_average, machine_line, markdown_table, write_json
except ImportError:
    from benchmarks._common import load_average, machine_line, markdown_table, write_json

__all__ = ["CASES", "make_data", "run_case", "main"]

N_VISIBLE = 784
DBM_HIDDEN = (500, 1000)


# -- the data -------------------------------------------------------------------------------

def make_data(n: int, split: str, mnist: str | None, seed: int = 0) -> torch.Tensor:
    """``n`` rows of 784 binary float32 pixels: the binarized IDX files of ``split`` in the
    folder ``mnist`` repeated row by row up to ``n``, or Bernoulli(1/2) pixels when
    ``mnist`` is ``None`` (drawn in place, so no temporary copy adds to the peak)."""
    if mnist is not None:
        from pgm.datasets import load_mnist

        images = load_mnist(mnist, split=split, binarize=True)[0]
        if images.shape[1] != N_VISIBLE:
            raise ValueError(f"--mnist: expected images of {N_VISIBLE} pixels in {mnist!r}, got {images.shape[1]}")
        return images[torch.arange(n) % images.shape[0]]
    data = torch.empty(n, N_VISIBLE)
    gen = torch.Generator().manual_seed(seed + (split == "test"))
    for chunk in data.split(4096):
        chunk.bernoulli_(0.5, generator=gen)
    return data


# -- the cases: each returns a description of what ran ---------------------------------------

def _rbm_fit(train, test, opts):
    from inference import fit
    from models.energy import RBM

    hist = fit(RBM.from_data(train, 500, seed=0), train, epochs=1, progress=False)
    return f"CD-1, batch 20, {-(-train.shape[0] // 20)} steps (1 epoch), monitoring on; {len(hist)} epoch"


def _ais(model, train, betas):
    from inference import ais_log_partition

    schedule = None if betas == 0 else torch.linspace(0, 1, betas, dtype=torch.float64)
    est = ais_log_partition(model, base="data", data=train, betas=schedule, progress=False)
    steps = "the default 14,501" if betas == 0 else f"{betas}"
    return f"100 chains, {steps} βs, base fitted to the data; log Z {est.log_z:.1f}"


def _rbm_ais(train, test, opts):
    from models.energy import RBM

    return _ais(RBM(N_VISIBLE, 500, seed=0), train, opts["betas"])


def _dbm_pretrain(train, test, opts):
    from inference import pretrain_dbm
    from models.energy import DBM

    layers = pretrain_dbm(DBM.from_data(train, list(DBM_HIDDEN), seed=0), train, epochs=1, progress=False)
    return f"CD-1, batch 20, 1 epoch per layer ({len(layers)} RBMs)"


def _dbm_fit(train, test, opts):
    from inference import fit
    from models.energy import DBM

    hist = fit(DBM.from_data(train, list(DBM_HIDDEN), seed=0), train, epochs=1, progress=False)
    return f"SML, 10 mean-field passes, batch 20, {-(-train.shape[0] // 20)} steps (1 epoch); {len(hist)} epoch"


def _dbm_ais(train, test, opts):
    from models.energy import DBM

    return _ais(DBM([N_VISIBLE, *DBM_HIDDEN], seed=0), train, opts["betas"])


def _dbm_bound(train, test, opts):
    from inference import variational_bound
    from models.energy import DBM

    bound = variational_bound(DBM([N_VISIBLE, *DBM_HIDDEN], seed=0), test, 0.0)
    return f"mean field on {bound.n} rows, up to 50 passes ({bound.n_iter} ran)"


def _vae_fit(train, test, opts):
    from inference import fit
    from models import VAE

    hist = fit(VAE(N_VISIBLE, 400, 20, seed=0), train, epochs=1, progress=False)
    return f"ELBO, batch 100, {-(-train.shape[0] // 100)} steps (1 epoch), Adam; {len(hist)} epoch"


def _vae_importance(train, test, opts):
    from inference import importance_log_likelihood
    from models import VAE

    batch = opts["importance_batch"]
    est = importance_log_likelihood(VAE(N_VISIBLE, 400, 20, seed=0), test, batch=batch)
    rows = (1 << 17) // est.n_samples if batch is None else batch
    return f"K = {est.n_samples} on {est.n} rows, passes of {rows} rows" + (" (`batch`)" if batch else "")


#: name -> (label, runner(train, test, opts) -> description, needs train, needs test, uses betas)
CASES = {
    "rbm-fit": ("RBM 784-500, fit", _rbm_fit, True, False, False),
    "rbm-ais": ("RBM 784-500, AIS log Z", _rbm_ais, True, False, True),
    "dbm-pretrain": ("DBM 784-500-1000, pretrain_dbm", _dbm_pretrain, True, False, False),
    "dbm-fit": ("DBM 784-500-1000, fit", _dbm_fit, True, False, False),
    "dbm-ais": ("DBM 784-500-1000, AIS log Z", _dbm_ais, True, False, True),
    "dbm-bound": ("DBM 784-500-1000, variational bound", _dbm_bound, False, True, False),
    "vae-fit": ("VAE 784-400-20, fit", _vae_fit, True, False, False),
    "vae-importance": ("VAE 784-400-20, importance log-likelihood", _vae_importance, False, True, False),
}


def _peak_bytes() -> int:
    """The process's peak resident set size in bytes (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def run_case(name: str, train_rows: int, test_rows: int, mnist: str | None, betas: int,
             importance_batch: int | None = None) -> dict:
    """Run one case in this process (meant to be a fresh one); its measurements as a dict.
    ``betas``: AIS inverse temperatures (0: the default schedule); ``importance_batch``:
    rows per pass of the importance estimate (``None``: its default)."""
    import gc

    import inference  # noqa: F401  (the imports belong to the baseline)
    import models  # noqa: F401

    label, runner, needs_train, needs_test, _ = CASES[name]
    train = make_data(train_rows, "train", mnist) if needs_train else None
    test = make_data(test_rows, "test", mnist) if needs_test else None
    gc.collect()
    baseline = _peak_bytes()
    start = time.perf_counter()
    what = runner(train, test, {"betas": betas, "importance_batch": importance_batch})
    seconds = time.perf_counter() - start
    peak = _peak_bytes()
    data_bytes = sum(x.numel() * x.element_size() for x in (train, test) if x is not None)
    return {"case": name, "label": label, "what": what, "data_bytes": data_bytes, "baseline": baseline,
            "peak": peak, "seconds": seconds, "torch_threads": torch.get_num_threads()}


def _child(name, args, betas) -> dict:
    """``run_case`` in a fresh Python process; its JSON result."""
    command = [sys.executable, os.path.abspath(__file__), "--child", name, "--train-rows", str(args.train_rows),
               "--test-rows", str(args.test_rows), "--betas", str(betas)]
    if args.mnist:
        command += ["--mnist", args.mnist]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.importance_batch:
        command += ["--importance-batch", str(args.importance_batch)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"case {name} failed (exit status {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", metavar="FOLDER", help="MNIST IDX files to repeat up to the row counts "
                        "(default: random binary rows)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), metavar="CASE",
                        help=f"subset of the cases (default: all: {' '.join(CASES)})")
    parser.add_argument("--betas", type=int, nargs="+", default=[1000, 3000],
                        help="AIS inverse temperatures, one run per count; 0: the default schedule "
                             "(default: 1000 3000)")
    parser.add_argument("--train-rows", type=int, default=60000)
    parser.add_argument("--test-rows", type=int, default=10000)
    parser.add_argument("--importance-batch", type=int, default=None, metavar="ROWS",
                        help="rows per pass of the importance estimate (default: its own, 2^17 // K)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    parser.add_argument("--child", choices=list(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for flag, value, low in (("--train-rows", args.train_rows, 1), ("--test-rows", args.test_rows, 1),
                             ("--importance-batch", args.importance_batch or 1, 1)):
        if value < low:
            parser.error(f"{flag} must be at least {low}, got {value}")
    if any(b == 1 or b < 0 for b in args.betas):
        parser.error(f"--betas takes counts of at least 2 (or 0 for the default schedule), got {args.betas}")
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.child:
        print(json.dumps(run_case(args.child, args.train_rows, args.test_rows, args.mnist, args.betas[0],
                                  args.importance_batch)))
        return None

    source = (f"the binarized IDX files in {args.mnist} repeated row by row" if args.mnist
              else "random binary rows (Bernoulli(1/2) pixels)")
    print(f"MNIST-scale peak memory: {args.train_rows:,} training and {args.test_rows:,} test rows of "
          f"{N_VISIBLE} pixels, float32, from {source}; one fresh process per case")
    print(machine_line(), flush=True)
    results, rows = [], []
    for name in args.cases:
        for betas in (args.betas if CASES[name][4] else [0]):
            res = _child(name, args, betas)
            results.append(res)
            rows.append([res["label"], res["what"], _mb(res["data_bytes"]), _mb(res["baseline"]), _mb(res["peak"]),
                         _mb(res["peak"] - res["baseline"]), f"{res['seconds']:.0f}"])
            print(f"  {res['label']}: peak {_mb(res['peak'])} MB, {_mb(res['peak'] - res['baseline'])} MB over "
                  f"the baseline, {res['seconds']:.0f} s", flush=True)
    print("\n" + markdown_table(["case", "what ran", "data MB", "baseline MB", "peak MB", "peak − baseline MB",
                                 "s"], rows))
    print("\nMB = 10^6 bytes of resident memory (ru_maxrss); the baseline is the peak after the imports "
          "and the data")
    print(f"{load_average()} after the run")
    if args.json:
        write_json(args.json, {"args": vars(args), "torch": torch.__version__, "results": results})
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
