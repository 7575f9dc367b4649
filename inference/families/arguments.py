"""Command-line pieces the families declare their options with: checked argparse types,
the usage error, and the options every family trained by epochs shares."""

from __future__ import annotations

import argparse
import math

__all__ = ["UsageError", "integer", "real", "COUNT", "SEED", "layer_sizes", "add_sizes_argument", "sizes_for",
           "add_common_training_arguments", "check_exact"]


class UsageError(ValueError):
    """A command line that asks for something invalid: exit status 2.

    ``prog`` is the command whose usage it breaks (``"pgm fit rbm"``), when known.
    """

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


def integer(low: int, what: str):
    """An argparse type: an int ≥ ``low`` (``what`` names it in the error)."""
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


def real(low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite float in the interval."""
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


COUNT = integer(1, "a positive int")
SEED = integer(0, "an int >= 0")


def layer_sizes(text):
    """An argparse type: comma-separated layer sizes, visible first (``64,32,16``)."""
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 64,32,16, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes (visible first), got {text!r}")
    return sizes


def add_sizes_argument(parser, hidden, note: str = "") -> None:
    """``--sizes``, visible first; left out, the data's columns followed by ``hidden``
    (:func:`sizes_for`)."""
    parser.add_argument("--sizes", type=layer_sizes, default=None,
                        help=f"layer sizes, visible first{note} (default: the data's columns, then "
                             f"{','.join(map(str, hidden))})")


def sizes_for(sizes, data, hidden) -> list:
    """The layer sizes of a stack built for ``data``: ``--sizes`` as given, its visible size
    checked against the data's columns (a UsageError naming the sizes that would fit), or
    with ``sizes`` None the data's columns followed by ``hidden``."""
    n = data.shape[-1]
    if sizes is None:
        return [n, *hidden]
    if sizes[0] != n:
        text, fits = ",".join(map(str, sizes)), ",".join(map(str, [n, *sizes[1:]]))
        raise UsageError(f"--sizes {text}: the visible layer must match the data's {n} columns (e.g. --sizes "
                         f"{fits}, or leave --sizes out for {','.join(map(str, [n, *hidden]))})")
    return list(sizes)


def _default(family, key, fallback=None):
    value = family.options(family.cli_default_method()).get(key, fallback)
    return fallback if value is None else value


def add_common_training_arguments(parser, family) -> None:
    """``--method``, ``--epochs``, ``--batch-size``, ``--lr`` and ``--evaluate`` of a family
    trained by epochs, with the family's own choices and defaults (those of its trainer's
    signature, so the command line and ``inference.fit`` agree)."""
    methods = list(family.cli_methods or family.methods)
    parser.add_argument("--method", default=None, metavar="{" + ",".join(methods) + "}",
                        help=f"training method (default: {family.cli_default_method()})")
    parser.add_argument("--epochs", type=COUNT, default=None,
                        help=f"epochs{family.epochs_help} (default {_default(family, 'epochs')})")
    parser.add_argument("--batch-size", type=COUNT, default=None,
                        help=f"rows per update{family.epochs_help} (default {_default(family, 'batch_size')})")
    parser.add_argument("--lr", type=real(0.0, low_open=True), default=None,
                        help=f"learning rate{family.lr_help} (default {family.default_lr_text()})")
    parser.add_argument("--evaluate", default="none", metavar="{" + ",".join(["none", *family.fit_evaluations]) + "}",
                        help=f"held-out log-likelihood after each epoch on the test split ({family.evaluate_help}) "
                             "(default none)")
    parser.add_argument("--resume", action="store_true",
                        help=f"continue the run in --out from its OUT/{family.resumable} (with the same options)")


def check_exact(model, option: str, instead: str) -> None:
    """Refuse, before any work, an exact log Z that :func:`inference.exact_log_partition`
    would refuse: a :class:`UsageError` naming ``option`` and what to use ``instead``."""
    from ..partition.exact import MAX_EXACT_UNITS, enumeration_set

    try:
        groups, n = enumeration_set(model)
    except TypeError as err:
        raise UsageError(f"{option}: {err}") from None
    if n > MAX_EXACT_UNITS:
        raise UsageError(f"{option}: exact log Z enumerates the 2^{n} states of {', '.join(groups)} ({n} units), "
                         f"above exact_log_partition's limit of {MAX_EXACT_UNITS} units; use {instead}")
