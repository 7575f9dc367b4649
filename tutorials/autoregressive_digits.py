# %% [markdown]
# # Autoregressive models on digits: exact likelihoods, orderings, ensembles, in-painting
#
# An autoregressive model writes p(x) = Π_i p(x_{o_i} | x_{o_<i}) along an ordering o of
# the pixels, with every conditional a tractable distribution, so log p(x) is exact and
# cheap: the number every other family of the library estimates (AIS, bounds, importance
# sampling) is here computed. This walk-through builds the fully visible sigmoid belief
# net (Frey 1998), NADE (Larochelle & Murray 2011), MADE (Germain et al. 2015), the
# order-agnostic deep NADE and its ensembles (Uria, Murray & Larochelle 2014) and RNADE for
# real values (Uria et al. 2013), checks that the probabilities are exact, trains them on
# the binarized digits, and in-paints digits exactly. Run it as a script:
#
#     python tutorials/autoregressive_digits.py [output-folder] [--full]
#
# The default (quick) mode takes well under a minute with short runs whose numbers mean
# little; `--full` trains for real (see `FULL_EPOCHS`; about 8 minutes on 2 cores) and
# prints (seed 0, a single run): exact test log-likelihood −18.33 (FVSBN), −17.07 (NADE 64),
# −18.00 (MADE 500 with 8 mask sets, one member; −17.19 for their ensemble), −17.85
# (order-agnostic NADE 500-500, one ordering; −16.53 for 8 orderings, against −17.47 for
# the mean of their log-probabilities); RNADE 80.77 nats per test image on the dequantised
# digits against the Gaussian RBM's 45.72. Every log-likelihood printed is exact, in nats
# per test image.

# %%
import itertools
import math
import sys
from pathlib import Path

import torch

import pgm
from inference import exact_log_partition, fit, log_likelihood
from inference.autoregressive.pictures import observed_half, plot_conditional_log_likelihood, plot_inpainting
from models import GaussianRBM
from models.autoregressive import FVSBN, MADE, NADE, RNADE, OrderAgnosticNADE

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/autoregressive_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # small models: one thread is fastest

train = pgm.load_digits(split="train")
test = pgm.load_digits(split="test")
FULL_EPOCHS = {"fvsbn": 100, "nade": 200, "made": 100, "oanade": 200, "rnade": 60}
EPOCHS = FULL_EPOCHS if FULL else {k: 2 for k in FULL_EPOCHS}
HIDDEN, DEEP = (500, (500, 500)) if FULL else (32, (32, 32))
if not FULL:  # a few hundred digits are enough to run every cell
    train = train[:300]

# %% [markdown]
# ## The program and its graph
# Each model is a Pyro program with one sample site per pixel, `x_d`, visited along the
# ordering; each site's distribution is the exact conditional. `pgm.from_pyro` traces the
# dependence of every site on every earlier one; `model.graph` groups the 64 sites by
# image row so the chain stays legible, and `pgm.draw(..., reduce=True)` draws the chain
# without its implied edges.

# %%
nade = NADE(64, 64, seed=0)
print(nade.graph.describe().splitlines()[:3])
pgm.draw(nade.graph, path=out / "nade_graph.png", title="NADE: one site per pixel, grouped by row", reduce=True)

# %% [markdown]
# ## Exact, checked: the probabilities of all 2^D vectors sum to one
# On a model of 10 pixels the 1,024 probabilities are enumerated. NADE's running sum
# a_{i+1} = a_i + W_{:,o_i} x_{o_i} computes all conditionals in O(HD); the defining
# per-dimension computation (O(HD²)) gives the same numbers.

# %%
tiny_x = torch.tensor(list(itertools.product([0.0, 1.0], repeat=10)))
for tiny in (FVSBN(10, seed=0, weight_std=1.0), NADE(10, 6, seed=0), MADE(10, (16, 16), n_masks=3, seed=0),
             OrderAgnosticNADE(10, (16,), seed=0)):
    with torch.no_grad():
        total = float(tiny.log_prob(tiny_x).double().exp().sum())
    print(f"{type(tiny).__name__:>17}: sum of p(x) over 2^10 vectors = {total:.6f}")
with torch.no_grad():
    gap = float((nade.log_prob(test) - nade.log_prob_naive(test)).abs().max())
print(f"NADE running sum against the naive computation on the test digits: largest difference {gap:.1e} nats")

# %% [markdown]
# ## Training: exact test log-likelihood per epoch
# `inference.fit` trains each by Adam (lr 1e-3, batch 20) in the library's one epoch
# loop; with `evaluate="exact"` the history holds the exact test log-likelihood of every
# epoch. MADE draws one of its mask sets per minibatch; the order-agnostic NADE draws an
# ordering and a split per example and predicts every unobserved pixel (an unbiased
# estimate of the expected negative log-likelihood over orderings).

# %%
models = {
    "FVSBN": FVSBN(64, seed=0),
    "NADE 64": NADE(64, 64, seed=0),
    f"MADE {HIDDEN}, 8 mask sets": MADE(64, (HIDDEN,), n_masks=8, order_agnostic=True, seed=0),
    f"order-agnostic NADE {'-'.join(map(str, DEEP))}": OrderAgnosticNADE(64, DEEP, seed=0),
}
keys = dict(zip(models, ("fvsbn", "nade", "made", "oanade")))
histories = {}
for name, model in models.items():
    every = 1 if keys[name] in ("fvsbn", "nade") else EPOCHS[keys[name]]  # a deep ordering pass costs 64 passes
    histories[name] = fit(model, train, epochs=EPOCHS[keys[name]], evaluate="exact", eval_data=test,
                          eval_every=every, monitor=0, progress=False)
    print(f"{name:>32}: exact test log-likelihood {-histories[name].eval_nll[-1]:.2f} nats "
          f"({model.n_parameters:,} parameters)")
