"""The ``pgm`` command line: demo, fit, eval, sample, graph.

``pgm fit MODEL`` has one sub-command per family of :mod:`inference.registry`, each
with the family's own options; ``eval``, ``sample`` and ``graph`` work for any saved
model. It drives the whole library, so it sits at the top of the dependency order.

Errors
------
A command that cannot run prints one line to stderr, ``pgm <command>: error: <message>``
(``pgm fit rbm: error: ...`` for fit), never a traceback, and exits with

* 2, a usage error: an unknown command or option, a bad value (counts are positive,
  ``--steps`` >= 0, ``--betas`` >= 2, ``--lr`` > 0, ``--momentum`` in [0, 1),
  ``--weight-std`` >= 0, every number finite), a ``--data`` spec that names no data,
  data of a kind or width the model does not take, an ``--out`` that is an existing file
  (or, for sample and graph, a folder or an unknown suffix), an exact log Z too large to
  enumerate;
* 1, a failure: a file that does not exist, cannot be read or is not valid (model
  files, data files, MNIST folders), an output that cannot be written, a run that
  diverged, data the library refuses;
* 130, interrupted (Ctrl-C): the line is ``pgm <command>: interrupted``.

``pgm --debug <command> ...`` or the environment variable ``PGM_DEBUG=1`` re-raises the
original exception, with its traceback, instead.

``pgm fit`` and ``pgm demo`` check every argument and load the data before they create the
output folder, and check that it can be created and written before training. When such a
command fails (or is interrupted) after creating the folder, the folder is removed unless
it holds ``checkpoint.pt`` or ``model.pt``: a checkpoint is kept, and ``pgm fit ...
--resume`` continues it. A folder that existed before is left as it was. ``pgm sample``
and ``pgm graph`` create missing parent folders of ``--out`` and remove them again if
writing fails.

:func:`main` returns the exit status (0 on success) rather than exiting, so it can be
called in-process; the ``pgm`` script passes it to :func:`sys.exit`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from models.directed import DBN, VAE, DirectedModel
from models.energy import Hopfield
from pgm import REAL_KINDS, SPIN_KINDS

from . import registry
from .variational.train import METHODS

__all__ = ["main", "build_parser", "load_data", "data_kind", "DATA_SPECS", "UsageError"]

#: Named data specs: name → (kind of its values, description).
DATA_SPECS = {
    "digits": ("binary", "bundled 8x8 digits binarized at half intensity"),
    "digits-grey": ("grey", "bundled digits scaled to [0, 1] (pixel / 16)"),
    "digits-real": ("real", "bundled digits dequantised, (pixel + u) / 17, for densities"),
    "digits-labels": ("binary", "binarized digits with their one-hot labels: rows [64 pixels, 10 label columns]"),
    "mnist:FOLDER": ("binary", "MNIST IDX files in FOLDER, binarized at 128"),
}

#: Data kinds each visible kind accepts for training (grey levels are probabilities for
#: binary units) and, in ``_EXACT``, for a likelihood (outcomes only).
_ACCEPTS = {
    "bernoulli": ("binary", "grey"),
    "binary_pm1": ("spin",),
    "spin": ("spin",),
    "gaussian": ("real", "grey"),
    "real": ("real", "grey"),
}
_EXACT = {**_ACCEPTS, "bernoulli": ("binary",)}
_KIND_WORDS = {"binary": "binary {0, 1} data", "grey": "grey levels in [0, 1]", "spin": "{-1, +1} data",
               "real": "real-valued data"}
_PICTURES = (".png", ".pdf", ".svg")  # the formats pgm.draw and image_grid write
_KEEP = ("checkpoint.pt", "model.pt")  # an output folder holding one of these survives a failure
_EPILOG = """\
errors: one line on stderr, 'pgm COMMAND: error: MESSAGE'; exit status 2 for a usage error
(bad option or value, a --data spec that names nothing, data of the wrong kind, an --out that
is a file), 1 for a failure (a missing, unreadable or invalid file, an output that cannot be
written, a diverged run), 130 when interrupted. 'pgm --debug ...' or PGM_DEBUG=1 shows the
traceback instead. fit and demo check their arguments and data before creating --out; if they
fail after creating it, they remove it unless it holds checkpoint.pt or model.pt (a kept
checkpoint continues with 'pgm fit ... --resume')."""


class UsageError(ValueError):
    """A command line that asks for something invalid: exit status 2.

    ``prog`` is the command whose usage it breaks (``"pgm fit rbm"``), when known.
    """

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of printing usage."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')", self.prog)


# -- checked option types -------------------------------------------------------------

def _integer(low: int, what: str):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            extra = " (not a finite number)" if text.strip().lower().lstrip("+-") in ("inf", "infinity", "nan") else ""
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}{extra}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    parse.__name__ = what
    return parse


def _real(low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False):
    lo, hi = "(" if low_open else "[", ")" if high_open else "]"
    what = f"a finite number > {low:g}" if low_open and high == math.inf else (
        f"a finite number >= {low:g}" if high == math.inf else f"a finite number in {lo}{low:g}, {high:g}{hi}")

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if math.isnan(value) or math.isinf(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r} ({'NaN' if math.isnan(value) else 'infinite'})")
        if value < low or value > high or (low_open and value == low) or (high_open and value == high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value:g}")
        return value
    parse.__name__ = what
    return parse


_COUNT = _integer(1, "a positive int")
_SEED = _integer(0, "an int >= 0")
#: Types given to options of the registry's families by name; any other plain ``int`` or
#: ``float`` option of a family gets ``_integer(0, ...)`` / a finite ``_real``.
_FAMILY_TYPES = {"--hidden": _COUNT, "--weight-std": _real(0.0)}


class _CheckedGroup:
    """An argument group whose numeric options get checked types (see ``_FAMILY_TYPES``)."""

    def __init__(self, group):
        self._group = group

    def add_argument(self, *names, **kwargs):
        named = [_FAMILY_TYPES[n] for n in names if n in _FAMILY_TYPES]
        if named:
            kwargs["type"] = named[0]
        elif kwargs.get("type") is int:
            kwargs["type"] = _integer(0, "an int >= 0")
        elif kwargs.get("type") is float:
            kwargs["type"] = _real(-math.inf)
        return self._group.add_argument(*names, **kwargs)

    def __getattr__(self, name):
        return getattr(self._group, name)


# -- data -------------------------------------------------------------------------------

def _read_array(path: Path) -> torch.Tensor:
    """The 2-D array of finite numbers in a ``.pt``/``.npy`` file, as float32."""
    want = "a 2-D array (n_examples, n_visible) of finite numbers"
    if path.is_dir():
        raise ValueError(f"--data {path} is a folder, expected a .pt or .npy file holding {want}")
    if not path.exists():
        raise FileNotFoundError(f"--data {path}: no such file (expected a .pt or .npy file holding {want})")
    if path.suffix.lower() == ".pt":
        try:
            x = torch.load(path, map_location="cpu", weights_only=True)
        except OSError:  # a file that exists but cannot be read: said as it is
            raise
        except Exception as err:  # unpickling and zip errors of every kind
            text = str(err)
            refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            if refused:
                raise ValueError(f"--data {path} holds a {refused.group(1)} object, which a weights-only torch.load "
                                 f"refuses; expected a tensor: {want} (save torch.as_tensor(x))") from None
            inner = re.search(r"WeightsUnpickler error:(.*)", text, re.S)
            lines = [line.strip() for line in (inner.group(1) if inner else text).splitlines() if line.strip()]
            reason = f"{type(err).__name__}: {lines[0].split('. ')[0][:120]}" if lines else type(err).__name__
            raise ValueError(f"--data {path}: torch.load cannot read it ({reason}); it is truncated, corrupted or "
                             f"not written by torch.save; expected {want}") from None
        if not isinstance(x, torch.Tensor):
            keys = f" (keys {', '.join(map(repr, list(x)[:5]))})" if isinstance(x, dict) else ""
            raise ValueError(f"--data {path} holds a {type(x).__name__}{keys}, expected a tensor: {want}")
        if x.layout != torch.strided:
            raise ValueError(f"--data {path} holds a {x.layout} tensor, expected a dense one: {want}")
    else:
        import numpy as np

        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as err:
            what = "an object array" if "Object arrays" in str(err) else "no .npy array"
            raise ValueError(f"--data {path} holds {what} (pickles are not read), expected {want}") from None
        except EOFError as err:
            raise ValueError(f"--data {path}: numpy cannot read it ({err}), expected {want}") from None
        if not isinstance(arr, np.ndarray):
            arr.close()
            raise ValueError(f"--data {path} is an .npz archive, expected one array: {want}")
        if arr.dtype.kind not in "biuf":
            names = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers"}
            raise ValueError(f"--data {path} holds {names.get(arr.dtype.kind, f'dtype {arr.dtype}')}, expected {want}")
        x = torch.from_numpy(arr.astype(np.float32))
    if x.is_complex():
        raise ValueError(f"--data {path} holds complex numbers, expected {want}")
    if x.ndim != 2:
        raise ValueError(f"--data {path} holds a {x.ndim}-D array of shape {tuple(x.shape)}, expected {want} "
                         "(flatten images with x.reshape(len(x), -1))")
    if x.numel() == 0:
        raise ValueError(f"--data {path} holds an empty array of shape {tuple(x.shape)}, expected {want}")
    x = x.to(torch.float32).contiguous()
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"--data {path} holds {bad} NaN or infinite values, expected {want}")
    return x


def load_data(spec: str, split: str = "train") -> torch.Tensor:
    """Data named on the command line, as a float32 tensor (n, n_visible).

    ``digits`` (binarized bundled digits), ``digits-grey`` (scaled to [0, 1]),
    ``digits-real`` (dequantised, ``load_digits(binarize=False, dequantize=True)``),
    ``digits-labels`` (binarized, each row followed by its one-hot label: 74 columns),
    ``mnist:FOLDER`` (IDX files, binarized at 128; ``split="all"`` joins train and test),
    or a ``.pt`` file (read with ``weights_only=True``) or ``.npy`` file (no pickles)
    holding a non-empty 2-D array of finite numbers (``split`` is then ignored).

    Raises
    ------
    UsageError
        ``spec`` names none of these.
    FileNotFoundError
        The file, the MNIST folder or one of its files does not exist.
    ValueError
        The file cannot be read or does not hold such an array.
    """
    from pgm import datasets

    if spec == "digits":
        return datasets.load_digits(binarize=True, split=split)
    if spec == "digits-grey":
        return datasets.load_digits(binarize=False, split=split)
    if spec == "digits-real":
        return datasets.load_digits(binarize=False, dequantize=True, split=split)
    if spec == "digits-labels":
        v, y = datasets.load_digits(binarize=True, split=split, return_labels=True)
        return torch.cat([v, torch.nn.functional.one_hot(y, 10).to(v.dtype)], 1)
    if spec.startswith("mnist:"):
        folder = spec[len("mnist:"):]
        if not folder:
            raise UsageError("--data mnist: needs a folder, e.g. --data mnist:data/mnist")
        splits = ("train", "test") if split == "all" else (split,)
        return torch.cat([datasets.load_mnist(folder, split=s, binarize=True)[0] for s in splits])
    path = Path(spec)
    if path.suffix.lower() in (".pt", ".npy"):
        return _read_array(path)
    hint = " (a folder: for MNIST IDX files in it use --data mnist:FOLDER)" if path.is_dir() else ""
    raise UsageError(f"--data {spec!r} not understood{hint}: use 'digits', 'digits-grey', 'digits-real', "
                     "'mnist:FOLDER' or a .pt/.npy file holding a 2-D array")


def _has_splits(spec: str) -> bool:
    return spec in DATA_SPECS or spec.startswith("mnist:")


def data_kind(spec: str, data: torch.Tensor) -> str:
    """``"binary"``, ``"grey"``, ``"spin"`` or ``"real"``: the kind of the data ``spec``
    names (declared for named specs, read from the values of a file)."""
    if spec.startswith("mnist:"):
        return "binary"
    if spec in DATA_SPECS:
        return DATA_SPECS[spec][0]
    if bool(((data == 0) | (data == 1)).all()):
        return "binary"
    if bool(((data == -1) | (data == 1)).all()):
        return "spin"
    if bool(((data >= 0) & (data <= 1)).all()):
        return "grey"
    return "real"


def _check_data_kind(model_name: str, visible_kind: str, spec: str, data, exact: bool, option: str = "") -> None:
    """Refuse data whose kind the model's visible units do not take (UsageError)."""
    accepts = (_EXACT if exact else _ACCEPTS).get(visible_kind)
    if accepts is None:  # a user model of a kind this table does not know: the library checks
        return
    kind = data_kind(spec, data)
    if kind in accepts:
        return
    fits = [name for name, (k, _) in DATA_SPECS.items() if k in accepts]
    table = _EXACT if exact else _ACCEPTS
    others = [e.name for e in registry.entries() if e.name != model_name and kind in table.get(e.visible_kind, ())]
    hint = f"use --data {' or '.join(fits)}" if fits else "use data of that kind"
    if others:
        hint += f", or a model for {_KIND_WORDS[kind]}: {', '.join(others)}"
    wants = " or ".join(_KIND_WORDS[k] for k in accepts)
    raise UsageError(f"{option}--data {spec} holds {_KIND_WORDS[kind]}, but the {model_name} model has "
                     f"{visible_kind} visible units, which need {wants}; {hint}")


