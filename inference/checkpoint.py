"""Saving and loading models and training checkpoints: verified files, written atomically.

Format ``"pgm/2"``
------------------
A file is a ``dict`` written with :func:`torch.save` and read back with
``torch.load(..., weights_only=True)``: tensors, numbers, strings, lists and dicts only, so
a pickle that would import or call anything else (a ``__reduce__`` calling ``os.system``)
is refused, never run. Its entries:

``"format"``
    ``"pgm/2"`` (:data:`FORMAT`).
``"config"``
    The JSON text ``{"class": <class name>, "config": model.config()}`` from which
    :func:`build_model` rebuilds the model.
``"model"``
    The model's ``state_dict``.
``"checksum"``
    ``"sha256:<hex>"``, the SHA-256 of every other entry (:func:`payload_checksum`): a
    walk over the entries in sorted-key order feeding, for a tensor, its dtype, shape
    and raw bytes and, for any other value, its type and ``repr``.

A training checkpoint written by :func:`inference.learning.fit` adds the optimizer,
scheduler, generator, PCD chains, averaged parameters, epoch and history under the same
checksum, so :func:`load_model` also reads checkpoints. Every writer goes through
:func:`write_payload`, which adds the format and the checksum.

What loading checks
-------------------
:func:`load_checkpoint` (and so :func:`load_model`) checks, before it builds a model or
uses a tensor: the path exists (else :class:`FileNotFoundError`); ``torch.load`` reads it
as a dict; its format; for ``"pgm/2"`` that the checksum is present and matches;
``"config"`` is JSON text of ``{"class", "config"}`` naming a known class whose
constructor accepts the config; ``"model"`` maps names to dense tensors whose keys,
shapes and dtypes (floating where the model's are, one floating dtype in all) are those of
the model the config builds; and that the parameters are finite, unless
``allow_nonfinite=True``. The reference model is built on the ``meta`` device (no
memory is allocated), so a config whose sizes disagree with the tensors, e.g.
``n_visible=10**6``, is refused at once; a class whose constructor cannot run on
``meta`` is compared through a real build. Every failure, a directory included, is
``ValueError("<path> is not a valid pgm file: <what is wrong>")``. Files of the previous
format ``"pgm/1"`` (no checksum) still load, with a warning that their contents cannot be
verified; saving them again upgrades them. The checksum detects corruption (a flipped
byte, a truncated copy), not deliberate tampering: anyone can write a matching one.

Writes
------
Writes go to a temporary file ``.<name>.<pid>.<random>.tmp`` in the destination folder,
are flushed to disk, then renamed over the destination with :func:`os.replace` (atomic
on POSIX and Windows): a crash mid-write leaves the previous file intact and at worst a
stray temporary file, which the next write to the same destination removes once its
writer's process is gone (or is this process, not writing it now).

Examples
--------
>>> import tempfile, os
>>> from models.energy import RBM
>>> path = os.path.join(tempfile.mkdtemp(), "rbm.pt")
>>> save_model(path, RBM(6, 4, seed=0))
>>> load_model(path)
RBM(n_visible=6, n_hidden=4, weight_std=0.01, seed=0)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import threading
import warnings

import numpy as np
import torch

from pgm.checks import check_bool, check_device_arg, check_file_path, check_model

from . import classes

__all__ = ["FORMAT", "json_text", "atomic_save", "make_writable_folder", "write_payload", "payload_checksum", "invalid_file", "load_checkpoint",
           "save_model", "load_model", "model_config", "build_model", "register_model"]

#: Value of the ``"format"`` entry of every file written here.
FORMAT = "pgm/2"
_UNVERIFIED = ("pgm/1",)  # older formats still read: they carry no checksum
_RESERVED = ("format", "checksum")


def register_model(cls: type) -> type:
    """Make a model class outside :mod:`models` loadable by name (any ``torch.nn.Module``
    subclass with ``config()``; :func:`inference.classes.is_model_class`).

    Usable as a class decorator. Classes listed in ``models.energy.__all__`` and the
    classes of registered families need no registration. (A class also wanted on the
    command line gets a :class:`~inference.families.Family` with
    :func:`inference.families.register`.)
    """
    return classes.register_class(cls)


def model_config(model) -> dict:
    """``{"class": <class name>, "config": model.config()}``, checked to be JSON text."""
    if not classes.is_model_class(type(model)):
        raise TypeError(f"model must be a model (an EnergyModel, a DirectedModel or another torch.nn.Module with "
                        f"config()), got {type(model).__name__}")
    check_model(model, torch.nn.Module, None)  # a device the computation can run on (not meta)
    config = {"class": type(model).__name__, "config": model.config()}
    try:
        json.dumps(config)
    except TypeError as err:
        raise TypeError(f"{type(model).__name__}.config() must be JSON-serialisable: {err}") from None
    return config


def build_model(config: dict | str) -> torch.nn.Module:
    """A freshly initialised model from :func:`model_config`'s output (dict or JSON text)."""
    if isinstance(config, str):
        config = json.loads(config)
    if not isinstance(config, dict) or "class" not in config or "config" not in config:
        raise ValueError(f"config must be {{'class': name, 'config': {{...}}}}, got {config!r}")
    return classes.model_class(config["class"])(**config["config"])