pgm.plot_curves({name: [None if v is None else -v for v in h.eval_nll] for name, h in histories.items()
                 if keys[name] in ("fvsbn", "nade")}, path=out / "curves.png", ylabel="exact test log p(x), nats",
                title="exact test log-likelihood per epoch")

# %% [markdown]
# ## Ensembles of orderings: a logsumexp, never an average of log-probabilities
# Every ordering of the order-agnostic NADE (every mask set of MADE) is a model of its
# own; their mixture p(x) = (1/K) Σ_k p_k(x) is again a distribution, and its
# log-likelihood log (1/K) Σ_k p_k(x) is at least the mean of the members' (Jensen). The
# mean of log-probabilities is not the log-likelihood of anything.

# %%
oanade, made = models[f"order-agnostic NADE {'-'.join(map(str, DEEP))}"], models[f"MADE {HIDDEN}, 8 mask sets"]
for name, model, sizes in (("order-agnostic NADE", oanade, (1, 2, 8)), ("MADE", made, (1, 2, 8))):
    with torch.no_grad():
        per = torch.stack([model.log_prob(test, m) for m in model.members(max(sizes))]).double()
    for k in sizes:
        ensemble = float((torch.logsumexp(per[:k], 0) - math.log(k)).mean())
        print(f"{name}: {k} member(s): ensemble {ensemble:.2f} nats; mean of members' log p {float(per[:k].mean()):.2f}")

# %% [markdown]
# ## Samples and exact in-painting
# Ancestral sampling walks the ordering. In-painting draws the missing pixels from
# p(x_missing | x_observed) exactly when the observed pixels come first in the ordering:
# the top half for NADE's raster order; any set of pixels for the order-agnostic NADE,
# which moves them to the front of its ordering.

# %%
gen = torch.Generator().manual_seed(0)
pgm.image_grid(models["NADE 64"].sample(64, gen), (8, 8), path=out / "nade_samples.png", normalize=None,
               title="NADE 64: ancestral samples")
plot_inpainting(models["NADE 64"], test[:8], observed_half((8, 8), "top"), (8, 8), generator=gen,
                path=out / "nade_inpainting.png")
plot_inpainting(oanade, test[:8], observed_half((8, 8), "left"), (8, 8), generator=gen,
                path=out / "oanade_inpainting.png", title="order-agnostic NADE: the left half observed")
try:
    models["NADE 64"].sample(1, gen, observed=observed_half((8, 8), "left"), values=test[:1])
except ValueError as err:
    print("NADE, left half observed:", str(err).split(";")[0])

# %% [markdown]
# ## Where the nats go
# The mean conditional log-likelihood log p(x_d | x_<d) of each pixel over the test digits,
# as an image: the border pixels cost nothing, the strokes most.

# %%
plot_conditional_log_likelihood(models["NADE 64"], test, (8, 8), path=out / "nade_per_pixel.png")

# %% [markdown]
# ## Real values: RNADE beside the Gaussian RBM
# On the dequantised digits (pixel + u) / 17, RNADE models each conditional as a mixture
# of 10 Gaussians whose weights, means and scales come from NADE's shared hidden layer;
# its log-density is exact, like the Gaussian RBM's with log Z by enumeration of its 16
# hidden units. RNADE overfits 1,300 digits within a few dozen epochs, so the last 10 % of
# the training digits are held out and a callback keeps the parameters of the epoch with
# the best exact validation log-likelihood (early stopping).

# %%
import copy

real_train = pgm.load_digits(binarize=False, dequantize=True)
real_test = pgm.load_digits(binarize=False, dequantize=True, split="test")
if not FULL:
    real_train = real_train[:300]
cut = int(0.9 * real_train.shape[0])
best = {"nll": math.inf}


def keep_best(epoch, history, model):
    if history.eval_nll[-1] < best["nll"]:
        best.update(nll=history.eval_nll[-1], epoch=epoch, state=copy.deepcopy(model.state_dict()))


rnade = RNADE.from_data(real_train[:cut], 64 if FULL else 8, seed=0)
fit(rnade, real_train[:cut], epochs=EPOCHS["rnade"], evaluate="exact", eval_data=real_train[cut:], monitor=0,
    callbacks=keep_best, progress=False)
rnade.load_state_dict(best["state"])
grbm = GaussianRBM.from_data(real_train, 16, seed=0)
fit(grbm, real_train, epochs=200 if FULL else 2, progress=False)
with torch.no_grad():
    print(f"RNADE (best validation epoch {best['epoch']}): {float(rnade.log_prob(real_test).mean()):.2f} nats per "
          f"test image; Gaussian RBM 64-16: {log_likelihood(grbm, real_test, exact_log_partition(grbm)).mean:.2f}")
pgm.image_grid(rnade.sample(36, gen), (8, 8), path=out / "rnade_samples.png", normalize="global",
               title="RNADE: samples on the dequantised digits")
