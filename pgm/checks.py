"""Argument checkers of the whole library: one module, used by ``pgm``, ``models`` and
``inference`` alike.

Each checker takes the value, the argument's name and (optionally) ``where``, the
function or command whose argument it is, and either returns the value in its checked
form or raises TypeError (wrong type) / ValueError (wrong value) with a message that
names the argument, what was expected and what was received.

The checks of models' inputs (:func:`check_units`, :func:`check_onehot`,
:func:`check_beta`) are switchable like ``torch.distributions``: on by default; hot
loops that have already checked their data once (training, sampling, AIS) switch them
off locally with :func:`validation_disabled`.
"""

from __future__ import annotations

import contextlib
import math
import operator
import os

import numpy as np
import torch

__all__ = ["check_beta", "check_bool", "check_choice", "check_float", "check_init", "check_sizes", "check_int",
           "check_memory", "check_onehot", "check_units", "check_path", "check_ax", "check_title", "check_int_arg",
           "check_seed", "check_device", "check_device_arg", "check_model", "check_capable", "check_file_path",
           "check_output_file",
           "check_bracket", "check_rows", "check_chains_memory",
           "as_array", "PICTURE_FORMATS",
           "is_validation_enabled", "set_validation", "validation_disabled"]

_ENABLED = True


def is_validation_enabled() -> bool:
    """Whether energy models check their arguments."""
    return _ENABLED


def set_validation(enabled: bool) -> None:
    """Turn argument checks of energy models on or off globally."""
    global _ENABLED
    _ENABLED = bool(enabled)


@contextlib.contextmanager
def validation_disabled():
    """Context manager that switches argument checks off inside its block."""
    global _ENABLED
    old, _ENABLED = _ENABLED, False
    try:
        yield
    finally:
        _ENABLED = old


def _show(values: torch.Tensor, k: int = 5) -> str:
    vals = values.flatten()[:k].tolist()
    return ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in vals)


#: (binary, spin) → what :func:`check_units` requires of the values, and how to get there.
_VALUE_SETS = {
    (True, False): ("be binary (values in {0, 1})", "; binarize first, e.g. ({name} >= 0.5).float()"),
    (False, False): ("lie in [0, 1] (binary values or probabilities)", ""),
    (True, True): ("hold ±1 spins (values in {-1, +1})", "; map {{0, 1}} data with 2 * {name} - 1"),
    (False, True): ("lie in [-1, 1] (±1 spins or their means)", "; map {{0, 1}} data with 2 * {name} - 1"),
}


def check_units(
    x,
    name: str,
    width: int | None = None,
    *,
    binary: bool = False,
    unit_interval: bool = False,
    spin: bool = False,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Check a batch of unit values and return it as a tensor of the model's dtype.

    Parameters
    ----------
    x : Tensor, shape (batch, width)
        Values to check.
    name : str
        The argument's name, used in error messages.
    width : int, optional
        Required size of the last dimension.
    binary : bool
        Require values in {0, 1} ({−1, +1} with ``spin``).
    unit_interval : bool
        Require values in [0, 1] (probabilities are accepted).
    spin : bool
        ±1 units: require values in [−1, 1] (spins or their means; {−1, +1} with ``binary``).
    dtype, device : optional
        Convert a floating tensor to this dtype / device.

    Raises
    ------
    TypeError
        ``x`` is not a tensor of a floating dtype.
    ValueError
        Wrong rank or width, NaN/inf, values outside the allowed set, or (while checks are
        on) a tensor on the ``meta`` device, whose values cannot be checked or used.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (batch, {width if width else 'n'}), "
            f"got {type(x).__name__}; convert with torch.as_tensor(..., dtype=torch.float32)"
        )
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{name} must have a floating dtype (float32 or float64), got {x.dtype}; "
            f"convert with {name}.float()"
        )
    if x.dim() != 2:
        raise ValueError(
            f"{name} must be 2-D (batch, {width if width else 'n'}), got shape {tuple(x.shape)}; "
            f"a single example needs a batch dimension: {name}.unsqueeze(0)"
        )
    if width is not None and x.shape[-1] != width:
        raise ValueError(
            f"{name} must have {width} columns (one per unit), got shape {tuple(x.shape)}"
        )
    if _ENABLED:
        check_device(x, name)
    if dtype is not None or device is not None:
        x = x.to(dtype=dtype or x.dtype, device=device or x.device)
    if not _ENABLED:
        return x
    if x.numel() and not binary:  # one pass (NaN propagates through min and max); the slow checks name the bad values
        lo, hi = (float(v) for v in torch.aminmax(x.detach()))
        if ((0.0 <= lo and hi <= 1.0) if unit_interval else (-1.0 <= lo and hi <= 1.0) if spin
                else (math.isfinite(lo) and math.isfinite(hi))):
            return x
    found = _first_bad(x, lambda rows: ~torch.isfinite(rows))
    if found is not None:
        start, _, bad = found
        rows = (bad.any(-1).nonzero().flatten()[:5] + start).tolist()
        raise ValueError(f"{name} contains NaN or infinite values (rows {rows})")
    if binary or spin or unit_interval:
        low = -1.0 if spin else 0.0
        found = _first_bad(x, (lambda rows: (rows != low) & (rows != 1)) if binary
                           else (lambda rows: (rows < low) | (rows > 1)))
        if found is not None:
            _, rows, bad = found
            want, fix = _VALUE_SETS[binary, spin]
            raise ValueError(f"{name} must {want}, got values such as [{_show(rows[bad])}]{fix.format(name=name)}")
    return x


