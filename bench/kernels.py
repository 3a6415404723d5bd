"""NumPy's or torch's kernels for a NumPy value table: where the threshold harsanyi._array.TORCH_MIN_SIZE belongs.

    python bench/kernels.py                 # n = 12 … 20
    python bench/kernels.py --ns 16 18 --repeat 30

A NumPy table of at least TORCH_MIN_SIZE values is viewed as a CPU tensor (no copy) once torch is loaded, so that its
transforms and reductions run on torch's threads; a smaller one stays on NumPy's kernels. For each n, in one process,
the same random table is worked through with the threshold at 1 (torch's kernels for every table) and past every
table (NumPy's for every table), alternating blocks of --repeat runs three times; the medians are printed:

  h+sv+k    a fresh ValueTable: certified dividends, Shapley values, k-SII of order 2 (what bench/exact.py times)
  idx<=3    a fresh ValueTable: SII, BII, STII, FSII, FBII and k-SII of order 3
  pipeline  bench/exact.py's pipeline on its MLP game (n → 64 → 64 → 1): the game built, evaluated, then h+sv+k.
            Here NumPy's matrix products (OpenBLAS, with threads of its own) follow torch's forward passes, whose
            threads are still spinning: the two pools contend, which the table-only columns cannot show.

glibc's malloc thresholds are raised first, as Game.evaluate does, so that the 2ⁿ temporaries reuse memory as they
do in the pipeline.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from harsanyi import Game, ValueTable, _array
from harsanyi._malloc import keep_heap_blocks

TORCH, NUMPY = 1, 1 << 62  # thresholds: torch's kernels for every table, NumPy's for every table


def dividends_sv_ksii(v):
    table = ValueTable(v)
    table.harsanyi()
    table.shapley()
    table.index("k-SII", 2)


def order_three(v):
    table = ValueTable(v)
    for name in ("SII", "BII", "STII", "FSII", "FBII", "k-SII"):
        table.index(name, 3)


def pipeline(n: int):
    """bench/exact.py's pipeline on its MLP game, as a function of nothing (the model built once)."""
    from exact import make_model

    model, x = make_model(n, "cpu"), np.linspace(-1.0, 1.0, n)

    def run(_):
        table = Game.tabular(model, x, baseline="zero", output="raw").evaluate(batch_size=min(1 << 16, 1 << n),
                                                                                 progress=False)
        dividends_sv_ksii(table.values)

    return run


def medians(work, v, repeat: int) -> dict[int, float]:
    """Median seconds of ``work(v)`` under each threshold, in alternating blocks (a slow spell hits both)."""
    runs: dict[int, list[float]] = {TORCH: [], NUMPY: []}
    for _ in range(3):
        for threshold, times in runs.items():
            _array.TORCH_MIN_SIZE = threshold
            work(v)  # warm: caches of factor matrices, first-touch of the allocator's blocks
            for _ in range(repeat):
                start = time.perf_counter()
                work(v)
                times.append(time.perf_counter() - start)
    return {threshold: float(np.median(times)) for threshold, times in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=list(range(12, 21)))
    parser.add_argument("--repeat", type=int, default=None, help="runs per block (default: 15 below n = 18, else 5)")
    args = parser.parse_args()
    keep_heap_blocks()
    default = _array.TORCH_MIN_SIZE
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, numpy {np.__version__}; TORCH_MIN_SIZE = 2^{default.bit_length() - 1}")
    print(f"{'n':>3} {'h+sv+k torch':>13} {'numpy':>8} {'np/torch':>8} {'idx<=3 torch':>13} {'numpy':>8} "
          f"{'np/torch':>8} {'pipeline torch':>15} {'numpy':>9} {'np/torch':>8}  default")
    try:
        for n in args.ns:
            v = np.random.default_rng(n).normal(size=1 << n)
            repeat = args.repeat or (15 if n < 18 else 5)
            line = f"{n:>3}"
            for work in (dividends_sv_ksii, order_three, pipeline(n)):
                t = medians(work, v, repeat)
                line += f" {1e3 * t[TORCH]:>10.2f} ms {1e3 * t[NUMPY]:>5.2f} ms {t[NUMPY] / t[TORCH]:>8.2f}"
            print(line + f"  {'torch' if 1 << n >= default else 'numpy'}", flush=True)
    finally:
        _array.TORCH_MIN_SIZE = default


if __name__ == "__main__":
    main()
