"""Every family trains on MNIST files: ``pgm fit NAME --data SPEC:FOLDER --epochs 1`` for each
registered family at its command-line defaults, one fresh process each, with the exit
status, the wall time and the process's peak resident memory.

SPEC is the MNIST variant of the family's default data (``digits`` → ``mnist``,
``digits-real`` → ``mnist-real``, ``digits-labels`` → ``mnist-labels``, natural-image
``patches`` → ``mnist-grey``); the sequence families (their data are sequences, not rows)
are listed as skipped. Peak memory is the child's ``ru_maxrss`` (``os.wait4``); it
includes the interpreter, torch and the data (4,000 × 784 float32 rows are 12.5 MB for the
5,000-image files; 60,000 rows would be 188 MB).

Usage::

    python benchmarks/mnist_every_family.py --mnist FOLDER [--only rbm,vae] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import format_table, machine_line

from inference import families

ROOT = Path(__file__).resolve().parents[1]

#: The MNIST variant of each default data spec.
MNIST_OF = {"digits": "mnist", "digits-real": "mnist-real", "digits-labels": "mnist-labels",
            "digits-grey": "mnist-grey", "patches": "mnist-grey"}


def spec_for(family, folder: str) -> str | None:
    """The ``--data`` of ``family`` on MNIST files in ``folder``, or None (sequences)."""
    if family.sequences:
        return None
    return f"{MNIST_OF.get(family.default_data or 'digits', 'mnist')}:{folder}"


def run(name: str, spec: str, out: Path, threads: int) -> tuple[int, float, float, str]:
    """(exit status, seconds, peak RSS in MB, last line of the output) of one ``pgm fit``."""
    args = [sys.executable, "-m", "inference.cli", "fit", name, "--data", spec, "--out", str(out), "--no-progress",
            "--force"]
    if "epochs" in families.lookup(name).options(families.lookup(name).cli_default_method()):
        args[5:5] = ["--epochs", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        log.seek(0)
        lines = [line for line in log.read().splitlines() if line.strip()]
    code = proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    return code, seconds, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, metavar="FOLDER", help="folder of the MNIST IDX files")
    parser.add_argument("--only", default=None, metavar="NAMES", help="comma-separated families (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else families.names()
    print(f"pgm fit NAME --data SPEC:{args.mnist} --epochs 1, one process each; {machine_line()}", flush=True)
    rows, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            family = families.lookup(name)
            spec = spec_for(family, args.mnist)
            if spec is None:
                rows.append([name, "–", "skipped: takes sequences", "", ""])
                continue
            code, seconds, peak, last = run(name, spec, Path(tmp) / name, args.threads)
            rows.append([name, spec.split(":")[0], "ok" if code == 0 else f"exit {code}", f"{seconds:.1f}",
                         f"{peak:.0f}"])
            print("  " + " | ".join(rows[-1]), flush=True)
            if code:
                failed.append(f"{name}: {last}")
    print()
    print(format_table(["family", "data", "status", "s", "peak RSS (MB)"], rows))
    for line in failed:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
