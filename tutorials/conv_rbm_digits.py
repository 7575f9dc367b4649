# %% [markdown]
# # A convolutional RBM with probabilistic max-pooling, and a convolutional DBN
#
# This walk-through builds the convolutional RBM of Lee, Grosse, Ranganath & Ng (2009) on
# the bundled binarized digits: shared filters, detection maps cut into pooling blocks of
# which at most one unit is on, its exact log Z on a tiny instance against AIS, training by
# CD-1 with and without the sparsity target, its test log-likelihood by AIS, then a
# two-layer convolutional DBN trained greedily, its likelihood estimate and bound, its
# samples and the filters of both layers in pixel space. Run it as a script:
#
#     python tutorials/conv_rbm_digits.py [output-folder] [--full]
#
# The quick mode (the default, what the tests run) trains 1 epoch per model on 300 images
# with short AIS schedules, in a few seconds. `--full` trains 20 epochs per layer, the numbers quoted
# below (seed 0, one run; 91 s of CPU time on one core). Pictures go to
# `runs/tutorials/conv_rbm_digits/`.

# %%
import sys
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import pgm
from inference import ais_log_partition, exact_log_partition, fit, log_likelihood, make_generator
from inference.convdbn import conv_dbn_log_likelihood, sample_conv_dbn
from inference.families.convolutional import scaled_filters
from models import ConvDBN, ConvRBM

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/conv_rbm_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)
EPOCHS = 20 if FULL else 1
BETAS = torch.linspace(0, 1, 5000 if FULL else 100)

train, test = pgm.load_digits(split="train"), pgm.load_digits(split="test")
print(train.shape, test.shape)  # (1438, 64) (359, 64)
if not FULL:  # the quick mode trains on the first 300 images
    train = train[:300]

# %% [markdown]
# ## The model: shared filters and probabilistic max-pooling
# K = 8 filters of 5×5 slide over the 8×8 image: each gives a 4×4 detection map h^k with
# input I(h^k_ij) = b_k + (W̃^k * v)_ij, cut into 2×2 blocks. Within a block at most one
# unit is on: the block is a categorical over its 4 units and "off", so
# P(h^k_ij = 1 | v) = e^I / (1 + Σ_block e^I) and the block's pooling unit is off with
# probability 1 / (1 + Σ_block e^I). A deterministic max-pool of independent sigmoid
# units would be something else: it is not the conditional of any energy over the
# detection units, so the free energy, CD and AIS would not apply to it. The graph has two
# groups, the pixels and the detection units (kind `block_softmax`); the pooling units
# are a function of h, `crbm.pool(h)`.

# %%
crbm = ConvRBM.from_data(train, n_filters=8, filter_size=5, pool_size=2, seed=0)
print(crbm.graph.describe())
print("Gibbs blocks:", crbm.graph.gibbs_blocks())
print("detection", crbm.hidden_shape, "pooling", crbm.pool_shape,
      "parameters", sum(p.numel() for p in crbm.parameters()))
with torch.no_grad():
    crbm.W.normal_(0, 0.3, generator=torch.Generator().manual_seed(0))
    dist = crbm.conditional("h", {"v": train[:1]})
    block = dist.probs.reshape(8, 4, 4)[0, :2, :2]
    print("P(h = 1 | v) in one block:", block.flatten().tolist(), "P(block off):", 1 - float(block.sum()))
    h = dist.sample_with(make_generator(0))
    print("units on per block (never more than one):", crbm.pool(h).reshape(8, 2, 2)[0].tolist())

# %% [markdown]
# ## Exact log Z on a tiny conv RBM, and AIS
# With 3×3 images, two 2×2 filters and 2×2 pooling the detection layer has 8 units in two
# blocks: `exact_log_partition` enumerates its 2^8 binary states (those with two units on
# in a block have F = +∞) and sums the pixels out. AIS anneals the pixel marginal, the
# detection units summed out by the free energy F(v) = −c Σv − Σ_blocks log(1 + Σ e^I).

# %%
tiny = ConvRBM(3, 2, 2, 2, seed=1)
with torch.no_grad():
    for p in tiny.parameters():
        p.normal_(0, 1.0, generator=torch.Generator().manual_seed(2))
exact = exact_log_partition(tiny)
ais = ais_log_partition(tiny, n_chains=100, betas=torch.linspace(0, 1, 300), base="uniform", progress=False)
print(f"exact log Z {exact.log_z:.4f}; AIS {ais.log_z:.4f} in [{ais.lower:.4f}, {ais.upper:.4f}]")

