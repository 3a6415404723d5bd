"""The default AND-OR method (``and_or()``, method="auto") on the games users meet at 11–15 players, next to the
splitting and the working set alone, in one process.

    python bench/auto.py                               # all 14 games, auto only
    python bench/auto.py --methods auto splitting working-set
    python bench/auto.py --games adult --time-limit 60
    python bench/auto.py --games bench --bench-ns 16 --methods auto splitting --time-limit 0   # no limit

Games (tables evaluated once, the baseline the training mean, v = log-odds of the predicted class):
  bench n=12 … 15   the trained breast-cancer MLP of bench/andor.py, its first n features as players (--bench-ns)
  demo row 0 … 3    the demo's MLP (`harsanyi demo`), 14 groups of features, test rows 0 … 3
  adult row 0 … 5   the UCI adult MLP of harsanyi.zoo (12 groups of one-hot features), test rows 0 … 5
Columns per method: seconds, final L1, certified gap, the concepts above 1e-12 of the largest (a vertex has few; the
splitting carries a tail of tiny ones), the fewest concepts (largest first) whose fidelity reaches 90 % (k90, see
Concepts.fidelity_curve) and the method's own account of what ran.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from harsanyi import Game, zoo
from harsanyi.cli import _demo_players, train_demo_model

sys.path.insert(0, str(Path(__file__).parent))
from andor import trained_mlp  # noqa: E402


def tables(which, bench_ns=(12, 13, 14, 15)):
    if "bench" in which:
        model, X = trained_mlp()
        for n in bench_ns:
            game = Game.tabular(model, X[0], players=[[i] for i in range(n)], baseline="mean", background=X)
            yield f"bench n={n}", game.evaluate(progress=False)
    if "demo" in which:
        model, X_train, X_test, _, features, _, _ = train_demo_model(0)
        for row in range(4):
            game = Game.tabular(model, X_test[row], feature_names=features, players=_demo_players(), baseline="mean",
                                background=X_train, output="log-odds")
            yield f"demo row {row}", game.evaluate(progress=False)
    if "adult" in which:
        train, test = zoo.adult("train"), zoo.adult("test")
        model = zoo.train_mlp(train["X"], train["y"], steps=200)
        for row in range(6):
            game = Game.tabular(model, test["X"][row], players=train["players"], baseline="mean",
                                background=train["X"])
            yield f"adult row {row}", game.evaluate(progress=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["bench", "demo", "adult"], choices=["bench", "demo", "adult"])
    parser.add_argument("--methods", nargs="+", default=["auto"], choices=["auto", "splitting", "working-set"])
    parser.add_argument("--bench-ns", type=int, nargs="+", default=[12, 13, 14, 15])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run; 0: none")
    args = parser.parse_args()
    limit = args.time_limit or None
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}; time limit {f'{limit} s' if limit else 'none'}, tol 1e-3")
    total = dict.fromkeys(args.methods, 0.0)
    for name, table in tables(args.games, args.bench_ns):
        for method in args.methods:
            start = time.perf_counter()
            concepts = table.and_or(method=method, time_limit=limit, progress=False)
            seconds = time.perf_counter() - start
            total[method] += seconds
            both = np.concatenate([concepts.and_.values, concepts.or_.values])
            support = int((np.abs(both) > 1e-12 * np.abs(both).max()).sum())
            k90 = concepts.fidelity_curve(1024).concepts_for(0.9)
            print(f"{name:>12} {method:>11} {seconds:6.1f} s  L1 {concepts.l1_after:9.6g}  gap "
                  f"{concepts.solver.gap:7.1e}  concepts {support:7,}  k90 {k90 if k90 else '>1024':>5}  "
                  f"{concepts.solver.method}", flush=True)
    print("total: " + ", ".join(f"{method} {seconds:.1f} s" for method, seconds in total.items()))


if __name__ == "__main__":
    main()
