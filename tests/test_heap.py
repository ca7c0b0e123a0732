"""keep_heap: freed memory stays in glibc's heap during a fit, and the settings are put back after it."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from deepclust_sklearn import DACEstimator, _heap
from deepclust_sklearn._heap import (
    M_MMAP_THRESHOLD,
    M_TRIM_THRESHOLD,
    MMAP_THRESHOLD,
    TRIM_THRESHOLD_AFTER_FIT,
    TRIM_THRESHOLD_DURING_FIT,
    keep_heap,
)

SET = [("mallopt", M_MMAP_THRESHOLD, MMAP_THRESHOLD), ("mallopt", M_TRIM_THRESHOLD, TRIM_THRESHOLD_DURING_FIT)]
RESTORED = [("mallopt", M_TRIM_THRESHOLD, TRIM_THRESHOLD_AFTER_FIT), ("malloc_trim", 0)]


class FakeLibc:
    """Records the allocator calls keep_heap makes."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake_libc(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(_heap, "_glibc", lambda: libc)
    for name in (*_heap._USER_SETTINGS, "GLIBC_TUNABLES", "LD_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    return libc


def test_keep_heap_sets_thresholds_and_puts_them_back(fake_libc):
    with keep_heap() as kept:
        assert kept is True
        assert fake_libc.calls == SET
    assert fake_libc.calls == SET + RESTORED


def test_keep_heap_nested_only_the_outermost_sets_and_restores(fake_libc):
    with keep_heap(), keep_heap() as inner:
        assert inner is True
    assert fake_libc.calls == SET + RESTORED


def test_keep_heap_restores_after_an_error(fake_libc):
    with pytest.raises(RuntimeError, match="boom"), keep_heap():
        raise RuntimeError("boom")
    assert fake_libc.calls == SET + RESTORED
    with keep_heap():  # the depth count went back to zero: the next fit sets the thresholds again
        pass
    assert fake_libc.calls == 2 * (SET + RESTORED)


@pytest.mark.parametrize(
    "name, value",
    [
        ("MALLOC_TRIM_THRESHOLD_", "1000000"),
        ("MALLOC_MMAP_THRESHOLD_", "65536"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000"),
        ("LD_PRELOAD", "/usr/lib/libjemalloc.so.2"),
    ],
)
def test_keep_heap_leaves_a_users_malloc_settings_alone(fake_libc, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with keep_heap() as kept:
        assert kept is False
    assert fake_libc.calls == []


def test_keep_heap_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(_heap, "_glibc", lambda: None)
    with keep_heap() as kept:
        assert kept is False


def test_fit_trains_inside_keep_heap(fake_libc):
    """The thresholds are set before the first epoch and put back once the fit is over."""
    seen = []

    class RecordCalls(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(list(fake_libc.calls))

    X = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
    DACEstimator(n_clusters=2, max_epochs=2, batch_size=16, random_state=0, callbacks=[RecordCalls()]).fit(X)
    assert seen == [SET, SET]
    assert fake_libc.calls == SET + RESTORED


@pytest.mark.skipif(_heap._glibc() is None, reason="keep_heap tunes glibc's malloc; this C library is not glibc")
def test_keep_heap_reuses_freed_buffers_instead_of_faulting_in_fresh_pages(monkeypatch):
    """Inside keep_heap, freeing and re-allocating a 24 MiB buffer touches no new pages after the first
    time (without it, each round could fault in all 6,144 of its pages)."""
    for name in (*_heap._USER_SETTINGS, "GLIBC_TUNABLES", "LD_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    pages = 24 * 2**20 // resource.getpagesize()
    with keep_heap():
        torch.ones(6 * 2**20).sum()  # 24 MiB of float32, touched
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            torch.ones(6 * 2**20).sum()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < pages // 2, f"{faults} page faults over 10 rounds of a {pages}-page buffer"
