"""Sequence RBMs on bouncing balls: per-frame log-likelihood and next-frame prediction error.

Data: ``pgm.bouncing_balls`` — 16x16 binary frames of 2 balls of radius 2.5 moving one
pixel per frame; ``--train`` training sequences (seed 0) and ``--test`` test sequences
(seed 1), 20 frames each. Three models with the same hidden layer (``--hidden``, small
enough for an exact log Z per frame), all in one run, single-threaded:

- ``RBM (frames independent)``: the library's ``RBM.from_data`` trained on every frame as
  an independent row by ``inference.fit`` with its default recipe (CD-1, SGD with
  momentum), ``--epochs`` epochs;
- ``ConditionalRBM``: ``ConditionalRBM.from_data(train, hidden, order=2)`` trained by
  ``inference.fit`` (CD-1 with the bias gradients into A and B, Adam, ``--lr``);
- ``RNNRBM``: ``RNNRBM.from_data(train, hidden, n_recurrent=--recurrent)`` trained the same
  way (CD-1 with back-propagation through time into the RNN).

Scores on the test sequences, over frames t >= 2 (the conditional RBM is given the first
two): the mean per-frame negative log-likelihood −(1/T') Σ_t log p(v_t | past) with log Z_t
exact by enumerating the hidden units (``inference.sequences.frame_log_likelihood``), in
nats per frame, ± its standard error over sequences; and the next-frame prediction error,
the mean squared error per pixel of E[v_t | past] estimated by 20 Gibbs sweeps with the
past clamped from the previous frame, averaging σ(b_t + W h) over the last 10
(``inference.sequences.predict_frames``). For reference the table also gives the error of
predicting each frame by the previous one.

Run: ``python benchmarks/sequence_rbms.py`` (about three minutes on one core);
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

import inference
import pgm
from _common import machine_line, markdown_table, set_threads
from inference.sequences import frame_log_likelihood, predict_frames
from inference.sequences.prediction import previous_frames
from models.energy import RBM, RNNRBM, ConditionalRBM

GIVEN = 2  # frames every model is scored after (the conditional RBM's order)


def _score(W, test, b_t, c_t, start):
    """(nll, sem, mse, sem) on frames t >= GIVEN of ``test``; b_t, c_t cover frames t >= start."""
    frames = test[:, GIVEN:]
    b_t, c_t = b_t[:, GIVEN - start:], c_t[:, GIVEN - start:]
    nll = frame_log_likelihood(W, frames, b_t, c_t, "exact")
    pred = predict_frames(W, frames, test[:, GIVEN - 1:-1], b_t, c_t, sweeps=20, burn_in=10, seed=0)
    return nll, pred


def run(args):
    train = pgm.bouncing_balls(args.train, 20, seed=0)
    test = pgm.bouncing_balls(args.test, 20, seed=1)
    rows, results = [], {}
    V = train.shape[-1]

    t0 = time.perf_counter()
    rbm = RBM.from_data(train.reshape(-1, V), args.hidden, seed=args.seed)
    inference.fit(rbm, train.reshape(-1, V), epochs=args.epochs, seed=args.seed, progress=False)
    fit_s = time.perf_counter() - t0
    N, T = test.shape[:2]
    with torch.no_grad():
        nll, pred = _score(rbm.W, test, rbm.b.expand(N, T, V), rbm.c.expand(N, T, args.hidden), 0)
    results["RBM (frames independent)"] = (nll, pred, fit_s)

    for name, make in (("ConditionalRBM (order 2)", lambda: ConditionalRBM.from_data(train, args.hidden, 2,
                                                                                      seed=args.seed)),
                       (f"RNNRBM ({args.recurrent} recurrent)", lambda: RNNRBM.from_data(
                           train, args.hidden, args.recurrent, seed=args.seed))):
        t0 = time.perf_counter()
        model = make()
        inference.fit(model, train, epochs=args.epochs, lr=args.lr, seed=args.seed, monitor=0, progress=False)
        fit_s = time.perf_counter() - t0
        with torch.no_grad():
            _, b_t, c_t = model.frame_biases(test)
        results[name] = (*_score(model.W, test, b_t, c_t, model.n_given), fit_s)

    copy = ((test[:, GIVEN:] - test[:, GIVEN - 1:-1]) ** 2).mean((1, 2)).double()
    for name, (nll, pred, fit_s) in results.items():
        rows.append([name, f"{nll.nll:.2f} ± {nll.sem:.2f}", f"{pred.mse:.4f} ± {pred.sem:.4f}", f"{fit_s:.0f}"])
    rows.append(["previous frame as the prediction", "", f"{float(copy.mean()):.4f} ± "
                 f"{float(copy.std() / len(copy) ** 0.5):.4f}", ""])
    print(machine_line())
    print(f"bouncing balls 16x16, 2 balls; {args.train} training and {args.test} test sequences of 20 frames; "
          f"{args.hidden} hidden units; {args.epochs} epochs; scored on frames 2-19")
    print(markdown_table(["model", "test NLL per frame (nats)", "next-frame MSE per pixel", "fit (s)"], rows))
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--test", type=int, default=30)
    p.add_argument("--hidden", type=int, default=12)
    p.add_argument("--recurrent", type=int, default=32)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke run: 20 sequences, 2 epochs, 6 hidden units")
    args = p.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs, args.hidden = 20, 4, 2, 6
    set_threads(1)
    return run(args)


if __name__ == "__main__":
    sys.exit(main() and 0)
