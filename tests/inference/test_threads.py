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


def test_idle_cores_counts_the_cores_without_waiting():
    import os
    import time

    start = time.perf_counter()
    values = [threads.idle_cores() for _ in range(3)]
    if values[0] is None:
        pytest.skip("/proc/stat not readable here")
    assert time.perf_counter() - start < 0.02  # no sampling sleep
    time.sleep(0.03)
    values.append(threads.idle_cores())  # an average since the previous reading
    assert all(0.0 <= v <= (os.cpu_count() or 1) for v in values)


def test_a_busy_process_does_not_count_its_own_work_as_busy_cores():
    """Over a span where this process computed, its own CPU time counts as free: a user's
    loop of short fit calls keeps its threads."""
    import time

    threads.idle_cores()
    wall, cpu = time.monotonic(), time.process_time()
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end:  # one core kept busy by this process
        pass
    value = threads.idle_cores()
    own = (time.process_time() - cpu) / (time.monotonic() - wall)
    if value is None:
        pytest.skip("/proc/stat not readable here")
    assert value >= own - 0.05  # the core time this process used is not another process's
