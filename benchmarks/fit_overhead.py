"""The cost of one ``fit`` call beyond its epochs' training: what a user's own loop of
one-epoch calls pays on top of the work itself.

For a 784×500 binary RBM on N random binary rows (CD-1, batch 100), each call's wall time
less the training time its history records (``History.seconds``, the sum over its
epochs) is its overhead: the argument and data checks, the set-up (optimizer, runner,
threads), the per-epoch monitoring and the non-finite guard. Measured for one-epoch and
five-epoch calls, with monitoring off (``monitor=0``: the fixed cost of a call) and on
(the default), ``--repeats`` times each, calls ``--gap`` seconds apart; the minimum over
repeats is printed (the least disturbed run).

    python benchmarks/fit_overhead.py [--rows 10000] [--repeats 5] [--gap 1.2]
"""

from __future__ import annotations

import argparse
import time

import torch

from inference.learning.fit import fit
from models.energy import RBM


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--gap", type=float, default=1.2)
    args = p.parse_args(argv)
    gen = torch.Generator().manual_seed(0)
    data = (torch.rand(args.rows, 784, generator=gen) < 0.13).float()
    model = RBM(784, 500, seed=0)
    fit(model, data[:500], epochs=1, batch_size=100, progress=False)  # warm-up (kernels, allocator)

    def overhead(epochs, monitor):
        time.sleep(args.gap)
        start = time.perf_counter()
        history = fit(model, data, epochs=epochs, batch_size=100, progress=False, monitor=monitor)
        wall = time.perf_counter() - start
        return wall - sum(history.seconds), sum(history.seconds) / epochs

    print(f"784x500 RBM, {args.rows} rows, CD-1, batch 100, {torch.get_num_threads()} threads; "
          f"overhead = wall time - training time, min of {args.repeats}")
    for monitor in (0, "auto"):
        for epochs in (1, 5):
            runs = [overhead(epochs, monitor) for _ in range(args.repeats)]
            extra = min(r[0] for r in runs)
            epoch = min(r[1] for r in runs)
            print(f"  monitor={monitor!s:5} epochs={epochs}: overhead {extra * 1e3:7.1f} ms per call "
                  f"({extra / epochs * 1e3:6.1f} ms per epoch), training {epoch * 1e3:6.1f} ms per epoch")


if __name__ == "__main__":
    main()
