"""Checked option types of the ``pgm`` parser and its usage error."""

from __future__ import annotations

import argparse
import math


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
