"""One rank of the two-process runs of every family that ``test_families_data_parallel.py``
checks.

Started twice with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as ``torchrun``
would: ``python -m tests.inference.distributed._families_worker OUT``. The rank opens the
process group once, trains each family's small model through ``inference.fit(...,
distributed=True)`` and saves every run's parameters and buffers to OUT/rank<r>.pt.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import torch
import torch.distributed as dist

import inference
from models import DBM, DBN, VAE, GSN, Autoencoder, MeanCovarianceRBM, StackedAutoencoder
from models.adversarial import DCGAN, GAN, GMMN
from models.autoregressive import MADE, NADE
from models.directed.conv_dbn import ConvDBN
from models.energy import RBM, ConditionalRBM

from inference.cli import main as pgm
from inference.learning import Evaluation

#: The runs the tests rebuild their single-process references from: 8 rows, one step of
#: 4 rows on each rank per epoch.
ONE_STEP = dict(epochs=1, batch_size=4, lr=0.01, seed=3, monitor=0, progress=False)


def data(n: int, width: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, width), 0.4), generator=torch.Generator().manual_seed(seed)).double()


def state(model) -> list:
    """Parameters, then floating-point buffers."""
    return [t.detach().clone() for t in model.parameters()] + \
        [t.detach().clone() for t in model.buffers() if t.is_floating_point()]


#: name → (a fresh model, its data, fit's keywords): the models are built the same on every rank.
RUNS = {
    "ae": (lambda: Autoencoder(6, 3, seed=0).double(), lambda: data(8), ONE_STEP),
    "nade": (lambda: NADE(6, 4, seed=0).double(), lambda: data(8), ONE_STEP),
    "dae_walkback": (lambda: Autoencoder(6, 3, noise="masking", noise_level=0.3, seed=0).double(), lambda: data(8),
                     dict(ONE_STEP, method="walkback", walkback=2, epochs=2)),
    "made": (lambda: MADE(6, (8,), n_masks=4, order_agnostic=True, seed=0).double(), lambda: data(8),
             dict(ONE_STEP, epochs=2)),
    "gan": (lambda: GAN(6, n_latent=2, hidden=(8,), seed=0).double(), lambda: data(8),
            dict(ONE_STEP, epochs=2, d_steps=2)),
    "dcgan": (lambda: DCGAN(8, n_latent=3, channels=4, seed=0).double(), lambda: data(8, 64),
              dict(ONE_STEP, epochs=2)),
    "gmmn": (lambda: GMMN(6, 2, hidden=(8,), seed=0).double(), lambda: data(8),
             dict(epochs=2, batch_size=4, lr=0.01, seed=3, progress=False)),
    "gsn": (lambda: GSN([6, 5], walkback=2, seed=0).double(), lambda: data(8), dict(ONE_STEP, epochs=2)),
    "stacked": (lambda: StackedAutoencoder([6, 4, 3], seed=0).double(), lambda: data(8),
                dict(ONE_STEP, epochs=2, monitor=0)),
    "stacked_finetune": (lambda: StackedAutoencoder([6, 4, 3], seed=0).double(), lambda: data(8),
                         dict(ONE_STEP, method="finetune", epochs=2)),
    "dbn": (lambda: DBN([6, 4, 3], seed=0).double(), lambda: data(8),
            dict(ONE_STEP, epochs=2, lr=0.1, propagate="sample")),
    "dbn_up_down": (lambda: DBN([6, 4, 3], seed=0).double(), lambda: data(8),
                    dict(epochs=2, batch_size=4, lr=0.05, k=2, seed=3, method="up_down", progress=False)),
    "condrbm": (lambda: ConditionalRBM(6, 4, order=1, seed=0).double(), lambda: data(8 * 5).reshape(8, 5, 6),
                dict(ONE_STEP, epochs=2)),
    "convdbn": (lambda: ConvDBN((6, 6), n_filters=(2, 2), filter_sizes=(3, 2), pool_sizes=(2, 1), seed=0).double(),
                lambda: data(8, 36), dict(ONE_STEP, epochs=2, lr=0.05)),
    "dbm_centred_sml": (lambda: DBM([6, 4, 3], centered=True, seed=0).double(), lambda: data(8),
                        dict(ONE_STEP, method="sml", epochs=2, lr=0.05, n_chains=3)),
    "mcrbm_hmc": (lambda: MeanCovarianceRBM(4, 4, 3, n_mean=2, seed=0).double(),
                  lambda: torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
                  dict(ONE_STEP, method="hmc", epochs=2)),
}


class Classes(torch.nn.Module):
    """A coverage classifier without training: the class of a sample is its largest of the
    first three values; it records how many rows each call classified."""

    n_classes = 3

    def __init__(self):
        super().__init__()
        self.seen = []

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.shape[0])
        return x.reshape(x.shape[0], -1)[:, :3].argmax(1)


#: The monitored runs: name → (a fresh model, its data, fit's keywords, the monitors'
#: columns). 7 monitored rows (rank 1's share padded by one), the stack's 9 ("auto": all).
MONITORED = {
    "rbm": (lambda: RBM(130, 3, seed=0).double(), lambda: data(8, 130),  # the PLL from 32 random units per row
            dict(ONE_STEP, epochs=2, lr=0.1, monitor=7), ("pseudo_log_likelihood", "recon_error")),
    "vae": (lambda: VAE(6, 5, 2, seed=0).double(), lambda: data(8), dict(ONE_STEP, epochs=2, monitor=7), ("elbo",)),
    "cgan": (lambda: GAN(6, n_latent=2, hidden=(8,), n_classes=3, seed=0).double(), lambda: data(8),
             dict(ONE_STEP, epochs=2, monitor=7, labels=torch.arange(8) % 3, coverage_every=1, min_classes=1),
             ("monitor_real", "monitor_fake", "coverage_classes")),
    "dcgan": (lambda: DCGAN(8, n_latent=3, channels=4, seed=0).double(), lambda: data(8, 64),
              dict(ONE_STEP, epochs=2, monitor=7), ("monitor_real", "monitor_fake")),
    "gsn": (lambda: GSN([6, 5], walkback=2, seed=0).double(), lambda: data(8), dict(ONE_STEP, epochs=2, monitor=7),
            ("recon_error",)),
    "stacked_finetune": (lambda: StackedAutoencoder([6, 4, 3], seed=0).double(), lambda: data(9),
                         dict(ONE_STEP, method="finetune", epochs=2, monitor=9), ("recon_error",)),
}


#: The DBM's greedy pre-training: 9 rows (rank 1's shard padded), two steps per RBM and epoch.
PRETRAIN = dict(epochs=2, batch_size=3, lr=0.1, seed=3, progress=False)


def pretrain_cli(out: str) -> list:
    """``pgm fit dbm --pretrain 2 --epochs 1`` under the open group, its data written by the caller."""
    return ["fit", "dbm", "--data", os.path.join(out, "dbm_data.pt"), "--sizes", "6,4,3", "--pretrain", "2",
            "--epochs", "1", "--batch-size", "3", "--seed", "3", "--no-progress", "--out",
            os.path.join(out, "dbm_cli")]


#: The energy runs evaluated as they train, and their AIS settings.
EVALUATED = dict(method="cd", epochs=2, batch_size=4, lr=0.1, seed=3, monitor=0, progress=False)
EVAL_AIS = dict(n_chains=9, betas=torch.linspace(0, 1, 40).tolist(), base="uniform")


def main(out: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    got = {}
    dist.init_process_group("gloo")
    try:
        for name, (build, rows, options) in RUNS.items():
            model = build()
            history = inference.fit(model, rows(), distributed=True, **options)
            got[name] = state(model)
            if name == "ae":
                got["ae_loss"] = history.loss
        for name, (build, rows, options, columns) in MONITORED.items():  # the monitors split across the ranks
            model, extra = build(), {"coverage": Classes()} if "coverage_every" in options else {}
            history = inference.fit(model, rows(), distributed=True, **options, **extra)
            history = history.finetune if isinstance(history, tuple) else history  # the stack's: its fine-tuning
            got[f"monitored_{name}"] = (state(model), {c: getattr(history, c) for c in columns},
                                        extra["coverage"].seen if extra else None)
        dbm = DBM([6, 4, 3], centered=True, seed=0).double()
        layers = inference.pretrain_dbm(dbm, data(9), distributed=True, **PRETRAIN)
        got["dbm_pretrain"] = (state(dbm), [layer.recon_error for layer in layers])
        if rank == 0:
            torch.save(data(9), os.path.join(out, "dbm_data.pt"))
        dist.barrier()
        with contextlib.redirect_stdout(io.StringIO()):
            got["dbm_cli"] = pgm(pretrain_cli(out))
        nade, seen = NADE(6, 4, seed=0).double(), []  # the exact evaluation in training: 9 rows, 5 per rank
        log_prob = nade.log_prob
        nade.log_prob = lambda x, *rest: (seen.append(x.shape[0]), log_prob(x, *rest))[1]
        history = inference.fit(nade, data(8), evaluate="exact", eval_data=data(9, seed=1), distributed=True,
                                **{**ONE_STEP, "epochs": 2})
        del nade.log_prob
        got["evaluated_nade"] = (state(nade), history.eval_nll, seen)
        dbn = DBN([6, 4, 3], seed=0).double()  # the greedy stack evaluated after each layer, split
        history = inference.fit(dbn, data(8), evaluate="exact", eval_data=data(7, seed=1), n_samples=10,
                                distributed=True, **{**ONE_STEP, "epochs": 2})
        got["evaluated_dbn"] = (state(dbn), [row["estimate"] for row in history.bounds],
                                [row["log_z"] for row in history.bounds])
        dae = Autoencoder(6, 3, noise="masking", noise_level=0.3, seed=0).double()  # errors split over the ranks
        history = inference.fit(dae, data(8), evaluate="reconstruction", eval_data=data(7, seed=1), distributed=True,
                                **{**ONE_STEP, "epochs": 2})
        got["evaluated_dae"] = (state(dae), history.eval_recon_error, history.eval_denoise_error)
        vae = VAE(6, 5, 2, seed=0).double()  # a directed model's importance evaluation: rows split
        history = inference.fit(vae, data(8), evaluate="importance", eval_data=data(7, seed=1), eval_samples=10,
                                distributed=True, **{**ONE_STEP, "epochs": 2})
        got["evaluated_importance"] = (state(vae), history.log_likelihood)
        for method in ("exact", "ais"):  # evaluation during training, split across the ranks
            rbm = RBM(6, 4, seed=0).double()
            evaluate = Evaluation(method, data=data(7, seed=1), ais_options=EVAL_AIS)
            history = inference.fit(rbm, data(8), evaluate=evaluate, distributed=True, **EVALUATED)
            got[f"evaluated_{method}"] = (state(rbm), history.log_likelihood, history.log_z)
    finally:
        dist.destroy_process_group()
    torch.save(got, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