def _check_exact(model, option: str, instead: str) -> None:
    """Refuse, before any work, an exact log Z that :func:`exact_log_partition` would refuse."""
    from .partition.exact import MAX_EXACT_UNITS, enumeration_set

    try:
        groups, n = enumeration_set(model)
    except TypeError as err:
        raise UsageError(f"{option}: {err}") from None
    if n > MAX_EXACT_UNITS:
        raise UsageError(f"{option}: exact log Z enumerates the 2^{n} states of {', '.join(groups)} ({n} units), "
                         f"above exact_log_partition's limit of {MAX_EXACT_UNITS} units; use {instead}")


# -- outputs ----------------------------------------------------------------------------

def _writable(path: Path, shown: Path) -> None:
    """Fail (OSError) unless ``path``, or the nearest existing folder above it, is a
    writable folder, so that ``path`` can be created in it."""
    found = path.absolute()
    while not found.exists() and found != found.parent:
        found = found.parent
    if not found.is_dir():
        raise NotADirectoryError(f"--out {shown}: cannot create it, {found} is a file")
    if not os.access(found, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {shown}: cannot write in {found} (permission denied)")


def _out_folder(text: str) -> Path:
    """The output folder of fit and demo, checked: an existing file is a usage error."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is an existing file; name a folder (created if missing)")
    _writable(out, out)
    return out


def _out_file(text: str, suffixes) -> Path:
    """The output file of sample and graph, checked before any work."""
    out = Path(text)
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"--out {out}: expected a file name ending in {', '.join(suffixes)}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a file in it, e.g. {out / ('out' + suffixes[0])}")
    _writable(out.parent, out)
    return out


@contextlib.contextmanager
def _cleaned_up(folder: Path, notes: list, keep=(), hint: str = ""):
    """On a failure inside the block, remove the folders it created for ``folder`` (from
    the top-most one that did not exist before), unless ``folder`` then holds one of
    ``keep``; then say so (and ``hint``) in ``notes``."""
    top = None
    for candidate in (folder.absolute(), *folder.absolute().parents):
        if candidate.exists():
            break
        top = candidate
    try:
        yield
    except BaseException:
        if top is not None and top.is_dir():
            kept = [name for name in keep if (folder / name).is_file()]
            if kept:
                notes.append(f"kept {folder}, which holds {' and '.join(kept)}{hint if 'checkpoint.pt' in kept else ''}")
            else:
                shutil.rmtree(top, ignore_errors=True)
        raise


def _make_folder(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):  # unwritable: fail now, not after training
        pass


# -- commands ---------------------------------------------------------------------------

def _model_name(model) -> str:
    entry = registry.entry_for(model)
    return entry.name if entry is not None else type(model).__name__


def _default_data(model) -> str:
    entry = registry.entry_for(model)
    return entry.default_data if entry is not None else "digits"


def _visible(model):
    return model.graph[model.visible_name]


def _demo_parts(text):
    from .demo import PARTS

    parts = tuple(p.strip() for p in text.split(","))
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise argparse.ArgumentTypeError(f"expected comma-separated parts from {', '.join(PARTS)}, got {text!r}")
    return parts


def _cmd_demo(args):
    from .demo import check_demo_options, run_demo

    out = _out_folder(args.out)
    try:
        check_demo_options(n_hidden=args.hidden, epochs=args.epochs, seed=args.seed, parts=args.parts)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err).replace("n_hidden", "--hidden").replace("run_demo: ", "")) from None
    with _cleaned_up(out, args.notes, _KEEP):
        run_demo(out, quick=args.quick, seed=args.seed, n_hidden=args.hidden, epochs=args.epochs,
                 progress=not args.no_progress, parts=args.parts)


def _cmd_fit(args):
    from .checkpoint import save_model
    from .learning import fit

    entry = registry.lookup(args.model)
    out = _out_folder(args.out)
    resumable = "checkpoint.layer1.pt" if entry.cls is DBN else "checkpoint.pt"  # a DBN: one file per layer
    if args.resume and not (out / resumable).is_file():
        raise UsageError(f"--resume: there is no {out / resumable} to continue (run without --resume)")
    spec = args.data or entry.default_data
    data = load_data(spec, "train")
    _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=False)
    evaluate = None if args.evaluate == "none" else args.evaluate
    if evaluate is not None:
        _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=True, option=f"--evaluate {evaluate}: ")
    eval_data = load_data(spec, "test") if evaluate is not None and _has_splits(spec) else data
    model = entry.build(data, args)
    directed = isinstance(model, DirectedModel) and not isinstance(model, DBN)
    evaluations, methods = (("importance",), METHODS) if directed \
        else (("exact", "ais"), ("cd", "pcd", "pt", "sml", "mp"))
    if isinstance(model, DBN):  # greedy: each RBM by --method (cd by default)
        methods = ("cd", "pcd", "pt", "sml")
    if entry.methods is not None and args.method not in (None, *entry.methods):
        raise UsageError(f"--method {args.method} does not apply to the {entry.name} model (it is trained by --method "
                         f"{'|'.join(entry.methods)})")
    if evaluate not in (None, *evaluations) or args.method not in (None, *methods):
        what = f"--evaluate {evaluate}" if evaluate not in (None, *evaluations) else f"--method {args.method}"
        raise UsageError(f"{what} does not apply to the {entry.name} model (directed models: --method "
                         f"{'|'.join(METHODS)}, --evaluate importance; energy models: --method "
                         "cd|pcd|pt|sml (mp: dbm), "
                         "--evaluate exact|ais)")
    if args.method == "mp" and entry.name != "dbm":
        raise UsageError(f"--method mp (multi-prediction) trains a dbm, not the {entry.name} model")
    if evaluate == "exact":
        for layer in ([model.layer_rbm(l) for l in range(1, model.n_layers + 1)] if isinstance(model, DBN) else [model]):
            _check_exact(layer, "--evaluate exact", "--evaluate ais or a smaller layer")
    if directed:
        options = {"n_particles": args.particles, **({"lr": args.lr} if args.lr is not None else {})}
    else:
        options = {"k": args.k, "n_temperatures": args.temperatures, "lr": args.lr,
                   "momentum": "hinton" if args.momentum is None else args.momentum,
                   "average": None if args.average == "none" else args.average}
    if isinstance(model, DBN):
        options = {**options, "layer_method": args.method or "cd", "propagate": args.propagate,
                   "n_samples": args.samples}
        args.method = "greedy"
    if entry.train is not None:  # a family learned otherwise (a Hopfield net stores patterns)
        with _cleaned_up(out, args.notes):
            _make_folder(out)
            summary = entry.train(model, data, args)
            save_model(out / "model.pt", model)
            (out / "history.json").write_text(json.dumps(summary, indent=2, default=float))
        print(f"{entry.name} on {spec}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
        print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")
        return
    with _cleaned_up(out, args.notes, (*_KEEP, resumable), " (add --resume to continue from its checkpoint)"):
        _make_folder(out)
        history = fit(model, data, method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                      seed=args.seed, checkpoint=out / "checkpoint.pt", resume=args.resume,
                      evaluate=evaluate, eval_data=eval_data, progress=not args.no_progress, **options)
        save_model(out / "model.pt", model)
        (out / "history.json").write_text(json.dumps(history.as_dict(), indent=2, default=float))
    last = {k: v for k, v in history.last().items() if isinstance(v, (int, float)) and k != "epoch"}
    print(f"{entry.name} on {spec}, epoch {history.epoch[-1]}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")


def _cmd_eval(args):
    from .checkpoint import load_model
    from .partition import ais_log_partition, default_schedule, exact_log_partition

    model = load_model(args.model)
    spec = args.data or _default_data(model)
    data = load_data(spec, args.split)
    vis = _visible(model)
    groups = getattr(model, "data_groups", (vis.name,))  # several observed groups: pixels and a label
    if len(groups) > 1 and data.shape[1] != model.data_width:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} takes {model.data_width} "
                         f"({' + '.join(groups)})")
    if len(groups) == 1 and data.shape[1] != vis.n_units:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} has {vis.n_units} visible units")
    _check_data_kind(_model_name(model), vis.kind, spec, data, exact=True)
    if isinstance(model, DBN):
        return _eval_dbn(model, data, spec, args)
    if isinstance(model, DirectedModel) or args.method == "importance":
        return _eval_importance(model, data, spec, args)
    if args.method == "exact":
        _check_exact(model, "--method exact", "--method ais")
        log_z = exact_log_partition(model)
    else:
        betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
        base_data = load_data(spec, "train") if args.base == "data" else None
        log_z = ais_log_partition(model, n_chains=args.chains, betas=betas, base=args.base, data=base_data,
                                  seed=args.seed, progress=not args.no_progress)
    density = vis.kind in REAL_KINDS
    result = {"model": _model_name(model), "log_z": log_z._asdict(), "log_likelihood": _log_likelihood(model, data, log_z),
              "units": "nats per example, log-density on the data's scale" if density else "nats per example",
              "split": args.split, "data": spec}
    bound = _bound(model, data, log_z)
    if bound is not None:
        result["variational_bound"] = bound
    if hasattr(model, "split_labels"):  # a classifier: accuracy of argmax_y p(y | v) on the same rows
        v, labels = model.split_labels(data)
        result["accuracy"] = model.score(v, labels)
    print(json.dumps(result, indent=2, default=float))


def _log_likelihood(model, data, log_z):
    """log p(v) as a dict, or ``None`` where F(v) has no closed form and too many units to sum."""
    from .evaluation import log_likelihood
    from .evaluation.visible import free_energy_plan

    try:
        free_energy_plan(model, "pgm eval")
    except TypeError:
        return None
    return log_likelihood(model, data, log_z)._asdict()


def _bound(model, data, log_z):
    """The mean-field bound as a dict for models without a free energy whose latents suit it (DBM)."""
    from models.energy import has_free_energy

    from .evaluation import variational_bound
    from .variational.mean_field import latent_groups

    if has_free_energy(model):
        return None
    try:
        latent_groups(model, "pgm eval")
    except TypeError:
        return None
    return {k: v for k, v in variational_bound(model, data, log_z)._asdict().items() if k != "per_example"}
def _eval_importance(model, data, spec, args):
    """``pgm eval`` of a directed model: the K-sample importance estimate and the ELBO."""
    from .evaluation import importance_log_likelihood

    if not isinstance(model, DirectedModel):
        raise UsageError(f"--method importance needs a directed model (sbn, vae), not {_model_name(model)}; "
                         "use --method exact or ais")
    if args.method not in (None, "importance"):
        raise UsageError(f"--method {args.method} applies to energy models; {_model_name(model)} is evaluated "
                         "with --method importance")
    est = importance_log_likelihood(model, data, n_samples=args.samples, seed=args.seed,
                                    progress=not args.no_progress)
    result = {"model": _model_name(model), "method": "importance", "n_samples": est.n_samples,
              "log_likelihood": {"mean": est.mean, "sem": est.sem, "n": est.n},
              "elbo": {"mean": est.elbo, "sem": est.elbo_sem},
              "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation",
              "units": "nats per example", "split": args.split, "data": spec}
    print(json.dumps(result, indent=2, default=float))


def _eval_dbn(model, data, spec, args):
    """``pgm eval`` of a DBN: the importance estimate and the bound, the top RBM's log Z exact
    or by AIS (the default when it is too large to enumerate), with its bracket carried."""
    from .partition import default_schedule
    from .partition.exact import MAX_EXACT_UNITS, enumeration_set
    from .programs import dbn_log_likelihood

    if args.method == "importance":
        raise UsageError("--method picks the top RBM's log Z for a dbn: exact or ais (the likelihood is "
                         "always the importance estimate)")
    method = args.method or ("exact" if enumeration_set(model.top)[1] <= MAX_EXACT_UNITS else "ais")
    if method == "exact":
        _check_exact(model.top, "--method exact", "--method ais")
    betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
    ais = {"n_chains": args.chains, "betas": betas, "base": args.base, "progress": not args.no_progress}
    train = load_data(spec, "train") if args.base == "data" else None
    est = dbn_log_likelihood(model, data, method, n_samples=args.samples, seed=args.seed, train_data=train,
                             ais_options=ais, progress=not args.no_progress)
    result = {"model": "dbn", "method": "importance", "n_samples": args.samples, "log_z": est.log_z._asdict(),
              "log_likelihood": {"mean": est.mean, "lower": est.lower, "upper": est.upper, "sem": est.sem,
                                 "n": est.importance.n},
              "elbo": {"mean": est.elbo, "lower": est.elbo_lower, "upper": est.elbo_upper, "sem": est.elbo_sem},
              "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation; "
                      "lower/upper carry the top RBM's log Z bracket",
              "units": "nats per example", "split": args.split, "data": spec}
    print(json.dumps(result, indent=2, default=float))


def _image_shape(group):
    """(height, width) of a visible group that is a picture, else ``None``."""
    if len(group.size) == 2:
        return group.size
    side = math.isqrt(group.n_units)
    return (side, side) if side * side == group.n_units else None


def _cmd_sample(args):
    from pgm.plots import image_grid

    from .checkpoint import atomic_save, load_model
    from .mcmc import gibbs, make_generator
    from .mcmc.single_site import self_coupled

    out = _out_file(args.out, (".pt", *_PICTURES))
    model = load_model(args.model)
    recall = isinstance(model, Hopfield)
    if not recall and (args.flip is not None or args.data is not None):
        raise UsageError(f"{'--flip' if args.flip is not None else '--data'} applies to Hopfield nets (a recall "
                         f"from corrupted patterns); {args.model} holds a {type(model).__name__}")
    vis = _visible(model)
    shape = _image_shape(vis)
    if out.suffix.lower() != ".pt" and shape is None:
        out = out.with_suffix(".pt")
        print(f"the {vis.n_units} visible units are not a square image: writing a tensor instead")
    gen = make_generator(args.seed, model.device)
    if recall:
        return _sample_recall(model, args, out, shape, gen)
    args.n = 64 if args.n is None else args.n
    if isinstance(model, DBN):  # --steps Gibbs sweeps in the top RBM, then one ancestral pass
        from .programs import set_dbn_prior

        set_dbn_prior(model, None, n_gibbs=args.steps, generator=gen)
    clamp = None if isinstance(model, DirectedModel) else _label_clamp(model, args)
    if isinstance(model, DirectedModel):  # ancestral samples (the VAE's: decoder means)
        means = model.sample(args.n, gen, mean=True) if isinstance(model, VAE) else model.sample(args.n, gen)
    else:
        state = gibbs.run(model, gibbs.init(model, args.n, gen, clamp=clamp), args.steps, gen, clamp=clamp)
        with torch.no_grad():
            if vis.name in self_coupled(model.graph):  # coupled units: the samples themselves, as {0, 1}
                x = state.values[vis.name]
                means = ((x + 1) / 2 if vis.kind in SPIN_KINDS else x).reshape(args.n, vis.n_units)
            else:
                means = model.conditional(vis.name, state.values).mean.reshape(args.n, vis.n_units)
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(means, out)
        else:
            image_grid(means, shape, out, normalize=None if vis.kind == "bernoulli" else "global")
    print(f"wrote {out}")


def _sample_recall(model, args, out, shape, gen):
    """``pgm sample`` of a Hopfield net: recalls from the first stored rows of ``--data``
    with a fraction ``--flip`` of their bits flipped, as frames (pattern, probe, one
    column per asynchronous sweep in random order) or, for ``.pt``, the tensor
    (sweeps + 1, probes, n) of :meth:`~models.energy.Hopfield.recall_frames`."""
    from pgm.plots import image_grid

    from .checkpoint import atomic_save

    if args.steps == 0:
        raise UsageError("--steps: a Hopfield recall needs at least one sweep, got 0")
    if model.n_patterns == 0:
        raise UsageError(f"{args.model} holds a Hopfield net with no stored patterns; store some with pgm fit hopfield")
    spec = args.data or _default_data(model)
    data = load_data(spec, "train")
    entry = registry.entry_for(model)
    if entry is not None:  # the kind of data the family is fitted on
        _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=False)
    if data.shape[1] != model.n:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} is a Hopfield net of "
                         f"{model.n} units; pass the data it was fitted on")
    stored = min(model.n_patterns, data.shape[0])
    n = stored if args.n is None else args.n
    if n > stored:
        raise UsageError(f"--n {n}: the net stores {stored} patterns (the first rows of --data, as pgm fit "
                         f"hopfield stored them); use --n {stored} or less")
    flip = 0.1 if args.flip is None else args.flip
    patterns = (data[:n] > 0.5).to(model.W) * 2 - 1
    k = round(flip * model.n)  # exactly k bits of every probe, chosen at random
    idx = torch.rand(patterns.shape, generator=gen, device=patterns.device).argsort(1)[:, :k]
    probes = patterns.clone()
    probes.scatter_(1, idx, -probes.gather(1, idx))
    frames = model.recall_frames(probes, gen, max_sweeps=args.steps)
    hits = int((frames[-1] == patterns).all(1).sum())
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(frames, out)
        else:
            tiles = torch.cat([patterns[:, None], frames.transpose(0, 1)], 1)  # (probes, sweeps + 2, n)
            image_grid((tiles.reshape(-1, model.n) + 1) / 2, shape, out, ncols=tiles.shape[1], normalize=None)
    print(f"recalled {hits} of {n} stored patterns exactly from probes with {k} of {model.n} bits flipped, "
          f"{frames.shape[0] - 1} sweeps")
    print(f"wrote {out}" + ("" if out.suffix.lower() == ".pt" else
                            " (a row per probe: the stored pattern, the probe, then the state after each sweep)"))


def _label_clamp(model, args):
    """Class-conditional sampling: the observed softmax groups (a label) clamped to class
    ``--label``, or the n samples to the K classes in order, sample i to class ⌊i K / n⌋;
    ``None`` for a model without a label."""
    from pgm import ONEHOT_KINDS

    labels = [g for g in model.graph.groups if g.observed and g.kind in ONEHOT_KINDS and g.name != model.visible_name]
    if not labels:
        if args.label is not None:
            raise UsageError(f"--label: {_model_name(model)} has no label group to clamp")
        return None
    clamp = {}
    for grp in labels:
        k = grp.n_units
        if args.label is not None and args.label >= k:
            raise UsageError(f"--label {args.label}: {_model_name(model)} has {k} classes, 0 to {k - 1}")
        idx = torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) * k // args.n
        clamp[grp.name] = torch.nn.functional.one_hot(idx, k).to(dtype=model.dtype, device=model.device)
    return clamp


def _graph_model(spec: str):
    """A model from a file, or from a size spec such as ``rbm:64x16`` (``64x16`` alone: an RBM)."""
    from .checkpoint import load_model

    if Path(spec).exists() or Path(spec).suffix.lower() == ".pt":
        return load_model(spec)
    usage = f"{spec!r} is neither a model file nor a size like rbm:64x16 (models: {', '.join(registry.names())})"
    match = re.fullmatch(r"(?:([^:]*):)?(\d+(?:x\d+)*)", spec.strip().lower())
    if match is None:
        raise UsageError(usage)
    name = match.group(1) or "rbm"
    if name not in registry.names():
        raise UsageError(f"{usage}: unknown model {name!r}")
    try:
        return registry.lookup(name).from_sizes(tuple(int(s) for s in match.group(2).split("x")))
    except (TypeError, ValueError) as err:
        raise UsageError(f"{usage}: {err}") from None


def _cmd_graph(args):
    import pgm

    out = _out_file(args.out, _PICTURES)
    model = _graph_model(args.model)
    print(model.graph.describe())
    with _cleaned_up(out.parent, args.notes):
        pgm.draw(model.graph, path=out, title=_model_name(model))
    print(f"wrote {out}")


# -- the parser -------------------------------------------------------------------------

def _fit_options() -> argparse.ArgumentParser:
    """Options every ``pgm fit MODEL`` shares (those of :func:`inference.fit`)."""
    f = argparse.ArgumentParser(add_help=False)
    specs = " | ".join(list(DATA_SPECS) + ["file.pt", "file.npy"])
    f.add_argument("--data", default=None, help=f"{specs} (default: the model's)")
    f.add_argument("--method", choices=["cd", "pcd", "pt", "sml", "mp", *METHODS], default=None,
                   help="learning rule (default: the model's recipe: cd for rbm, pcd for grbm, ssrbm and bm, sml for "
                        "dbm, rws for sbn and helmholtz, elbo for vae; pt: parallel tempering; mp: multi-prediction, "
                        "dbm only)")
    f.add_argument("--temperatures", type=_COUNT, default=5, help="replicas per chain for --method pt (default 5)")
    f.add_argument("--k", type=_COUNT, default=1, help="Gibbs sweeps per update")
    f.add_argument("--epochs", type=_COUNT, default=50)
    f.add_argument("--batch-size", type=_COUNT, default=20)
    f.add_argument("--momentum", type=_real(0.0, 1.0, high_open=True), default=None,
                   help="constant momentum in [0, 1) (default: 0.5, then 0.9 after 5 epochs)")
    f.add_argument("--average", choices=["none", "polyak"], default="none",
                   help="average the parameters over the second half of training (useful with PCD)")
    f.add_argument("--lr", type=_real(0.0, low_open=True), default=None, help="learning rate (default: the model's)")
    f.add_argument("--seed", type=_SEED, default=0)
    f.add_argument("--evaluate", choices=["none", "exact", "ais", "importance"], default="none",
                   help="log-likelihood per epoch on the test split (exact needs a small layer ≤ 25 units; "
                        "importance for sbn and vae)")
    f.add_argument("--out", default="runs/fit",
                   help="output folder (default runs/fit); removed on failure unless it holds checkpoint.pt "
                        "or model.pt")
    f.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    f.add_argument("--no-progress", action="store_true")
    return f


def build_parser() -> argparse.ArgumentParser:
    """The ``pgm`` argument parser; its errors raise :class:`UsageError` (with ``prog``)."""
    p = _Parser(prog="pgm", description="Deep generative models as probabilistic programs.", epilog=_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (also: PGM_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="train an RBM on the bundled digits, evaluate it exactly and by AIS",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="runs/demo",
                   help="output folder (default: runs/demo); removed on failure unless it holds checkpoint.pt or model.pt")
    d.add_argument("--quick", action="store_true", help="a few epochs and a short AIS schedule")
    d.add_argument("--seed", type=_SEED, default=0)
    d.add_argument("--hidden", type=_COUNT, default=16, help="hidden units, at most 25 (default 16: exact log Z stays cheap)")
    d.add_argument("--epochs", type=_COUNT, default=None, help="the RBM's epochs, default 50 (3 with --quick)")
    d.add_argument("--parts", type=_demo_parts, default=("rbm", "dbm", "directed"),
                   help="comma-separated parts to run: rbm, dbm, directed (default all three)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_demo, prog=d.prog)

    listing = "; ".join(f"{e.name}: {e.help}" for e in registry.entries())
    f = sub.add_parser("fit", help=f"train a model ({', '.join(registry.names())})",
                       description=f"Train a model. Registered models: {listing}.")
    models = f.add_subparsers(dest="model", required=True, metavar="MODEL",
                              title="models", description="run `pgm fit MODEL --help` for a model's options")
    common = _fit_options()
    for entry in registry.entries():
        m = models.add_parser(entry.name, parents=[common], help=entry.help, epilog=_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description=f"Train a {entry.help} (default data: {entry.default_data}).")
        entry.add_arguments(_CheckedGroup(m.add_argument_group(f"{entry.name} options")))
        m.set_defaults(func=_cmd_fit, prog=m.prog)

    e = sub.add_parser("eval", help="log-likelihood of data under a saved model")
    e.add_argument("model", help="a model file written by `pgm fit` or `pgm demo` (model.pt)")
    e.add_argument("--data", default=None, help="data spec, as for fit (default: the model's)")
    e.add_argument("--split", choices=["train", "test", "all"], default="test")
    e.add_argument("--method", choices=["exact", "ais", "importance"], default=None,
                   help="default: ais for energy models, importance for directed ones")
    e.add_argument("--samples", type=_COUNT, default=1000, help="K of --method importance (default 1000)")
    e.add_argument("--chains", type=_COUNT, default=100)
    e.add_argument("--betas", type=_integer(2, "an int >= 2"), default=None,
                   help="number of evenly spaced βs, at least 2 (default: the 14,500-step schedule)")
    e.add_argument("--base", choices=["data", "uniform"], default="data")
    e.add_argument("--seed", type=_SEED, default=0)
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=_cmd_eval, prog=e.prog)

    s = sub.add_parser("sample", help="Gibbs samples (ancestral for sbn and vae; for dbn Gibbs in the top RBM, "
                                      "then ancestral) from a saved model")
    s.add_argument("model")
    s.add_argument("--n", type=_COUNT, default=None,
                   help="samples (default 64); Hopfield: probes (default: every stored pattern)")
    s.add_argument("--steps", type=_integer(0, "an int >= 0"), default=1000,
                   help="Gibbs sweeps from uniform noise; Hopfield: the most recall sweeps")
    s.add_argument("--flip", type=_real(0.0, 1.0), default=None,
                   help="Hopfield only: fraction of each stored pattern's bits flipped in its probe (default 0.1)")
    s.add_argument("--data", default=None,
                   help="Hopfield only: the data whose first rows were stored, as for fit (default: the model's)")
    s.add_argument("--seed", type=_SEED, default=0)
    s.add_argument("--label", type=_integer(0, "an int >= 0"), default=None,
                   help="models with a label (crbm): sample class LABEL (default: every class in turn, "
                        "sample i of n has class i*K//n)")
    s.add_argument("--out", default="samples.png",
                   help=".png/.pdf/.svg picture (square images) or .pt tensor of the visible conditional means "
                        "(Hopfield: of the recall's frames); missing folders are created")
    s.set_defaults(func=_cmd_sample, prog=s.prog)

    g = sub.add_parser("graph", help="draw a model's graph")
    g.add_argument("model", help=f"a model file, or a size such as rbm:64x16 ({', '.join(registry.names())})")
    g.add_argument("--out", default="graph.png", help=".png/.pdf/.svg picture; missing folders are created")
    g.set_defaults(func=_cmd_graph, prog=g.prog)
    return p


# -- running ----------------------------------------------------------------------------

def _message(err: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    if not isinstance(err, (OSError, ValueError, TypeError, ArithmeticError)):
        text = f"{type(err).__name__}: {text} (run 'pgm --debug ...' for the traceback)"
    return " ".join(text.split())


def _debug_env() -> bool:
    return os.environ.get("PGM_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def main(argv=None) -> int:
    """Run ``pgm`` on ``argv`` (default ``sys.argv[1:]``) and return its exit status.

    0 on success; otherwise one line on stderr and 2 (usage error), 1 (failure) or 130
    (interrupted), as the module docstring describes. With ``--debug`` or
    ``PGM_DEBUG=1`` an error raised by a command propagates instead.
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see '{args.prog} --help')", args.prog)
    except UsageError as err:
        print(f"{err.prog or 'pgm'}: error: {_message(err)}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    args.notes = []
    try:
        args.func(args)
    except KeyboardInterrupt:
        if args.debug or _debug_env():
            raise
        print("; ".join([f"{args.prog}: interrupted", *args.notes]), file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug or _debug_env():
            raise
        print("; ".join([f"{args.prog}: error: {_message(err)}", *args.notes]), file=sys.stderr)
        return 2 if isinstance(err, UsageError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
