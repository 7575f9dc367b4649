# %% [markdown]
# # A binary RBM on digits, end to end
#
# This walk-through trains a restricted Boltzmann machine on the bundled binarized digits,
# measures its log-likelihood exactly and by annealed importance sampling (AIS), samples
# from it with the block Gibbs sampler, and shows that a Pyro program and an energy model
# share one graph representation. Run it as a script:
#
#     python tutorials/rbm_digits.py [output-folder]
#
# It takes a few seconds on a laptop CPU and writes its pictures to `runs/tutorial/`.

# %%
import sys
from pathlib import Path

import pyro
import pyro.distributions as dist
import torch

import pgm
from inference import (ais_log_partition, exact_log_partition, fit, gibbs, load_model, log_likelihood,
                       make_generator, save_model)
from models import RBM

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tutorial")
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Data
# scikit-learn's 1797 digits (8×8, grey levels 0..16), binarized as `pixel >= 8` and split
# by a fixed permutation into 1438 training and 359 test images, so that numbers compare
# across models and libraries.

# %%
train = pgm.load_digits(split="train")
test = pgm.load_digits(split="test")
print(train.shape, test.shape, train.dtype)  # (1438, 64) (359, 64) float32
pgm.image_grid(train[:36], (8, 8), out / "data.png", normalize=None)

# %% [markdown]
# ## The model and its graph
# E(v, h) = −bᵀv − cᵀh − vᵀWh. `RBM.from_data` sets the visible biases to the logits of the
# data marginals (Hinton's practical guide); weights start N(0, 0.01²). The graph is plain
# data: inference reads the Gibbs schedule and Markov blankets from it.

# %%
rbm = RBM.from_data(train, n_hidden=16, seed=0)
print(rbm.graph.describe())
print("Gibbs blocks:", rbm.graph.gibbs_blocks())  # [['v'], ['h']]
print("Markov blanket of h:", rbm.graph.markov_blanket("h"))  # {'v'}
pgm.draw(rbm.graph, path=out / "rbm_graph.png", title="RBM")

# %% [markdown]
# ## Training
# `fit` defaults to the recipe measured best on this data: CD-1 with sampled
# reconstructions, SGD with momentum 0.5 → 0.9, learning rate 0.1 decayed linearly to 0,
# batches of 20, 50 epochs. The learning rule writes ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_model into
# `.grad`, so any `torch.optim` optimizer works. Asking for `evaluate="exact"` adds the
# exact test log-likelihood to every epoch's record (cheap here: 2^16 hidden states).

# %%
history = fit(rbm, train, seed=0, evaluate="exact", eval_data=test, progress=False)
print(f"epoch {history.epoch[-1]}: test log-likelihood {history.log_likelihood[-1]:.3f} nats")
pgm.plot_curves({"test, exact": history.log_likelihood}, out / "curve.png")
pgm.image_grid(rbm.W.detach().t(), (8, 8), out / "filters.png")

# %% [markdown]
# ## Partition function: exact and AIS
# The exact log Z enumerates the smaller layer in float64. AIS (Salakhutdinov & Murray,
# 2008) anneals from a base-rate model through ~14,500 intermediate distributions; it
# returns log Ẑ with a ±3σ bracket on the mean importance weight. The log-likelihood
# carries the bracket through.

# %%
exact = exact_log_partition(rbm)
ais = ais_log_partition(rbm, n_chains=100, data=train, seed=0, progress=False)
print(f"log Z exact {exact.log_z:.4f}; AIS {ais.log_z:.4f} in [{ais.lower:.4f}, {ais.upper:.4f}], ESS {ais.ess:.1f}")
ll = log_likelihood(rbm, test, ais)
print(f"test log-likelihood {ll.mean:.3f} nats (AIS bracket [{ll.lower:.3f}, {ll.upper:.3f}], "
      f"± {ll.sem:.3f} standard error over examples)")
assert ais.lower <= exact.log_z <= ais.upper

# %% [markdown]
# ## Sampling
# The sampler is an `init`/`step` pair over a `GibbsState` NamedTuple, driven by an
# explicit generator: the same seed gives the same samples. Clamping a group reuses the
# same sampler for conditional sampling, here p(h | v) for test images.

# %%
gen = make_generator(0)
state = gibbs.init(rbm, 64, gen)
state = gibbs.run(rbm, state, 1000, gen)
with torch.no_grad():
    probs = rbm.conditional("v", state.values).probs
pgm.image_grid(probs, (8, 8), out / "samples.png", normalize=None)

clamped = gibbs.init(rbm, 5, gen, clamp={"v": test[:5]})
clamped = gibbs.step(rbm, clamped, gen, clamp={"v": test[:5]})
print("hidden codes of 5 test digits:\n", clamped.values["h"])

# %% [markdown]
# ## Saving and loading
# A model file holds the `state_dict` and a JSON config; it loads with
# `torch.load(weights_only=True)`. (`fit(..., checkpoint=path)` additionally writes
# resumable training checkpoints, atomically.)

# %%
save_model(out / "rbm.pt", rbm)
again = load_model(out / "rbm.pt")
assert torch.equal(again.W, rbm.W)

# %% [markdown]
# ## A Pyro program in the same graph
# A two-layer sigmoid belief net written as a Pyro program traces into the same `Graph`
# type: directed edges from the program's dependencies, plates kept. One drawing function
# and one query API serve both families.

# %%
def sigmoid_belief_net(x):
    w2 = torch.zeros(8, 16)
    w1 = torch.zeros(16, 64)
    with pyro.plate("batch", x.shape[0]):
        h2 = pyro.sample("h2", dist.Bernoulli(logits=torch.zeros(8)).to_event(1))
        h1 = pyro.sample("h1", dist.Bernoulli(logits=h2 @ w2).to_event(1))
        return pyro.sample("v", dist.Bernoulli(logits=h1 @ w1).to_event(1), obs=x)


sbn_graph = pgm.from_pyro(sigmoid_belief_net, train[:10])
print(sbn_graph.describe())
print("Markov blanket of h1:", sbn_graph.markov_blanket("h1"))  # {'h2', 'v'}
pgm.draw(sbn_graph, path=out / "sbn_graph.png", title="sigmoid belief net (traced)")
print(f"pictures in {out}/")
