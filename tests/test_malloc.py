"""The allocator setting of harsanyi._malloc: batches reuse heap memory instead of faulting in fresh pages."""

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from harsanyi._malloc import user_has_chosen

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                           reason="the thresholds are glibc's")

# A fresh interpreter 20 times mallocs and writes three blocks of 12 MiB, then frees them (a CNN's activations on a
# batch, layer by layer, as torch allocates them: through malloc, without huge pages), and counts its minor page
# faults before and after the setting (or an evaluation, which makes it). glibc's own dynamic thresholds follow one
# block, but return the three freed together to the system every round.
_FAULTS = textwrap.dedent("""
    import ctypes, ctypes.util, resource, sys

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def faults():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            blocks = [libc.malloc(12 << 20) for _ in range(3)]
            for block in blocks:
                ctypes.memset(block, 1, 12 << 20)
            for block in blocks:
                libc.free(block)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    first = faults()
    from harsanyi import Game
    from harsanyi._malloc import keep_heap_blocks

    if sys.argv[1] == "evaluate":
        Game.from_function(lambda masks: masks.sum(1) * 1.0, 3).evaluate(progress=False)
        then = faults()
        done = keep_heap_blocks()  # the answer the evaluation got
    else:
        done = keep_heap_blocks()
        then = faults()
    print(first, then, done)
""")


def _faults(how: str, env=None):
    out = subprocess.run([sys.executable, "-c", _FAULTS, how], capture_output=True, text=True, check=True, env=env)
    first, then, done = out.stdout.split()
    return int(first), int(then), done == "True"


@glibc
@pytest.mark.parametrize("how", ["call", "evaluate"])
def test_fresh_pages_stop(how):
    first, then, done = _faults(how)
    if first < 20 * 3000:  # 20 × 9 216 pages of 4 KiB where every block is fresh memory
        pytest.skip(f"here 20 rounds of three 12 MiB blocks fault only {first} pages: nothing to compare")
    assert done
    # after the setting only the first round's blocks are fresh pages; the others reuse them (without it, every
    # round faults again: see test_user_choice_kept)
    assert then < first / 5, (first, then)


@glibc
def test_user_choice_kept():
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}  # the user's own threshold: glibc's first one
    first, then, done = _faults("call", env)
    assert not done
    assert then > first / 2, (first, then)  # every round still faults in fresh pages
    assert user_has_chosen({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"})
    assert user_has_chosen({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
    assert not user_has_chosen({"LD_PRELOAD": "", "PATH": "/usr/bin"})
