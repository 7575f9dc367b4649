"""Thread counts by problem size and free cores (inference.threads); nothing is timed."""

import pytest
import torch

from inference import threads


@pytest.fixture
def two_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n)


def test_small_loops_run_on_one_thread_and_restore(two_threads):
    with threads.threads_for(threads.SMALL_WORK - 1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("idle, want", [(2.0, 2), (1.4, 1), (0.2, 1), (None, 2), (7.0, 2)])
def test_large_loops_use_at_most_the_idle_cores(two_threads, monkeypatch, idle, want):
    monkeypatch.setattr(threads, "idle_cores", lambda: idle)
    assert threads.n_threads_for(threads.SMALL_WORK) == want
    with threads.threads_for(10 * threads.SMALL_WORK) as n:
        assert n == want == torch.get_num_threads()
    assert torch.get_num_threads() == 2


def test_idle_cores_is_a_fraction_of_the_cores_and_cached():
    value = threads.idle_cores()
    if value is None:
        pytest.skip("/proc/stat not readable here")
    import os

    assert 0.0 <= value <= (os.cpu_count() or 1) + 1e-9
    assert threads.idle_cores() == value  # reused within a second
