"""Output paths of ``pgm``: checked before any work (an earlier run's outputs are not
overwritten without ``--force``), removed again when a command fails."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..checkpoint import make_writable_folder
from .options import UsageError

_PICTURES = (".png", ".pdf", ".svg")  # the formats pgm.draw and image_grid write
_KEEP = ("checkpoint.pt", "model.pt")  # an output folder holding one of these survives a failure
#: What ``pgm fit`` writes in its folder: another run's outputs, not overwritten without --force.
FIT_OUTPUTS = ("model.pt", "history.json", "checkpoint*.pt")

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


def _held(folder: Path, patterns) -> list[str]:
    """The files in ``folder`` whose names match one of ``patterns`` (globs), sorted."""
    if not folder.is_dir():
        return []
    return sorted({p.name for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def _no_overwrite(folder: Path, patterns, force: bool, whose: str, instead: str = "") -> list[str]:
    """Refuse (usage error) a ``folder`` that holds files matching ``patterns`` unless
    ``force``: the message names the folder, the files, ``whose`` they are and the ways
    out (``instead``, then ``--force``). Returns the files held."""
    held = _held(folder, patterns)
    if held and not force:
        raise UsageError(f"--out {folder} holds the outputs of {whose} ({', '.join(held)}); add --force to "
                         f"overwrite them{instead}, or name another --out")
    return held


def _out_file(text: str, suffixes, force: bool = False) -> Path:
    """The output file of sample, graph and filters, checked before any work: an existing
    file is refused unless ``force``."""
    out = Path(text)
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"--out {out}: expected a file name ending in {', '.join(suffixes)}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a file in it, e.g. {out / ('out' + suffixes[0])}")
    _existing_file(out, force)
    _writable(out.parent, out)
    return out


def _existing_file(out: Path, force: bool, given: str = "") -> None:
    """Refuse (usage error) an existing ``out`` unless ``force`` (``given``: the ``--out``
    the user gave and why ``out`` differs from it)."""
    if out.exists() and not force:
        raise UsageError(f"--out {given or out} exists; add --force to overwrite it, or name another file")


@contextlib.contextmanager
def _cleaned_up(folder: Path, notes: list, keep=(), hint=None):
    """On a failure inside the block, remove the folders it created for ``folder`` (from
    the top-most one that did not exist before), unless ``folder`` then holds one of
    ``keep``; then say so in ``notes``, followed by ``hint(error, kept)`` where given."""
    top = None
    for candidate in (folder.absolute(), *folder.absolute().parents):
        if candidate.exists():
            break
        top = candidate
    try:
        yield
    except BaseException as err:
        if top is not None and top.is_dir():
            kept = [name for name in dict.fromkeys(keep) if (folder / name).is_file()]
            if kept:
                notes.append(f"kept {folder}, which holds {' and '.join(kept)}" + (hint(err, kept) if hint else ""))
            else:
                shutil.rmtree(top, ignore_errors=True)
        raise


def _make_folder(out: Path) -> None:
    make_writable_folder(out)  # unwritable: fail now, not after training
