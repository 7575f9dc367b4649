"""The ``pgm`` command line: demo, fit, eval, sample, graph, filters.

``pgm fit MODEL`` has one sub-command per family of :mod:`inference.families`, each
with that family's options and no others (an option of another family is a usage error
that names the families it belongs to); ``eval``, ``sample`` and ``graph`` work for any saved
model. It drives the whole library, so it sits at the top of the dependency order.

Errors
------
A command that cannot run prints one line to stderr, ``pgm <command>: error: <message>``
(``pgm fit rbm: error: ...`` for fit), never a traceback, and exits with

* 2, a usage error: an unknown command or option, a bad value (counts are positive,
  ``--steps`` >= 0, ``--betas`` >= 2, ``--lr`` > 0, ``--momentum`` in [0, 1),
  ``--weight-std`` >= 0, every number finite, ``--out`` not empty), a ``--data`` spec that
  names no data, data of a kind or width the model does not take, an ``--out`` that is an
  existing file (or, for sample, graph and filters, a folder or an unknown suffix), an
  ``--out`` that holds an earlier run's outputs without ``--force``, an option the model
  ignores (``--steps`` of an ancestral sampler, ``--particles`` of a method without
  particles), an exact log Z too large to enumerate;
* 1, a failure: a file that does not exist, cannot be read or is not valid (model
  files, data files, MNIST folders), an output that cannot be written, a run that
  diverged, data the library refuses;
* 130, interrupted (Ctrl-C): the line is ``pgm <command>: interrupted``.

``pgm --debug <command> ...`` or the environment variable ``PGM_DEBUG=1`` re-raises the
original exception, with its traceback, instead.

Outputs
-------
Nothing is overwritten without ``--force``: ``pgm fit`` refuses an ``--out`` folder that
holds another run's outputs (``model.pt``, ``history.json``, ``checkpoint*.pt``) unless
``--force`` (that run's files are removed when training starts) or ``--resume`` (the run
continues); ``pgm demo`` refuses one holding files it would write; ``pgm sample``,
``pgm graph`` and ``pgm filters`` refuse an existing ``--out`` file. JSON that a command
prints or writes is valid JSON: a number that is NaN or infinite is ``null``.

``pgm fit`` and ``pgm demo`` check every argument and load the data before they create the
output folder, and check that it can be created and written before training. When such a
command fails (or is interrupted) after creating the folder, the folder is removed unless
it holds ``checkpoint.pt`` or ``model.pt``: a checkpoint is kept, and ``pgm fit ...
--resume`` continues it (a diverged run's is not continued: the message says to run again
with a lower ``--lr`` and ``--force``). A folder that existed before is left as it was. ``pgm sample``
and ``pgm graph`` create missing parent folders of ``--out`` and remove them again if
writing fails.

:func:`main` returns the exit status (0 on success) rather than exiting, so it can be
called in-process; the ``pgm`` script passes it to :func:`sys.exit`.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from .. import families
from ..families.arguments import add_common_training_arguments
from ..demo import DESCRIPTION as _DEMO, PARTS
from .commands import SAMPLE_STEPS, _cmd_demo, _cmd_eval, _cmd_filters, _cmd_fit, _cmd_graph, _cmd_sample, _demo_parts
from .data import DATA_SPECS, data_kind, load_data
from .options import _CheckedGroup, _COUNT, _FILE, _FOLDER, _integer, _Parser, _real, _SEED, UsageError

__all__ = ["main", "build_parser", "load_data", "data_kind", "DATA_SPECS", "UsageError"]

_EPILOG = """\
errors: one line on stderr, 'pgm COMMAND: error: MESSAGE'; exit status 2 for a usage error
(bad option or value, a --data spec that names nothing, data of the wrong kind, an --out that
is a file or holds an earlier run's outputs), 1 for a failure (a missing, unreadable or invalid
file, an output that cannot be written, a diverged run), 130 when interrupted. 'pgm --debug ...'
or PGM_DEBUG=1 shows the traceback instead.
outputs: nothing is overwritten without --force: fit refuses an --out folder holding another
run's model.pt, history.json or checkpoints (--force replaces that run, --resume continues it),
demo one holding an earlier demo's files, sample, graph and filters an existing --out file.
fit and demo check their arguments and data before creating --out; if they fail after creating
it, they remove it unless it holds checkpoint.pt or model.pt (a kept checkpoint continues with
'pgm fit ... --resume'; after a diverged run, run again with a lower --lr and --force)."""

# -- the parser -------------------------------------------------------------------------

def _add_fit_parser(models, family) -> set:
    """``pgm fit NAME``: the options that apply to ``family`` and no others; returns their
    option strings."""
    m = models.add_parser(family.name, help=family.help, epilog=_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          description=f"Train a {family.help} (default data: {family.default_data}).")
    specs = " | ".join(list(DATA_SPECS) + ["file.pt", "file.npy"])
    run = m.add_argument_group("data and output")
    run.add_argument("--data", default=None, help=f"{specs} (default: {family.default_data})")
    run.add_argument("--seed", type=_SEED, default=0, help="seeds the model and the run (default %(default)s)")
    run.add_argument("--out", type=_FOLDER, default="runs/fit",
                     help="output folder (default %(default)s): model.pt, history.json and checkpoints; one that "
                          "holds another run's is refused unless --force" +
                          (" or --resume" if family.epoch_trained else "") +
                          "; removed on failure if the command created it, unless it holds a checkpoint or model.pt")
    run.add_argument("--force", action="store_true",
                     help="replace the run in --out: its model.pt, history.json and checkpoints are removed when "
                          "training starts")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    train = m.add_argument_group(f"{family.name} training")
    if family.epoch_trained:
        add_common_training_arguments(train, family)
    family.add_training_arguments(_CheckedGroup(train))
    family.add_model_arguments(_CheckedGroup(m.add_argument_group(f"{family.name} model")))
    m.set_defaults(func=_cmd_fit, prog=m.prog)
    return {opt for action in m._actions for opt in action.option_strings}


def _add_file_out(parser, default: str, what: str = ".png/.pdf/.svg picture") -> None:
    """``--out FILE`` and ``--force`` of sample, graph and filters."""
    parser.add_argument("--out", type=_FILE, default=default,
                        help=f"{what} (default %(default)s); missing folders are created; an existing file is "
                             "refused unless --force")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out")


def build_parser() -> argparse.ArgumentParser:
    """The ``pgm`` argument parser; its errors raise :class:`UsageError` (with ``prog``)."""
    p = _Parser(prog="pgm", description="Deep generative models as probabilistic programs.", epilog=_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (also: PGM_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help=f"train and score models on the bundled digits, in parts: {', '.join(PARTS)}",
                       description=textwrap.fill(_DEMO, 92), epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", type=_FOLDER, default="runs/demo",
                   help="output folder (default %(default)s); one that holds an earlier demo's outputs is refused "
                        "unless --force; removed on failure if the command created it, unless it holds "
                        "checkpoint.pt or model.pt")
    d.add_argument("--force", action="store_true", help="overwrite the outputs of an earlier demo in --out")
    d.add_argument("--quick", action="store_true", help="a few epochs and a short AIS schedule")
    d.add_argument("--seed", type=_SEED, default=0, help="seeds every model and run (default %(default)s)")
    d.add_argument("--hidden", type=_COUNT, default=16,
                   help="the RBM's hidden units, at most 25 (default %(default)s: exact log Z stays cheap)")
    d.add_argument("--epochs", type=_COUNT, default=None, help="the RBM's epochs, default 50 (3 with --quick)")
    d.add_argument("--parts", type=_demo_parts, default=PARTS,
                   help=f"comma-separated parts to run: {', '.join(PARTS)} (default all {len(PARTS)})")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    d.set_defaults(func=_cmd_demo, prog=d.prog)

    listing = "; ".join(f"{f.name}: {f.help}" for f in families.families())
    f = sub.add_parser("fit", help=f"train a model ({', '.join(families.names())})",
                       description=f"Train a model. Registered models: {listing}.")
    models = f.add_subparsers(dest="model", required=True, metavar="MODEL",
                              title="models", description="run `pgm fit MODEL --help` for a model's options")
    p.fit_options = {family.name: _add_fit_parser(models, family) for family in families.families()}

    e = sub.add_parser("eval", help="log-likelihood of data under a saved model",
                       description="Score data under a saved model and print the result as JSON (a number that "
                                   "cannot be computed, such as the standard error of one row, is null).")
    e.add_argument("model", help="a model file written by `pgm fit` or `pgm demo` (model.pt)")
    e.add_argument("--data", default=None, help="data spec, as for fit (default: the model's)")
    e.add_argument("--split", choices=["train", "test", "all"], default="test",
                   help="the split of a bundled data set (default %(default)s)")
    e.add_argument("--method", choices=["exact", "ais", "importance"], default=None,
                   help="default: ais for energy models, importance for directed ones")
    e.add_argument("--samples", type=_COUNT, default=1000, help="K of --method importance (default %(default)s)")
    e.add_argument("--chains", type=_COUNT, default=100, help="AIS chains (default %(default)s)")
    e.add_argument("--betas", type=_integer(2, "an int >= 2"), default=None,
                   help="number of evenly spaced βs, at least 2 (default: the 14,500-step schedule; a "
                        "generator's decoder AIS: 500 sigmoid-spaced steps)")
    e.add_argument("--base", choices=["data", "uniform"], default="data",
                   help="AIS base distribution: the training data's marginals or uniform (default %(default)s)")
    e.add_argument("--sigma", type=_real(0.0, low_open=True), default=None,
                   help="generators (gan, dcgan, gmmn) with --method ais: σ of the Gaussian observation model "
                        "N(x; G(z), σ² I) whose log-likelihood decoder AIS estimates (default: none, required there)")
    e.add_argument("--ensemble", type=_COUNT, default=1,
                   help="autoregressive models trained over orderings or masks (oanade, made): also the ensemble "
                        "of K orderings, log (1/K) Σ_k p_k(x), and each member's log-likelihood (default 1)")
    e.add_argument("--seed", type=_SEED, default=0,
                   help="seeds AIS, the importance draws and an ensemble's orderings (default %(default)s)")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_eval, prog=e.prog)

    ancestral = [f.name for f in families.families() if not f.sample_steps]
    s = sub.add_parser("sample", help=f"samples from a saved model: Gibbs chains (ancestral for "
                                      f"{', '.join(ancestral)}; for dbn Gibbs in the top RBM, then ancestral)")
    s.add_argument("model", help="a model file written by `pgm fit` or `pgm demo`")
    s.add_argument("--n", type=_COUNT, default=None,
                   help="samples (default 64); Hopfield: probes (default: every stored pattern)")
    s.add_argument("--steps", type=_integer(0, "an int >= 0"), default=None,
                   help=f"Gibbs sweeps from uniform noise (default {SAMPLE_STEPS}); dbn: sweeps in the top RBM "
                        f"before the ancestral pass; Hopfield: the most recall sweeps; refused for "
                        f"{', '.join(ancestral)}, which sample ancestrally (one pass down the layers)")
    s.add_argument("--flip", type=_real(0.0, 1.0), default=None,
                   help="Hopfield only: fraction of each stored pattern's bits flipped in its probe (default 0.1)")
    s.add_argument("--data", default=None,
                   help="Hopfield: the data whose first rows were stored; with --inpaint: the data whose first test "
                        "rows are completed; as for fit (default: the model's)")
    s.add_argument("--walk", choices=["spherical", "linear"], default=None,
                   help="generators (gan, cgan, dcgan, gmmn): rows of decoded walks between random latent points "
                        "instead of samples (default: samples)")
    s.add_argument("--inpaint", choices=["top", "bottom", "left", "right"], default=None,
                   help="autoregressive models: observe this half of the first --n test images and draw the rest "
                        "from its exact conditional (an ordering that puts the observed pixels first; default: no "
                        "in-painting)")
    s.add_argument("--seed", type=_SEED, default=0, help="seeds the chains (default %(default)s)")
    s.add_argument("--label", type=_integer(0, "an int >= 0"), default=None,
                   help="models with a label (crbm): sample class LABEL (default: every class in turn, "
                        "sample i of n has class i*K//n)")
    _add_file_out(s, "samples.png", ".png/.pdf/.svg picture (square images) or .pt tensor of the visible conditional "
                                    "means (Hopfield: of the recall's frames)")
    s.set_defaults(func=_cmd_sample, prog=s.prog)

    g = sub.add_parser("graph", help="draw a model's graph")
    g.add_argument("model", help=f"a model file, or a size such as rbm:64x16 ({', '.join(families.names())})")
    _add_file_out(g, "graph.png")
    g.set_defaults(func=_cmd_graph, prog=g.prog)

    w = sub.add_parser("filters", help="draw the weights from the visible units to each hidden unit as images")
    w.add_argument("model", help="a model file of a family with visible-to-hidden weights (rbm, grbm, ssrbm, crbm, dbm)")
    w.add_argument("--n", type=_COUNT, default=None, help="draw the first N hidden units (default all)")
    _add_file_out(w, "filters.png")
    w.set_defaults(func=_cmd_filters, prog=w.prog)
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


def _owners(parser, args, extra) -> str:
    """For ``pgm fit NAME``: which families the unrecognised options belong to."""
    table = getattr(parser, "fit_options", {})
    if getattr(args, "command", None) != "fit" or not table:
        return ""
    notes = []
    for text in extra:
        option = text.split("=", 1)[0]
        if not option.startswith("--"):
            continue
        owners = [name for name, options in table.items() if option in options]
        notes.append(f"{option} is an option of {', '.join(owners)}, not of {args.model}" if owners
                     else f"{option} is an option of no model")
    return f" ({'; '.join(notes)})" if notes else ""


def _debug_env() -> bool:
    return os.environ.get("PGM_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _one_process_commands(args) -> None:
    """Under a launcher such as ``torchrun`` (several processes), refuse a command that
    does not share its work: every process would repeat it and write the same files."""
    from ..distributed import launched

    if launched() and args.func not in (_cmd_fit, _cmd_eval):
        raise UsageError(f"{args.prog} runs on one process; run it without torchrun (under torchrun, pgm fit trains "
                         "data-parallel and pgm eval splits its evaluation)", args.prog)


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
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}{_owners(parser, args, extra)} "
                             f"(see '{args.prog} --help')", args.prog)
    except UsageError as err:
        print(f"{err.prog or 'pgm'}: error: {_message(err)}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    args.notes = []
    try:
        _one_process_commands(args)
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
