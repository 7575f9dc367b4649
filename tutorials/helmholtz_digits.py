# %% [markdown]
# # A Helmholtz machine on digits: reweighted wake-sleep against wake-sleep and NVIL
#
# A Helmholtz machine is a sigmoid belief net p(v, h) paired with a recognition net
# q(h | v). Wake-sleep (Hinton, Dayan, Frey & Neal 1995) fits p on samples of q (wake) and
# q on dreams of p (sleep); reweighted wake-sleep (Bornschein & Bengio 2015) draws K
# samples of q per example and weights them by p(v, h)/q(h | v), which makes both
# updates follow log p(v) more closely; NVIL (Mnih & Gregor 2014) instead follows the
# ELBO's gradient with a variance-reduced score-function estimator. This walk-through
# trains the same 64-16 net by the three rules for the same epochs, compares their
# training curves, scores them on the test set by importance sampling and, since 16
# latent units can be enumerated, by the exact log-likelihood, and draws samples of each.
# Run it as a script:
#
#     python tutorials/helmholtz_digits.py [output-folder] [--full]
#
# The quick mode (the default, what the tests run) trains one epoch per rule on 300
# images and scores 4 test images with K = 20; `--full` trains 30 epochs on all 1438
# and scores the 359 test images with K = 1000 (measured: 137 s, most of it the exact sum
# over the 2^16 latent states). Full-mode test results, mean ± sd over seeds 0–4 of the
# importance estimate (ELBO; exact), from `python benchmarks/seed_spread.py --only
# helmholtz`: RWS −20.24 ± 0.05 (−21.61; −20.24), wake-sleep −22.12 ± 0.03 (−22.67;
# −22.12), NVIL −21.57 ± 0.05 (−22.18; −21.57); the order RWS, NVIL, wake-sleep holds on
# every seed. A single run varies by machine as well as by seed (seed 0 on one machine:
# RWS −20.24 ± 0.19, wake-sleep −22.09 ± 0.18, NVIL −21.64 ± 0.19, ± the standard error
# over test images). Pictures go to `runs/tutorials/helmholtz_digits/`.

# %%
import sys
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import pgm
from inference import fit, importance_log_likelihood
from models import HelmholtzMachine

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/helmholtz_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # a 64-16 net gains nothing from more
train, test = pgm.load_digits(split="train"), pgm.load_digits(split="test")
EPOCHS, K = (30, 1000) if FULL else (1, 20)
data = train if FULL else train[:300]
scored = test if FULL else test[:4]  # the exact sum costs about 0.1 s per image

# %% [markdown]
# ## One net, three learning rules
# Each run starts from the same initial net (seed 0) and sees the same batches of 20 at
# Adam's lr 3e-3. RWS uses K = 5 particles per example, weights normalised within each
# example. `fit` records the monitored ELBO on a fixed subset of the training data after
# every epoch.

# %%
methods = {"RWS (K = 5)": "rws", "wake-sleep": "wake_sleep", "NVIL": "nvil"}
nets, histories = {}, {}
for label, method in methods.items():
    nets[label] = HelmholtzMachine.from_data(train, [64, 16], seed=0)
    histories[label] = fit(nets[label], data, method=method, n_particles=5, epochs=EPOCHS, batch_size=20,
                           lr=3e-3, seed=0, progress=False)
    print(f"{label}: {sum(histories[label].seconds):.1f} s of training")
pgm.plot_curves({label: h.elbo for label, h in histories.items()}, out / "curves.png",
                ylabel="training ELBO (nats per image)", title="Helmholtz machine 64-16: monitored ELBO")

# %% [markdown]
# ## Test scores
# The importance estimate log (1/K) Σ_k p(v, h_k)/q(h_k | v), with h_k from the
# recognition net, is a stochastic lower bound of log p(v) in expectation, and the ELBO
# (its K = 1 average) sits below it. With 16 latent units the exact log p(v) is a sum over
# 2¹⁶ states, so here we can also see how close the importance estimate comes. The gap
# between the exact value and the ELBO is the KL divergence of q from the true posterior:
# how well each rule trained its recognition net (averaged over the test images).

# %%
rows = []
for label, net in nets.items():
    est = importance_log_likelihood(net, scored, n_samples=K)
    with torch.no_grad():
        exact = net.exact_log_likelihood(scored).mean().item()
    rows.append((label, est.mean, est.sem, est.elbo, exact))
print(f"{'rule':<14}{'test LL (K = ' + str(K) + ')':>20}{'test ELBO':>12}{'exact test LL':>15}{'exact − ELBO':>14}")
for label, mean, sem, elbo, exact in rows:
    print(f"{label:<14}{mean:>12.2f} ± {sem:.2f}{elbo:>12.2f}{exact:>15.2f}{exact - elbo:>14.2f}")
if FULL:
    print("seeds 0-4, test LL (K = 1000), mean ± sd: RWS -20.24 ± 0.05, wake-sleep -22.12 ± 0.03, "
          "NVIL -21.57 ± 0.05; a single run varies by machine as well as by seed")

# %% [markdown]
# ## Samples
# Ancestral samples of each generative net: h from its prior, then p(v = 1 | h).

# %%
fig = Figure(figsize=(15, 5.5))
FigureCanvasAgg(fig)
curve_ax, *sample_axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [2, 1, 1, 1]})
pgm.plot_curves({label: h.elbo for label, h in histories.items()}, ax=curve_ax,
                ylabel="training ELBO (nats per image)", title="monitored training ELBO")
for ax, (label, net) in zip(sample_axes, nets.items()):
    samples = net.sample(36, torch.Generator().manual_seed(0))
    pgm.image_grid(samples, (8, 8), out / f"samples_{methods[label]}.png", normalize=None,
                   title=f"samples, {label}")
    pgm.image_grid(samples, (8, 8), ax=ax, normalize=None, title=f"samples, {label}")
fig.tight_layout()
fig.savefig(out / "helmholtz_overview.png", dpi=90)
print(f"pictures in {out}/")
