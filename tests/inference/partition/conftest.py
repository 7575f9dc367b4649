"""Partition-function tests run single-threaded: their tensors are small, and on a busy
machine torch's thread synchronisation can stall small operations many times over."""

import pytest


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield
