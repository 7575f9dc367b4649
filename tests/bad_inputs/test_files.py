"""Damaged, truncated and malicious files through every reader."""

from __future__ import annotations

import math
import os
import pickle

import pytest
import torch

from inference import (fit, load_model, save_model)
from inference import checkpoint as checkpoint_module
from inference.checkpoint import load_checkpoint, write_payload
from models import DBN, VAE, SigmoidBeliefNet
from models.energy import RBM
from tests.oracles import random_rbm
from tests.bad_inputs.common import (NAN, QUIET, _binary)


# -- files ---------------------------------------------------------------------------------

class _Marker:
    """A pickle that, if unpickled unsafely, creates the file ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _file(kind, tmp):
    """A bad file of ``kind`` in ``tmp``: ``(path, exception, pattern)``."""
    good = tmp / "good.pt"
    save_model(good, random_rbm(6, 4, seed=0, dtype=torch.float32))
    raw, path = good.read_bytes(), tmp / f"{kind}.pt"
    invalid = "is not a valid pgm file"
    if kind == "missing":
        return path, FileNotFoundError, "does not exist"
    if kind == "folder":
        path.mkdir()
        return path, ValueError, "directory"
    if kind == "fifo":  # reading it would wait forever for a writer
        os.mkfifo(path)
        return path, ValueError, "named pipe (FIFO), not a regular file"
    if kind == "symlink-loop":
        os.symlink(path, path)
        return path, ValueError, "loop of symbolic links"
    if kind == "dangling-symlink":
        os.symlink(tmp / "nowhere.pt", path)
        return path, FileNotFoundError, "does not exist"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind.startswith("truncated"):
        path.write_bytes(raw[: len(raw) * int(kind[-2:]) // 100])
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "malicious":
        with open(path, "wb") as f:
            pickle.dump({"format": "pgm/2", "config": _Marker(str(tmp / "pwned"))}, f)
    elif kind == "malicious-torch":
        torch.save({"format": "pgm/2", "model": _Marker(str(tmp / "pwned"))}, path)
    else:
        payload = load_checkpoint(good)
        del payload["format"], payload["checksum"]
        change = {
            "nan": lambda p: p["model"]["W"].fill_(NAN),
            "no-config": lambda p: p.pop("config"),
            "bad-json": lambda p: p.__setitem__("config", "{not json"),
            "unknown-class": lambda p: p.__setitem__("config", p["config"].replace('"RBM"', '"Nope"')),
            "extra-key": lambda p: p.__setitem__("config", p["config"].replace('"seed"', '"colour": 1, "seed"')),
            "huge-config": lambda p: p.__setitem__("config", p["config"].replace('"n_visible": 6',
                                                                                 '"n_visible": 1000000')),
            "missing-tensor": lambda p: p["model"].pop("b"),
            "int-weights": lambda p: p["model"].__setitem__("W", p["model"]["W"].long()),
        }[kind]
        change(payload)
        write_payload(path, payload)
        if kind == "nan":
            return path, ValueError, "non-finite"
    return path, ValueError, invalid


FILE_KINDS = ["missing", "folder", "fifo", "symlink-loop", "dangling-symlink", "empty", "text", "truncated-10", "truncated-50", "truncated-90", "tensor",
              "malicious", "malicious-torch", "nan", "no-config", "bad-json", "unknown-class", "extra-key",
              "huge-config", "missing-tensor", "int-weights"]


def _load_via_resume(path):
    return fit(RBM(6, 4, seed=0), _binary(20), epochs=1, checkpoint=path, resume=True, **QUIET)


FILE_ROWS = [pytest.param(kind, reader, id=f"{name}: {kind}") for kind in FILE_KINDS
             for name, reader in [("load_model", load_model), ("load_checkpoint", load_checkpoint),
                                  ("fit(resume=True)", _load_via_resume)]]


@pytest.mark.parametrize("kind, reader", FILE_ROWS)
def test_bad_files_are_refused_cleanly(kind, reader, tmp_path):
    path, error, match = _file(kind, tmp_path)
    with pytest.raises(error) as caught:
        reader(path)
    message = str(caught.value)
    assert match in message and (kind == "missing" or os.fspath(path) in message), message
    assert not (tmp_path / "pwned").exists(), "unpickling ran code"


#: Arguments of the readers that are not a file's path, and load_model's device.
ARGUMENT_ROWS = [
    ("load_model: path 5", lambda tmp: load_model(5), TypeError, "path"),
    ("load_checkpoint: path 5", lambda tmp: load_checkpoint(5), TypeError, "path"),
    ("load_model: path ''", lambda tmp: load_model(""), ValueError, "path"),
    ("fit(resume=True): checkpoint 5", lambda tmp: fit(RBM(6, 4, seed=0), _binary(20), epochs=1, checkpoint=5,
                                                       resume=True, **QUIET), TypeError, "checkpoint"),
    ("load_model: device 5", lambda tmp: load_model(_good(tmp), device=5), TypeError, "device"),
    ("load_model: device 'meta'", lambda tmp: load_model(_good(tmp), device="meta"), ValueError, "device"),
    ("load_model: device 'cuda:99'", lambda tmp: load_model(_good(tmp), device="cuda:99"), ValueError, "device"),
    ("load_model: device 'warp'", lambda tmp: load_model(_good(tmp), device="warp"), ValueError, "device"),
]


def _good(tmp):
    save_model(tmp / "good.pt", random_rbm(6, 4, seed=0, dtype=torch.float32))
    return tmp / "good.pt"


@pytest.mark.parametrize("call, error, match", [pytest.param(*row[1:], id=row[0]) for row in ARGUMENT_ROWS])
def test_bad_reader_arguments_are_refused_cleanly(call, error, match, tmp_path):
    with pytest.raises(error) as caught:
        call(tmp_path)
    assert match in str(caught.value), str(caught.value)


def test_load_model_refuses_cuda_without_it(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="load_model: device is 'cuda'.*no usable cuda device"):
        load_model(_good(tmp_path), device="cuda")


#: Directed models whose saved config claims a huge layer: (class name, model, config text, claimed text).
HUGE_CONFIGS = [
    ("VAE", lambda: VAE(64, 5, 2, seed=0), '"n_hidden": 5', '"n_hidden": 4000000'),
    ("SigmoidBeliefNet", lambda: SigmoidBeliefNet([64, 3, 2], seed=0), "[64, 3, 2]", "[64, 4000000, 2]"),
    ("DBN", lambda: DBN([64, 4, 3], seed=0), "[64, 4, 3]", "[64, 4000000, 3]"),
]


@pytest.mark.parametrize("name, build, text, claimed", HUGE_CONFIGS, ids=[row[0] for row in HUGE_CONFIGS])
@pytest.mark.parametrize("reader", [load_model, load_checkpoint], ids=["load_model", "load_checkpoint"])
def test_a_huge_config_of_a_directed_model_is_refused_before_anything_is_built(name, build, text, claimed, reader,
                                                                              tmp_path, monkeypatch):
    """The config is compared with the stored tensors on torch's meta device (the directed
    models build there too), so the ~2 GB model the config claims is never allocated."""
    path = tmp_path / "huge.pt"
    save_model(path, build())
    payload = load_checkpoint(path)
    del payload["format"], payload["checksum"]
    assert text in payload["config"]
    payload["config"] = payload["config"].replace(text, claimed)
    write_payload(path, payload)

    def no_real_build(where, cls, kwargs):
        raise AssertionError(f"{cls.__name__} was built for real before the file was refused")

    monkeypatch.setattr(checkpoint_module, "_build", no_real_build)
    with pytest.raises(ValueError, match="disagrees with its config"):
        reader(path)


def test_every_flipped_byte_is_caught_or_harmless(tmp_path):
    """Flip each of 200 bytes spread over a saved model: the load either fails with the
    file's error or gives back exactly the saved tensors (a byte the format ignores)."""
    model = random_rbm(8, 5, seed=3, dtype=torch.float32)
    path = tmp_path / "m.pt"
    save_model(path, model)
    raw = bytearray(path.read_bytes())
    positions = sorted({round(i * (len(raw) - 1) / 199) for i in range(200)})
    caught = harmless = 0
    for i in positions:
        flipped = bytearray(raw)
        flipped[i] ^= 0xFF
        bad = tmp_path / "flipped.pt"
        bad.write_bytes(bytes(flipped))
        try:
            loaded = load_model(bad)
        except ValueError as err:
            assert "is not a valid pgm file" in str(err)
            caught += 1
            continue
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
        harmless += 1
    assert caught + harmless == len(positions) and caught >= math.ceil(0.5 * len(positions))
