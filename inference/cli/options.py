"""The ``pgm`` parser's error handling and the checked types of family options (the types
themselves and :class:`UsageError` come from :mod:`inference.families.arguments`)."""

from __future__ import annotations

import argparse
import math

from ..families.arguments import COUNT, SEED, UsageError, integer, real


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of printing usage."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')", self.prog)

_integer, _real, _COUNT, _SEED = integer, real, COUNT, SEED


def _path(what: str, note: str = ""):
    """An argparse type: a non-empty path (``note`` says what an empty one would do)."""
    def parse(text):
        if not text:
            raise argparse.ArgumentTypeError(f"expected {what}, got ''{note}")
        return text
    parse.__name__ = what
    return parse


_FOLDER = _path("a folder name", " (an empty --out would write into the current folder)")
_FILE = _path("a file name")

#: Types given to options of the families by name where they declare a plain ``int`` or
#: ``float`` (or none); any other plain ``int`` or ``float`` option of a family gets ``_integer(0, ...)`` / a finite ``_real``.
_FAMILY_TYPES = {"--hidden": _COUNT, "--weight-std": _real(0.0)}


class _CheckedGroup:
    """An argument group whose numeric options get checked types (see ``_FAMILY_TYPES``)."""

    def __init__(self, group):
        self._group = group

    def add_argument(self, *names, **kwargs):
        named = [_FAMILY_TYPES[n] for n in names if n in _FAMILY_TYPES]
        if named and kwargs.get("type") in (None, int, float):
            kwargs["type"] = named[0]
        elif kwargs.get("type") is int:
            kwargs["type"] = _integer(0, "an int >= 0")
        elif kwargs.get("type") is float:
            kwargs["type"] = _real(-math.inf)
        return self._group.add_argument(*names, **kwargs)

    def __getattr__(self, name):
        return getattr(self._group, name)