def invalid_file(path, what: str) -> ValueError:
    """The error for a malformed or corrupted file: ``"<path> is not a valid pgm file: <what>"``."""
    return ValueError(f"{os.fspath(path)} is not a valid pgm file: {what}")


# -- the checksum ------------------------------------------------------------------------

def payload_checksum(payload: dict) -> str:
    """``"sha256:<hex>"`` over every entry of ``payload`` but ``"checksum"``.

    A canonical walk: dict entries in sorted-key order (key, then value), list and tuple
    items in order, each framed with a tag and its length; a tensor contributes its dtype,
    shape and the raw bytes of ``tensor.contiguous().cpu()``, any other value its type
    and ``repr``. The order of a dict's insertion and the device of a tensor do not matter.
    """
    if not isinstance(payload, dict):
        raise TypeError(f"payload_checksum: payload must be a dict, got {type(payload).__name__}")
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in payload.items() if k != "checksum"})
    return "sha256:" + digest.hexdigest()


def _frame(digest, tag: bytes, data) -> None:
    data = memoryview(data).cast("B")
    digest.update(tag + len(data).to_bytes(8, "little"))
    digest.update(data)


def _feed(digest, value) -> None:
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise ValueError(f"a {value.layout} tensor (only dense tensors are stored)")
        flat = value.detach().cpu().resolve_conj().resolve_neg().contiguous().reshape(-1)
        _frame(digest, b"X", f"{flat.dtype}|{tuple(value.shape)}".encode())
        _frame(digest, b"B", flat.view(torch.uint8).numpy())
    elif isinstance(value, dict):
        _frame(digest, b"D", str(len(value)).encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, repr(k))):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        _frame(digest, b"L" if isinstance(value, list) else b"T", str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    else:
        text = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
        _frame(digest, b"S", text.encode("utf-8", "backslashreplace"))


# -- writing -----------------------------------------------------------------------------

_WRITING: set[str] = set()  # temporary files this process is writing now
_LOCK = threading.Lock()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (POSIX; anything unclear counts as alive)."""
    if pid <= 0 or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: someone else's live process
        return True
    return True


def _remove_stale(folder: str, base: str) -> None:
    """Remove the temporary files of destination ``base`` left by dead writers or by this process."""
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)\.[A-Za-z0-9_]+\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    own = os.getpid()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        tmp, pid = os.path.join(folder, name), int(match.group(1))
        with _LOCK:
            if tmp in _WRITING or (pid != own and _alive(pid)):
                continue
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def make_writable_folder(path) -> None:
    """Create the folder ``path`` (and its parents) and check that a file can be written in
    it, so that a run that will write there fails now, not after its work (OSError)."""
    os.makedirs(path, exist_ok=True)
    tempfile.TemporaryFile(dir=path).close()


def _plain(value):
    """``value`` as plain JSON data: numbers of any kind (Python, numpy, one-element
    tensors) as int or float, NaN and infinities as ``None``, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, np.generic) or (isinstance(value, torch.Tensor) and value.numel() == 1):
        return _plain(value.item())
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"json_text: cannot write a {type(value).__name__} as JSON") from None
    return number if math.isfinite(number) else None


def json_text(obj, indent: int = 2) -> str:
    """``obj`` as valid JSON (RFC 8259): NaN and infinities, which JSON cannot hold, are
    written as ``null``; numbers of any kind (numpy, one-element tensors) as numbers.

    Examples
    --------
    >>> json_text({"mean": 1.5, "sem": float("nan")}, indent=None)
    '{"mean": 1.5, "sem": null}'
    """
    return json.dumps(_plain(obj), indent=indent, allow_nan=False)


