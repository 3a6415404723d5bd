"""Sparsity analytics benchmark: the greedy backward elimination and the interaction tree, timed on a real game.

    python bench/sparsity.py                     # n = 10 … 16
    python bench/sparsity.py --ns 12 --naive-max 12

Game: the trained MLP of bench/andor.py (breast cancer; the first n features are players, baseline = training mean,
v = log-odds of the predicted class). Per n, from one evaluated table:
  greedy div   fidelity_curve(v, dividends, order="greedy"): the lab's greedy backward elimination (n_greedy = 20)
               over all 2ⁿ − 1 dividends, with our closed-form updates; its seconds
  naive        the same elimination written as the lab's code runs it (each candidate's squared error recomputed
               over all 2ⁿ coalitions, O(n_greedy · 2ⁿ) per step), while n ≤ --naive-max: its seconds, and whether
               its curve agrees with ours (max difference of the normalised RMS error)
  greedy AO    the same for the AND-OR concepts of and_or(time_limit=--andor-time)
  fid@k        fidelity at k = 10 / 20 / 50 of the AND-OR concepts: top k by |I| → greedy
  tree         ValueTable.interaction_tree(): its seconds
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from andor import trained_mlp

from harsanyi import Game, fidelity_curve
from harsanyi._sparsity import ranked_concepts
from harsanyi._transforms import subset_zeta

KS = (10, 20, 50)


def naive_elimination(v, and_values, n_greedy=20):
    """The lab's loop: weakest first; each step every candidate's removal is tried on the whole residual."""
    n = v.size.bit_length() - 1
    concepts = ranked_concepts(and_values)
    masks = np.arange(1 << n)
    residual = v - subset_zeta(and_values)
    left = list(range(len(concepts)))[::-1]
    removed = []
    while left:
        window = left[:n_greedy]
        errors = [np.sum((residual + ((masks & concepts[j].mask) == concepts[j].mask) * concepts[j].value) ** 2)
                  for j in window]
        best = window[int(np.argmin(errors))]
        residual[(masks & concepts[best].mask) == concepts[best].mask] += concepts[best].value
        left.remove(best)
        removed.append(best)
    return [concepts[j] for j in removed[::-1]]


def curve_of(v, and_values, ranking, max_k):
    """The normalised RMS error keeping ranking[:k], k = 0 … max_k (as fidelity_curve computes it)."""
    masks = np.arange(v.size)
    residual = v - and_values[0]
    out = [np.sqrt(np.mean(residual ** 2))]
    for c in ranking[:max_k]:
        residual[(masks & c.mask) == c.mask] -= c.value
        out.append(np.sqrt(np.mean(residual ** 2)))
    return np.array(out) / abs(v[-1] - v[0])


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=[10, 12, 14, 16])
    parser.add_argument("--naive-max", type=int, default=12, help="largest n for the naive elimination")
    parser.add_argument("--andor-time", type=float, default=20.0, help="seconds for and_or")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads), numpy {np.__version__}")
    model, X = trained_mlp()
    print("|  n | greedy div s | naive s | agree | greedy AO s (concepts) | AND-OR fid@10/20/50: top-k → greedy "
          "| tree s |")
    print("|---:|---:|---:|---:|---:|---|---:|")
    for n in args.ns:
        game = Game.tabular(model, X[0], players=[[i] for i in range(n)], baseline="mean", background=X,
                            output="log-odds")  # as bench/andor.py: the other 30 − n features keep their values
        table = game.evaluate(progress=False)
        v, dividends = table.values, table.harsanyi().values
        greedy, t_div = timed(lambda: fidelity_curve(v, dividends, order="greedy", max_k=50))
        naive_s, agree = "–", "–"
        if n <= args.naive_max:
            ranking, t_naive = timed(lambda: naive_elimination(v.copy(), dividends))
            naive_s = f"{t_naive:.2f}"
            agree = f"{np.abs(curve_of(v, dividends, ranking, 50) - greedy.rms_error).max():.1e}"
        concepts = table.and_or(time_limit=args.andor_time, progress=False)
        ao_greedy, t_ao = timed(lambda: concepts.fidelity_curve(order="greedy", max_k=50))
        top = concepts.fidelity_curve(max_k=50)
        fid = " · ".join(f"{top.fidelity[k]:.3f} → {ao_greedy.fidelity[k]:.3f}" for k in KS)
        _, t_tree = timed(table.interaction_tree)
        print(f"| {n:2d} | {t_div:.2f} | {naive_s} | {agree} | {t_ao:.2f} ({top.n_concepts:,}) | {fid} | "
              f"{t_tree:.3f} |", flush=True)


if __name__ == "__main__":
    main()
