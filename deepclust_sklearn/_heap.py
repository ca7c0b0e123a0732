"""Keep freed heap memory for reuse while a network trains (glibc only).

A training step allocates the same large activation and gradient buffers as
the step before and frees them at its end. glibc's ``malloc`` hands free
memory at the top of its heap back to the kernel once more than its *trim
threshold* is free, and that threshold never exceeds 64 MiB (twice its
largest dynamic mmap threshold, 32 MiB). One step of a 768-image batch frees
more than that (a 32-channel 16x16 map is 25 MiB), so every step gives its
memory back and the next one takes it again as fresh pages: a page fault and
a page the kernel zeroes per 4 KiB. Measured on IIC, MNIST-test 16x16, two
threads: 1.1-1.5 million page faults and 9.7 s per epoch; with the heap kept,
none after the first epoch and 6.4-7.7 s (``docs/experiments.md``).

:func:`keep_heap` raises the trim threshold for the span of a fit and pins the
mmap threshold at glibc's own ceiling (setting either one switches glibc's
dynamic rule off for both). On leaving, the trim threshold goes back to
twice the mmap threshold, the value glibc's dynamic rule would reach, and
``malloc_trim(0)`` returns the kept memory to the kernel at once. Nothing is
done on other C libraries, or when the user has tuned ``malloc`` through its
environment variables (``MALLOC_*_``, ``GLIBC_TUNABLES``): their choice wins.
Memory placement does not change any computed value.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["keep_heap"]

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's ceiling for its dynamic mmap threshold on 64-bit systems
TRIM_THRESHOLD_DURING_FIT = 2**31 - 1  # the largest int mallopt takes: in effect, never trim
TRIM_THRESHOLD_AFTER_FIT = 2 * MMAP_THRESHOLD  # what glibc's dynamic rule sets for that mmap threshold
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_depth = 0  # fits in progress in this process; only the outermost sets and restores


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc, else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 -- only glibc has it
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError):
        return None


def _user_tuned_malloc(environ) -> bool:
    """Whether the environment already tunes glibc's malloc (or swaps it for another allocator)."""
    return (
        any(name in environ for name in _USER_SETTINGS)
        or "malloc" in environ.get("GLIBC_TUNABLES", "")
        or "malloc" in environ.get("LD_PRELOAD", "")
    )


@contextlib.contextmanager
def keep_heap() -> Iterator[bool]:
    """Within the block, freed memory stays in the process's heap; yields whether that was arranged."""
    global _depth
    libc = None if _user_tuned_malloc(os.environ) else _glibc()
    if libc is None:
        yield False
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_DURING_FIT)
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_AFTER_FIT)
                libc.malloc_trim(0)
