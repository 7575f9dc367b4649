"""Kill training with SIGKILL at random moments, then resume: does every checkpoint load, and
does every resumed run end exactly where an uninterrupted one does?

Each trial trains a PCD RBM on binarized digits in a child process that writes a checkpoint
after every epoch (``fit(..., checkpoint=..., resume="auto")``) and kills it with SIGKILL
after a random number of epochs plus a random fraction of one, so a kill lands anywhere in an
epoch, the checkpoint write included. It checks that the checkpoint on disk (if one was
written yet) loads, restarts the child (which resumes), kills it again, and so on
``--kills-per-trial`` times; finally it resumes the run in this process to the end and
compares the parameters with an uninterrupted run, bit for bit. A kill that finds a
temporary file of the checkpoint writer on disk landed during a write.

    python benchmarks/crash_resume.py                 # 8 trials of 3 kills
    python benchmarks/crash_resume.py --trials 20 --seed 1

POSIX only (SIGKILL).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inference import fit  # noqa: E402
from inference.checkpoint import load_checkpoint  # noqa: E402
from models.energy import RBM  # noqa: E402

SETTINGS = dict(method="pcd", batch_size=20, lr_schedule="linear", average="polyak", momentum="hinton", seed=3,
                progress=False, monitor=0)


def digits(path=None) -> torch.Tensor:
    """The training data: 600 binarized digits (read from ``path`` when given, so that a
    child process need not import scikit-learn)."""
    if path is not None:
        return torch.load(path, weights_only=True)
    from pgm.datasets import load_digits

    return load_digits(split="train")[:600]


def train(checkpoint, epochs: int, data: torch.Tensor, report=None) -> RBM:
    """The run every trial repeats: RBM(64, 16) by PCD, resumed from ``checkpoint`` when it
    exists; ``report(epoch)`` is called after each epoch, before its checkpoint is written."""
    torch.set_num_threads(1)
    model = RBM(64, 16, seed=0)
    callbacks = [lambda epoch, history, model: report(epoch)] if report is not None else []
    fit(model, data, epochs=epochs, checkpoint=checkpoint, resume="auto", callbacks=callbacks, **SETTINGS)
    return model


def _params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _child(path, data_path, epochs):
    command = [sys.executable, os.path.abspath(__file__), "--child", os.fspath(path), "--data", os.fspath(data_path),
               "--epochs", str(epochs)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _temporary_files(folder, name):
    return [f for f in os.listdir(folder) if f.startswith(f".{name}.") and f.endswith(".tmp")]


def crash_trials(trials: int = 8, kills_per_trial: int = 3, epochs: int = 60, seed: int = 0, out=print) -> dict:
    """Run the trials; returns counts: ``kills``, ``during_write`` (a temporary file was
    on disk at the kill), ``present`` and ``loaded`` (checkpoints on disk after a kill,
    and those that loaded), ``identical`` (trials whose resumed run equals the
    uninterrupted one), ``finished_early`` (runs that ended before their kill).

    Each kill comes after a random number of the run's remaining epochs (uniform) and then
    a random fraction of an epoch's time, so it lands anywhere in an epoch, its checkpoint
    write included.
    """
    rng = random.Random(seed)
    data = digits()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        reference = _params(train(Path(folder) / "ckpt.pt", epochs, data))
        epoch_time = (time.perf_counter() - start) / epochs
        data_path = Path(folder) / "data.pt"
        torch.save(data, data_path)
        counts = dict(trials=trials, kills=0, during_write=0, present=0, loaded=0, identical=0, finished_early=0,
                      seconds_per_epoch=epoch_time)
        for trial in range(trials):
            path = Path(folder) / f"trial{trial}.pt"
            done = 0
            for _ in range(kills_per_trial):
                child = _child(path, data_path, epochs)
                wait = rng.randrange(max(1, epochs - done))
                for _ in range(wait):
                    line = child.stdout.readline()
                    if not line:
                        break
                    done = int(line)
                time.sleep(rng.uniform(0.0, epoch_time))
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                    counts["kills"] += 1
                else:
                    counts["finished_early"] += 1
                child.wait()
                child.stdout.close()
                counts["during_write"] += bool(_temporary_files(folder, path.name))
                if path.exists():
                    counts["present"] += 1
                    done = load_checkpoint(path)["epoch"]  # raises if the kill left a damaged file
                    counts["loaded"] += 1
            same = torch.equal(_params(train(path, epochs, data)), reference)
            counts["identical"] += same
            out(f"trial {trial + 1}/{trials}: resumed run {'equals' if same else 'DIFFERS FROM'} the uninterrupted one")
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--kills-per-trial", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        train(args.child, args.epochs, digits(args.data), report=lambda epoch: print(epoch, flush=True))
        return None
    c = crash_trials(args.trials, args.kills_per_trial, args.epochs, args.seed)
    print(f"\nan epoch (its checkpoint included) takes {1e3 * c['seconds_per_epoch']:.1f} ms")
    print(f"{c['kills']} SIGKILLs in {c['trials']} trials ({c['during_write']} during a checkpoint write, "
          f"{c['finished_early']} runs finished before their kill)")
    print(f"checkpoints on disk after a kill that load: {c['loaded']} of {c['present']}")
    print(f"resumed runs bit-identical to the uninterrupted one: {c['identical']} of {c['trials']}")
    return c


if __name__ == "__main__":
    main()