def atomic_save(obj, path) -> None:
    """``torch.save(obj, path)`` through a temporary file in the same folder and a rename.

    The temporary file is ``.<name>.<pid>.<random>.tmp``; on any error it is removed and
    ``path`` is left as it was. Before writing, the temporary files of ``path`` whose
    writer process no longer runs (or is this one, not writing them now) are removed. This
    is the raw writer: models and checkpoints go through :func:`write_payload`.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory; save to the path of a file, e.g. {os.path.join(path, 'model.pt')}")
    folder, base = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale(folder, base)
    with _LOCK:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
        _WRITING.add(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        with _LOCK:
            _WRITING.discard(tmp)
    try:  # make the rename itself durable (POSIX)
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)


def write_payload(path, payload: dict) -> None:
    """Write ``{"format": FORMAT, **payload, "checksum": ...}`` to ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
    payload : dict
        String keys; values that ``torch.load(weights_only=True)`` reads (tensors,
        numbers, strings, lists, dicts). ``"format"`` and ``"checksum"`` are added here.
    """
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        raise TypeError(f"write_payload: payload must be a dict with str keys, got {type(payload).__name__}")
    taken = [k for k in _RESERVED if k in payload]
    if taken:
        raise ValueError(f"write_payload: payload must not hold {taken}; write_payload adds them")
    full = {"format": FORMAT, **payload}
    full["checksum"] = payload_checksum(full)
    atomic_save(full, path)


def save_model(path, model) -> None:
    """Write ``model`` (config + ``state_dict``, with a checksum) to ``path`` atomically."""
    write_payload(path, {"config": json.dumps(model_config(model)), "model": model.state_dict()})


# -- reading -----------------------------------------------------------------------------

def _short(text, limit: int = 160) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _reason(err: BaseException) -> str:
    """The informative part of an exception from ``torch.load`` (its advice to load unsafely left out)."""
    noise = ("Weights only load failed", "Check the documentation", "Please file an issue")
    lines = [line.replace("WeightsUnpickler error:", "").strip() for line in str(err).splitlines()]
    lines = [line for line in lines if line and not line.startswith(noise)]
    return f"{type(err).__name__}: {_short(' '.join(lines))}" if lines else type(err).__name__


def _read(path, map_location) -> dict:
    """The file's dict after the format and checksum checks."""
    where = check_file_path(path, "path")
    try:
        info = os.stat(where)  # follows links: a loop or a dangling link is an OSError here
    except FileNotFoundError:
        if os.path.islink(where):
            raise FileNotFoundError(f"{where} is not a valid pgm file: it is a symbolic link to "
                                    f"{os.readlink(where)!r}, which does not exist") from None
        raise FileNotFoundError(f"{where} is not a valid pgm file: it does not exist") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise invalid_file(where, "it is a loop of symbolic links (each points on to the next, none to a "
                                      "file)") from None
        raise
    if stat.S_ISDIR(info.st_mode):
        raise invalid_file(where, "it is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a file")
        raise invalid_file(where, f"it is {kind}, not a regular file (reading it could wait forever)")
    try:
        payload = torch.load(where, map_location=map_location, weights_only=True)
    except PermissionError:
        raise
    except Exception as err:
        raise invalid_file(where, f"torch.load cannot read it ({_reason(err)}); it is truncated, corrupted "
                                  "or not written by torch.save") from err
    if not isinstance(payload, dict):
        raise invalid_file(where, f"it holds a {type(payload).__name__}, not the dict of a model or checkpoint")
    if not all(isinstance(k, str) for k in payload):
        raise invalid_file(where, f"its entries must have str names, got {_short(list(payload))}")
    found = payload.get("format")
    if found in _UNVERIFIED:
        warnings.warn(f"{where}: format {found!r} carries no checksum, so its contents cannot be verified; "
                      f"save it again to upgrade it to {FORMAT!r}", UserWarning, stacklevel=4)
        return payload
    if found != FORMAT:
        raise invalid_file(where, f"format {_short(repr(found))}, expected {FORMAT!r}")
    stored = payload.get("checksum")
    if stored is None:
        raise invalid_file(where, f"it has no checksum, which every {FORMAT!r} file carries")
    try:
        actual = payload_checksum(payload)
    except (ValueError, TypeError, RuntimeError, RecursionError) as err:
        raise invalid_file(where, f"its contents cannot be checksummed ({_short(err)})") from None
    if stored != actual:
        raise invalid_file(where, f"checksum mismatch, the file is corrupted (stored {_short(repr(stored), 80)}, "
                                  f"contents give {actual!r})")
    return payload


def _build(where, cls, kwargs) -> torch.nn.Module:
    try:
        return cls(**kwargs)
    except Exception as err:
        raise invalid_file(where, f"its config does not build a {cls.__name__} "
                                  f"({type(err).__name__}: {_short(err)})") from None


def _reference(where, cls, kwargs) -> dict:
    """``{name: (shape, dtype)}`` of the model the config builds, from a build on ``meta``."""
    try:
        with torch.device("meta"):
            model = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise invalid_file(where, f"its config does not build a {cls.__name__} "
                                  f"({type(err).__name__}: {_short(err)})") from None
    except Exception:  # a constructor that needs real tensors (e.g. calls .item()): build it for real
        model = _build(where, cls, kwargs)
    return {k: (tuple(t.shape), t.dtype) for k, t in model.state_dict().items()}


