"""backend.Workers: row ranges split across threads, each row once, small work inline."""

import threading

import numpy as np
import pytest

from gatedrnn.backend import Workers, default_threads


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_every_row_once_and_parts_distinct(threads, n):
    seen = np.zeros(n, dtype=int)
    parts, lock = [], threading.Lock()

    def fn(lo, hi, part):
        with lock:
            seen[lo:hi] += 1
            parts.append(part)

    Workers(threads).run(fn, n, item_size=1, min_items=1)
    assert (seen == 1).all()
    assert sorted(parts) == list(range(len(parts))) and len(parts) == min(threads, n)


def test_small_work_runs_inline_in_the_caller():
    names = []
    w = Workers(4)
    w.run(lambda lo, hi, part: names.append(threading.current_thread().name), 1000, item_size=10)
    assert names == [threading.current_thread().name] and w._pool is None


def test_threads_really_used_for_large_work_and_errors_propagate():
    names = set()
    w = Workers(2)
    w.run(lambda lo, hi, part: names.add(threading.current_thread().name), 4, item_size=1 << 20)
    assert len(names) == 2

    def boom(lo, hi, part):
        if part == 1:
            raise RuntimeError("worker failed")

    with pytest.raises(RuntimeError, match="worker failed"):
        w.run(boom, 4, item_size=1 << 20)


def test_thread_count_settings(monkeypatch):
    monkeypatch.setenv("GATEDRNN_NUM_THREADS", "3")
    assert default_threads() == 3 and Workers().threads == 3
    monkeypatch.setenv("GATEDRNN_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="GATEDRNN_NUM_THREADS: expected a positive integer, got 'zero'"):
        default_threads()
    monkeypatch.delenv("GATEDRNN_NUM_THREADS")
    assert default_threads() == 1
    with pytest.raises(ValueError, match="threads: expected a positive integer"):
        Workers(0)
