"""Keep the model's activations in glibc's heap between batches, instead of in fresh pages every batch.

glibc's malloc serves a block above its mmap threshold (128 KiB at first) with a fresh mapping, and returns the
heap's free top to the system once it passes the trim threshold. Both thresholds rise by themselves only when a large
mapped block is freed, and the activations of a CNN on a batch (a few to a few tens of MiB) often stay above them.
Then every layer of every batch faults in fresh zeroed pages: in a fresh process the MNIST CNN of the zoo spent half
its evaluation's wall time in the kernel and ran 1.5× slower, EfficientNet-Lite0 1.24× slower (see BENCHMARKS.md,
"The allocator"). Exact evaluation is thousands of batches of one shape, the case a heap serves best.

:func:`keep_heap_blocks` sets the two thresholds to the largest values glibc's own dynamic rule would reach
(32 MiB and 64 MiB on 64-bit systems), once per process. It leaves the allocator alone where the process is not on
glibc, or where the user has chosen: a ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` variable, a
``GLIBC_TUNABLES`` setting of either, or another allocator in ``LD_PRELOAD`` (jemalloc, tcmalloc, mimalloc).
The cost: up to 64 MiB of freed memory stays with the process for its next allocation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # as glibc's dynamic rule sets it
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")

_state: dict[str, bool] = {}


def user_has_chosen(environ=os.environ) -> bool:
    """Whether the environment already sets the thresholds or puts another allocator in front of glibc's."""
    if environ.get("MALLOC_MMAP_THRESHOLD_") or environ.get("MALLOC_TRIM_THRESHOLD_"):
        return True
    tunables = environ.get("GLIBC_TUNABLES", "")
    if "mmap_threshold" in tunables or "trim_threshold" in tunables:
        return True
    preload = environ.get("LD_PRELOAD", "").lower()
    return any(name in preload for name in _OTHER_ALLOCATORS)


def keep_heap_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds once per process (see the module's text); whether they are raised."""
    if "done" not in _state:
        _state["done"] = _raise_thresholds()
    return _state["done"]


def _raise_thresholds() -> bool:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc" or user_has_chosen():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt is not known to exist
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # setting either stops glibc adjusting both, so both are set
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
