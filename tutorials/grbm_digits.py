# %% [markdown]
# # A Gaussian RBM on real-valued digits: a density, measured exactly
#
# The binary RBM models binarized pixels. For grey levels we need a density: the
# Gaussian-Bernoulli RBM has real-valued visible units and binary hidden ones, and its
# log Z is still exact for a small hidden layer (the visible units integrate out in
# closed form, so only the 2^n_hidden hidden states are enumerated). This walk-through
# trains one on the dequantised digits, measures its test log-density exactly and by
# annealed importance sampling, compares it with Gaussian baselines, and looks at its
# samples and filters. Run it as a script:
#
#     python tutorials/grbm_digits.py [output-folder] [--full]
#
# The same model trains from the command line: `pgm fit grbm --data digits-real`.

# %%
import sys
from pathlib import Path

import torch
from sklearn.mixture import GaussianMixture

import pgm
from inference import ais_log_partition, exact_log_partition, fit, gibbs, log_likelihood, make_generator
from models import GaussianRBM

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/grbm_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # a 64 x 16 model gains nothing from more

# %% [markdown]
# ## Data
# The 8×8 digits have integer grey levels 0..16. A density on integers is meaningless, so
# each pixel becomes (pixel + u)/17 with fixed uniform noise u (drawn once, in the
# original order, by `numpy.random.RandomState(1)`): values in [0, 1), the same for every
# model and library, so that log-densities (nats per image) compare.

# %%
train = pgm.load_digits(binarize=False, dequantize=True, split="train")
test = pgm.load_digits(binarize=False, dequantize=True, split="test")
print(train.shape, test.shape, float(train.min()), float(train.max()))
pgm.image_grid(train[:36], (8, 8), out / "data.png", normalize=None, title="dequantised digits")

# %% [markdown]
# ## The model
# E(v, h) = Σᵢ (vᵢ − bᵢ)²/2σᵢ² − cᵀh − Σᵢⱼ (vᵢ/σᵢ) Wᵢⱼ hⱼ, so p(v | h) is a Gaussian with
# mean b + σ ⊙ Wh and p(h_j = 1 | v) = σ(c_j + (v/σ)ᵀW_j). `GaussianRBM.from_data`
# standardises the data internally (every density it reports stays on the data's own
# scale) and starts at the data's diagonal Gaussian; σ is learned within bounds that
# keep the likelihood finite and training stable.

# %%
grbm = GaussianRBM.from_data(train, n_hidden=16, seed=0)
print(grbm.graph.describe())
pgm.draw(grbm.graph, path=out / "grbm_graph.png", title="Gaussian RBM")
start = log_likelihood(grbm, test, exact_log_partition(grbm))
print(f"before training (the data's diagonal Gaussian): {start.mean:.2f} nats per image")

# %% [markdown]
# ## Training
# PCD-1 with fit's schedule (momentum 0.5 → 0.9, learning rate decayed linearly to 0)
# at the model's own default learning rate, `GaussianRBM.default_lr` (smaller than the
# binary RBM's: the curvature grows as σ shrinks). The benchmark
# `benchmarks/grbm_digits.py` trains the same 200 epochs as the full mode; the quick
# mode trains 4. The full run (79 s on one busy core) rises from the starting 30.11 to
# 45.68 ± 0.23 nats per test image (exact log Z; AIS on 2,001 steps 45.70 ± 0.24), still
# below the full-covariance Gaussian's 50.14: mean ± sd over seeds 0–4 (`python
# benchmarks/seed_spread.py --only grbm`). A single run varies by machine as well as by
# seed, because torch's CPU kernels round float32 differently on different processors and
# the sampled training amplifies it: seed 0 gives 45.72 ± 1.03 (standard error over test
# images; AIS 45.71 [45.63, 45.79]) with torch's AVX-512 kernels, 45.47 with them held to
# AVX2 (`python benchmarks/seed_spread.py --machines --only grbm`).

# %%
history = fit(grbm, train, method="pcd", epochs=200 if FULL else 4, seed=0, evaluate="exact", eval_data=test,
              eval_every=10 if FULL else 2,
              progress=False)
print("test log-density per evaluated epoch:", [round(x, 2) for x in history.log_likelihood if x is not None])
pgm.plot_curves({"test set, exact log Z": history.log_likelihood}, out / "curve.png",
                title="Gaussian RBM 64x16: test log-density (nats per image)")

# %% [markdown]
# ## Exact and AIS log Z
# `exact_log_partition` enumerates the 2^16 hidden states (the visible units integrate
# out). AIS anneals from a Gaussian fitted to the data marginals to the model along the
# visible marginal; its bracket is a ±3 standard-error interval of Ẑ.

# %%
exact = exact_log_partition(grbm)
ais = ais_log_partition(grbm, n_chains=100, betas=torch.linspace(0, 1, 2001 if FULL else 301, dtype=torch.float64), data=train,
                        seed=0, progress=False)
ll_exact, ll_ais = log_likelihood(grbm, test, exact), log_likelihood(grbm, test, ais)
print(f"log Z exact {exact.log_z:.3f}, AIS {ais.log_z:.3f} [{ais.lower:.3f}, {ais.upper:.3f}]")
print(f"test log-density: exact {ll_exact.mean:.2f} ± {ll_exact.sem:.2f} (sem over images), "
      f"AIS {ll_ais.mean:.2f} [{ll_ais.lower:.2f}, {ll_ais.upper:.2f}]")
if FULL:
    print("seeds 0-4: 45.68 ± 0.23 exact (mean ± sd); a single run varies by machine as well as by seed")

# %% [markdown]
# ## Baselines
# A Gaussian mixture is the natural yardstick for a density on 64 real values: one
# full-covariance Gaussian has 64 + 64·65/2 = 2,144 parameters, our 64×16 model 1,168.

# %%
full = GaussianMixture(1, covariance_type="full", random_state=0).fit(train.numpy())
print(f"one full-covariance Gaussian: {full.score(test.numpy()):.2f} nats per image")

# %% [markdown]
# ## Samples and filters
# Gibbs chains from noise; the pictures show the visible conditional means E[v | h] of
# the last sweep. Each hidden unit's filter is its column of W (scaled by σ: the change of
# the visible means when the unit turns on).

# %%
gen = make_generator(0)
state = gibbs.run(grbm, gibbs.init(grbm, 36, gen), 1000 if FULL else 100, gen)
with torch.no_grad():
    means = grbm.conditional("v", state.values).mean
pgm.image_grid(means.clamp(0, 1), (8, 8), out / "samples.png", normalize=None, title="Gibbs samples (E[v | h])")
with torch.no_grad():
    filters = (grbm.W * grbm.sigma[:, None]).t()
pgm.image_grid(filters, (8, 8), out / "filters.png", title="hidden units' filters (σ ⊙ W)")
print(f"wrote the pictures to {out}/")
