"""Fixtures of the tests that start two ranks; without gloo none of them is collected."""

from __future__ import annotations

import pytest
import torch.distributed as dist

if not (dist.is_available() and dist.is_gloo_available()):
    # every module here starts gloo processes
    collect_ignore_glob = ["test_*.py"]

#: The variables a launcher such as ``torchrun`` sets.
LAUNCHER = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def one_process(monkeypatch, one_thread):
    """The test process as a single process: no launcher variables, one thread (the
    references it computes are compared with the ranks' numbers)."""
    for name in LAUNCHER:
        monkeypatch.delenv(name, raising=False)