# %% [markdown]
# ## Training, with and without the sparsity target
# `fit` runs CD-1 with the energy models' recipe; the default learning rate is 0.8 divided
# by the number of detection positions (the free energy sums over them). `sparsity=ρ`
# adds λ N_h N_w Σ_k (ρ − q_k)² to the loss, q_k the mean activation of group k, with its
# gradient on the hidden biases only (Lee et al.). The test log-likelihood takes log Z
# from AIS with its ±3 standard-error bracket. Full mode, seed 0: −22.64 nats per test
# image without the target, mean activation 0.19; with ρ = 0.05 the activation falls to
# 0.10 and the log-likelihood to −25.61 (sparsity buys features, not likelihood).

# %%
results = {}
for name, sparsity in (("plain", None), ("sparse", 0.05)):
    model = ConvRBM.from_data(train, 8, 5, 2, seed=0, sparsity=sparsity)
    fit(model, train, epochs=EPOCHS, seed=0, monitor=0, progress=False)
    lz = ais_log_partition(model, n_chains=100, betas=BETAS, data=train, seed=0, progress=False)
    ll = log_likelihood(model, test, lz)
    with torch.no_grad():
        q = float(model.conditional("h", {"v": test}).probs.mean())
    results[name] = model
    print(f"{name}: test log-likelihood {ll.mean:.2f} in [{ll.lower:.2f}, {ll.upper:.2f}], mean activation {q:.3f}")
crbm = results["plain"]

# %% [markdown]
# ## A convolutional DBN
# Two conv RBMs trained greedily: 8 filters 3×3 with 2×2 pooling (6×6 detection maps, 3×3
# pooling maps), then 16 filters 2×2 over the 8 pooling maps, trained on their
# probabilities P(p1 = 1 | v). As a DBN the second layer is the prior of p1; in an on
# block one detection unit is chosen uniformly, then the pixels are drawn given h1. Its
# log-likelihood is estimated with the first layer's exact posterior q(h1 | v) as the
# proposal: the K-sample importance estimate and the variational bound (the ELBO), the top
# layer's log Z by AIS. Full mode, K = 200: estimate −37.59, bound −48.24 nats per image,
# below the single conv RBMs above: the 11-nat gap says the first layer's posterior is a
# poor proposal for the two-layer model, and the directed choice within a block costs
# log 4 per on block that the first layer's own prior did not pay.

# %%
dbn = ConvDBN(8, (8, 16), (3, 2), (2, 2), seed=0)
fit(dbn, train, method="greedy", epochs=EPOCHS, seed=0, monitor=0, progress=False)
est = conv_dbn_log_likelihood(dbn, test, "ais", n_samples=200 if FULL else 10, train_data=train,
                              ais_options={"betas": BETAS})
print(f"conv DBN: importance estimate {est.mean:.2f} [{est.lower:.2f}, {est.upper:.2f}], bound {est.elbo:.2f}")
samples = sample_conv_dbn(dbn, 36, make_generator(0), steps=1000 if FULL else 50)

# %% [markdown]
# ## Filters of both layers, in pixel space
# A second-layer filter acts on pooling units; each pooling unit stands for one of the
# C² detection units of its block, each of which paints a first-layer filter. Averaging
# over the block and summing over the first-layer channels gives each second-layer filter
# as a picture f2·C1 + f1 − 1 = 2·2 + 3 − 1 = 6 pixels wide (`ConvDBN.pixel_filters`).

# %%
first, second = dbn.pixel_filters()
print("layer-1 filters", tuple(first.shape), "layer-2 filters in pixel space", tuple(second.shape))
fig = Figure(figsize=(15, 4.2))
FigureCanvasAgg(fig)
axes = fig.subplots(1, 4, gridspec_kw={"wspace": 0.3})
pgm.image_grid(scaled_filters(crbm.W[:, 0], 5).t(), (5, 5), ax=axes[0], normalize="global",
               title="conv RBM: 8 filters 5x5")
pgm.image_grid(scaled_filters(first, 3).t(), (3, 3), ax=axes[1], normalize="global", title="conv DBN layer 1")
pgm.image_grid(scaled_filters(second, 6).t(), (6, 6), ax=axes[2], normalize="global",
               title="layer 2 in pixel space")
pgm.image_grid(samples, (8, 8), ax=axes[3], normalize=None, title="conv DBN samples")
fig.savefig(out / "conv_rbm_digits.png", dpi=100, bbox_inches="tight")
print(f"wrote {out}/conv_rbm_digits.png")