#: Rows that :func:`check_units` tests at a time: its masks and temporaries (``isfinite``
#: takes an absolute value) stay the size of this many rows, not of the whole data set.
_CHECK_ROWS = 4096


def _first_bad(x: torch.Tensor, test):
    """``(start, rows, mask)`` for the first block of ``_CHECK_ROWS`` rows of ``x`` (from
    row ``start``) in which the boolean ``test(rows)`` flags a value, or ``None``."""
    for start in range(0, x.shape[0], _CHECK_ROWS):
        rows = x[start:start + _CHECK_ROWS]
        mask = test(rows)
        if mask.any():
            return start, rows, mask
    return None


def check_onehot(x, name: str, width: int | None = None, *, exact: bool = True, dtype: torch.dtype | None = None,
                 device: torch.device | None = None) -> torch.Tensor:
    """Check a batch of values of a softmax group (one K-way variable as K one-hot units).

    Like :func:`check_units`, and every row must be one-hot (``exact``) or, with
    ``exact=False``, a probability vector (values in [0, 1] summing to 1 within 1e-4, such
    as conditional means).

    Raises
    ------
    TypeError
        ``x`` is not a tensor of a floating dtype.
    ValueError
        Wrong rank or width, NaN/inf, or a row that is not one-hot (a probability vector).
    """
    x = check_units(x, name, width, unit_interval=True, dtype=dtype, device=device)
    if not _ENABLED or x.shape[0] == 0:
        return x
    sums = x.sum(-1, dtype=torch.float64)
    bad = (sums - 1).abs() > 1e-4
    if exact:
        bad |= ((x != 0) & (x != 1)).any(-1)
    if bad.any():
        rows = bad.nonzero().flatten()[:5].tolist()
        want = "one-hot rows (exactly one 1 per row)" if exact else \
            "one-hot rows or probability vectors (values in [0, 1] summing to 1)"
        raise ValueError(
            f"{name} must hold {want} for a softmax group of {x.shape[-1]} classes, got rows {rows} such as "
            f"[{_show(x[bad][0])}]; encode class indices k as torch.nn.functional.one_hot(k, {x.shape[-1]}).float()"
        )
    return x


