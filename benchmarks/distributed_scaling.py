"""Data-parallel scaling: samples per second at 1 and 2 processes (``inference.fit(...,
distributed=True)`` on gloo), and what each step communicates against what it computes.

Two models, random binary data (``--rows`` rows of 784 pixels), ``--epochs`` epochs each,
the first epoch a warm-up; the rate is rows of the whole data per second of the best later
epoch (the history's ``seconds``: training only):

* the 784-500 binary RBM, CD-1, batch 100 per process, SGD (``backend="torch"``, the
  generic path that data-parallel runs take; the one-process fast path is shown too);
* a 784-400-20 VAE, ELBO, batch 100 per process, Adam.

Configurations: one process with 1 thread, one process with 2 threads, two processes of
1 thread each (the batch per process fixed, so two processes take steps of 200 rows:
weak scaling). Efficiency = rate(2 processes) / (2 × rate(1 process, 1 thread)).

Usage::

    python benchmarks/distributed_scaling.py
    python benchmarks/distributed_scaling.py --rows 4000 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from _common import format_table, machine_line, two_processes

BATCH = 100


def _data(rows: int) -> torch.Tensor:
    return torch.bernoulli(torch.full((rows, 784), 0.3), generator=torch.Generator().manual_seed(0))


def _models():
    from models import VAE
    from models.energy import RBM

    return {"rbm": lambda: RBM(784, 500, seed=0), "vae": lambda: VAE(784, 400, 20, seed=0)}


def _run(name: str, rows: int, epochs: int, backend: str, distributed: bool) -> float:
    """Rows per second of the best epoch after the first."""
    import inference

    model, data = _models()[name](), _data(rows)
    common = dict(epochs=epochs, batch_size=BATCH, monitor=0, progress=False, seed=0, distributed=distributed)
    if name == "rbm":
        hist = inference.fit(model, data, method="cd", k=1, backend=backend, **common)
    else:
        hist = inference.fit(model, data, method="elbo", backend="auto", **common)
    return rows / min(hist.seconds[1:])


def _worker(out: str, rows: int, epochs: int) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    # one group for both runs: each fit joins it (this launcher hosts no store that a second
    # group could rendezvous on, as torchrun's agent does)
    dist.init_process_group("gloo")
    try:
        rates = {name: _run(name, rows, epochs, "torch", True) for name in ("rbm", "vae")}
        rates.update({f"{name}_all_reduce_ms": _all_reduce_ms(make()) for name, make in _models().items()})
    finally:
        dist.destroy_process_group()
    if os.environ.get("RANK") == "0":
        Path(out).write_text(json.dumps(rates))


def _all_reduce_ms(model, repeats: int = 20) -> float:
    """Milliseconds of one all-reduce of the model's float32 gradient (the best of
    ``repeats``, after a warm-up)."""
    import time

    import torch.distributed as dist

    flat = torch.zeros(sum(p.numel() for p in model.parameters()))
    best = float("inf")
    for i in range(repeats + 1):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        if i:
            best = min(best, time.perf_counter() - start)
    return 1000 * best


def _traffic() -> list:
    """Per model: bytes all-reduced per step and multiply-adds per step and process."""
    rows = []
    for name, make in _models().items():
        model = make()
        n = sum(p.numel() for p in model.parameters())
        if name == "rbm":  # CD-1: v→h, h→v, v→h, and the two outer products of the gradient
            macs = 5 * BATCH * 784 * 500
        else:  # encoder and decoder forward, backward about twice the forward
            macs = 3 * BATCH * (784 * 400 + 400 * 40 + 20 * 400 + 400 * 784)
        rows.append([name, n, f"{4 * n / 1e6:.2f} MB", f"{macs / 1e6:.0f} M", f"{macs / n:.0f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows of random binary data (default 2000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run, the first a warm-up (default 3)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.rows, args.epochs)
        return
    print(machine_line())
    rates = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rates[f"1 process, {threads} thread{'s' * (threads > 1)}"] = {
            name: _run(name, args.rows, args.epochs, "torch", False) for name in ("rbm", "vae")}
    torch.set_num_threads(1)
    fast = _run("rbm", args.rows, args.epochs, "auto", False)
    rates["2 processes, 1 thread each"] = two_processes(__file__, ["--rows", args.rows, "--epochs", args.epochs],
                                                        timeout=600)
    print(machine_line())
    base = rates["1 process, 1 thread"]
    table = [[config, f"{r['rbm']:.0f}", f"{r['vae']:.0f}"] for config, r in rates.items()]
    table.append(["1 process, 1 thread, RBM fast path", f"{fast:.0f}", "-"])
    print(f"\nrows per second ({args.rows} random binary rows, batch {BATCH} per process)")
    print(format_table(["configuration", "RBM 784-500 CD-1", "VAE 784-400-20"], table))
    two = rates["2 processes, 1 thread each"]
    print("efficiency of 2 processes: " + ", ".join(f"{m} {two[m] / (2 * base[m]):.2f}" for m in ("rbm", "vae")))
    print("\nper step: the float32 gradient all-reduced by each process against its compute")
    steps = {m: 1000 * BATCH / base[m] for m in ("rbm", "vae")}  # ms per step, one process of one thread
    table = [row + [f"{steps[row[0]]:.2f} ms", f"{two[row[0] + '_all_reduce_ms']:.2f} ms"] for row in _traffic()]
    print(format_table(["model", "parameters", "all-reduced", "multiply-adds", "per float sent", "step (1 process)",
                        "all-reduce (2 processes)"], table))


if __name__ == "__main__":
    main()
