"""Output paths of ``pgm``: checked before any work, removed again when a command fails."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..checkpoint import make_writable_folder
from .options import UsageError

_PICTURES = (".png", ".pdf", ".svg")  # the formats pgm.draw and image_grid write
_KEEP = ("checkpoint.pt", "model.pt")  # an output folder holding one of these survives a failure

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
    make_writable_folder(out)  # unwritable: fail now, not after training