def check_beta(beta, name: str = "beta", batch: int | None = None):
    """Check an inverse temperature: a float in [0, 1] or a tensor of shape (batch,)."""
    if isinstance(beta, torch.Tensor):
        if beta.dim() > 1 or (batch is not None and beta.dim() == 1 and beta.shape[0] not in (1, batch)):
            raise ValueError(
                f"{name} must be a scalar or a tensor of shape ({batch},), got shape {tuple(beta.shape)}"
            )
        if _ENABLED and ((beta < 0) | (beta > 1) | beta.isnan()).any():
            raise ValueError(f"{name} must lie in [0, 1], got [{_show(beta)}]")
        return beta
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or math.isnan(beta) or not 0 <= beta <= 1:
        raise ValueError(f"{name} must be a number in [0, 1] or a tensor of such, got {beta!r}")
    return float(beta)


def check_int(value, name: str, minimum: int = 1, where: str | None = None) -> int:
    """Check that ``value`` is an integer (not bool) of at least ``minimum``; return it as an int.

    Integer-like numbers (``numpy.int64``, a 0-d integer tensor: anything with
    ``__index__``) are accepted. A non-integer raises TypeError, an integer below
    ``minimum`` ValueError; ``where`` (e.g. the function's name) prefixes the message.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{prefix}{name} must be an int >= {minimum}, got {type(value).__name__} {value!r}")
    try:
        value = operator.index(value)
    except TypeError:  # e.g. a tensor with more than one element
        raise TypeError(f"{prefix}{name} must be an int >= {minimum}, got {type(value).__name__} {value!r}") from None
    if value < minimum:
        raise ValueError(f"{prefix}{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_bool(value, name: str, where: str | None = None) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (not 0, 1 or a string); return it.

    Raises TypeError otherwise; ``where`` (e.g. the function's name) prefixes the message.
    """
    if not isinstance(value, bool):
        prefix = f"{where}: " if where else ""
        raise TypeError(f"{prefix}{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_sizes(sizes, where: str, min_layers: int, layers: str, hint: str = "") -> list[int]:
    """Layer sizes from the visible layer up: a sequence (not a string) of at least
    ``min_layers`` ints ≥ 1 (``layers`` names them, e.g. "visible and one hidden");
    ``hint`` ends the message for too few layers. Returns them as a list of ints."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"{where}: sizes must be a sequence of layer sizes from the visible layer up, "
                        f"e.g. [64, 32, 16], got {type(sizes).__name__} {sizes!r}")
    sizes = [check_int(s, f"sizes[{i}]", 1, where) for i, s in enumerate(sizes)]
    if len(sizes) < min_layers:
        words = {2: "two", 3: "three"}.get(min_layers, str(min_layers))
        raise ValueError(f"{where}: sizes must list at least {words} layers ({layers}), got {sizes}{hint}")
    return sizes


def check_hidden(hidden, where: str, *, one_int: bool = True, empty: bool = False) -> list[int]:
    """Hidden layer sizes: a sequence (not a string) of ints ≥ 1 — or one int for one layer
    when ``one_int`` — non-empty unless ``empty``; returned as a list of ints."""
    if one_int and hasattr(type(hidden), "__index__") and not isinstance(hidden, bool):
        hidden = [hidden]
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"{where}: hidden must be a sequence of layer sizes, e.g. (500,) or (500, 500), got "
                        f"{type(hidden).__name__} {hidden!r}")
    sizes = [check_int(h, f"hidden[{i}]", 1, where) for i, h in enumerate(hidden)]
    if not sizes and not empty:
        raise ValueError(f"{where}: hidden must list at least one hidden layer, e.g. (500,), got {hidden!r}")
    return sizes


def check_init(where: str, weight_std, seed) -> tuple[float, int | None]:
    """The initialisation options every model shares: ``weight_std`` a finite float ≥ 0,
    ``seed`` ``None`` or an int in [0, 2**63) (what ``torch.Generator.manual_seed``
    takes); returns ``(float(weight_std), seed)``."""
    if (not isinstance(weight_std, (int, float)) or isinstance(weight_std, bool)
            or not math.isfinite(weight_std) or weight_std < 0):
        raise ValueError(f"{where}: weight_std must be a finite non-negative float, got {weight_std!r}")
    return float(weight_std), check_seed(seed, where)


def check_seed(seed, where: str | None = None, *, high: int = 2**63, name: str = "seed", optional: bool = True):
    """An int in [0, ``high``) (2**63 by default, within what ``torch.Generator.manual_seed``
    takes; 2**32 where NumPy's generator is seeded too), or ``None`` when ``optional``;
    returns it as an int. TypeError for a non-integer, ValueError outside the range."""
    if seed is None and optional:
        return None
    seed = check_int(seed, name, 0, where)
    if seed >= high:
        prefix = f"{where}: " if where else ""
        bound = {2**63: "2**63", 2**32: "2**32"}.get(high, str(high))
        raise ValueError(f"{prefix}{name} must be below {bound} (an int in [0, {bound})), got {seed!r}; pass a "
                         f"smaller seed, e.g. {name} % {bound}")
    return seed


def check_memory(where: str, n_values: int, dtype: torch.dtype = torch.float32, what: str = "its parameters",
                 fix: str = "use smaller layers") -> None:
    """Refuse, before allocating, ``n_values`` numbers of ``dtype`` (a model's parameters,
    a sampler's chains, recorded draws: ``what``) that exceed this machine's physical
    memory: ValueError saying how much is needed, ending with ``fix``."""
    need = n_values * torch.empty((), dtype=dtype).element_size()
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: let the allocator decide
        return
    if need > have:
        raise ValueError(f"{where}: {what} need {_bytes(need)} ({n_values:.3g} {dtype} values), more than this "
                         f"machine's {_bytes(have)} of memory; {fix}")


def check_chains_memory(model, n_rows: int, where: str, what: str | None = None, copies: int = 1,
                        dtype: torch.dtype | None = None) -> None:
    """Refuse (:func:`check_memory`), before allocating, ``n_rows`` chains of every group of
    ``model``'s graph (``copies`` such states, in ``dtype``, default the model's): a
    sampler's or a trainer's chains, ``what`` describing the rows in the message."""
    units = sum(g.n_units for g in model.graph.groups)
    check_memory(where, copies * n_rows * units, dtype or model.dtype,
                 f"{what or f'{n_rows} chains'} of {units} units", "use fewer chains")


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}"
        n /= 1024


def check_float(value, name, low=0.0, high=math.inf, low_open=False, high_open=False, where=None):
    """``value`` as a finite float in the interval: TypeError for a non-number, ValueError outside."""
    prefix = f"{where}: " if where else ""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{prefix}{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad = (not math.isfinite(value) or value < low or value > high or (low_open and value == low)
           or (high_open and value == high))
    if bad:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{prefix}{name} must be finite and lie in {lo}{low}, {high}{hi}, got {value}")
    return value


def check_choice(value, name, options, where=None):
    """``value`` if it is one of ``options``, else a ValueError listing them."""
    if value not in options:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}{name} must be one of {list(options)}, got {value!r}")
    return value


def _prefix(where):
    return f"{where}: " if where else ""


# -- devices, models, files ----------------------------------------------------------------

#: Device types whose tensors hold no values (shapes only): nothing can be computed there.
DATALESS_DEVICES = ("meta",)


def check_device(obj, name: str, where: str | None = None) -> torch.device | None:
    """The device of a tensor or of a module's parameters and buffers, refused (ValueError
    naming it) when nothing can be computed there: the ``meta`` device, whose tensors have
    shapes but no values. Returns the device (``None`` for a module without tensors)."""
    if isinstance(obj, torch.Tensor):
        devices = [obj.device]
    elif isinstance(obj, torch.nn.Module):
        devices = list(dict.fromkeys(t.device for t in (*obj.parameters(), *obj.buffers())))
    else:
        return None
    for device in devices:
        if device.type in DATALESS_DEVICES:
            if isinstance(obj, torch.Tensor):
                fix = f"make {name} on 'cpu' (or an accelerator) with real values"
            else:
                fix = ("build the model on 'cpu' (or an accelerator), or give it values with "
                       "model.to_empty(device='cpu') and load_state_dict(...)")
            raise ValueError(f"{_prefix(where)}{name} is on the {str(device)!r} device, whose tensors hold no "
                             f"values, so nothing can be computed from it; {fix}")
    return devices[0] if devices else None


def _available(device: torch.device):
    """(whether ``device``'s type is usable here, how many devices of that type or ``None``)."""
    if device.type == "cpu":
        return True, None
    module = getattr(torch, device.type, None)
    if device.type == "mps":
        module = getattr(torch.backends, "mps", None)
    is_available = getattr(module, "is_available", None)
    if callable(is_available):
        try:
            ok = bool(is_available())
        except Exception:  # a backend that cannot even say
            ok = False
        count = getattr(module, "device_count", None)
        return ok, (count() if ok and callable(count) else None)
    try:
        torch.empty(0, device=device)
    except Exception:
        return False, None
    return True, None


def check_device_arg(device, name: str = "device", where: str | None = None) -> torch.device | None:
    """A device argument (``None``, a str such as ``"cpu"`` or ``"cuda:0"``, or a
    ``torch.device``) as a ``torch.device``, checked to be one this machine can compute
    on: TypeError for another type (an int such as 5 is not taken to mean ``cuda:5``),
    ValueError for a name torch does not know, the ``meta`` device, a device type that is
    not available (``"cuda"`` without CUDA) or an index beyond the devices present."""
    if device is None:
        return None
    if isinstance(device, bool) or not isinstance(device, (str, torch.device)):
        raise TypeError(f"{_prefix(where)}{name} must be a str such as 'cpu' or 'cuda:0', or a torch.device, "
                        f"got {type(device).__name__} {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"{_prefix(where)}{name} must name a device such as 'cpu' or 'cuda:0', got {device!r} "
                         f"({err})") from None
    if dev.type in DATALESS_DEVICES:
        raise ValueError(f"{_prefix(where)}{name} is {str(dev)!r}, a device whose tensors hold no values; pass "
                         "'cpu' or an available accelerator")
    ok, count = _available(dev)
    if not ok:
        raise ValueError(f"{_prefix(where)}{name} is {str(dev)!r}, but this machine (this torch build) has no "
                         f"usable {dev.type} device; pass 'cpu'")
    if dev.index is not None and count is not None and dev.index >= count:
        raise ValueError(f"{_prefix(where)}{name} is {str(dev)!r}, but this machine has {count} {dev.type} "
                         f"device(s), numbered from 0")
    return dev


def check_model(model, cls, where: str, name: str = "model", what: str | None = None, hint: str = ""):
    """``model`` if it is an instance of ``cls`` (a class or tuple of classes; ``what``
    describes it, default "a <cls>") whose tensors are on a device computations can run
    on (:func:`check_device`); TypeError (ending with ``hint``) / ValueError otherwise."""
    if not isinstance(model, cls):
        if what is None:
            what = f"{'an' if cls.__name__[0] in 'AEIOU' else 'a'} {cls.__name__}"
        raise TypeError(f"{_prefix(where)}{name} must be {what}, got {type(model).__name__}{hint}")
    check_device(model, name, where)
    return model


def check_capable(model, needs, where: str, what: str, name: str = "model"):
    """``model`` if it is a ``torch.nn.Module`` with every attribute in ``needs`` (the
    methods and fields an algorithm uses: what the model must be able to do, not which class
    it is), on a device computations can run on; TypeError naming ``what`` was expected and
    what is missing otherwise."""
    missing = [a for a in needs if not hasattr(model, a)] if isinstance(model, torch.nn.Module) else list(needs)
    if missing:
        raise TypeError(f"{_prefix(where)}{name} must be {what}, with {', '.join(needs)}; got {type(model).__name__} "
                        f"without {', '.join(missing)}")
    check_device(model, name, where)
    return model


def check_rows(x: torch.Tensor, name: str, where: str | None = None) -> torch.Tensor:
    """``x`` if it has at least one row; ValueError naming ``name`` otherwise."""
    if x.shape[0] == 0:
        raise ValueError(f"{_prefix(where)}{name} has no rows; pass at least one example")
    return x


def check_file_path(path, name: str = "path", where: str | None = None) -> str:
    """``path`` (a str or ``os.PathLike``, not empty) as a str; TypeError / ValueError."""
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{_prefix(where)}{name} must be a path (str or os.PathLike), got {type(path).__name__} "
                        f"{path!r}")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text:
        raise ValueError(f"{_prefix(where)}{name} must be the path of a file, got the empty string")
    return text


def check_output_file(path, name: str = "path", where: str | None = None) -> str:
    """``path`` checked to be a file that can be written, before any work that would write
    it: a path (:func:`check_file_path`), not a directory, whose folder exists and takes a
    new file or, where it does not exist yet, whose nearest existing parent is a folder
    that does (the folder is created when the file is written). Writes and removes one
    temporary file; ValueError naming ``name`` otherwise."""
    import tempfile

    text = check_file_path(path, name, where)
    if os.path.isdir(text):
        raise ValueError(f"{_prefix(where)}{name} must be the path of a file, but {text!r} is a directory; name "
                         f"a file inside it, e.g. {os.path.join(text, 'ckpt.pt')!r}")
    folder = os.path.dirname(os.path.abspath(text))
    parent = folder
    while not os.path.exists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    reason = None
    if not os.path.isdir(parent):
        reason = f"{parent!r} is not a folder"
    else:
        try:
            tempfile.TemporaryFile(dir=parent).close()
        except OSError as err:
            reason = f"a file cannot be created in {parent!r} ({err.strerror or err})"
    if reason is not None:
        missing = "" if parent == folder else f" (its folder {folder!r} does not exist and cannot be made)"
        raise ValueError(f"{_prefix(where)}{name}: {text!r} cannot be written{missing}: {reason}; pass the path "
                         "of a file in a writable folder")
    return text


def check_bracket(value: float, lower: float, upper: float, name: str, where: str | None = None) -> None:
    """An estimate ``value`` with its bracket [``lower``, ``upper``] (e.g. a log Z): the
    value finite, no NaN, ``lower <= value <= upper`` (within rounding; the ends may be
    infinite); ValueError naming ``name`` otherwise, e.g. for an inverted bracket."""
    values = (value, lower, upper)
    if not math.isfinite(value) or any(math.isnan(v) for v in values):
        raise ValueError(f"{_prefix(where)}{name} must be finite with a bracket without NaN, got {name}={value!r}, "
                         f"lower={lower!r}, upper={upper!r}")
    tol = 1e-9 * max(1.0, abs(value))
    if not (lower <= value + tol and value <= upper + tol):
        raise ValueError(f"{_prefix(where)}{name} must lie in its bracket, lower <= {name} <= upper, got "
                         f"lower={lower!r}, {name}={value!r}, upper={upper!r}"
                         + (" (an inverted bracket)" if lower > upper else "")
                         + "; pass the estimate as its estimator returned it")


# -- arguments of picture functions -------------------------------------------------------

#: File suffixes a picture may be saved as.
PICTURE_FORMATS = (".png", ".pdf", ".svg")


def check_path(path, func):
    """``None``, or a str / PathLike ending in one of :data:`PICTURE_FORMATS`."""
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}: path must be a str or os.PathLike, got {type(path).__name__}")
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in PICTURE_FORMATS:
        raise ValueError(f"{func}: path must end in one of {', '.join(PICTURE_FORMATS)}, got {os.fspath(path)!r}")


def check_ax(ax, func):
    """``None`` or a matplotlib Axes."""
    if ax is None:
        return
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{func}: ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def check_title(title, func):
    """``None`` or a str."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{func}: title must be a str or None, got {type(title).__name__}")


def check_int_arg(value, name, func, minimum=1, optional=True):
    """A picture function's count: an int ≥ ``minimum`` (or ``None`` when ``optional``);
    ValueError otherwise."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{func}: {name} must be an int >= {minimum}{' or None' if optional else ''}, got {value!r}")
    return int(value)


def as_array(values, name, func, ndim=None, finite=True):
    """A float64 numpy copy of a tensor, array or nested sequence, checked for its rank."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: {name} must be a tensor, array or sequence of numbers, "
                        f"got {type(values).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{func}: {name} must be {ndim}-D, got shape {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{func}: {name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN or infinite values")
    return arr
