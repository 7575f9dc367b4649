# %% [markdown]
# # Sequence RBMs on bouncing balls: the conditional RBM and the RNN-RBM
#
# This walk-through generates videos of bouncing balls, trains the two sequence RBMs of the
# library on them — the conditional RBM of Taylor, Hinton & Roweis (2007), whose biases
# depend linearly on the previous frames, and the RNN-RBM of Boulanger-Lewandowski, Bengio
# & Vincent (2012), whose biases come from a recurrent network — scores them by their
# exact per-frame log-likelihood and their next-frame prediction error against an RBM that
# ignores time, and draws generated sequences beside real ones. Run it as a script:
#
#     python tutorials/sequence_rbms.py [output-folder] [--full]
#
# The quick mode (the default, what the tests run) uses 12×12 frames of one ball, 40
# training sequences and 3 epochs, in a few seconds; `--full` uses the 16×16 frames of two
# balls of `pgm fit condrbm` / `pgm fit rnnrbm` (200 training sequences, 30 epochs), about
# two minutes of CPU time on one core. Pictures go to `runs/tutorials/sequence_rbms/`. The numbers of
# `benchmarks/sequence_rbms.py` are quoted in the library's benchmark page.

# %%
import sys
from pathlib import Path

import torch

import pgm
from inference import fit
from inference.sequences import frame_log_likelihood, next_frame_prediction, predict_frames, sampling, \
    sequence_log_likelihood
from models.energy import RBM, RNNRBM, ConditionalRBM

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/sequence_rbms")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)

# %% [markdown]
# ## Data
# `pgm.bouncing_balls(n, length, side, n_balls, radius, speed, seed)` simulates balls of
# equal mass moving at constant speed in a box, reflected by the walls and colliding
# elastically, and renders each frame as the binary picture of the discs: a tensor of shape
# (sequences, frames, side²). The same seed gives the same videos.

# %%
side, balls, n_train, epochs = (16, 2, 200, 30) if FULL else (12, 1, 40, 3)
train = pgm.bouncing_balls(n_train, 20, side=side, n_balls=balls, radius=2.5 if FULL else 2.0, seed=0)
test = pgm.bouncing_balls(30 if FULL else 10, 20, side=side, n_balls=balls, radius=2.5 if FULL else 2.0, seed=1)
print(tuple(train.shape), tuple(test.shape))
pgm.plots.sequence_strips(train[:3], None, (side, side), title="three training sequences",
                          path=out / "data.png")

# %% [markdown]
# ## Two sequence RBMs
# Both are an RBM over the frame v_t with hidden units h_t, whose biases depend on a
# context s_t: b_t = b + A s_t, c_t = c + B s_t. For the conditional RBM the context is the
# previous n frames (the first n frames of a sequence are given); for the RNN-RBM it is
# the RNN state û_{t−1}, with û_t = tanh(b_û + W_ûû û_{t−1} + W_vû v_t). As energy models a
# frame is a state of three groups: the context is observed and always given, with
# directed edges into v and h.

# %%
hidden = 12 if FULL else 8
crbm = ConditionalRBM.from_data(train, hidden, order=2, seed=0)
rnn = RNNRBM.from_data(train, hidden, n_recurrent=32 if FULL else 16, seed=0)
print(crbm.graph.describe())
print(rnn.graph.describe())
pgm.draw(crbm.graph, path=out / "graph.png", title="ConditionalRBM")

# %% [markdown]
# ## Training: CD-k, with the bias gradients back-propagated into the context
# `inference.fit` dispatches to `inference.sequences.fit_sequences`, in the library's one
# epoch loop (progress bar, non-finite guard, resumable checkpoints). Each frame's CD-k
# statistics are the gradient of a free-energy difference with the negative sample held
# fixed, so autograd carries them through b_t and c_t into A and B, or back through time
# into the RNN: the training algorithm of the RNN-RBM paper. The history records the exact
# per-frame NLL of 5 monitoring sequences (log Z_t by enumerating the hidden units).

# %%
for model in (crbm, rnn):
    history = fit(model, train, epochs=epochs, lr=3e-3, seed=0, monitor=5, progress=False)
    print(f"{type(model).__name__}: monitored NLL per frame {history.nll[0]:.2f} -> {history.nll[-1]:.2f} nats")
rbm = RBM.from_data(train.reshape(-1, side * side), hidden, seed=0)
fit(rbm, train.reshape(-1, side * side), epochs=epochs, seed=0, progress=False)

# %% [markdown]
# ## Per-frame log-likelihood and next-frame prediction
# −(1/T) Σ_t log p(v_t | past), with log Z_t of every frame's RBM exact by enumeration
# (`sequence_log_likelihood`; AIS per frame through the library's annealer where both
# layers are large). The prediction of v_t is E[v_t | past], estimated by Gibbs sampling in
# the frame's RBM started at v_{t−1} (`next_frame_prediction`). We score frames 2–19, those
# the conditional RBM is not given; the RBM that ignores time is scored on the same frames
# with constant biases.

# %%
def scores(name, nll, pred):
    print(f"{name:28s} NLL {nll.nll:7.2f} ± {nll.sem:.2f} nats per frame   "
          f"prediction MSE {pred.mse:.4f} per pixel")


with torch.no_grad():
    N, T, V = test.shape
    scores("RBM (frames independent)",
           frame_log_likelihood(rbm.W, test[:, 2:], rbm.b.expand(N, T - 2, V), rbm.c.expand(N, T - 2, hidden)),
           predict_frames(rbm.W, test[:, 2:], test[:, 1:-1], rbm.b.expand(N, T - 2, V),
                          rbm.c.expand(N, T - 2, hidden)))
    scores("ConditionalRBM", sequence_log_likelihood(crbm, test), next_frame_prediction(crbm, test))
    nll, pred = sequence_log_likelihood(rnn, test), next_frame_prediction(rnn, test)
    per_sequence = nll.per_frame[:, 2:].mean(1)  # the RNN-RBM models every frame: keep frames 2-19
    scores("RNNRBM", nll._replace(nll=float(-per_sequence.mean()), sem=float(per_sequence.std() / N ** 0.5)),
           pred._replace(mse=float(pred.per_frame[:, 2:].mean())))

# %% [markdown]
# ## Generating from a seed prefix
# `inference.sequences.sampling` is an init/step sampler over a `SequenceState`: each
# step draws the next frame by Gibbs sweeps in its RBM with the context clamped, started at
# the previous frame, and advances the context with the sample. The strips show each real
# test sequence above the one generated from its first two frames (the means σ(b_t + W h)
# of the drawn frames).

# %%
gen = torch.Generator().manual_seed(0)
for name, model in (("condrbm", crbm), ("rnnrbm", rnn)):
    state = sampling.generate(model, test[:4, :2], 20, gen, sweeps=25)
    pgm.plots.sequence_strips(test[:4], state.means, (side, side), given=2, path=out / f"{name}_samples.png",
                              title=f"{type(model).__name__}: real (upper) and generated (lower)")
print("wrote", sorted(p.name for p in out.glob("*.png")))

# %% [markdown]
# ## From the command line
#
#     pgm fit condrbm --data balls --hidden 12 --epochs 30 --lr 0.003 --out runs/condrbm
#     pgm eval runs/condrbm/model.pt          # per-frame NLL (exact) and prediction error
#     pgm sample runs/condrbm/model.pt --out runs/condrbm/samples.png
#     pgm fit rnnrbm --data digit-rows --hidden 8 --out runs/rnnrbm-rows
#
# `--data digit-rows` reads each 8×8 digit as a sequence of its 8 rows.