def _check_model(where, payload, allow_nonfinite: bool):
    """``(class, config, floating dtype or None)`` once the ``"config"`` and ``"model"``
    entries are checked against each other and the parameters are finite."""
    for key in ("config", "model"):
        if key not in payload:
            raise invalid_file(where, f"it has no {key!r} entry (entries: {_short(sorted(payload))})")
    text = payload["config"]
    if not isinstance(text, str):
        raise invalid_file(where, f"'config' must be JSON text, got a {type(text).__name__}")
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise invalid_file(where, f"'config' is not JSON text ({_short(err)})") from None
    if (not isinstance(config, dict) or set(config) != {"class", "config"} or not isinstance(config["class"], str)
            or not isinstance(config["config"], dict)):
        raise invalid_file(where, f"'config' must be {{\"class\": name, \"config\": {{...}}}}, got {_short(text)}")
    try:
        cls = classes.model_class(config["class"])
    except ValueError as err:
        raise invalid_file(where, str(err)) from None
    state = payload["model"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              and v.layout == torch.strided for k, v in state.items()):
        raise invalid_file(where, "'model' must be a state_dict, a dict of names to dense tensors")
    expected = _reference(where, cls, config["config"])
    if set(state) != set(expected):
        raise invalid_file(where, f"'model' does not hold the entries of a {cls.__name__}: missing "
                                  f"{sorted(set(expected) - set(state))}, unexpected {_short(sorted(set(state) - set(expected)))}")
    problems = []
    for key, (shape, dtype) in expected.items():
        t = state[key]
        if tuple(t.shape) != shape:
            problems.append(f"{key} has shape {tuple(t.shape)}, the config gives {shape}")
        elif dtype.is_floating_point != t.dtype.is_floating_point or (not dtype.is_floating_point and t.dtype != dtype):
            problems.append(f"{key} has dtype {t.dtype}, expected {'a floating dtype' if dtype.is_floating_point else dtype}")
    if problems:
        raise invalid_file(where, f"'model' disagrees with its config ({cls.__name__}): {'; '.join(problems)}")
    floating = {state[k].dtype for k, (_, dtype) in expected.items() if dtype.is_floating_point}
    if len(floating) > 1:
        raise invalid_file(where, f"'model' mixes floating dtypes {sorted(map(str, floating))}")
    if not allow_nonfinite:
        bad = {k: int((~torch.isfinite(t)).sum()) for k, t in state.items() if t.is_floating_point() or t.is_complex()}
        bad = {k: n for k, n in bad.items() if n}
        if bad:
            detail = ", ".join(f"{k}: {n} of {state[k].numel()}" for k, n in bad.items())
            raise invalid_file(where, f"non-finite parameters (NaN or inf; {detail}); pass allow_nonfinite=True "
                                      "to load them anyway")
    return cls, config["config"], floating.pop() if floating else None


def _load(path, map_location, allow_nonfinite):
    check_bool(allow_nonfinite, "allow_nonfinite")
    payload = _read(path, map_location)
    return (payload, *_check_model(check_file_path(path), payload, allow_nonfinite))


def load_checkpoint(path, map_location="cpu", allow_nonfinite: bool = False) -> dict:
    """Read a model or training checkpoint file and check it (see the module notes).

    Parameters
    ----------
    path : str or PathLike
    map_location : optional
        Passed to :func:`torch.load` (default: CPU).
    allow_nonfinite : bool, default False
        Accept NaN or infinite parameters.

    Returns
    -------
    dict
        The file's entries, ``"format"``, ``"config"``, ``"model"`` (and ``"checksum"``)
        checked; a training checkpoint's other entries are checked on resuming.

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ValueError
        ``"<path> is not a valid pgm file: ..."`` for any malformed or corrupted file.
    """
    return _load(path, map_location, allow_nonfinite)[0]


def load_model(path, device=None, allow_nonfinite: bool = False) -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_model` (or in a checkpoint of :func:`inference.learning.fit`).

    Parameters
    ----------
    path : str or PathLike
    device : torch.device or str, optional
        Where to put the model (default: CPU).
    allow_nonfinite : bool, default False
        Accept NaN or infinite parameters.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_checkpoint`: every file is checked before a model is built.
    """
    where = check_file_path(path, "path", "load_model")
    device = check_device_arg(device, "device", "load_model")
    payload, cls, kwargs, dtype = _load(path, "cpu", allow_nonfinite)
    model = _build(where, cls, kwargs)
    if dtype is not None and dtype != model.dtype:
        model = model.to(dtype)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, ValueError, TypeError) as err:
        raise invalid_file(where, f"its state_dict does not load into a {cls.__name__} ({_short(err)})") from None
    return model.to(device) if device is not None else model
