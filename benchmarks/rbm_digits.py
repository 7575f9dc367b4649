"""Exact test log-likelihood of 64 x 16 binary RBMs trained on the binarized digits.

Every method trains an RBM with 16 hidden units on the 1438-example ``"train"`` split of
``pgm.datasets.load_digits(binarize=True)`` for 50 epochs at batch size 20, once per seed,
and is scored by the exact mean log-likelihood of the 359-example ``"test"`` split, in
nats per example: log Z by enumerating the 2^16 hidden states
(``inference.exact_log_partition``), then ``inference.log_likelihood``. The learned
parameters of the other libraries are copied into our ``RBM`` for scoring, so every row
uses the same evaluation code.

Methods:

- ``ours (default)``: ``fit(RBM.from_data(train, 16, seed=s), train, seed=s)``, the
  library's recipe untouched (CD-1 with sampled reconstructions, lr 0.1 decayed linearly
  to 0, momentum 0.5 then 0.9 after 5 epochs);
- ``ours PCD-1 polyak``: ``method="pcd", momentum=0.5, lr=0.2, average="polyak"``;
- ``ours CD-1 constant``: ``lr_schedule="constant", lr=0.05``, the plain
  CD-1-with-momentum loop, with the default momentum ramp (0.5 then 0.9) and with a
  constant momentum 0.5;
- ``scikit-learn``: ``BernoulliRBM(n_components=16, learning_rate=0.1, batch_size=20,
  n_iter=50, random_state=s)`` on float64 input (its default learning rate; it trains by
  PCD without momentum);
- ``learnergy``: ``RBM(n_visible=64, n_hidden=16, steps=1, learning_rate=0.1,
  momentum=0, decay=0, temperature=1)`` (its constructor defaults, which are also the
  settings of its README example) trained by its ``fit(dataset, batch_size=20,
  epochs=50)`` on a ``TensorDataset`` of (image, label) pairs, seeded through torch's
  global generator (which learnergy uses).

A reference row fits one RBM (seed 0) by full-batch L-BFGS on the exact training
log-likelihood (its gradient's model term computed by enumerating the 2^16 hidden
states, the visible units summed analytically): what a 16-hidden-unit RBM can reach
here without sampling noise. It takes 15-60 s (2 cores, depending on load);
``--no-exact-reference`` skips it.

Usage::

    python benchmarks/rbm_digits.py                    # 5 seeds x 50 epochs, all methods
    python benchmarks/rbm_digits.py --quick            # smoke run: 1 seed, 5 epochs
    python benchmarks/rbm_digits.py --seeds 0 1 --json results.json
    python benchmarks/rbm_digits.py --no-exact-reference  # skip the L-BFGS reference

The peers are optional; install them with ``pip install -c constraints.txt -e '.[bench]'``
(scikit-learn is already a dependency). A missing peer is reported as "not installed".
Seconds per run are the mean wall time of the training alone (after one untimed warm-up
call per method; our runs without fit's per-epoch monitoring, which does not change the
result), on whatever else the machine is doing (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from inference import exact_log_partition, fit, log_likelihood
from models.energy import RBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.rbm_digits
    from _common import format_table, load_average, machine_line, peer_installed
except ImportError:
    from benchmarks._common import format_table, load_average, machine_line, peer_installed

__all__ = ["METHODS", "score", "run_method", "exact_gradient_reference", "main"]

N_HIDDEN = 16
BATCH_SIZE = 20
REFERENCE_LINE = "exact-gradient optimum ≈ −18.0"


# -- scoring --------------------------------------------------------------------------------

def score(W, b, c, test: torch.Tensor) -> float:
    """Exact mean test log-likelihood (nats per example) of the RBM with weights ``W``
    (n_visible, n_hidden), visible biases ``b`` and hidden biases ``c``."""
    W, b, c = (torch.as_tensor(x).detach().to(torch.float64) for x in (W, b, c))
    model = RBM(W.shape[0], W.shape[1], seed=0).double()
    with torch.no_grad():
        model.W.copy_(W)
        model.b.copy_(b)
        model.c.copy_(c)
    return log_likelihood(model, test, exact_log_partition(model)).mean


# -- the methods: each trains and returns (W, b, c) in our orientation ----------------------

def _ours(**options):
    def train_ours(train, seed, epochs):
        model = RBM.from_data(train, N_HIDDEN, seed=seed)
        # monitor=0 skips the per-epoch PLL / reconstruction monitoring, which never
        # changes the trajectory (it uses generators of its own) but would be timed
        fit(model, train, epochs=epochs, batch_size=BATCH_SIZE, seed=seed, progress=False, monitor=0, **options)
        return model.W, model.b, model.c
    return train_ours


def _sklearn(train, seed, epochs):
    from sklearn.neural_network import BernoulliRBM

    rbm = BernoulliRBM(n_components=N_HIDDEN, learning_rate=0.1, batch_size=BATCH_SIZE, n_iter=epochs,
                       random_state=seed)
    rbm.fit(train.double().numpy())
    # components_ is (n_hidden, n_visible); intercept_visible_ / intercept_hidden_ are b / c
    return (torch.from_numpy(rbm.components_.T.copy()), torch.from_numpy(rbm.intercept_visible_),
            torch.from_numpy(rbm.intercept_hidden_))


def _learnergy(train, seed, epochs):
    from learnergy.models.bernoulli import RBM as LRBM
    from torch.utils.data import TensorDataset

    # learnergy draws its initial weights, shuffles and samples from torch's global
    # generator; fork it so that the caller's stream is left as it was.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        rbm = LRBM(n_visible=train.shape[1], n_hidden=N_HIDDEN, steps=1, learning_rate=0.1, momentum=0.0,
                   decay=0.0, temperature=1.0, use_gpu=False)
        # fit() iterates (samples, targets) pairs and flattens samples to n_visible
        rbm.fit(TensorDataset(train, torch.zeros(train.shape[0])), batch_size=BATCH_SIZE, epochs=epochs)
    # W is (n_visible, n_hidden): F.linear(v, W.t(), b) = vW + b; a is the visible bias
    return rbm.W, rbm.a, rbm.b


#: name -> (trainer(train, seed, epochs) -> (W, b, c), module it needs or None)
METHODS = {
    "ours (default recipe)": (_ours(), None),
    "ours PCD-1, mom 0.5, lr 0.2, polyak": (_ours(method="pcd", momentum=0.5, lr=0.2, average="polyak"), None),
    "ours CD-1, constant lr 0.05": (_ours(lr_schedule="constant", lr=0.05), None),
    "ours CD-1, constant lr 0.05, mom 0.5": (_ours(lr_schedule="constant", lr=0.05, momentum=0.5), None),
    "scikit-learn BernoulliRBM, lr 0.1": (_sklearn, "sklearn"),
    "learnergy RBM, lr 0.1, mom 0": (_learnergy, "learnergy"),
}


def run_method(name, train, test, seeds, epochs):
    """Train ``METHODS[name]`` once per seed; ``{"ll": [...], "seconds": [...]}``, or
    ``None`` when its library is not installed."""
    trainer, module = METHODS[name]
    if module is not None and not peer_installed(module):
        return None
    trainer(train[:100], 0, 1)  # warm-up (first-call costs), not timed or scored
    lls, secs = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        W, b, c = trainer(train, seed, epochs)
        secs.append(time.perf_counter() - t0)
        lls.append(score(W, b, c, test))
    return {"ll": lls, "seconds": secs}


# -- the exact-gradient reference -----------------------------------------------------------

def _all_states(n: int) -> torch.Tensor:
    """All 2^n binary vectors of length n, float64, shape (2^n, n)."""
    return ((torch.arange(2**n)[:, None] >> torch.arange(n - 1, -1, -1)) & 1).to(torch.float64)


def exact_gradient_reference(train, test, iterations=200, seed=0):
    r"""Fit the RBM by L-BFGS on the exact mean log-likelihood of ``train``.

    .. math::

        \frac{1}{N}\sum_n \log p(v_n) = -\frac{1}{N}\sum_n F(v_n)
            - \log \sum_{h} e^{-F(h)}, \qquad
        F(h) = -c^\top h - \sum_i \operatorname{softplus}(b_i + (W h)_i),

    the sum running over all 2^16 hidden states (the visible units summed analytically),
    so the gradient is exact: e.g. ∂/∂W = ⟨v σ(c + vW)ᵀ⟩_data − Σ_h p(h) σ(b + W h) hᵀ.
    Full batch, float64, from ``RBM.from_data(train, 16, seed=seed)``; ``iterations``
    L-BFGS iterations with a strong-Wolfe line search (plain full-batch gradient ascent
    with momentum, 200 steps, stalls near −19.2 on the test split: the hidden units
    start almost symmetric, and without sampling noise they separate slowly).

    Returns ``(test log-likelihood, train log-likelihood, seconds)``.
    """
    model = RBM.from_data(train, N_HIDDEN, seed=seed)
    W, b, c = (p.detach().to(torch.float64).clone().requires_grad_() for p in (model.W, model.b, model.c))
    V = train.to(torch.float64)
    H = _all_states(W.shape[1])
    softplus = torch.nn.functional.softplus

    def closure():
        opt.zero_grad()
        neg_fv = V @ b + softplus(torch.addmm(c, V, W)).sum(1)
        neg_fh = H @ c + softplus(torch.addmm(b, H, W.t())).sum(1)
        loss = torch.logsumexp(neg_fh, 0) - neg_fv.mean()
        loss.backward()
        return loss

    opt = torch.optim.LBFGS([W, b, c], lr=1.0, max_iter=iterations, history_size=20,
                            line_search_fn="strong_wolfe")
    t0 = time.perf_counter()
    opt.step(closure)
    seconds = time.perf_counter() - t0
    return score(W, b, c, test), score(W, b, c, train), seconds


# -- report -----------------------------------------------------------------------------------

def _summary_row(name, res):
    if res is None:
        return [name, "not installed", "", "", ""]
    ll = res["ll"]
    std = statistics.stdev(ll) if len(ll) > 1 else 0.0
    return [name, f"{statistics.mean(ll):.2f} ± {std:.2f}", f"{min(ll):.2f}", f"{max(ll):.2f}",
            f"{statistics.mean(res['seconds']):.1f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="default: 0 1 2 3 4")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="smoke run: seed 0 only, 5 epochs")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), metavar="NAME",
                        help="subset of the methods (default: all)")
    parser.add_argument("--exact-reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also fit by L-BFGS on the exact log-likelihood (15-60 s; default: on)")
    parser.add_argument("--reference-iterations", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", metavar="PATH", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs = [0], 5
        args.reference_iterations = min(args.reference_iterations, 20)
    if args.threads:
        torch.set_num_threads(args.threads)

    train = load_digits(binarize=True, split="train")
    test = load_digits(binarize=True, split="test")
    print(f"RBM {train.shape[1]} x {N_HIDDEN} on binarized digits: train {tuple(train.shape)}, "
          f"test {tuple(test.shape)}; {args.epochs} epochs, batch {BATCH_SIZE}, seeds {args.seeds}")
    print(machine_line())
    print("exact mean test log-likelihood, nats per example (log Z by enumerating 2^16 hidden states)\n",
          flush=True)

    results = {}
    for name in args.methods:
        results[name] = run_method(name, train, test, args.seeds, args.epochs)
        print("  " + "  ".join(str(c) for c in _summary_row(name, results[name]) if c != ""), flush=True)

    reference = None
    if args.exact_reference:
        ref_test, ref_train, ref_s = exact_gradient_reference(train, test, iterations=args.reference_iterations)
        reference = {"test_ll": ref_test, "train_ll": ref_train, "seconds": ref_s,
                     "optimizer": "L-BFGS (strong Wolfe)", "iterations": args.reference_iterations, "seed": 0}

    rows = [_summary_row(name, res) for name, res in results.items()]
    print()
    print(format_table(["method", "test LL mean ± std", "min", "max", "s/run"], rows))
    print(REFERENCE_LINE)
    if reference is not None:
        print(f"measured: L-BFGS on the exact log-likelihood, {reference['iterations']} iterations, seed 0: "
              f"test {ref_test:.2f}, train {ref_train:.2f} ({ref_s:.1f} s)")
    print(f"{load_average()} after the run")

    if args.json:
        payload = {"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs": args.epochs,
                   "batch_size": BATCH_SIZE, "seeds": args.seeds, "n_hidden": N_HIDDEN,
                   "results": {name: res if res is not None else "not installed" for name, res in results.items()},
                   "exact_reference": reference, "load_average_after": os.getloadavg()[0]}
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
