"""Invalid ``pgm`` invocations: one line on stderr, an exit status, never a traceback.

``TABLE`` holds one row per invalid invocation: the arguments (``{d}`` is a folder of
prepared files, among them earlier outputs that must not be overwritten, ``{out}`` an
output folder that does not exist yet), the expected exit status (2: usage error, 1:
failure) and a substring of the message (where ``{d}`` stands for the folder too). A new command or
model joins by adding rows; ``test_the_table_covers_every_command_and_model`` checks that
it did.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import inference.checkpoint
import inference.cli
import inference.learning
import pgm
from inference import families as registry
from inference.checkpoint import save_model
from inference.cli import main
from models.autoregressive import NADE
from models.directed import VAE
from models.energy import RBM, ConditionalRBM, Hopfield

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
as_user = pytest.mark.skipif(ROOT, reason="root ignores file permissions")
COMMANDS = ("demo", "fit", "eval", "sample", "graph", "filters")


def _row(argv, code, message, marks=()):
    return pytest.param(argv, code, message, id=argv or "(nothing)", marks=marks)


TABLE = [
    # -- parsing ------------------------------------------------------------------------
    _row("", 2, "the following arguments are required: command"),
    _row("bogus", 2, "invalid choice: 'bogus'"),
    _row("fit", 2, "the following arguments are required: MODEL"),
    _row("fit nosuch", 2, "invalid choice: 'nosuch'"),
    _row("fit rbm --bogus", 2, "unrecognized arguments: --bogus"),
    _row("fit rbm --method sgd", 2, "--method sgd does not apply to the rbm model (it takes --method cd|pcd|pt|sml)"),
    _row("fit vae --method cd", 2, "--method cd does not apply to the vae model (it takes --method "
                                   "elbo|nvil|iwae|rws|wake_sleep); --method cd applies to rbm, grbm"),
    _row("fit vae --evaluate exact", 2, "--evaluate exact does not apply to the vae model (it takes --evaluate "
                                        "none|importance); --evaluate exact applies to rbm"),
    _row("fit vae --temperatures 3", 2, "unrecognized arguments: --temperatures 3 (--temperatures is an option of "
                                        "rbm, grbm, bm, dbm, crbm, ssrbm, dbn, not of vae)"),
    _row("fit rbm --particles 3", 2, "--particles is an option of sbn, helmholtz, vae, not of rbm"),
    _row("fit hopfield --epochs 3", 2, "--epochs is an option of rbm"),
    _row("fit dbn --up-down-lr 0.1", 2, "--up-down-lr applies with --method up_down"),
    _row("fit rbm --no-such-option 1", 2, "--no-such-option is an option of no model"),
    _row("fit rbm --average ema", 2, "argument --average: invalid choice"),
    _row("fit rbm --evaluate sometimes", 2, "--evaluate sometimes does not apply to the rbm model"),
    # -- fit: every numeric option ------------------------------------------------------
    _row("fit rbm --epochs 0", 2, "argument --epochs: expected a positive int, got 0"),
    _row("fit rbm --epochs -3", 2, "argument --epochs: expected a positive int, got -3"),
    _row("fit rbm --epochs 1.5", 2, "argument --epochs: expected a positive int, got '1.5'"),
    _row("fit rbm --epochs inf", 2, "got 'inf' (not a finite number)"),
    _row("fit rbm --k 0", 2, "argument --k: expected a positive int"),
    _row("fit rbm --batch-size 0", 2, "argument --batch-size: expected a positive int"),
    _row("fit rbm --batch-size nan", 2, "got 'nan' (not a finite number)"),
    _row("fit rbm --lr 0", 2, "argument --lr: expected a finite number > 0, got 0"),
    _row("fit rbm --lr -0.1", 2, "argument --lr: expected a finite number > 0, got -0.1"),
    _row("fit rbm --lr inf", 2, "argument --lr: expected a finite number > 0, got 'inf' (infinite)"),
    _row("fit rbm --lr nan", 2, "argument --lr: expected a finite number > 0, got 'nan' (NaN)"),
    _row("fit rbm --lr fast", 2, "argument --lr: expected a finite number > 0, got 'fast'"),
    _row("fit rbm --momentum 1", 2, "argument --momentum: expected a finite number in [0, 1), got 1"),
    _row("fit rbm --momentum -0.1", 2, "argument --momentum: expected a finite number in [0, 1)"),
    _row("fit rbm --momentum nan", 2, "argument --momentum: expected a finite number in [0, 1), got 'nan' (NaN)"),
    _row("fit rbm --momentum=-inf", 2, "got '-inf' (infinite)"),
    _row("fit rbm --seed -1", 2, "argument --seed: expected an int >= 0, got -1"),
    _row("fit rbm --seed x", 2, "argument --seed: expected an int >= 0, got 'x'"),
    _row("fit rbm --hidden 0", 2, "argument --hidden: expected a positive int, got 0"),
    _row("fit rbm --hidden -5", 2, "argument --hidden: expected a positive int"),
    _row("fit rbm --hidden inf", 2, "argument --hidden: expected a positive int, got 'inf' (not a finite number)"),
    _row("fit rbm --weight-std -1", 2, "argument --weight-std: expected a finite number >= 0, got -1"),
    _row("fit rbm --weight-std nan", 2, "argument --weight-std: expected a finite number >= 0, got 'nan' (NaN)"),
    _row("fit rbm --weight-std inf", 2, "got 'inf' (infinite)"),
    _row("fit grbm --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit grbm --weight-std -0.5", 2, "argument --weight-std: expected a finite number >= 0"),
    _row("fit grbm --lr nan", 2, "argument --lr: expected a finite number > 0, got 'nan' (NaN)"),
    _row("fit grbm --fixed-sigma yes", 2, "unrecognized arguments: yes"),
    _row("fit bm --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit bm --temperatures 0", 2, "argument --temperatures: expected a positive int"),
    _row("fit hopfield --rule oja", 2, "argument --rule: invalid choice: 'oja'"),
    _row("fit hopfield --patterns 0", 2, "argument --patterns: expected a positive int"),
    _row("fit dbm --sizes 64", 2, "argument --sizes: expected at least two positive layer sizes"),
    _row("fit dbm --sizes 64,x", 2, "argument --sizes: expected comma-separated layer sizes"),
    _row("fit dbn --sizes 64,32", 2, "--sizes 64,32: a DBN needs at least three layers"),
    _row("fit dbn --sizes 32,16,8 --out {out}", 2, "--sizes 32,16,8: the visible layer must match the data's 64 columns"),
    _row("fit dbm --pretrain 0", 2, "argument --pretrain: expected a positive int"),
    _row("fit dbm --sizes 32,16,8 --out {out}", 2,
         "--sizes 32,16,8: the visible layer must match the data's 64 columns (e.g. --sizes 64,16,8, or leave "
         "--sizes out for 64,32,16)"),
    _row("fit stacked --sizes 32,16 --out {out}", 2,
         "--sizes 32,16: the visible layer must match the data's 64 columns (e.g. --sizes 64,16, or leave --sizes "
         "out for 64,32,16)"),
    _row("fit gsn --sizes 32,16 --out {out}", 2, "(e.g. --sizes 64,16, or leave --sizes out for 64,128,128)"),
    _row("fit rbm --data mnist-grey: --out {out}", 2, "--data mnist-grey: needs a folder"),
    _row("fit rbm --method mp --out {out}", 2, "--method mp does not apply to the rbm model (it takes --method "
                                               "cd|pcd|pt|sml); --method mp applies to dbm"),
    _row("fit ssrbm --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit mcrbm --factors 0", 2, "argument --factors: expected a positive int"),
    _row("fit mpot --target-accept 1", 2, "argument --target-accept: expected a finite number in (0, 1)"),
    _row("fit mcrbm --method pcd --leapfrog 5 --out {out}", 2, "--leapfrog and --target-accept apply with --method hmc"),
    _row("fit mpot --method pt", 2, "--method pt does not apply to the mpot model (it takes --method hmc|pcd|cd)"),
    _row("eval {d}/mpot.pt --method exact --chains 2", 2, "its exact log Z is a quadrature in at most 2 dimensions"),
    _row("fit crbm --classes 0", 2, "argument --classes: expected a positive int"),
    _row("fit crbm --data digits --out {out}", 1, "are not one-hot labels: use --data digits-labels"),
    _row("fit sbn --layers 0", 2, "argument --layers: expected a positive int"),
    _row("fit helmholtz --particles 0", 2, "argument --particles: expected a positive int"),
    _row("fit helmholtz --method elbo --out {out}", 2, "--method elbo does not apply to the helmholtz model"),
    _row("fit vae --latent 0", 2, "argument --latent: expected a positive int"),
    _row("fit dbn --samples 0", 2, "argument --samples: expected a positive int"),
    _row("fit ae --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit dae --noise blur", 2, "argument --noise: invalid choice"),
    _row("fit sae --sparsity 1", 2, "argument --sparsity: expected a finite number in (0, 1)"),
    _row("fit cae --contraction -1", 2, "argument --contraction: expected a finite number >= 0"),
    _row("fit stacked --sizes 64", 2, "argument --sizes: expected at least two positive layer sizes"),
    _row("fit gsn --input-noise 1", 2, "argument --input-noise: expected a finite number in [0, 1)"),
    _row("fit gsn --walkback 0", 2, "argument --walkback: expected a positive int"),
    _row("graph ae:64", 2, "expected two positive sizes"),
    _row("graph dae:64x0", 2, "is neither a model file nor a size"),
    _row("graph sae:64x8x4", 2, "expected two positive sizes"),
    _row("graph cae:1", 2, "expected two positive sizes"),
    _row("graph stacked:64", 2, "expected two or more positive sizes"),
    _row("graph gsn:64", 2, "expected two or more positive sizes"),
    _row("fit nade --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit made --hidden 500,0", 2, "argument --hidden: expected comma-separated positive hidden layer sizes"),
    _row("fit made --masks 0", 2, "argument --masks: expected a positive int"),
    _row("fit fvsbn --method cd --out {out}", 2, "--method cd does not apply to the fvsbn model"),
    _row("fit nade --evaluate ais --out {out}", 2, "--evaluate ais does not apply to the nade model"),
    _row("fit nade --data digits-real --out {out}", 2, "digits-real"),
    _row("graph nade:64", 2, "expected 2 positive sizes"),
    _row("graph fvsbn:64x3", 2, "expected 1 positive size"),
    _row("graph made:64", 2, "expected two or more positive sizes"),
    _row("fit oanade --hidden 0,5", 2, "argument --hidden: expected comma-separated positive hidden layer sizes"),
    _row("graph oanade:64", 2, "expected two or more positive sizes"),
    _row("fit rnade --components 0", 2, "argument --components: expected a positive int"),
    _row("fit rnade --kind cauchy", 2, "argument --kind: invalid choice"),
    _row("fit rnade --data digits --out {out}", 2, "--data digits holds binary {0, 1} data, but the rnade model"),
    _row("graph rnade:64", 2, "expected 2 positive sizes"),
    _row("eval {d}/model.pt --ensemble 2", 2, "--ensemble applies to autoregressive models"),
    _row("sample {d}/model.pt --inpaint top --out {out}/s.png", 2, "--inpaint applies to autoregressive models"),
    _row("eval {d}/nade.pt --ensemble 2", 2, "--ensemble 2: NADE.members: the model has one ordering"),
    _row("eval {d}/nade.pt --method ais", 2, "--method ais: the nade model's log-likelihood is exact"),
    _row("sample {d}/nade.pt --inpaint bottom --out {out}/s.png", 2, "observed dimensions must come first"),
    _row("sample {d}/nade.pt --steps 5 --out {out}/s.png", 2, "samples ancestrally"),
    _row("sample {d}/nade.pt --inpaint middle --out {out}/s.png", 2, "argument --inpaint: invalid choice"),
    _row("fit gan --latent 0", 2, "argument --latent: expected a positive int"),
    _row("fit gan --d-steps 0", 2, "argument --d-steps: expected a positive int"),
    _row("fit gan --method cd --out {out}", 2, "--method cd does not apply to the gan model"),
    _row("fit cgan --data digits --out {out}", 2, "use --data digits-labels"),
    _row("fit dcgan --channels 0", 2, "argument --channels: expected a positive int"),
    _row("fit dcgan --data {d}/six.pt --out {out}", 2, "not a square image"),
    _row("fit gmmn --bandwidths 0,1", 2, "argument --bandwidths: expected comma-separated positive bandwidths"),
    _row("graph gan:64", 2, "expected sizes like gan:64x128x10"),
    _row("graph cgan:64x3", 2, "expected sizes like"),
    _row("graph dcgan:64", 2, "expected sizes like dcgan:64x10"),
    _row("graph gmmn:64", 2, "expected sizes like gmmn"),
    _row("eval {d}/model.pt --sigma 0", 2, "argument --sigma: expected a finite number > 0"),
    _row("sample {d}/model.pt --walk spherical --out {out}/w.png", 2, "--walk applies to generators"),
    _row("sample {d}/model.pt --walk cubic --out {out}/w.png", 2, "argument --walk: invalid choice"),
    _row("fit dbn --propagate noise", 2, "argument --propagate: invalid choice"),
    _row("fit dbn --method up_down --up-down-epochs 0", 2, "argument --up-down-epochs: expected a positive int"),
    _row("fit sbn --method up_down --out {out}", 2, "--method up_down does not apply to the sbn model"),
    _row("fit dbn --method rws --out {out}", 2, "--method rws does not apply to the dbn model"),
    # -- fit: data ----------------------------------------------------------------------
    _row("fit rbm --data no-such-data --out {out}", 2, "--data 'no-such-data' not understood"),
    _row("fit rbm --data {d}/nomnist --out {out}", 2, "for MNIST IDX files in it use --data mnist:FOLDER"),
    _row("fit rbm --data mnist: --out {out}", 2, "--data mnist: needs a folder"),
    _row("fit rbm --data mnist:{d}/nonexistent --out {out}", 1, "nonexistent' does not exist; it should hold"),
    _row("fit rbm --data mnist:{d}/nomnist --out {out}", 1, "no 'train-images-idx3-ubyte'"),
    _row("fit rbm --data {d}/missing.pt --out {out}", 1, "missing.pt: no such file (expected a .pt or .npy"),
    _row("fit rbm --data {d}/missing.npy --out {out}", 1, "missing.npy: no such file"),
    _row("fit rbm --data {d}/dict.pt --out {out}", 1, "dict.pt holds a dict (keys 'x', 'y'), expected a tensor"),
    _row("fit rbm --data {d}/list.pt --out {out}", 1, "list.pt holds a list, expected a tensor"),
    _row("fit rbm --data {d}/vec.pt --out {out}", 1, "vec.pt holds a 1-D array of shape (5,), expected a 2-D"),
    _row("fit rbm --data {d}/cube.pt --out {out}", 1, "holds a 3-D array of shape (4, 8, 8)"),
    _row("fit rbm --data {d}/empty.pt --out {out}", 1, "empty.pt holds an empty array of shape (0, 64)"),
    _row("fit rbm --data {d}/nocols.pt --out {out}", 1, "holds an empty array of shape (40, 0)"),
    _row("fit rbm --data {d}/nan.pt --out {out}", 1, "nan.pt holds 1 NaN or infinite values"),
    _row("fit rbm --data {d}/inf.pt --out {out}", 1, "inf.pt holds 2 NaN or infinite values"),
    _row("fit rbm --data {d}/numpy.pt --out {out}", 1, "numpy.pt holds a numpy"),
    _row("fit rbm --data {d}/text.pt --out {out}", 1, "text.pt: torch.load cannot read it"),
    _row("fit rbm --data {d}/truncated.pt --out {out}", 1, "truncated.pt: torch.load cannot read it"),
    _row("fit rbm --data {d}/complex.pt --out {out}", 1, "complex.pt holds complex numbers"),
    _row("fit rbm --data {d}/sparse.pt --out {out}", 1, "sparse.pt holds a torch.sparse_coo tensor"),
    _row("fit rbm --data {d}/dir.pt --out {out}", 1, "dir.pt is a folder, expected a .pt or .npy file"),
    _row("fit rbm --data {d}/strings.npy --out {out}", 1, "strings.npy holds strings, expected a 2-D array"),
    _row("fit rbm --data {d}/objects.npy --out {out}", 1, "objects.npy holds an object array"),
    _row("fit rbm --data {d}/bytes.npy --out {out}", 1, "bytes.npy holds bytes"),
    _row("fit rbm --data {d}/complex.npy --out {out}", 1, "complex.npy holds complex numbers"),
    _row("fit rbm --data {d}/archive.npy --out {out}", 1, "archive.npy is an .npz archive"),
    _row("fit rbm --data {d}/text.npy --out {out}", 1, "text.npy holds no .npy array"),
    _row("fit rbm --data {d}/vec.npy --out {out}", 1, "vec.npy holds a 1-D array"),
    _row("fit rbm --data {d}/real.pt --out {out}", 2, "real.pt holds real-valued data, but the rbm model"),
    _row("fit rbm --data {d}/spin.pt --out {out}", 2, "spin.pt holds {-1, +1} data"),
    _row("fit rbm --data digits-real --out {out}", 2, "--data digits-real holds real-valued data"),
    _row("fit grbm --data digits --out {out}", 2, "--data digits holds binary {0, 1} data, but the grbm model"),
    _row("fit rbm --data digits-grey --evaluate exact --out {out}", 2, "--evaluate exact: --data digits-grey holds"),
    _row("fit rbm --data {d}/tiny.pt --evaluate exact --hidden 30 --out {out}", 2,
         "--evaluate exact: exact log Z enumerates the 2^30 states of h (30 units)"),
    # -- fit: output --------------------------------------------------------------------
    _row("fit rbm --data {d}/tiny.pt --out {d}/afile", 2, "afile is an existing file; name a folder"),
    _row("fit rbm --data {d}/tiny.pt --out {d}/afile/run", 1, "afile/run: cannot create it"),
    _row("fit rbm --data {d}/tiny.pt --resume --out {out}", 2, "--resume: there is no"),
    _row("fit rbm --data {d}/tiny.pt --out {d}/locked/run", 1, "cannot write in", as_user),
    _row("fit rbm --data {d}/unreadable.pt --out {out}", 1, "Permission denied", as_user),
    _row("fit rbm --out ''", 2, "argument --out: expected a folder name, got '' (an empty --out would write into "
                                "the current folder)"),
    _row("fit rbm --data {d}/tiny.pt --out {d}/oldrun", 2, "oldrun holds the outputs of another run (checkpoint.pt, "
         "history.json, model.pt); add --force to overwrite them, --resume to continue it, or name another --out"),
    _row("fit dbn --data {d}/tiny.pt --out {d}/oldrun", 2, "oldrun holds the outputs of another run (checkpoint.pt, "
         "history.json, model.pt); add --force to overwrite them, or name another --out"),  # no checkpoint.layer1.pt
    _row("fit hopfield --data {d}/tiny.pt --out {d}/oldrun", 2, "holds the outputs of another run (checkpoint.pt, "
         "history.json, model.pt); add --force to overwrite them, or name another --out"),
    _row("fit rbm --data {d}/tiny.pt --out {d}/oldrun --force --resume", 2, "--force starts the run in --out afresh "
         "and --resume continues it; give one of them"),
    _row("fit hopfield --data {d}/tiny.pt --patterns 100 --out {out}", 2,
         "--patterns 100: the data has 40 rows; store at most 40 (--patterns 40)"),
    _row("fit vae --particles 3 --out {out}", 2, "--particles applies to --method iwae and rws (importance "
                                                "particles); --method elbo draws none"),
    _row("fit helmholtz --method wake_sleep --particles 3 --out {out}", 2,
         "--particles applies to --method rws (importance particles); --method wake_sleep draws none"),
    # -- demo ---------------------------------------------------------------------------
    _row("demo --hidden 40 --out {out}", 2, "--hidden=40: the demo computes log Z exactly, enumerating 2^40"),
    _row("demo --quick --hidden 40 --out {out}", 2, "above exact_log_partition's limit of 25 units"),
    _row("demo --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("demo --epochs 0", 2, "argument --epochs: expected a positive int"),
    _row("demo --epochs nan", 2, "(not a finite number)"),
    _row("demo --parts rbm,gan", 2, "argument --parts: expected comma-separated parts from rbm, dbm, directed"),
    _row("demo --seed -1", 2, "argument --seed: expected an int >= 0"),
    _row("demo --quick yes", 2, "unrecognized arguments: yes"),
    _row("demo --out {d}/afile", 2, "afile is an existing file"),
    _row("demo --out {d}/afile/demo", 1, "afile/demo: cannot create it"),
    _row("demo --out {d}/locked/demo", 1, "cannot write in", as_user),
    _row("demo --out ''", 2, "argument --out: expected a folder name, got ''"),
    _row("demo --out {d}/olddemo --parts dbm", 2, "olddemo holds the outputs of an earlier demo (metrics.json); add "
                                                  "--force to overwrite them, or name another --out"),
    # -- eval ---------------------------------------------------------------------------
    _row("eval", 2, "the following arguments are required: model"),
    _row("eval {d}/missing.pt", 1, "missing.pt is not a valid pgm file"),
    _row("eval {d}/text.txt", 1, "text.txt is not a valid pgm file"),
    _row("eval {d}/truncated-model.pt", 1, "truncated-model.pt is not a valid pgm file"),
    _row("eval {d}/flipped-model.pt", 1, "flipped-model.pt is not a valid pgm file"),
    _row("eval {d}/dir.pt", 1, "dir.pt is not a valid pgm file"),
    _row("eval {d}/list.pt", 1, "list.pt is not a valid pgm file"),
    _row("eval {d}/tiny.pt", 1, "tiny.pt is not a valid pgm file"),
    _row("eval {d}/dict.pt", 1, "dict.pt is not a valid pgm file"),
    _row("eval {d}/no-checksum.pt", 1, "no-checksum.pt is not a valid pgm file"),
    _row("eval {d}/nan-model.pt", 1, "nan-model.pt is not a valid pgm file"),
    _row("eval {d}/unreadable.pt", 1, "Permission denied", as_user),
    _row("eval {d}/model.pt --chains 0", 2, "argument --chains: expected a positive int, got 0"),
    _row("eval {d}/model.pt --chains nan", 2, "argument --chains: expected a positive int, got 'nan'"),
    _row("eval {d}/model.pt --betas 1", 2, "argument --betas: expected an int >= 2, got 1"),
    _row("eval {d}/model.pt --betas inf", 2, "argument --betas: expected an int >= 2, got 'inf'"),
    _row("eval {d}/model.pt --split val", 2, "argument --split: invalid choice: 'val'"),
    _row("eval {d}/model.pt --method gibbs", 2, "argument --method: invalid choice"),
    _row("eval {d}/model.pt --base none", 2, "argument --base: invalid choice"),
    _row("eval {d}/model.pt --seed -1", 2, "argument --seed: expected an int >= 0"),
    _row("eval {d}/model.pt --data nothing", 2, "--data 'nothing' not understood"),
    _row("eval {d}/model.pt --data {d}/dict.pt", 1, "dict.pt holds a dict"),
    _row("eval {d}/model.pt --data mnist:{d}/nonexistent", 1, "does not exist"),
    _row("eval {d}/model.pt --data digits-grey", 2, "--data digits-grey holds grey levels in [0, 1]"),
    _row("eval {d}/model.pt --data {d}/real.pt", 2, "real.pt has 6 columns, but"),
    _row("eval {d}/wide.pt --method exact", 2, "--method exact: exact log Z enumerates the 2^40 states"),
    # -- sample -------------------------------------------------------------------------
    _row("sample", 2, "the following arguments are required: model"),
    _row("sample {d}/model.pt --steps -1", 2, "argument --steps: expected an int >= 0, got -1"),
    _row("sample {d}/model.pt --steps many", 2, "argument --steps: expected an int >= 0, got 'many'"),
    _row("sample {d}/model.pt --n 0", 2, "argument --n: expected a positive int, got 0"),
    _row("sample {d}/model.pt --n inf", 2, "(not a finite number)"),
    _row("sample {d}/model.pt --seed -2", 2, "argument --seed: expected an int >= 0"),
    _row("sample {d}/missing.pt", 1, "missing.pt is not a valid pgm file"),
    _row("sample {d}/text.txt", 1, "text.txt is not a valid pgm file"),
    _row("sample {d}/dir.pt", 1, "dir.pt is not a valid pgm file"),
    _row("sample {d}/model.pt --out {d}/samples.txt", 2, "expected a file name ending in .pt, .png, .pdf, .svg"),
    _row("sample {d}/model.pt --out {d}/folder.png", 2, "folder.png is a folder; name a file in it"),
    _row("sample {d}/model.pt --out {d}/afile/s.png", 1, "afile/s.png: cannot create it"),
    _row("sample {d}/model.pt --out {d}/locked/s.png", 1, "cannot write in", as_user),
    _row("sample {d}/model.pt --flip 0.1", 2, "--flip applies to Hopfield nets"),
    _row("sample {d}/model.pt --data digits", 2, "--data applies to Hopfield nets"),
    _row("sample {d}/hopfield.pt --flip 1.5", 2, "argument --flip: expected a finite number in [0, 1], got 1.5"),
    _row("sample {d}/hopfield.pt --flip nan", 2, "argument --flip: expected a finite number in [0, 1], got 'nan'"),
    _row("sample {d}/hopfield.pt --data {d}/real.pt", 2, "real.pt holds real-valued data"),
    _row("sample {d}/hopfield.pt --n 5", 2, "--n 5: the net stores 3 patterns"),
    _row("sample {d}/model.pt --out ''", 2, "argument --out: expected a file name, got ''"),
    _row("sample {d}/model.pt --out {d}/existing.png", 2, "existing.png exists; add --force to overwrite it, or name "
                                                          "another file"),
    _row("sample {d}/model.pt --out {d}/existing.pt", 2, "existing.pt exists; add --force"),
    _row("sample {d}/narrow.pt --out {d}/existing.svg", 2, "existing.svg: the 6 visible units are not a square "
         "image, so the samples would go to a tensor, {d}/existing.pt, which exists; add --force"),
    _row("sample {d}/vae.pt --steps 5", 2, "vae.pt holds a vae model, which samples ancestrally (one "
                                           "pass down its layers, no Gibbs sweeps); leave --steps out"),
    # -- graph --------------------------------------------------------------------------
    _row("graph", 2, "the following arguments are required: model"),
    _row("filters", 2, "the following arguments are required: model"),
    _row("filters {d}/model.pt --n 0", 2, "argument --n: expected a positive int, got 0"),
    _row("filters {d}/hopfield.pt --out {out}/f.png", 2, "has no matrix of weights from its visible units"),
    _row("filters {d}/model.pt --out {out}/f.txt", 2, "--out"),
    _row("filters {d}/missing.pt --out {out}/f.png", 1, "missing.pt"),
    _row("filters {d}/model.pt --out ''", 2, "argument --out: expected a file name, got ''"),
    _row("filters {d}/model.pt --out {d}/existing.png", 2, "existing.png exists; add --force to overwrite it"),
    _row("graph rbm:0x5", 2, "rbm: expected two positive sizes VISIBLExHIDDEN"),
    _row("graph grbm:0x3", 2, "grbm: expected two positive sizes"),
    _row("graph bm:0x3", 2, "bm: expected VISIBLE or VISIBLExHIDDEN sizes"),
    _row("graph hopfield:4x2", 2, "hopfield: expected one positive size N"),
    _row("graph ssrbm:4x0", 2, "ssrbm: expected two positive sizes"),
    _row("graph mcrbm:4x0x2", 2, "mcrbm: expected positive sizes VISIBLExFACTORSxMEAN"),
    _row("graph mpot:4x3", 2, "mpot: expected positive sizes VISIBLExFACTORSxMEAN"),
    _row("graph crbm:64x16", 2, "crbm: expected three positive sizes VISIBLExHIDDENxCLASSES"),
    _row("graph sbn:0x3", 2, "sizes[0] must be an int >= 1"),
    _row("graph helmholtz:64", 2, "expected at least two sizes"),
    _row("graph vae:64x0x2", 2, "n_hidden must be an int >= 1"),
    _row("graph rbm:3x4x5", 2, "expected two positive sizes"),
    _row("graph dbm:5", 2, "dbm: expected two or more positive sizes"),
    _row("graph dbn:64x32", 2, "dbn: expected three or more positive sizes"),
    _row("graph nonsense", 2, "'nonsense' is neither a model file nor a size like rbm:64x16"),
    _row("graph nope:3x4", 2, "unknown model 'nope'"),
    _row("graph missing.pt", 1, "missing.pt is not a valid pgm file"),
    _row("graph {d}/text.txt", 1, "text.txt is not a valid pgm file"),
    _row("graph {d}/dir.pt", 1, "dir.pt is not a valid pgm file"),
    _row("graph rbm:3x4 --out {d}/graph.txt", 2, "expected a file name ending in .png, .pdf, .svg"),
    _row("graph rbm:3x4 --out {d}/folder.png", 2, "folder.png is a folder"),
    _row("graph rbm:3x4 --out {d}/afile/g.png", 1, "afile/g.png: cannot create it"),
    _row("graph rbm:3x4 --out {d}/locked/g.png", 1, "cannot write in", as_user),
    _row("graph rbm:3x4 --out ''", 2, "argument --out: expected a file name, got ''"),
    _row("graph rbm:3x4 --out {d}/existing.png", 2, "existing.png exists; add --force to overwrite it"),
    # -- sequence models ---------------------------------------------------------------------
    _row("fit condrbm --hidden 0", 2, "argument --hidden: expected a positive int"),
    _row("fit condrbm --data digits --out {out}", 2, "--data digits holds rows (1438, 64), but the condrbm model "
                                                     "takes sequences"),
    _row("fit condrbm --evaluate exact --hidden 17 --out {out}", 2, "--evaluate exact: log Z_t enumerates the "
                                                                    "smaller layer"),
    _row("fit rbm --data balls --out {out}", 2, "--data balls holds sequences (200, 20, 256)"),
    _row("fit rnnrbm --recurrent 0", 2, "argument --recurrent: expected a positive int"),
    _row("fit rnnrbm --method pcd --out {out}", 2, "--method pcd does not apply to the rnnrbm model"),
    _row("graph condrbm:64", 2, "condrbm: expected sizes FRAMExHIDDEN"),
    _row("graph rnnrbm:64x4x2x2", 2, "rnnrbm: expected sizes FRAMExHIDDEN"),
    _row("eval {d}/condrbm.pt --data digits", 2, "--data digits holds rows (359, 64), but the condrbm model"),
    _row("eval {d}/condrbm.pt --data digit-rows", 2, "has frames of 8 pixels, but"),
    _row("eval {d}/condrbm.pt --method importance", 2, "--method importance needs a directed model"),
    _row("sample {d}/condrbm.pt --label 1 --out {out}/s.png", 2, "--label does not apply to"),
    # -- convolutional models ----------------------------------------------------------------
    _row("fit convrbm --filter-size 4 --out {out}", 2, "--filter-size 4 --pool 2: ConvRBM: pool_size must divide"),
    _row("fit convrbm --sparsity 1.5", 2, "argument --sparsity: expected a finite number in (0, 1)"),
    _row("fit convrbm --image-shape 4x4 --out {out}", 2, "--image-shape 4x4: the data has 64 columns, not 16"),
    _row("fit convdbn --filters 8", 2, "argument --filters: expected two ints such as 8,16"),
    _row("fit convdbn --filter-sizes 5,2 --out {out}", 2, "the second layer sees the 2 × 2 pooling maps"),
    _row("fit convdbn --method cd --out {out}", 2, "--method cd does not apply to the convdbn model"),
    _row("graph convrbm:8x8", 2, "convrbm: expected four positive sizes SIDExFILTERSxFILTER_SIZExPOOL"),
    _row("graph convdbn:8x8x3", 2, "convdbn: expected seven positive sizes SIDExK1xF1xC1xK2xF2xC2"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder of data files, model files and obstacles that the table's rows name."""
    d = tmp_path_factory.mktemp("cli-errors")
    gen = torch.Generator().manual_seed(0)
    tiny = (torch.rand(40, 64, generator=gen) < 0.5).float()
    torch.save(tiny, d / "tiny.pt")
    torch.save(tiny[:, :6], d / "six.pt")  # binary, not a square image
    torch.save(torch.randn(40, 6, generator=gen), d / "real.pt")
    torch.save(2 * tiny - 1, d / "spin.pt")
    torch.save({"x": tiny, "y": tiny}, d / "dict.pt")
    torch.save([1, 2, 3], d / "list.pt")
    torch.save(torch.zeros(5), d / "vec.pt")
    torch.save(torch.zeros(4, 8, 8), d / "cube.pt")
    torch.save(torch.zeros(0, 64), d / "empty.pt")
    torch.save(torch.zeros(40, 0), d / "nocols.pt")
    nan = tiny.clone()
    nan[3, 1] = float("nan")
    torch.save(nan, d / "nan.pt")
    torch.save(torch.tensor([[0.0, float("inf")], [float("-inf"), 1.0]]), d / "inf.pt")
    torch.save(tiny.numpy(), d / "numpy.pt")
    torch.save(torch.zeros(3, 4, dtype=torch.complex64), d / "complex.pt")
    torch.save(torch.eye(4).to_sparse(), d / "sparse.pt")
    (d / "text.pt").write_text("not a tensor\n")
    (d / "truncated.pt").write_bytes((d / "dict.pt").read_bytes()[:100])
    (d / "dir.pt").mkdir()
    np.save(d / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(d / "objects.npy", np.array([[{}, 1]], dtype=object), allow_pickle=True)
    np.save(d / "bytes.npy", np.array([[b"a", b"b"]]))
    np.save(d / "complex.npy", np.zeros((2, 2), dtype=complex))
    np.save(d / "vec.npy", np.zeros(5))
    with open(d / "archive.npy", "wb") as fh:
        np.savez(fh, x=np.zeros((2, 2)))
    (d / "text.npy").write_text("1 2 3\n")
    (d / "nomnist").mkdir()
    (d / "afile").write_text("a file, not a folder\n")
    (d / "folder.png").mkdir()
    (d / "text.txt").write_text("hello\n")
    save_model(d / "model.pt", RBM(64, 4, seed=0))
    save_model(d / "wide.pt", RBM(64, 40, seed=0))
    save_model(d / "hopfield.pt", Hopfield(64).store(2 * tiny[:3] - 1))
    save_model(d / "vae.pt", VAE(64, 8, 2, seed=0))
    save_model(d / "narrow.pt", RBM(6, 3, seed=0))
    save_model(d / "nade.pt", NADE(64, 4, seed=0))
    save_model(d / "condrbm.pt", ConditionalRBM(256, 4, seed=0))
    for name in ("existing.png", "existing.pt"):  # outputs of an earlier command
        (d / name).write_bytes(b"an earlier output\n")
    (d / "oldrun").mkdir()  # an earlier run of pgm fit, and of pgm demo
    for name in ("model.pt", "history.json", "checkpoint.pt"):
        (d / "oldrun" / name).write_bytes(b"an earlier run\n")
    (d / "olddemo").mkdir()
    (d / "olddemo" / "metrics.json").write_text("{}\n")
    raw = (d / "model.pt").read_bytes()
    (d / "truncated-model.pt").write_bytes(raw[: len(raw) // 2])
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    (d / "flipped-model.pt").write_bytes(bytes(flipped))
    torch.save({"format": "pgm/2", "config": "{}", "model": {}}, d / "no-checksum.pt")
    nan = RBM(6, 3, seed=0)
    with torch.no_grad():
        nan.W.fill_(float("nan"))
    save_model(d / "nan-model.pt", nan)
    from models.energy import MPoT

    save_model(d / "mpot.pt", MPoT(63, 2, n_mean=1, seed=0))
    (d / "locked").mkdir()
    (d / "unreadable.pt").write_bytes(raw)
    if not ROOT:
        os.chmod(d / "locked", 0o500)
        os.chmod(d / "unreadable.pt", 0o000)
    yield d
    os.chmod(d / "locked", 0o700)
    os.chmod(d / "unreadable.pt", 0o600)


def _prog(argv):
    """The command a message must name: ``pgm``, ``pgm eval``, ``pgm fit rbm``..."""
    if not argv or argv[0] not in COMMANDS:
        return "pgm"
    if argv[0] == "fit":
        return f"pgm fit {argv[1]}" if len(argv) > 1 and argv[1] in registry.names() else "pgm fit"
    return f"pgm {argv[0]}"


def _one_line(err, prog):
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith(f"{prog}: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize("template, code, message", TABLE)
def test_invalid_invocation(template, code, message, files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default outputs (runs/fit, samples.png) land here, if anywhere
    out = tmp_path / "new" / "run"
    argv = shlex.split(template.format(d=files, out=out))
    assert main(argv) == code
    captured = capsys.readouterr()
    _one_line(captured.err, _prog(argv))
    assert message.replace("{d}", str(files)) in captured.err
    assert "Traceback" not in captured.out
    assert not (tmp_path / "new").exists() and not (tmp_path / "runs").exists()
    assert _earlier_outputs(files) == EARLIER  # nothing overwritten


EARLIER = {"existing.png": b"an earlier output\n", "existing.pt": b"an earlier output\n",
           "oldrun/model.pt": b"an earlier run\n", "oldrun/history.json": b"an earlier run\n",
           "oldrun/checkpoint.pt": b"an earlier run\n", "olddemo/metrics.json": b"{}\n"}


def _earlier_outputs(d):
    """The earlier outputs in the table's folder, and every other file beside them."""
    found = {str(p.relative_to(d)): p.read_bytes() for folder in (d / "oldrun", d / "olddemo") for p in folder.iterdir()}
    return {**found, **{name: (d / name).read_bytes() for name in ("existing.png", "existing.pt")}}


def test_the_table_covers_every_command_and_model(capsys):
    rows = [shlex.split(p.values[0]) for p in TABLE]
    assert main(["bogus"]) == 2  # the message lists the commands
    assert f"(choose from {', '.join(map(repr, COMMANDS))})" in capsys.readouterr().err
    assert {r[0] for r in rows if r} >= set(COMMANDS)
    for name in registry.names():  # each family: a bad value of one of its own options, and a bad size
        assert any(r[:2] == ["fit", name] for r in rows), name
        assert any(r[:1] == ["graph"] and r[1].startswith(f"{name}:") for r in rows if len(r) > 1), name
    assert len(TABLE) >= 75


# -- failures after the output folder exists ---------------------------------------------------

FIT = "fit rbm --data {d}/tiny.pt --hidden 4 --batch-size 20 --no-progress --out {out}"


def _run(template, files, out, capsys):
    code = main(shlex.split(template.format(d=files, out=out)))
    err = capsys.readouterr().err
    _one_line(err, "pgm fit rbm")
    return code, err


@pytest.mark.usefixtures("one_thread")
def test_a_diverged_run_removes_the_folders_it_created(files, tmp_path, monkeypatch, capsys):
    def diverge(model, data, **kwargs):
        assert kwargs["checkpoint"].parent.is_dir()  # created, and checked writable, before training
        raise FloatingPointError("fit: training diverged at epoch 1 (non-finite parameters); lower lr")

    monkeypatch.setattr(registry.lookup("rbm"), "fit", diverge)
    code, err = _run(FIT + " --epochs 1", files, tmp_path / "a" / "b" / "run", capsys)
    assert code == 1 and "pgm fit rbm: error: fit: training diverged at epoch 1" in err
    assert not (tmp_path / "a").exists()  # every folder the command created, none that existed
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine\n")
    code, err = _run(FIT + " --epochs 1", files, existing, capsys)
    assert code == 1 and (existing / "notes.txt").read_text() == "mine\n"


@pytest.mark.usefixtures("one_thread")
def test_an_interrupted_run_keeps_its_checkpoint_and_resumes(files, tmp_path, monkeypatch, capsys):
    rbm = registry.lookup("rbm")
    real = rbm.fit

    def interrupted_in_epoch_2(model, data, **kwargs):
        def stop(epoch, history, model):
            if epoch == 2:
                raise KeyboardInterrupt
        return real(model, data, callbacks=[stop], **kwargs)

    monkeypatch.setattr(rbm, "fit", interrupted_in_epoch_2)
    out = tmp_path / "run"
    code, err = _run(FIT + " --epochs 2", files, out, capsys)
    assert code == 130 and err.startswith("pgm fit rbm: interrupted; kept ") and "--resume" in err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]  # epoch 1's
    monkeypatch.delattr(rbm, "fit")  # the family's own method again
    assert main(shlex.split((FIT + " --epochs 2 --resume").format(d=files, out=out))) == 0
    assert (out / "model.pt").is_file() and json.loads((out / "history.json").read_text())["epoch"] == [1, 2]


@pytest.mark.usefixtures("one_thread")
def test_an_io_error_while_writing_is_a_failure(files, tmp_path, monkeypatch, capsys):
    def disk_full(path, model):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(inference.checkpoint, "save_model", disk_full)
    out = tmp_path / "run"
    code, err = _run(FIT + " --epochs 1", files, out, capsys)
    assert code == 1 and f"error: {out / 'model.pt'}: No space left on device; kept {out}" in err
    assert (out / "checkpoint.pt").is_file()  # the finished run's checkpoint is kept


def test_a_failed_drawing_removes_the_folders_it_created(tmp_path, monkeypatch, capsys):
    def refuse(graph, path, title, reduce=False):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pgm, "draw", refuse)
    out = tmp_path / "a" / "b" / "g.png"
    assert main(["graph", "rbm:3x4", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    _one_line(err, "pgm graph")
    assert "g.png: Permission denied" in err and not (tmp_path / "a").exists()


def test_sample_and_graph_create_missing_folders(files, tmp_path, capsys):
    assert main(["sample", str(files / "model.pt"), "--n", "4", "--steps", "0", "--out", str(tmp_path / "a/s.pt")]) == 0
    assert torch.load(tmp_path / "a/s.pt", weights_only=True).shape == (4, 64)
    assert main(["graph", "rbm:3x4", "--out", str(tmp_path / "b/c/g.svg")]) == 0
    assert (tmp_path / "b/c/g.svg").stat().st_size > 0


def test_output_is_checked_before_the_data_is_read(files, monkeypatch, capsys):
    def never(*args):
        raise AssertionError("data read before --out was checked")

    monkeypatch.setattr(inference.cli, "load_data", never)
    assert main(["fit", "rbm", "--out", str(files / "afile" / "run")]) == 1
    assert main(["demo", "--out", str(files / "afile")]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("argv", ["fit rbm --data {d}/tiny.pt --out {d}/locked/run", "demo --out {d}/locked/demo",
                                  "sample {d}/model.pt --out {d}/locked/s.png", "graph rbm:3x4 --out {d}/locked/g.png"])
def test_an_unwritable_folder_is_found_before_any_work(argv, files, monkeypatch, capsys):
    # the permission rows of TABLE for every user: os.access as a user without write permission sees it
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: real(path, mode) and Path(path).name != "locked")
    monkeypatch.setattr(inference.cli, "load_data", lambda *a: pytest.fail("data read before --out was checked"))
    argv = shlex.split(argv.format(d=files))
    assert main(argv) == 1
    err = capsys.readouterr().err
    _one_line(err, _prog(argv))
    assert f"cannot write in {files / 'locked'} (permission denied)" in err
    assert list((files / "locked").iterdir()) == []


# -- --debug and PGM_DEBUG ------------------------------------------------------------------

def test_debug_reraises_the_original_exception(files, monkeypatch, capsys):
    missing = str(files / "missing.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt is not a valid pgm file"):
        main(["--debug", "eval", missing])
    with pytest.raises(ValueError, match="holds a dict"):
        main(["--debug", "fit", "rbm", "--data", str(files / "dict.pt"), "--out", str(files / "never")])
    monkeypatch.setenv("PGM_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        main(["sample", missing])
    monkeypatch.setenv("PGM_DEBUG", "0")
    assert main(["sample", missing]) == 1
    assert not (files / "never").exists()


def test_interrupt_is_one_line_and_130(files, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(inference.checkpoint, "load_model", interrupt)
    assert main(["eval", str(files / "model.pt")]) == 130
    assert capsys.readouterr().err == "pgm eval: interrupted\n"
    with pytest.raises(KeyboardInterrupt):
        main(["--debug", "eval", str(files / "model.pt")])


def test_help_still_exits_0(capsys):
    assert main(["--help"]) == 0
    printed = capsys.readouterr().out
    assert "PGM_DEBUG=1" in printed and "130 when interrupted" in printed and "checkpoint.pt" in printed
    assert main(["fit", "rbm", "--help"]) == 0 and "--resume" in capsys.readouterr().out


# -- the installed script ------------------------------------------------------------------------

SCRIPT = Path(sys.executable).parent / "pgm"


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to this interpreter")
def test_the_console_script(files, tmp_path):
    env = {**os.environ, "PGM_DEBUG": ""}
    runs = {
        "steps": ([str(SCRIPT), "sample", str(files / "model.pt"), "--steps", "-1"], env),
        "missing": ([str(SCRIPT), "eval", str(files / "missing.pt")], env),
        "debug": ([str(SCRIPT), "graph", "missing.pt"], {**env, "PGM_DEBUG": "1"}),
    }
    procs = {k: subprocess.Popen(cmd, cwd=tmp_path, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, (cmd, e) in runs.items()}
    done = {k: (p.wait(timeout=120), p.communicate()[1]) for k, p in procs.items()}
    code, err = done["steps"]
    assert code == 2 and err == ("pgm sample: error: argument --steps: expected an int >= 0, got -1 "
                                 "(see 'pgm sample --help')\n")
    code, err = done["missing"]
    assert code == 1 and err.count("\n") == 1 and err.startswith("pgm eval: error: ") and "Traceback" not in err
    code, err = done["debug"]
    assert code == 1 and "Traceback" in err and "FileNotFoundError" in err
